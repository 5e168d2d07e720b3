"""AppTest: the KPI comparison page. Every figure equals an independent pandas computation, on two
snapshot dates of the sample (each sample customer appears at one date only: retention is 0 and the
page says why) and on Churn_Modelling with a second upload where customers were removed, added and
changed (read from ../shared/datasets, never copied).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core.analysis.compare import EPSILON
from tests.app.conftest import ROOT, SAMPLE, chart_specs, make_app
from tests.app.media import read_csv, run_keeping_downloads

PAGE = "pages/11_monitoring.py"
BANK = ROOT.parent / "shared" / "datasets" / "Churn_Modelling.csv"
needs_bank = pytest.mark.skipif(not Path(BANK).exists(), reason="../shared/datasets not available")


# ------------------------------------------------------------------ independent computations

def sample_value(df):
    return (df["total_assets"] * 0.004 + df["balance"] * 0.015 + df["fees_paid_12m"]
            + df["num_products"] * 60.0 - 40.0)


def bank_value(df):
    return df["Balance"] * 0.015 + df["NumOfProducts"] * 60.0 - 40.0


def pandas_psi(old, new, bins=10, eps=EPSILON):
    """PSI the textbook way: deciles of the old as edges (or one bin per value)."""
    if pd.api.types.is_numeric_dtype(old) and old.nunique() > bins:
        cuts = [-np.inf] + old.quantile([i / bins for i in range(1, bins)]).drop_duplicates().tolist() + [np.inf]
        old, new = pd.cut(old, cuts).astype(str), pd.cut(new, cuts).astype(str)
    else:
        old, new = old.astype(str), new.astype(str)
    p, q = old.value_counts(normalize=True), new.value_counts(normalize=True)
    keys = p.index.union(q.index)
    p, q = p.reindex(keys, fill_value=0).clip(lower=eps), q.reindex(keys, fill_value=0).clip(lower=eps)
    return float(((q - p) * np.log(q / p)).sum())


def tiers_by_rank(p):
    """High = top 10%, Medium = next 20% by risk (ties in table order), Low the rest."""
    n = len(p)
    rank = np.empty(n, dtype=int)
    rank[np.argsort(-np.asarray(p), kind="mergesort")] = np.arange(n)
    hi, me = round(0.1 * n), round(0.2 * n)
    return np.where(rank < hi, "High", np.where(rank < hi + me, "Medium", "Low"))


def metrics(at):
    return {m.label: m.value for m in at.metric}


# ------------------------------------------------------------------ two snapshot dates of the sample

@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(SAMPLE)


@pytest.fixture(scope="module")
def dates_page(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120).run()
    at.toggle(key="monitoring_export").set_value(True)
    files = run_keeping_downloads(at)
    assert not at.exception
    return at, files


def test_dates_default_to_the_two_latest(dates_page):
    at, _ = dates_page
    assert at.radio(key="monitoring_source").value == "Two snapshot dates in this file"
    assert at.selectbox(key="monitoring_old").options == ["2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31"]
    assert (at.selectbox(key="monitoring_old").value, at.selectbox(key="monitoring_new").value) == (
        "2024-09-30", "2024-12-31")


def test_sample_figures_equal_pandas(dates_page, raw):
    at, _ = dates_page
    old, new = raw[raw["snapshot_date"] == "2024-09-30"], raw[raw["snapshot_date"] == "2024-12-31"]
    retained = len(set(old["customer_id"]) & set(new["customer_id"]))
    assert retained == 0
    v_old, v_new = sample_value(old), sample_value(new)
    assert metrics(at) == {
        "Customers before": f"{len(old):,}", "Customers now": f"{len(new):,}", "Retained": "0",
        "Lost": f"{len(old):,}", "New customers": f"{len(new):,}", "Retention rate": "0.0%",
        "Churn rate before": f"{old['churned'].mean() * 100:.1f}%",
        "Churn rate now": f"{new['churned'].mean() * 100:.1f}%",
        "Customer value before": f"{v_old.sum():,.0f}", "Customer value now": f"{v_new.sum():,.0f}",
        "Average value before": f"{v_old.mean():,.0f}", "Average value now": f"{v_new.mean():,.0f}",
    }
    assert any("No customer id appears in both snapshots" in w.value for w in at.warning)


def test_sample_comparison_kept_for_the_report(dates_page, raw):
    at, _ = dates_page
    kept = at.session_state["results"]["compare"]
    old, new = raw[raw["snapshot_date"] == "2024-09-30"], raw[raw["snapshot_date"] == "2024-12-31"]
    assert (kept["customers_old"], kept["customers_new"], kept["retained"], kept["retention_rate"]) == (
        len(old), len(new), 0, 0.0)
    assert kept["value_new"] == pytest.approx(sample_value(new).sum(), rel=1e-12)
    inputs, comparison = at.session_state["monitoring_comparison"]
    assert comparison.to_dict() == kept and inputs[1:3] == ("dates", ("2024-09-30", "2024-12-31"))


def test_sample_products_and_migration(dates_page, raw):
    at, files = dates_page
    old, new = raw[raw["snapshot_date"] == "2024-09-30"], raw[raw["snapshot_date"] == "2024-12-31"]
    products = at.dataframe[0].value
    assert products.columns.tolist() == ["Column", "Measure", "Before", "Now", "Change"]
    assert products.iloc[0].tolist() == ["num_products", "Average products held", f"{old['num_products'].mean():.2f}",
                                         f"{new['num_products'].mean():.2f}",
                                         f"{new['num_products'].mean() - old['num_products'].mean():.2f}"]
    wealth = products[products["Column"] == "has_wealth"].iloc[0]
    assert wealth["Before"] == f"{old['has_wealth'].mean() * 100:.1f}%"
    migration = at.dataframe[1].value
    assert migration.columns.tolist() == ["Tier before", "High", "Medium", "Low", "Left", "Total"]
    n = len(old)  # nobody is in both snapshots: every earlier customer has left
    assert migration.values.tolist() == [["High", 0, 0, 0, round(0.1 * n), round(0.1 * n)],
                                         ["Medium", 0, 0, 0, round(0.2 * n), round(0.2 * n)],
                                         ["Low", 0, 0, 0, n - round(0.3 * n), n - round(0.3 * n)]]
    moves = read_csv(files["dl_csv_monitoring_customers"])
    assert moves.columns.tolist() == ["Customer", "Status", "Tier before", "Tier now"]
    assert moves["Status"].value_counts().to_dict() == {"Lost": len(old), "New": len(new)}
    assert set(moves.loc[moves["Status"] == "Lost", "Customer"]) == set(old["customer_id"])


def test_sample_drift_equals_textbook_psi(dates_page, raw, small_model):
    at, files = dates_page
    old, new = raw[raw["snapshot_date"] == "2024-09-30"], raw[raw["snapshot_date"] == "2024-12-31"]
    drift = at.dataframe[2].value
    assert drift.columns.tolist() == ["Column", "PSI", "Change"]
    assert sorted(drift["Column"]) == sorted(small_model.features_)
    for col in ("age", "balance", "tenure_months", "region", "num_products"):
        assert drift.set_index("Column").loc[col, "PSI"] == round(pandas_psi(old[col], new[col]), 4)
    assert set(drift["Change"]) == {"Stable"}
    assert drift["PSI"].is_monotonic_decreasing
    assert read_csv(files["dl_csv_monitoring_drift"])["Column"].tolist() == drift["Column"].tolist()
    assert len(chart_specs(at)) == 2  # migration heat map, drift bars


def test_other_dates_and_wrong_order(sample_dataset, small_model, raw):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120).run()
    at.selectbox(key="monitoring_old").set_value("2024-03-31")
    at.selectbox(key="monitoring_new").set_value("2024-06-30").run()
    assert not at.exception
    old, new = raw[raw["snapshot_date"] == "2024-03-31"], raw[raw["snapshot_date"] == "2024-06-30"]
    got = metrics(at)
    assert (got["Customers before"], got["Customers now"]) == (f"{len(old):,}", f"{len(new):,}")
    assert at.session_state["results"]["compare"]["customers_old"] == len(old)
    at.selectbox(key="monitoring_old").set_value("2024-12-31").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["The earlier snapshot must come before the later one."]
    assert not at.metric


def test_without_a_model_no_migration(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=120).run()
    assert not at.exception
    assert "Train the churn model (Model page) to see how the risk tiers moved." in [i.value for i in at.info]
    assert metrics(at)["Retained"] == "0"


# ------------------------------------------------------------------ a second upload of a real bank file

def make_bank_pair():
    """Old: Churn_Modelling. New: 800 customers removed, 600 new ones (copies with new ids), Balance
    halved for 40% of the rows, IsActiveMember set to 0 for 1,700 active members."""
    old = pd.read_csv(BANK)
    rng = np.random.default_rng(7)
    new = old.drop(index=old.index[rng.choice(len(old), 800, replace=False)])
    add = old.sample(600, random_state=3).copy()
    add["RowNumber"] = np.arange(20001, 20601)
    add["CustomerId"] = np.arange(90000001, 90000601)
    new = pd.concat([new, add], ignore_index=True)
    half = new.sample(frac=0.4, random_state=5).index
    new.loc[half, "Balance"] = new.loc[half, "Balance"] / 2
    new.loc[new.index[new["IsActiveMember"] == 1][:1700], "IsActiveMember"] = 0
    return old, new


@pytest.fixture(scope="module")
def bank():
    from churn_core.data.ingest import load_file
    from churn_core.data.roles import detect_roles
    from churn_core.modeling.model import ChurnModel
    from studio.state import Dataset

    load = load_file(BANK)
    dataset = Dataset(load=load, roles=detect_roles(load.df))
    model = ChurnModel(cv_folds=0, n_estimators=30, n_jobs=1).fit(dataset.df, dataset.roles)
    old, new = make_bank_pair()
    return dataset, model, old, new


def upload_page(bank, lang="en"):
    dataset, model, _, new = bank
    at = make_app(PAGE, dataset=dataset, model=model, lang=lang, timeout=120).run()
    at.file_uploader(key="monitoring_upload").set_value(("later.csv", new.to_csv(index=False).encode(), "text/csv")).run()
    at.toggle(key="monitoring_export").set_value(True)
    files = run_keeping_downloads(at)
    assert not at.exception
    return at, files


@pytest.fixture(scope="module")
def bank_page(bank):
    return upload_page(bank)


@needs_bank
def test_upload_is_offered_when_the_file_has_no_dates(bank):
    dataset, model, _, _ = bank
    at = make_app(PAGE, dataset=dataset, model=model, timeout=120).run()
    assert not at.exception
    assert at.radio(key="monitoring_source").value == "This file with a second upload"
    at.radio(key="monitoring_source").set_value("Two snapshot dates in this file").run()
    assert at.info[0].value.startswith("This file has fewer than two snapshot dates")


@needs_bank
def test_upload_figures_equal_pandas(bank, bank_page):
    _, _, old, new = bank
    at, _ = bank_page
    a, b = set(old["CustomerId"]), set(new["CustomerId"])
    assert (len(a & b), len(a - b), len(b - a)) == (9200, 800, 600)
    assert metrics(at) == {
        "Customers before": "10,000", "Customers now": "9,800", "Retained": f"{len(a & b):,}",
        "Lost": f"{len(a - b):,}", "New customers": f"{len(b - a):,}",
        "Retention rate": f"{len(a & b) / len(a) * 100:.1f}%",
        "Churn rate before": f"{old['Exited'].mean() * 100:.1f}%",
        "Churn rate now": f"{new['Exited'].mean() * 100:.1f}%",
        "Customer value before": f"{bank_value(old).sum():,.0f}", "Customer value now": f"{bank_value(new).sum():,.0f}",
        "Average value before": f"{bank_value(old).mean():,.0f}", "Average value now": f"{bank_value(new).mean():,.0f}",
    }
    marked = new[new["CustomerId"].isin(a) & (new["Exited"] == 1)]
    assert f"{len(marked):,} retained customers are marked churned" in " ".join(c.value for c in at.caption)
    kept = at.session_state["results"]["compare"]
    assert (kept["retained"], kept["lost"], kept["new"], kept["retention_rate"]) == (9200, 800, 600, 0.92)


@needs_bank
def test_upload_tier_migration_equals_pandas(bank, bank_page):
    dataset, model, old, new = bank
    at, files = bank_page
    from churn_core.data.ingest import load_file

    later = load_file(new.to_csv(index=False).encode(), "later.csv").df
    t_old = pd.Series(tiers_by_rank(model.predict_proba(dataset.df)), index=dataset.df["CustomerId"])
    t_new = pd.Series(tiers_by_rank(model.predict_proba(later)), index=later["CustomerId"])
    now = t_new.reindex(t_old.index).fillna("Left")
    expected = pd.crosstab(t_old, now).reindex(index=["High", "Medium", "Low"],
                                               columns=["High", "Medium", "Low", "Left"], fill_value=0)
    table = at.dataframe[1].value.set_index("Tier before")
    assert table[["High", "Medium", "Low", "Left"]].values.tolist() == expected.values.tolist()
    assert table["Total"].tolist() == [1000, 2000, 7000]
    moves = read_csv(files["dl_csv_monitoring_customers"])
    assert len(moves) == 10000 + 600
    assert moves["Status"].value_counts().to_dict() == {"Retained": 9200, "Lost": 800, "New": 600}
    new_rows = moves[moves["Status"] == "New"]
    assert set(new_rows["Customer"].astype(int)) == set(new["CustomerId"]) - set(old["CustomerId"])
    assert (new_rows["Tier before"] == "New").all()


@needs_bank
def test_upload_drift_flags_the_changed_columns_only(bank, bank_page):
    _, _, old, new = bank
    at, files = bank_page
    drift = at.dataframe[2].value.set_index("Column")
    assert drift.loc["Balance", "Change"] == "Major shift"
    assert drift.loc["IsActiveMember", "Change"] == "Moderate shift"
    assert set(drift.drop(index=["Balance", "IsActiveMember"])["Change"]) == {"Stable"}
    for col in ("Balance", "IsActiveMember", "Age", "Geography"):
        assert drift.loc[col, "PSI"] == round(pandas_psi(old[col], new[col]), 4)
    assert "1 columns with a major shift, 1 with a moderate shift" in " ".join(m.value for m in at.markdown)
    assert read_csv(files["dl_csv_monitoring_drift"])["Change"].tolist() == drift["Change"].tolist()


@needs_bank
def test_upload_in_chinese(bank):
    at, files = upload_page(bank, lang="zh")
    got = metrics(at)
    assert (got["上期客户数"], got["本期客户数"], got["留存客户"], got["客户留存率"]) == ("10,000", "9,800", "9,200", "92.0%")
    assert at.dataframe[1].value.columns.tolist() == ["上期等级", "高", "中", "低", "已流失", "合计"]
    drift = at.dataframe[2].value.set_index("列")
    assert drift.loc["Balance", "变化程度"] == "显著变化"
    moves = read_csv(files["dl_csv_monitoring_customers"])
    assert moves.columns.tolist() == ["客户", "状态", "上期等级", "本期等级"]
    assert set(moves["状态"]) == {"留存", "流失", "新增"}


@needs_bank
def test_unreadable_upload_says_why(bank):
    dataset, model, _, _ = bank
    at = make_app(PAGE, dataset=dataset, model=model, timeout=120).run()
    at.file_uploader(key="monitoring_upload").set_value(("empty.csv", b"", "text/csv")).run()
    assert not at.exception
    assert len(at.error) == 1 and "empty" in at.error[0].value
    assert not at.metric


def test_upload_name_is_text(sample_dataset, raw):
    """The uploaded file's name is shown as text (no live link, image or emphasis); the whole sample
    (each customer once) against its latest snapshot: those customers retained, the others lost."""
    at = make_app(PAGE, dataset=sample_dataset, timeout=120).run()
    at.radio(key="monitoring_source").set_value("This file with a second upload").run()
    name = "[win](javascript:go)![x](evil.png)*b*.csv"
    later = raw[raw["snapshot_date"] == "2024-12-31"]
    at.file_uploader(key="monitoring_upload").set_value((name, later.to_csv(index=False).encode(), "text/csv")).run()
    assert not at.exception
    shown = [c.value for c in at.caption if "Later snapshot:" in c.value]
    assert shown == [r"Later snapshot: \[win\]\(javascript\:go\)\!\[x\]\(evil\.png\)\*b\*\.csv, "
                     f"{len(later):,} rows."]
    got = metrics(at)
    assert (got["Customers before"], got["Retained"], got["Lost"], got["New customers"]) == (
        f"{len(raw):,}", f"{len(later):,}", f"{len(raw) - len(later):,}", "0")
