"""Compare two snapshots: every figure equals an independent pandas computation.

Two data sets: two snapshot dates of the bundled sample, and the public Churn_Modelling file with
customers removed, added and changed (read from ../shared/datasets, never copied).
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core.analysis.compare import (
    DRIFT_FLAGS, EPSILON, build_drift_chart, build_migration_chart, compute_comparison, compute_drift,
    compute_migration_table, compute_psi, drift_flag, split_snapshots,
)
from churn_core.errors import ChurnCoreError
from churn_core.modeling.model import ChurnModel
from churn_core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "customers.csv"
BANK = ROOT.parent / "shared" / "datasets" / "Churn_Modelling.csv"

needs_bank = pytest.mark.skipif(not BANK.exists(), reason="../shared/datasets not available")


# ------------------------------------------------------------------ independent computations

def pandas_psi(old, new, bins=10, eps=EPSILON):
    """PSI the textbook way: pandas deciles of the old as edges (or one bin per value), shares floored at eps."""
    old, new = pd.Series(old), pd.Series(new)
    if pd.api.types.is_numeric_dtype(old) and old.nunique() > bins:
        deciles = old.quantile([i / bins for i in range(1, bins)]).drop_duplicates()
        cuts = [-np.inf] + deciles.tolist() + [np.inf]
        o = pd.cut(old, cuts, right=True).astype(str)
        n = pd.cut(new, cuts, right=True).astype(str)
    else:
        o, n = old.astype(str), new.astype(str)
    p = o.value_counts(normalize=True)
    q = n.value_counts(normalize=True)
    keys = p.index.union(q.index)
    p = p.reindex(keys, fill_value=0).clip(lower=eps)
    q = q.reindex(keys, fill_value=0).clip(lower=eps)
    return float(((q - p) * np.log(q / p)).sum())


def sample_value(df):
    """The sample's yearly value with the default assumptions, written out by hand."""
    return (df["total_assets"] * 0.004 + df["balance"] * 0.015 + df["fees_paid_12m"] * 1.0
            + df["num_products"] * 60.0 - 40.0)


def bank_value(df):
    return df["Balance"] * 0.015 + df["NumOfProducts"] * 60.0 - 40.0


# ------------------------------------------------------------------ PSI and flags

@pytest.mark.parametrize("psi, flag", [
    (0.0, "stable"), (0.0999, "stable"), (0.1, "moderate_shift"), (0.25, "moderate_shift"),
    (0.2501, "major_shift"), (3.0, "major_shift"), (float("nan"), None), (None, None),
])
def test_drift_flag_thresholds(psi, flag):
    assert drift_flag(psi) == flag


def test_psi_of_identical_columns_is_zero():
    s = pd.Series(np.arange(1000, dtype=float))
    assert compute_psi(s, s) == 0.0


def test_psi_of_a_categorical_shift_by_hand():
    old = pd.Series(["a"] * 50 + ["b"] * 50)
    new = pd.Series(["a"] * 80 + ["b"] * 20)
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert compute_psi(old, new) == pytest.approx(expected, rel=1e-12)
    assert round(expected, 4) == 0.4159


def test_psi_gives_an_empty_bin_the_epsilon_share():
    old = pd.Series(["a"] * 100)
    new = pd.Series(["a"] * 90 + ["c"] * 10)
    expected = (0.9 - 1.0) * math.log(0.9 / 1.0) + (0.1 - EPSILON) * math.log(0.1 / EPSILON)
    assert compute_psi(old, new) == pytest.approx(expected, rel=1e-12)


def test_psi_counts_missing_values_as_a_bin():
    old = pd.Series([1.0, 2.0] * 50)
    new = pd.Series([1.0, 2.0] * 40 + [np.nan] * 20)
    expected = 2 * (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.2 - EPSILON) * math.log(0.2 / EPSILON)
    assert compute_psi(old, new) == pytest.approx(expected, rel=1e-12)


def test_psi_numeric_bins_are_deciles_of_the_old():
    rng = np.random.default_rng(0)
    old = pd.Series(rng.normal(size=5000))
    new = pd.Series(rng.normal(loc=0.3, size=4000))
    assert compute_psi(old, new) == pytest.approx(pandas_psi(old, new), rel=1e-12)


