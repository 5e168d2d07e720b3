"""AppTest: the Early warning page acts on the book only (the sample's latest snapshot, customers not
churned), writes its tier and signal settings to the workspace, and exports every matching customer.

Expected figures are computed independently with pandas on sample_data/customers.csv.
"""

import re

import numpy as np
import pandas as pd
import pytest

from churn_core.modeling.warning import SignalThresholds, TierConfig
from tests.app.conftest import SAMPLE, chart_specs, make_app, workspace_of
from tests.app.media import read_csv, run_keeping_downloads

PAGE = "pages/6_early_warning.py"
HEADERS_EN = ["Customer", "Churn risk (%)", "Tier", "Customer value (per year)", "Reason 1", "Reason 2",
              "Reason 3", "Signals"]
EXPORT_EN = ["Customer", "Churn risk (%)", "Tier", "Customer value (per year)", "Saved segments", "Reason 1",
             "Points 1", "Reason 2", "Points 2", "Reason 3", "Points 3", "Signals"]


# ------------------------------------------------------------------ independent figures

@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(SAMPLE)


@pytest.fixture(scope="module")
def book(raw, sample_dataset, small_model):
    """Active customers of the latest snapshot, with the model's risk and the value by hand."""
    keep = ((raw["snapshot_date"] == raw["snapshot_date"].max()) & (raw["churned"] == 0)).to_numpy()
    frame = raw[keep].copy()
    frame["p"] = small_model.predict_proba(sample_dataset.df[keep])
    frame["value"] = (frame["total_assets"] * 0.004 + frame["balance"] * 0.015 + frame["fees_paid_12m"]
                      + frame["num_products"] * 60.0 - 40.0)
    frame = frame.sort_values("p", ascending=False, kind="mergesort")
    n = len(frame)
    hi, me = round(0.1 * n), round(0.2 * n)
    frame["tier"] = ["High"] * hi + ["Medium"] * me + ["Low"] * (n - hi - me)
    return frame


def signal_counts(frame, th=SignalThresholds()):
    before = frame["txn_last_quarter"].where(frame["txn_last_quarter"] > 0)
    drop = (before - frame["txn_this_quarter"]) / before * 100
    return {"Activity dropped": drop >= th.activity_drop_pct,
            "Funds moving out": frame["balance_change_3m_pct"] <= -th.outflow_pct,
            "Complained": frame["complaints_12m"] >= th.complaints_min,
            "Stopped logging in": frame["digital_logins_90d"] <= th.logins_max}


def rounded_half_up(x):
    return int(np.floor(abs(x) + 0.5))


# ------------------------------------------------------------------ the page in English, exports on

def test_needs_model(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset).run()
    assert not at.exception
    assert any("Train the churn model first" in i.value for i in at.info)


@pytest.fixture(scope="module")
def page(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120).run()
    at.toggle(key="warning_exports").set_value(True)
    files = run_keeping_downloads(at)
    assert not at.exception
    return at, files


def test_says_which_customers_and_how_many(page, book):
    at, _ = page
    assert len(book) == 4263
    assert at.info[0].value == ("This page acts on the customers who have not churned at the latest snapshot "
                                f"(2024-12-31): {len(book):,} customers. Those who left are on the Win-back page.")
    assert workspace_of(at).describe_book() == {"source": "latest_snapshot_active", "customers": len(book),
                                                "snapshot": "2024-12-31"}


def test_tiers_are_cut_among_the_book(page, book):
    at, _ = page
    counts = book["tier"].value_counts()
    assert {m.label: m.value for m in at.metric} == {
        "High": f"{counts['High']:,}", "Medium": f"{counts['Medium']:,}", "Low": f"{counts['Low']:,}"}
    assert (counts["High"], counts["Medium"], counts["Low"]) == (426, 853, 2984)
    assert workspace_of(at).settings.tiers == TierConfig()  # looking does not change the settings
    titles = [s.get("title") for s in chart_specs(at)]
    assert titles == ["Distribution of churn probabilities"]


def test_signals_table_counts_the_book(page, book):
    at, _ = page
    table = at.dataframe[0].value
    expected = signal_counts(book)
    assert table["Signal"].tolist() == list(expected)
    assert table["Columns"].tolist() == ["txn_this_quarter / txn_last_quarter", "balance_change_3m_pct",
                                         "complaints_12m", "digital_logins_90d"]
    high = (book["tier"] == "High").to_numpy()
    assert table["Customers"].tolist() == [int(m.sum()) for m in expected.values()]
    assert table["Of whom High risk"].tolist() == [int((m.to_numpy() & high).sum()) for m in expected.values()]


