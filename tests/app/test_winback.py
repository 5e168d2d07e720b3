"""AppTest: the Win-back page lists exactly the churned customers of the sample, the most valuable loss
first, with why they left, the offer and its cost; value lost by cause and by a chosen column.

Expected figures are computed independently with pandas on sample_data/customers.csv.
"""

import pandas as pd
import pytest

from churn_core.retention.offers import default_catalogue
from tests.app.conftest import SAMPLE, chart_specs, make_app
from tests.app.media import read_csv, run_keeping_downloads

PAGE = "pages/10_winback.py"
CAUSES_EN = ["Service", "Products", "Rates and fees", "Activity", "Own circumstances"]
EXPORT_EN = ["Rank", "Customer", "Value lost (per year)", "Main cause", "Reason 1", "Cause 1", "Points 1",
             "Reason 2", "Cause 2", "Points 2", "Reason 3", "Cause 3", "Points 3", "Win-back offer", "Offer cost"]


@pytest.fixture(scope="module")
def lost():
    """The churned customers by hand, the most valuable loss first (ties in file order)."""
    raw = pd.read_csv(SAMPLE)
    frame = raw[raw["churned"] == 1].copy()
    frame["value"] = (frame["total_assets"] * 0.004 + frame["balance"] * 0.015 + frame["fees_paid_12m"]
                      + frame["num_products"] * 60.0 - 40.0)
    return frame.sort_values("value", ascending=False, kind="mergesort")


@pytest.fixture(scope="module")
def offer_cost():
    offer = default_catalogue().get("win_back")
    return float(offer.contact_cost + offer.unit_cost)


@pytest.fixture(scope="module")
def page(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120).run()
    at.toggle(key="winback_export").set_value(True)
    files = run_keeping_downloads(at)
    assert not at.exception
    return at, files


def test_needs_model(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset).run()
    assert not at.exception
    assert any("Train the churn model first" in i.value for i in at.info)


def test_says_who_and_how_many(page, lost):
    at, _ = page
    assert lost["customer_id"].is_unique and len(lost) == 2902
    assert at.info[0].value == f"{len(lost):,} churned customers (their last snapshot)."
    assert at.caption[1].value == f"{len(lost):,} churned customers, the most valuable loss first; {len(lost):,} are listed."


def test_summary_figures(page, lost, offer_cost):
    at, _ = page
    assert {m.label: m.value for m in at.metric} == {
        "Customers": f"{len(lost):,}",
        "Value lost (per year)": f"{lost['value'].sum():,.0f}",
        "Average value lost": f"{lost['value'].mean():,.0f}",
        "Cost of the win-back offer for all": f"{len(lost) * offer_cost:,.0f}",
    }


def test_list_is_exactly_the_churned_customers_in_value_order(page, lost, offer_cost):
    at, _ = page
    table = at.dataframe[0].value
    assert table.columns.tolist() == ["Rank", "Customer", "Value lost (per year)", "Main cause", "Reason 1",
                                      "Reason 2", "Reason 3", "Win-back offer", "Offer cost"]
    assert table["Customer"].tolist() == lost["customer_id"].tolist()
    assert table["Rank"].tolist() == list(range(1, len(lost) + 1))
    assert table["Value lost (per year)"].tolist() == [f"{v:,.0f}" for v in lost["value"]]
    assert set(table["Main cause"]) <= set(CAUSES_EN) | {"Not explained by the model"}
    assert set(table["Offer cost"]) == {f"{offer_cost:,.0f}"}
    assert set(table["Win-back offer"]) == {"Win-back call"}


def test_full_download(page, lost):
    _, files = page
    wb = read_csv(files["dl_csv_winback_list"])
    assert wb.columns.tolist() == EXPORT_EN
    assert wb["Customer"].tolist() == lost["customer_id"].tolist()
    assert wb["Value lost (per year)"].astype(float).tolist() == pytest.approx(lost["value"].round(2).tolist())
    assert set(wb["Cause 1"]) <= set(CAUSES_EN)
    # the main cause is the cause whose risk-raising drivers add up to the most points
    for row in wb.head(200).to_dict("records"):
        totals = {}
        for j in (1, 2, 3):
            if row[f"Cause {j}"] and float(row[f"Points {j}"]) >= 0:
                totals[row[f"Cause {j}"]] = totals.get(row[f"Cause {j}"], 0) + float(row[f"Points {j}"])
        causes = [row[f"Cause {j}"] for j in (1, 2, 3)]
        best = max(totals, key=lambda c: (totals[c], -causes.index(c))) if totals else "Not explained by the model"
        assert row["Main cause"] == best


