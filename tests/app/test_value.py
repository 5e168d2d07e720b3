"""Customer value page: assumptions, value by segment, charts, top customers (AppTest)."""

import json

import numpy as np

from churn_core.analysis.segments import Condition, Segment
from tests.app.conftest import make_app

PAGE = "pages/3_value.py"


def charts(at):
    return [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]


def test_needs_data():
    at = make_app(PAGE)
    at.run()
    assert not at.exception
    assert at.info[0].value.startswith("Load a customer table first")


def test_value_by_region_with_default_assumptions(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Customer value"
    at.selectbox(key="value_group_by").set_value("Column: region").run()
    assert not at.exception
    df = sample_dataset.df
    table = next(d.value for d in at.dataframe if "region" in d.value.columns)
    assert table["region"].tolist() == sorted(df["region"].unique())
    assert table["Customers"].tolist() == df.groupby("region").size().tolist()
    # whole-base figures, from the documented formula in pandas
    c = (df.balance * 0.015 + (df.total_assets - df.balance).clip(lower=0) * 0.004 + df.num_products * 60
         + df.fees_paid_12m - 40)
    total = next(m for m in at.metric if m.label == "Total yearly contribution")
    assert total.value == f"{c.sum():,.0f}"
    assert len(charts(at)) == 2
    assert len(at.dataframe[-1].value) == 100


def test_editing_margins_changes_contribution(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    at.number_input[0].set_value(0.03)  # balance margin
    at.number_input[4].set_value(0.0)   # cost to serve
    at.button(key="FormSubmitter:value_assumptions-Apply").click().run()
    assert not at.exception
    df = sample_dataset.df
    c = (df.balance * 0.03 + (df.total_assets - df.balance).clip(lower=0) * 0.004 + df.num_products * 60
         + df.fees_paid_12m)
    total = next(m for m in at.metric if m.label == "Total yearly contribution")
    assert total.value == f"{c.sum():,.0f}"


def test_saved_segments_and_chinese(sample_dataset):
    seg = Segment("Seniors", (Condition("age", ">=", 60),))
    at = make_app(PAGE, dataset=sample_dataset, segments={"Seniors": seg}, lang="zh")
    at.run()
    assert not at.exception
    assert at.title[0].value == "客户价值"
    assert at.selectbox(key="value_group_by").value == "已保存分群"
    table = next(d.value for d in at.dataframe if "segment" in d.value.columns)
    assert table["segment"].tolist() == ["全部客户", "Seniors"]
    assert table["客户数"].tolist() == [20000, int((sample_dataset.df.age >= 60).sum())]
    spec = charts(at)[0]
    assert spec["encoding"]["y"]["title"] == "风险价值"