def test_drift_frame_is_sorted_by_psi_and_names_the_kind():
    old = pd.DataFrame({"x": np.arange(100.0), "flag": [0, 1] * 50, "c": ["a", "b"] * 50})
    new = pd.DataFrame({"x": np.arange(100.0) + 50, "flag": [0, 1] * 50, "c": ["a", "b"] * 50})
    d = compute_drift(old, new, ["x", "flag", "c"])
    assert d["column"].tolist() == ["x", "flag", "c"]
    assert d["kind"].tolist() == ["numeric", "values", "categorical"]
    assert d["flag"].tolist() == ["major_shift", "stable", "stable"]
    assert d["psi"].iloc[0] == pytest.approx(pandas_psi(old["x"], new["x"]), rel=1e-12)


# ------------------------------------------------------------------ split_snapshots

@pytest.fixture(scope="module")
def sample_ws():
    return Workspace.from_file(SAMPLE)


def test_split_snapshots_defaults_to_the_two_latest_dates(sample_ws):
    df = sample_ws.df
    old, new = split_snapshots(df, "snapshot_date")
    assert old["snapshot_date"].astype(str).unique().tolist() == ["2024-09-30"]
    assert new["snapshot_date"].astype(str).unique().tolist() == ["2024-12-31"]
    assert len(old) == int((df["snapshot_date"].astype(str) == "2024-09-30").sum()) == 5050
    assert len(new) == 4959


def test_split_snapshots_picks_the_given_dates(sample_ws):
    old, new = split_snapshots(sample_ws.df, "snapshot_date", "2024-03-31", "2024-06-30")
    assert (len(old), len(new)) == (4885, 5106)


@pytest.mark.parametrize("old, new, code, match", [
    ("2023-01-31", None, "compare.unknown_snapshot", "no snapshot 2023-01-31.*2024-03-31, 2024-06-30"),
    ("2024-06-30", "2024-06-30", "compare.same_snapshot", "two different"),
    ("2024-12-31", "2024-06-30", "compare.snapshot_order", "earlier"),
])
def test_split_snapshots_errors(sample_ws, old, new, code, match):
    with pytest.raises(ChurnCoreError, match=match) as info:
        split_snapshots(sample_ws.df, "snapshot_date", old, new)
    assert info.value.code == code


def test_split_snapshots_needs_two_dates():
    df = pd.DataFrame({"d": ["2024-01-31"] * 3, "x": [1, 2, 3]})
    with pytest.raises(ChurnCoreError, match="fewer than two snapshot dates"):
        split_snapshots(df, "d")


# ------------------------------------------------------------------ the sample: two snapshot dates

@pytest.fixture(scope="module")
def sample_pair(sample_ws):
    old, new = split_snapshots(sample_ws.df, "snapshot_date", "2024-09-30", "2024-12-31")
    result = compute_comparison(old, new, "customer_id", meanings=sample_ws.meanings_, label="churned", positive=1)
    return old, new, result


def test_sample_meanings_used_for_value(sample_ws):
    assert sample_ws.meanings_.money() == {"total_assets": 0.004, "balance": 0.015, "fees_paid_12m": 1.0}
    assert sample_ws.meanings_.column("products_count") == "num_products"


def test_sample_counts_equal_pandas(sample_pair):
    old, new, result = sample_pair
    f = result.figures
    a, b = set(old["customer_id"]), set(new["customer_id"])
    assert f["customers_old"] == len(a) == 5050
    assert f["customers_new"] == len(b) == 4959
    # the sample's quarterly snapshots hold different customers: nobody is in both
    assert f["retained"] == len(a & b) == 0
    assert f["lost"] == len(a - b) == 5050
    assert f["new"] == len(b - a) == 4959
    assert f["retention_rate"] == 0.0


def test_sample_churn_rates_and_value_equal_pandas(sample_pair):
    old, new, result = sample_pair
    f = result.figures
    assert f["churn_rate_old"] == pytest.approx(old["churned"].mean(), rel=1e-12)
    assert f["churn_rate_new"] == pytest.approx(new["churned"].mean(), rel=1e-12)
    assert round(f["churn_rate_old"], 4) == 0.1394
    assert f["value_old"] == pytest.approx(sample_value(old).sum(), rel=1e-12)
    assert f["value_new"] == pytest.approx(sample_value(new).sum(), rel=1e-12)
    assert f["avg_value_old"] == pytest.approx(sample_value(old).mean(), rel=1e-12)
    assert f["value_growth"] == pytest.approx(sample_value(new).sum() / sample_value(old).sum() - 1, rel=1e-9)
    assert f["value_of_lost"] == pytest.approx(sample_value(old).sum(), rel=1e-12)