def test_watch_list_is_the_high_tier_of_the_book(page, book, raw):
    at, _ = page
    wl = at.dataframe[1].value
    assert wl.columns.tolist() == HEADERS_EN
    high = book[book["tier"] == "High"]
    assert wl["Customer"].tolist() == high["customer_id"].tolist()
    assert wl["Churn risk (%)"].tolist() == (high["p"] * 100).round(1).tolist()
    assert wl["Customer value (per year)"].tolist() == [f"{v:,.0f}" for v in high["value"]]
    assert set(wl["Tier"]) == {"High"}
    churned = set(raw.loc[raw["churned"] == 1, "customer_id"])
    assert not set(wl["Customer"]) & churned
    assert wl["Reason 1"].str.contains("raises the risk by").all()
    assert at.caption[-1].value == "426 customers match; the 426 with the highest risk are listed."


def test_full_watch_list_download(page, book):
    at, files = page
    assert [b.label for b in at.get("download_button")] == ["Download CSV", "Download Excel"] * 2
    wl = read_csv(files["dl_csv_warning_watch_list"])
    assert wl.columns.tolist() == EXPORT_EN
    high = book[book["tier"] == "High"]
    assert wl["Customer"].tolist() == high["customer_id"].tolist()
    assert wl["Churn risk (%)"].astype(float).tolist() == (high["p"] * 100).round(2).tolist()
    assert wl["Customer value (per year)"].astype(float).tolist() == pytest.approx(high["value"].round(2).tolist())
    assert (wl["Reason 1"] != "").all() and (wl["Points 1"] != "").all()
    for j in (1, 2, 3):  # the sentence's number is the exported points rounded half up
        given = wl[wl[f"Reason {j}"] != ""]
        assert (wl.loc[wl[f"Reason {j}"] == "", f"Points {j}"] == "").all()
        said = given[f"Reason {j}"].str.extract(r"by (\d+) point")[0].astype(int)
        assert said.tolist() == [rounded_half_up(float(x)) for x in given[f"Points {j}"]]
    assert (wl["Saved segments"] == "").all()


def test_reasons_for_everyone_download(page, book, raw):
    at, files = page
    everyone = read_csv(files["dl_csv_warning_reasons_all"])
    assert everyone.columns.tolist() == EXPORT_EN
    assert len(everyone) == len(book) == 4263
    assert everyone["Customer"].tolist() == book["customer_id"].tolist()  # riskiest first
    assert everyone["Churn risk (%)"].astype(float).tolist() == (book["p"] * 100).round(2).tolist()
    assert everyone["Tier"].tolist() == book["tier"].tolist()
    assert not set(everyone["Customer"]) & set(raw.loc[raw["churned"] == 1, "customer_id"])
    assert (everyone["Reason 1"] != "").all()
    assert "reason_1" not in files["dl_csv_warning_reasons_all"].decode("utf-8-sig")
    assert files["dl_xlsx_warning_reasons_all"][:2] == b"PK"


# ------------------------------------------------------------------ settings go to the workspace

def test_capacity_written_to_workspace_and_kept_across_languages(sample_dataset, small_model, book):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120).run()
    at.number_input(key="warning_high").set_value(100)
    at.number_input(key="warning_medium").set_value(200).run()
    assert not at.exception
    ws = workspace_of(at)
    assert ws.settings.tiers == TierConfig(method="capacity", high_capacity=100, medium_capacity=200)
    assert {m.label: m.value for m in at.metric} == {"High": "100", "Medium": "200", "Low": f"{len(book) - 300:,}"}
    assert at.dataframe[1].value["Customer"].tolist() == book["customer_id"].head(100).tolist()
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric} == {"高": "100", "中": "200", "低": f"{len(book) - 300:,}"}
    assert at.number_input(key="warning_high").value == 100
    assert set(at.dataframe[1].value["风险等级"]) == {"高"}  # the tier filter survives the switch


def test_profit_tiers_written_to_workspace(sample_dataset, small_model, book):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120).run()
    at.radio(key="warning_method").set_value("Expected profit").run()
    at.number_input(key="warning_cost").set_value(80.0)
    at.slider(key="warning_save").set_value(0.25).run()
    assert not at.exception
    assert workspace_of(at).settings.tiers == TierConfig(method="profit", contact_cost=80.0, save_rate=0.25)
    gain = np.cumsum(book["p"].to_numpy() * 0.25 * book["value"].to_numpy())
    profit = np.r_[0.0, gain - 80.0 * np.arange(1, len(book) + 1)]
    best = int(profit.argmax())
    assert {m.label: m.value for m in at.metric}["High"] == f"{best:,}"
    best_text = next(m.value for m in at.markdown if "maximises the expected profit" in m.value)
    assert f"**{best:,}**" in best_text and f"**{profit[best]:,.0f}**" in best_text
    titles = [s.get("title") for s in chart_specs(at)]
    assert titles == ["Expected profit by number of customers contacted", "Distribution of churn probabilities"]


