"""Segments page (AppTest): builder, saved segments, ready-made bands, side by side, deciles,
a change of file, and every widget in both languages on three tables."""

import pytest

from churn_core.analysis import segments as S
from churn_core.analysis.segments import Condition, Segment
from tests.app.conftest import chart_specs, make_app
from tests.app.datasets import churn_modelling, credit_card

PAGE = "pages/2_segments.py"


def markdown(at):
    return [m.value for m in at.markdown]


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def table_with(at, column):
    return next(d.value for d in at.dataframe if column in d.value.columns)


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
    assert "**Segment:** age is at least 60" in markdown(at)
    assert metric(at, "Customers") == f"{len(older):,}"
    assert metric(at, "Churn rate (%)") == f"{older['churned'].mean():.1%}"
    assert metric(at, "Average balance") == f"{older['balance'].mean():,.0f}"
    at.text_input(key="seg_b_name").set_value("Seniors")
    at.button(key="FormSubmitter:seg_save_form-Save segment").click().run()
    assert not at.exception
    assert at.success[0].value == "Saved “Seniors”: other pages can now pick it."
    saved = at.session_state["segments"]["Seniors"]
    assert saved.describe("zh") == "age 大于等于 60"
    assert saved.where_sql() == ('"age" >= ?', [60])


def test_builder_description_in_chinese_uses_full_width_colon(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang="zh")
    at.run()
    at.selectbox(key="seg_b_column").set_value("age").run()
    at.selectbox(key="seg_b_op").set_value("大于等于").run()
    at.number_input(key="seg_b_value_num").set_value(60).run()
    at.button(key="seg_b_add").click().run()
    assert not at.exception
    assert "**客群：** age 大于等于 60" in markdown(at)