def test_value_lost_by_cause(page, lost):
    at, files = page
    wb = read_csv(files["dl_csv_winback_list"])
    cause = lost["customer_id"].map(dict(zip(wb["Customer"], wb["Main cause"])))
    by = lost.groupby(cause)["value"].agg(["size", "sum"])
    table = at.dataframe[1].value
    assert table.columns.tolist() == ["Main cause", "Customers", "Value lost (per year)", "Share of value lost"]
    assert table["Main cause"].tolist()[:5] == CAUSES_EN
    assert table["Customers"].sum() == len(lost)
    for row in table.to_dict("records"):
        n, total = (by.loc[row["Main cause"]].tolist() if row["Main cause"] in by.index else (0, 0.0))
        assert row["Customers"] == n
        assert row["Value lost (per year)"] == f"{round(total):,}"
        assert row["Share of value lost"] == f"{total / lost['value'].sum() * 100:.1f}%"
    cause_csv = read_csv(files["dl_csv_winback_by_cause"])
    assert cause_csv.columns.tolist() == ["Main cause", "Customers", "Value lost (per year)", "Share of value lost"]
    assert len(chart_specs(at)) == 2


def test_value_lost_by_a_chosen_column(sample_dataset, small_model, lost):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120).run()
    picker = at.selectbox(key="winback_segment_column")
    assert picker.value == "region"  # the first category that is not a protected attribute (gender)
    assert picker.options[:2] == ["region", "occupation"] and "gender" in picker.options
    at.selectbox(key="winback_segment_column").set_value("value_tier").run()
    assert not at.exception
    by = lost.groupby("value_tier")["value"].agg(["size", "sum"]).sort_values("sum", ascending=False)
    table = at.dataframe[2].value
    assert table.columns.tolist() == ["value_tier", "Customers", "Value lost (per year)", "Share of value lost"]
    assert table["value_tier"].tolist() == by.index.tolist()
    assert table["Customers"].tolist() == by["size"].tolist()
    assert table["Value lost (per year)"].tolist() == [f"{v:,.0f}" for v in by["sum"]]
    bars = chart_specs(at)[-1]["encoding"]
    assert (bars["y"]["title"], bars["y"]["field"], bars["x"]["title"]) == ("value_tier", "Group",
                                                                             "Value lost (per year)")
    at.selectbox(key="winback_segment_column").set_value("age").run()  # numeric: five quantile groups
    assert not at.exception
    table = at.dataframe[2].value
    assert len(table) == 5 and table["Customers"].sum() == len(lost)


def test_chinese_page(sample_dataset, small_model, lost):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, lang="zh", timeout=120).run()
    at.toggle(key="winback_export").set_value(True)
    files = run_keeping_downloads(at)
    assert not at.exception
    assert at.info[0].value == f"{len(lost):,} 位已流失客户（取其最后一期快照）。"
    table = at.dataframe[0].value
    assert table.columns.tolist() == ["排名", "客户", "流失价值（每年）", "主要原因", "原因 1", "原因 2", "原因 3",
                                      "挽回方案", "方案成本"]
    assert table["客户"].tolist() == lost["customer_id"].tolist()
    assert set(table["主要原因"]) <= {"服务", "产品", "利率与费用", "活跃度", "客户自身情况", "模型未能解释"}
    assert table["原因 1"].str.contains("流失风险").all()
    assert at.dataframe[1].value["主要原因"].tolist()[:5] == ["服务", "产品", "利率与费用", "活跃度", "客户自身情况"]
    wb = read_csv(files["dl_csv_winback_list"])
    assert wb.columns[:4].tolist() == ["排名", "客户", "流失价值（每年）", "主要原因"]
    assert "value_lost" not in files["dl_csv_winback_list"].decode("utf-8-sig")