def test_signal_threshold_written_to_workspace(sample_dataset, small_model, book):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120).run()
    at.number_input(key="warning_th_complaints_min").set_value(2)
    at.number_input(key="warning_th_activity_drop_pct").set_value(50.0)
    at.number_input(key="warning_th_logins_max").set_value(2)
    at.number_input(key="warning_th_outflow_pct").set_value(35.0).run()
    assert not at.exception
    th = SignalThresholds(complaints_min=2, outflow_pct=35.0, activity_drop_pct=50.0, logins_max=2)
    assert workspace_of(at).settings.signals == th
    expected = signal_counts(book, th)
    assert at.dataframe[0].value["Customers"].tolist() == [int(m.sum()) for m in expected.values()]


def test_filters_by_segment_signal_and_tier(sample_dataset, small_model, book):
    from churn_core.analysis.segments import Condition, Segment

    seg = Segment(name="Complainers", conditions=(Condition("complaints_12m", ">=", 2),))
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120,
                  segments={"Complainers": seg}).run()
    at.selectbox(key="warning_filter_segment").set_value("Complainers")
    at.multiselect(key="warning_filter_tier").set_value(["High", "Medium"]).run()
    assert not at.exception
    expected = book[(book["complaints_12m"] >= 2) & book["tier"].isin(["High", "Medium"])]
    wl = at.dataframe[1].value
    assert wl["Customer"].tolist() == expected["customer_id"].tolist()
    at.multiselect(key="warning_filter_signal").set_value(["Funds moving out"])
    at.toggle(key="warning_exports").set_value(True)
    files = run_keeping_downloads(at)
    assert not at.exception
    both = expected[expected["balance_change_3m_pct"] <= -20]
    assert at.dataframe[1].value["Customer"].tolist() == both["customer_id"].tolist()
    everyone = read_csv(files["dl_csv_warning_reasons_all"])
    in_segment = everyone["Customer"].isin(book.loc[book["complaints_12m"] >= 2, "customer_id"])
    assert (everyone.loc[in_segment, "Saved segments"] == "Complainers").all()
    assert (everyone.loc[~in_segment, "Saved segments"] == "").all()


# ------------------------------------------------------------------ Chinese

def test_chinese_page(sample_dataset, small_model, book):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, lang="zh", timeout=120).run()
    at.toggle(key="warning_exports").set_value(True)
    files = run_keeping_downloads(at)
    assert not at.exception
    assert at.info[0].value == (f"本页针对最新一期快照（2024-12-31）中尚未流失的客户：{len(book):,} 位客户。"
                                "已流失的客户见流失客户回访页。")
    assert {m.label: m.value for m in at.metric} == {"高": "426", "中": "853", "低": "2,984"}
    assert at.dataframe[0].value.columns.tolist() == ["信号", "使用的列", "客户数", "其中高风险"]
    wl = at.dataframe[1].value
    assert wl.columns.tolist() == ["客户", "流失风险（%）", "风险等级", "客户价值（每年）", "原因 1", "原因 2",
                                   "原因 3", "信号"]
    assert wl["原因 1"].str.contains("流失风险").all()
    export = read_csv(files["dl_csv_warning_watch_list"])
    assert export.columns.tolist() == ["客户", "流失风险（%）", "风险等级", "客户价值（每年）", "所属客群", "原因 1",
                                       "百分点 1", "原因 2", "百分点 2", "原因 3", "百分点 3", "信号"]
    assert len(export) == 426 and set(export["风险等级"]) == {"高"}
    assert not re.search(r"reason_\d|risk_tier|churn_probability", files["dl_csv_warning_reasons_all"].decode("utf-8-sig"))


def test_current_upload_is_the_book(sample_dataset, small_model, raw):
    """With a second upload of current customers (no label), the page acts on exactly those."""
    from churn_core.data.ingest import load_file

    current = raw[(raw["snapshot_date"] == "2024-09-30") & (raw["churned"] == 0)].drop(columns="churned")
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120)
    at.session_state["workspace"].set_current(load_file(current.to_csv(index=False).encode(), "current.csv"))
    at.run()
    assert not at.exception
    assert at.info[0].value == f"This page acts on the current customers you uploaded: {len(current):,} customers."
    n = len(current)
    assert {m.label: m.value for m in at.metric} == {
        "High": f"{round(0.1 * n):,}", "Medium": f"{round(0.2 * n):,}", "Low": f"{n - round(0.1 * n) - round(0.2 * n):,}"}
    assert set(at.dataframe[1].value["Customer"]) <= set(current["customer_id"])