def test_sample_product_holding_equals_pandas(sample_pair):
    old, new, result = sample_pair
    products = result.figures["products"]
    assert list(products) == ["num_products", "has_deposit", "has_wealth", "has_loan", "has_credit_card",
                              "has_mobile_banking"]
    for col, entry in products.items():
        assert entry["old"] == pytest.approx(old[col].mean(), rel=1e-12)
        assert entry["new"] == pytest.approx(new[col].mean(), rel=1e-12)
    assert products["num_products"]["measure"] == "mean"
    assert products["has_loan"]["measure"] == "share"


def test_sample_drift_equals_pandas_and_is_stable(sample_pair):
    old, new, result = sample_pair
    drift = result.drift.set_index("column")
    assert "customer_id" not in drift.index and "churned" not in drift.index and "snapshot_date" not in drift.index
    for col in ["age", "balance", "tenure_months", "num_products", "region", "complaints_12m"]:
        assert drift.loc[col, "psi"] == pytest.approx(pandas_psi(old[col], new[col]), rel=1e-9, abs=1e-15)
    # two quarters of the same synthetic bank: nothing moved
    assert set(drift["flag"]) == {"stable"}
    assert result.figures["drift_flags"] == {"stable": len(drift), "moderate_shift": 0, "major_shift": 0}


def test_sample_migration_lists_every_customer(sample_pair):
    old, new, result = sample_pair
    m = result.migration
    assert list(m.columns) == ["customer_id", "status", "tier_old", "tier_new"]
    assert m["status"].value_counts().to_dict() == {"lost": 5050, "new": 4959}
    assert (m.loc[m["status"] == "lost", "tier_new"] == "Left").all()
    assert (m.loc[m["status"] == "new", "tier_old"] == "New").all()
    assert result.figures["tier_migration"] is None


# ------------------------------------------------------------------ a real file: removed, added, changed

def make_bank_pair():
    """Old: Churn_Modelling. New: 800 customers removed, 600 new ones (copies of others with new
    ids), Balance halved for 40% of the rows, IsActiveMember set to 0 for 1,700 active members."""
    old = pd.read_csv(BANK)
    rng = np.random.default_rng(7)
    drop = rng.choice(len(old), 800, replace=False)
    new = old.drop(index=old.index[drop])
    add = old.sample(600, random_state=3).copy()
    add["RowNumber"] = np.arange(20001, 20601)
    add["CustomerId"] = np.arange(90000001, 90000601)
    new = pd.concat([new, add], ignore_index=True)
    half = new.sample(frac=0.4, random_state=5).index
    new.loc[half, "Balance"] = new.loc[half, "Balance"] / 2
    active = new.index[new["IsActiveMember"] == 1][:1700]
    new.loc[active, "IsActiveMember"] = 0
    return old, new


@pytest.fixture(scope="module")
def bank_ws():
    return Workspace.from_file(BANK)


@pytest.fixture(scope="module")
def bank_pair():
    return make_bank_pair()


@pytest.fixture(scope="module")
def bank_model(bank_pair):
    old, _ = bank_pair
    return ChurnModel(cv_folds=0, n_estimators=30, n_jobs=1).fit(old)


@pytest.fixture(scope="module")
def bank_result(bank_ws, bank_pair, bank_model):
    old, new = bank_pair
    return compute_comparison(old, new, "CustomerId", meanings=bank_ws.meanings_, label="Exited", positive=1,
                              model=bank_model)


@needs_bank
def test_bank_counts_equal_pandas(bank_pair, bank_result):
    old, new = bank_pair
    f = bank_result.figures
    a, b = set(old["CustomerId"]), set(new["CustomerId"])
    assert (f["customers_old"], f["customers_new"]) == (len(a), len(b)) == (10000, 9800)
    assert (f["retained"], f["lost"], f["new"]) == (len(a & b), len(a - b), len(b - a)) == (9200, 800, 600)
    assert f["retention_rate"] == len(a & b) / len(a) == 0.92
    assert f["customer_growth"] == pytest.approx(9800 / 10000 - 1, rel=1e-12)


