"""Segments page: builder, saved segments, ready-made bands, side by side, deciles (AppTest)."""

import pytest

from churn_core.analysis.segments import Condition, Segment
from tests.app.conftest import chart_specs, make_app


PAGE = "pages/2_segments.py"


def test_needs_data():
    at = make_app(PAGE)
    at.run()
    assert not at.exception
    assert at.info[0].value == "Load a customer table first: upload a file or use the sample on the Data page."


def test_builder_adds_condition_and_saves(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Segments"
    at.selectbox(key="seg_b_column").set_value("age").run()
    at.selectbox(key="seg_b_op").set_value("is at least").run()
    at.number_input(key="seg_b_value_num").set_value(60).run()
    at.button(key="seg_b_add").click().run()
    assert not at.exception
    df = sample_dataset.df
    older = df[df["age"] >= 60]
    assert "**Segment:** age is at least 60" in [m.value for m in at.markdown]
    customers = next(m for m in at.metric if m.label == "Customers")
    assert customers.value == f"{len(older):,}"
    rate = next(m for m in at.metric if m.label == "Churn rate (%)")
    assert rate.value == f"{older['churned'].mean():.1%}"
    at.text_input(key="seg_b_name").set_value("Seniors")
    at.button(key="FormSubmitter:seg_save_form-Save segment").click().run()
    assert not at.exception
    assert at.success[0].value == "Saved “Seniors”: other pages can now pick it."
    saved = at.session_state["segments"]["Seniors"]
    assert saved.describe("zh") == "age 大于等于 60"
    assert saved.where_sql() == ('"age" >= ?', [60])


def test_saved_segments_listed_and_compared(sample_dataset):
    seniors = Segment("Seniors", (Condition("age", ">=", 60),))
    young = Segment("Young", (Condition("age", "<", 30),))
    at = make_app(PAGE, dataset=sample_dataset, segments={"Seniors": seniors, "Young": young})
    at.run()
    assert not at.exception
    df = sample_dataset.df
    tables = [d.value for d in at.dataframe]
    saved = next(t for t in tables if "Name" in t.columns)
    assert saved["Name"].tolist() == ["Seniors", "Young"]
    assert saved["Customers"].tolist() == [int((df.age >= 60).sum()), int((df.age < 30).sum())]
    compare = next(t for t in tables if "Measure" in t.columns)
    assert list(compare.columns) == ["Measure", "Seniors", "Young", "All customers"]
    row = compare[compare["Measure"] == "Customers"].iloc[0]
    assert (row["Seniors"], row["Young"], row["All customers"]) == (int((df.age >= 60).sum()), int((df.age < 30).sum()), 20000)


def test_ready_made_region_chart_and_table(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    at.selectbox(key="seg_ready_pick").set_value("Region").run()
    assert not at.exception
    df = sample_dataset.df
    table = next(d.value for d in at.dataframe if "region" in d.value.columns)
    want = df.groupby("region")["churned"].agg(["size", "mean"])
    assert table["region"].tolist() == want.index.tolist()
    assert table["Customers"].tolist() == want["size"].tolist()
    assert table["Churn rate (%)"].tolist() == (want["mean"] * 100).round(1).tolist()
    specs = chart_specs(at)
    assert any(s.get("layer", [{}])[0].get("encoding", {}).get("x", {}).get("field") == "region" for s in specs)


def test_band_edges_are_editable(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    at.selectbox(key="seg_ready_pick").set_value("Age band").run()
    at.text_input(key="seg_edges_age_band_age_band").set_value("40, 60").run()
    assert not at.exception
    df = sample_dataset.df
    table = next(d.value for d in at.dataframe if "age_band" in d.value.columns)
    assert table["age_band"].tolist() == ["< 40", "40 – 60", "≥ 60"]
    assert table["Customers"].tolist() == [int((df.age < 40).sum()), int(((df.age >= 40) & (df.age < 60)).sum()),
                                           int((df.age >= 60).sum())]


def test_deciles_in_chinese(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang="zh")
    at.run()
    at.button(key="seg_deciles_run").click().run()
    assert not at.exception
    assert at.title[0].value == "客户分群"
    spread = next(d.value for d in at.dataframe if "差距" in d.value.columns)
    assert len(spread) >= 10
    specs = chart_specs(at)
    titles = [s.get("encoding", {}).get("x", {}).get("title") for s in specs]
    assert "十分位（1 = 最低值）" in titles


def test_builder_or_mode_list_between_and_remove(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    at.selectbox(key="seg_b_column").set_value("region").run()
    at.selectbox(key="seg_b_op").set_value("is one of").run()
    at.multiselect(key="seg_b_value_multi").set_value(["Beijing", "Shanghai"]).run()
    at.button(key="seg_b_add").click().run()
    at.selectbox(key="seg_b_column").set_value("balance").run()
    at.selectbox(key="seg_b_op").set_value("is between").run()
    at.number_input(key="seg_b_value_lo").set_value(0.0)
    at.number_input(key="seg_b_value_hi").set_value(1000.0)
    at.button(key="seg_b_add").click().run()
    at.radio(key="seg_b_mode").set_value("OR: any condition").run()
    assert not at.exception
    df = sample_dataset.df
    text = 'region is one of "Beijing", "Shanghai" or balance is between 0 and 1,000'
    assert f"**Segment:** {text}" in [m.value for m in at.markdown]
    want = df["region"].isin(["Beijing", "Shanghai"]) | df["balance"].between(0, 1000)
    assert next(m for m in at.metric if m.label == "Customers").value == f"{int(want.sum()):,}"
    at.button(key="seg_b_rm_0").click().run()
    assert not at.exception
    assert "**Segment:** balance is between 0 and 1,000" in [m.value for m in at.markdown]
