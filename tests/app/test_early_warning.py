"""AppTest: the Early warning page (tiers, signals, watch-list filters, safe exports)."""

import pandas as pd
import pytest

from tests.app.conftest import chart_specs, make_app

PAGE = "pages/6_early_warning.py"


def test_needs_model(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset).run()
    assert not at.exception
    assert any("Train the churn model first" in i.value for i in at.info)


@pytest.fixture(scope="module")
def page(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120).run()
    assert not at.exception
    return at


def test_capacity_tiers_default(page):
    metrics = {m.label: m.value for m in page.metric}
    assert metrics == {"High": "2,000", "Medium": "4,000", "Low": "14,000"}
    titles = [s.get("title") for s in chart_specs(page)]
    assert "Distribution of churn probabilities" in titles


def test_signals_table_on_sample(page, sample_dataset):
    table = page.dataframe[0].value
    assert table["Signal"].tolist() == ["Activity dropped", "Funds moving out", "Complained",
                                        "Stopped logging in"]
    df = sample_dataset.df
    assert table["Customers"].iloc[2] == int((df["complaints_12m"] >= 1).sum())
    assert table["Columns"].iloc[0] == "txn_this_quarter / txn_last_quarter"


def test_watch_list_high_tier_with_reasons(page, small_model, sample_dataset):
    wl = page.dataframe[1].value
    assert len(wl) == 500
    assert set(wl["Tier"]) == {"High"}
    p = small_model.predict_proba(sample_dataset.df)
    assert wl["Churn probability (%)"].iloc[0] == round(p.max() * 100, 1)
    assert wl["Reason 1"].str.contains("raises the risk").all()
    assert any("2,000 customers match" in c.value for c in page.caption)


def test_filter_by_signal_and_segment(sample_dataset, small_model):
    from churn_core.analysis.segments import Condition, Segment

    seg = Segment(name="Complainers", conditions=(Condition("complaints_12m", ">=", 2),))
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120,
                  segments={"Complainers": seg}).run()
    at.selectbox(key="warning_filter_segment").set_value("Complainers").run()
    assert not at.exception
    wl = at.dataframe[1].value
    df = sample_dataset.df
    ids = set(df.loc[df["complaints_12m"] >= 2, "customer_id"])
    assert len(wl) > 0 and set(wl["Customer"]) <= ids
    at.multiselect(key="warning_filter_signal").set_value(["Funds moving out"]).run()
    wl2 = at.dataframe[1].value
    assert wl2["Signals"].str.contains("funds moving out").all()
    assert len(wl2) < len(wl)


def test_profit_method(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120).run()
    at.radio(key="warning_method").set_value("Expected profit").run()
    assert not at.exception
    assert any("maximises the expected profit" in m.value for m in at.markdown)
    titles = [s.get("title") for s in chart_specs(at)]
    assert "Expected profit by number of customers contacted" in titles


def test_chinese_page(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, lang="zh", timeout=120).run()
    assert not at.exception
    assert {m.label for m in at.metric} == {"高", "中", "低"}
    wl = at.dataframe[1].value
    assert "原因 1" in wl.columns
    assert wl["原因 1"].str.contains("流失风险").all()


def test_downloads_present(page):
    labels = [b.label for b in page.get("download_button")]
    assert labels == ["Download CSV", "Download Excel"]