@needs_bank
def test_bank_churn_rates_equal_pandas(bank_pair, bank_result):
    old, new = bank_pair
    f = bank_result.figures
    assert f["churn_rate_old"] == old["Exited"].mean() == 0.2037
    assert f["churn_rate_new"] == pytest.approx(new["Exited"].mean(), rel=1e-12)
    retained_churned = new[new["CustomerId"].isin(old["CustomerId"]) & (new["Exited"] == 1)]
    assert f["retained_marked_churned"] == len(retained_churned)


@needs_bank
def test_bank_value_equals_pandas(bank_ws, bank_pair, bank_result):
    old, new = bank_pair
    f = bank_result.figures
    assert bank_ws.meanings_.money() == {"Balance": 0.015}
    assert f["value_old"] == pytest.approx(bank_value(old).sum(), rel=1e-12)
    assert f["value_new"] == pytest.approx(bank_value(new).sum(), rel=1e-12)
    assert f["avg_value_new"] == pytest.approx(bank_value(new).mean(), rel=1e-12)
    assert f["avg_value_growth"] == pytest.approx(bank_value(new).mean() / bank_value(old).mean() - 1, rel=1e-9)
    lost = old[~old["CustomerId"].isin(new["CustomerId"])]
    added = new[~new["CustomerId"].isin(old["CustomerId"])]
    assert f["value_of_lost"] == pytest.approx(bank_value(lost).sum(), rel=1e-12)
    assert f["value_of_new"] == pytest.approx(bank_value(added).sum(), rel=1e-12)
    # halving 40% of balances shows as a fall in value
    assert f["value_growth"] < -0.15


@needs_bank
def test_bank_products_equal_pandas(bank_pair, bank_result):
    old, new = bank_pair
    p = bank_result.figures["products"]
    assert p == {
        "NumOfProducts": {"measure": "mean", "old": pytest.approx(old["NumOfProducts"].mean()),
                          "new": pytest.approx(new["NumOfProducts"].mean())},
        "HasCrCard": {"measure": "share", "old": pytest.approx(old["HasCrCard"].mean()),
                      "new": pytest.approx(new["HasCrCard"].mean())},
    }


@needs_bank
def test_bank_drift_flags_the_changed_columns_and_no_others(bank_pair, bank_result, bank_model):
    old, new = bank_pair
    drift = bank_result.drift.set_index("column")
    assert sorted(drift.index) == sorted(bank_model.features_)
    for col in drift.index:
        assert drift.loc[col, "psi"] == pytest.approx(pandas_psi(old[col], new[col]), rel=1e-9, abs=1e-15)
    flagged = drift[drift["flag"] != "stable"]["flag"].to_dict()
    assert flagged == {"Balance": "major_shift", "IsActiveMember": "moderate_shift"}
    assert bank_result.figures["drift_flags"] == {"stable": len(drift) - 2, "moderate_shift": 1, "major_shift": 1}


@needs_bank
def test_bank_tier_migration_equals_pandas(bank_pair, bank_result, bank_model):
    old, new = bank_pair

    def tiers(frame):
        p = pd.Series(bank_model.predict_proba(frame), index=frame["CustomerId"].to_numpy())
        order = p.sort_values(ascending=False, kind="mergesort").index
        n = len(frame)
        high, medium = round(0.1 * n), round(0.2 * n)
        t = pd.Series("Low", index=order)
        t.iloc[:high] = "High"
        t.iloc[high:high + medium] = "Medium"
        return t

    t_old, t_new = tiers(old), tiers(new)
    to = t_new.reindex(t_old.index).fillna("Left")
    table = pd.crosstab(t_old, to)
    expected = {f: {t: int(table.loc[f, t]) if t in table.columns else 0 for t in ("High", "Medium", "Low", "Left")}
                for f in ("High", "Medium", "Low")}
    assert bank_result.figures["tier_migration"] == expected
    assert sum(expected["High"].values()) == 1000
    assert sum(sum(v.values()) for v in expected.values()) == 10000
    assert sum(v["Left"] for v in expected.values()) == 800
    m = bank_result.migration.set_index("CustomerId")
    assert m.loc[t_old.index, "tier_old"].tolist() == t_old.tolist()
    added = new.loc[~new["CustomerId"].isin(old["CustomerId"]), "CustomerId"]
    assert m.loc[added, "tier_new"].tolist() == t_new.loc[added].tolist()
    assert bank_result.figures["new_customers_by_tier"] == t_new.loc[added].value_counts().reindex(
        ["High", "Medium", "Low"], fill_value=0).to_dict()