def test_user_text_in_the_description_is_not_markdown(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    at.selectbox(key="seg_b_column").set_value("occupation").run()
    at.selectbox(key="seg_b_op").set_value("contains").run()
    at.text_input(key="seg_b_value_text").set_value("![x](http://evil.example/a.png)").run()
    at.button(key="seg_b_add").click().run()
    assert not at.exception
    line = next(m for m in markdown(at) if m.startswith("**Segment:**"))
    assert "\\!\\[x\\]\\(http\u2060\\:" in line
    assert "](http" not in line


def test_saved_segments_listed_and_compared(sample_dataset):
    seniors = Segment("Seniors", (Condition("age", ">=", 60),))
    young = Segment("Young", (Condition("age", "<", 30),))
    at = make_app(PAGE, dataset=sample_dataset, segments={"Seniors": seniors, "Young": young})
    at.run()
    assert not at.exception
    df = sample_dataset.df
    saved = table_with(at, "Name")
    assert saved["Name"].tolist() == ["Seniors", "Young"]
    assert saved["Customers"].tolist() == [f"{(df.age >= 60).sum():,}", f"{(df.age < 30).sum():,}"]
    assert saved["Status"].tolist() == ["OK", "OK"]
    compare = table_with(at, "Measure")
    assert list(compare.columns) == ["Measure", "A · Seniors", "B · Young", "All customers"]
    row = compare[compare["Measure"] == "Customers"].iloc[0]
    assert row.tolist() == ["Customers", f"{(df.age >= 60).sum():,}", f"{(df.age < 30).sum():,}", "20,000"]
    rate = compare[compare["Measure"] == "Churn rate (%)"].iloc[0]
    assert rate["All customers"] == f"{df.churned.mean():.1%}"


@pytest.mark.parametrize("lang, all_label", [("en", "All customers"), ("zh", "全部客户")])
def test_side_by_side_with_all_customers(sample_dataset, lang, all_label):
    seniors = Segment("Seniors", (Condition("age", ">=", 60),))
    at = make_app(PAGE, dataset=sample_dataset, segments={"Seniors": seniors}, lang=lang)
    at.run()
    at.selectbox(key="seg_cmp_a").set_value(all_label).run()
    assert not at.exception
    compare = next(d.value for d in at.dataframe if f"A · {all_label}" in d.value.columns)
    assert list(compare.columns)[1:] == [f"A · {all_label}", "B · Seniors", all_label]
    assert compare.iloc[0, 1] == compare.iloc[0, 3] == "20,000"
    at.selectbox(key="seg_cmp_b").set_value(all_label).run()  # both sides All customers
    assert not at.exception
    compare = next(d.value for d in at.dataframe if f"B · {all_label}" in d.value.columns)
    assert compare.columns.is_unique


def test_ready_made_region_chart_and_table(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    at.selectbox(key="seg_ready_pick").set_value("Region").run()
    assert not at.exception
    df = sample_dataset.df
    table = table_with(at, "region")
    want = df.groupby("region")["churned"].agg(["size", "mean"])
    assert table["region"].tolist() == want.index.tolist()
    assert table["Customers"].tolist() == [f"{n:,}" for n in want["size"]]
    assert table["Churn rate (%)"].tolist() == [f"{r * 100:.1f}%" for r in want["mean"]]
    specs = chart_specs(at)
    assert any(s.get("layer", [{}])[0].get("encoding", {}).get("x", {}).get("field") == "region" for s in specs)


def test_ready_made_headers_are_translated(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang="zh")
    at.run()
    assert not at.exception
    table = table_with(at, "价值区间")
    assert list(table.columns[:3]) == ["价值区间", "持有产品数", "客户数"]
    assert "value_band" not in table.columns


def test_band_edges_are_editable(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    at.selectbox(key="seg_ready_pick").set_value("Age band").run()
    at.text_input(key="seg_edges_age_band_age_band").set_value("40, 60").run()
    assert not at.exception
    df = sample_dataset.df
    table = table_with(at, "Age band")
    assert table["Age band"].tolist() == ["< 40", "40 – 60", "≥ 60"]
    assert table["Customers"].tolist() == [f"{(df.age < 40).sum():,}", f"{((df.age >= 40) & (df.age < 60)).sum():,}",
                                           f"{(df.age >= 60).sum():,}"]


def test_bad_band_edges_show_a_translated_message(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang="zh")
    at.run()
    at.selectbox(key="seg_ready_pick").set_value("年龄段").run()
    at.text_input(key="seg_edges_age_band_age_band").set_value("abc").run()
    assert not at.exception
    assert at.error and all("abc" not in e.value or "Error" not in e.value for e in at.error)


def test_deciles_in_chinese(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang="zh")
    at.run()
    at.button(key="seg_deciles_run").click().run()
    assert not at.exception
    assert at.title[0].value == "客群分析"
    spread = table_with(at, "差距")
    assert len(spread) >= 10
    assert spread["差距"].iloc[0].endswith("个百分点")
    assert spread.iloc[0, 1].endswith("%")
    titles = [s.get("encoding", {}).get("x", {}).get("title") for s in chart_specs(at)]
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
    assert f"**Segment:** {text}" in markdown(at)
    want = df["region"].isin(["Beijing", "Shanghai"]) | df["balance"].between(0, 1000)
    assert metric(at, "Customers") == f"{int(want.sum()):,}"
    at.button(key="seg_b_rm_0").click().run()
    assert not at.exception
    assert "**Segment:** balance is between 0 and 1,000" in markdown(at)


@pytest.mark.parametrize("lang, note, status", [
    ("en", "The data changed: the conditions and choices of the previous file were cleared.",
     "Column age is not in the data."),
    ("zh", "数据已更换：上一个文件的条件和选择已清除。", "数据中没有字段 age。"),
])
def test_a_new_file_resets_the_builder_and_flags_old_segments(sample_dataset, lang, note, status):
    seniors = Segment("Seniors", (Condition("age", ">=", 60),))
    at = make_app(PAGE, dataset=sample_dataset, segments={"Seniors": seniors}, lang=lang)
    at.run()
    at.selectbox(key="seg_b_column").set_value("age").run()
    at.button(key="seg_b_add").click().run()
    assert len(at.session_state["_seg_conditions"]) == 1
    cards = credit_card()
    at.session_state["workspace"].set_history(cards.load, roles=cards.roles)  # a different file
    at.run()
    assert not at.exception
    assert at.info[0].value == note
    assert at.session_state["_seg_conditions"] == []
    assert at.selectbox(key="seg_b_column").value == cards.df.columns[0]
    saved = next(d.value for d in at.dataframe if len(d.value) == 1 and d.value.iloc[0, 0] == "Seniors")
    assert saved.iloc[0, -1] == status
    assert [w.value for w in at.warning] == [status]  # side by side: translated, once
    everything = " ".join(e.value for e in list(at.error) + list(at.warning) + list(at.info))
    assert "Binder" not in everything and "Error" not in everything


def drive_every_widget(at, every_operator=True):
    """Click through every tab's widgets; the page must never raise or show a raw database error."""
    at.run()
    assert not at.exception
    df = at.session_state["workspace"].df
    kinds = {}
    for name in df.columns:  # one column of each kind (number, text, yes/no, date)
        kinds.setdefault(S.column_kind(df[name]), name)
    for name in kinds.values():
        at.selectbox(key="seg_b_column").set_value(name).run()
        assert not at.exception, name
        ops = at.selectbox(key="seg_b_op").options
        for op in ops if every_operator else ops[-1:]:
            at.selectbox(key="seg_b_op").set_value(op).run()
            assert not at.exception, (name, op)
        at.button(key="seg_b_add").click().run()
        assert not at.exception, name
    for mode in at.radio(key="seg_b_mode").options:
        at.radio(key="seg_b_mode").set_value(mode).run()
    at.text_input(key="seg_b_name").set_value("Mine")
    at.button(key=next(b.key for b in at.button if str(b.key).startswith("FormSubmitter:seg_save_form"))).click().run()
    assert not at.exception
    for code in at.selectbox(key="seg_ready_pick").options:
        at.selectbox(key="seg_ready_pick").set_value(code).run()
        assert not at.exception, code
    for side in ("seg_cmp_a", "seg_cmp_b"):
        for option in at.selectbox(key=side).options:
            at.selectbox(key=side).set_value(option).run()
            assert not at.exception, option
    at.button(key="seg_deciles_run").click().run()
    assert not at.exception
    options = at.selectbox(key="seg_deciles_col").options
    at.selectbox(key="seg_deciles_col").set_value(options[-1]).run()
    at.button(key="seg_saved_delete").click().run()
    assert not at.exception
    assert not [e.value for e in at.error if "Error" in e.value]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_widget_on_the_sample(sample_dataset, lang):
    drive_every_widget(make_app(PAGE, dataset=sample_dataset, lang=lang))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_widget_on_churn_modelling(lang):
    drive_every_widget(make_app(PAGE, dataset=churn_modelling(), lang=lang), every_operator=False)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_widget_on_a_credit_card_table(lang):
    drive_every_widget(make_app(PAGE, dataset=credit_card(), lang=lang), every_operator=False)


def test_credit_card_value_band_is_on_the_revolving_balance():
    ds = credit_card()
    at = make_app(PAGE, dataset=ds)
    at.run()
    assert at.selectbox(key="seg_ready_pick").value == "Value tier"
    table = table_with(at, "Value band")
    assert sum(int(n.replace(",", "")) for n in table["Customers"]) == len(ds.df)


def test_a_hostile_column_name_in_an_old_segment_is_shown_as_text(sample_dataset):
    hostile = "![x](http://evil.example/a.png)"
    seg = Segment("Odd", (Condition(hostile, ">=", 1),))
    at = make_app(PAGE, dataset=sample_dataset, segments={"Odd": seg})
    at.run()
    assert not at.exception
    assert [w.value for w in at.warning] == [
        "Column \\!\\[x\\]\\(http\u2060\\://evil\\.example/a\\.png\\) is not in the data."]
    saved = next(d.value for d in at.dataframe if "Status" in d.value.columns)
    assert saved["Status"].tolist() == [f"Column {hostile} is not in the data."]