@needs_bank
def test_bank_json_has_the_contract_keys(bank_result):
    data = bank_result.to_dict()
    for key in ["customers_old", "customers_new", "retained", "lost", "new", "retention_rate", "churn_rate_old",
                "churn_rate_new", "value_old", "value_new", "tier_migration", "drift"]:
        assert key in data
    assert set(data["drift"][0]) == {"column", "psi", "flag"}
    assert data["drift"][0]["column"] == "Balance"


# ------------------------------------------------------------------ errors and charts

def test_duplicate_ids_are_an_error_that_says_what_to_do():
    old = pd.DataFrame({"id": [1, 1, 2], "x": [1.0, 2.0, 3.0]})
    new = pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0]})
    with pytest.raises(ChurnCoreError, match="customer 1 more than once.*one snapshot date at a time") as info:
        compute_comparison(old, new, "id")
    assert info.value.code == "compare.duplicate_ids"


def test_missing_id_column_is_an_error():
    old = pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0]})
    new = pd.DataFrame({"key": [1, 2], "x": [1.0, 2.0]})
    with pytest.raises(ChurnCoreError, match="new snapshot has no column 'id'"):
        compute_comparison(old, new, "id")


def test_without_label_churn_rates_are_none_and_without_money_value_counts_customers():
    old = pd.DataFrame({"id": ["a", "b", "c", "d"], "colour": ["r", "g", "r", "g"]})
    new = pd.DataFrame({"id": ["b", "c", "e"], "colour": ["r", "g", "r"]})
    f = compute_comparison(old, new, "id").figures
    assert (f["retained"], f["lost"], f["new"], f["retention_rate"]) == (2, 2, 1, 0.5)
    assert f["churn_rate_old"] is None and f["churn_rate_new"] is None
    assert (f["value_old"], f["value_new"]) == (4.0, 3.0)


def test_migration_chart_is_small_and_translated():
    mig = {"High": {"High": 5, "Medium": 2, "Low": 0, "Left": 3},
           "Medium": {"High": 1, "Medium": 4, "Low": 1, "Left": 0},
           "Low": {"High": 0, "Medium": 1, "Low": 9, "Left": 2}}
    table = compute_migration_table(mig)
    assert len(table) == 12 and table["customers"].sum() == 28
    spec = build_migration_chart(mig, words={"Left": "已流失", "High": "高"}).to_dict()
    values = next(iter(spec["datasets"].values()))
    assert len(values) == 12
    assert {v["tier_new"] for v in values} == {"高", "Medium", "Low", "已流失"}


def test_drift_chart_colours_by_flag_words():
    drift = pd.DataFrame({"column": ["a", "b"], "psi": [0.3, 0.01], "flag": ["major_shift", "stable"]})
    spec = build_drift_chart(drift, words={"major_shift": "显著变化", "stable": "稳定"}).to_dict()
    layer = spec["layer"][0]
    assert layer["encoding"]["color"]["scale"]["domain"] == ["稳定", "moderate_shift", "显著变化"]
    data = [d for d in spec["datasets"].values() if len(d) == 2 and "column" in d[0]][0]
    assert [d["flag"] for d in data] == ["显著变化", "稳定"]
    assert DRIFT_FLAGS == ("stable", "moderate_shift", "major_shift")


@pytest.mark.parametrize("module", ["churn_core/analysis/compare.py", "churn_core/retention/winback.py",
                                    "churn_core/commands/compare.py"])
def test_every_error_code_has_words_in_both_languages(module):
    import json
    import re

    codes = set(re.findall(r'ChurnCoreError\(\s*"([a-z_]+\.[a-z_]+)"', (ROOT / module).read_text(encoding="utf-8")))
    assert codes
    for lang in ("en", "zh"):
        words = {}
        for path in (ROOT / "locales" / lang).glob("*.json"):
            words.update(json.loads(path.read_text(encoding="utf-8")))
        assert sorted(c for c in codes if "error." + c not in words) == []


def test_ids_stored_as_numbers_in_one_export_and_text_in_the_other_still_match():
    old = pd.DataFrame({"id": [1001, 1002, 1003], "x": [1.0, 2.0, 3.0]})
    new = pd.DataFrame({"id": ["1002", "1003", "1004 "], "x": [1.0, 2.0, 3.0]})
    f = compute_comparison(old, new, "id").figures
    assert (f["retained"], f["lost"], f["new"]) == (2, 1, 1)
