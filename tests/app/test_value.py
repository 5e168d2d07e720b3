"""Customer value page (AppTest): margins per money column, assumptions, currency, value at risk.

Money on the page is checked against an independent pandas formula:
sum over money columns of margin x amount + product margin x products - cost to serve.
"""

import numpy as np
import pytest

from churn_core.analysis.segments import Condition, Segment
from churn_core.sharing.formatting import money
from tests.app.conftest import chart_specs, make_app
from tests.app.datasets import churn_modelling, credit_card

PAGE = "pages/3_value.py"


def sample_value(df, balance=0.015, assets=0.004, fees=1.0, product=60.0, cost=40.0):
    """Yearly contribution of each sample customer, written out by hand."""
    return (df.balance.fillna(0) * balance + df.total_assets.fillna(0) * assets + df.fees_paid_12m.fillna(0) * fees
            + df.num_products * product - cost)


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def margin_key(at, column):
    ws = at.session_state["workspace"]
    return f"value_margin:{ws.load_.fingerprint[:12]}:{column}"


def apply(at, lang="en"):
    label = "Apply" if lang == "en" else "应用"
    at.button(key=f"FormSubmitter:value_assumptions-{label}").click().run()
    assert not at.exception
    return at


def test_needs_data():
    at = make_app(PAGE)
    at.run()
    assert not at.exception
    assert at.info[0].value.startswith("Load a customer table first")


def test_whole_file_money_equals_the_pandas_formula(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Customer value"
    c = sample_value(sample_dataset.df)
    assert metric(at, "Total yearly contribution") == f"{c.sum():,.0f}"


def test_margin_inputs_list_the_money_columns_in_percent(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    assert at.number_input(key=margin_key(at, "balance")).value == 1.5
    assert at.number_input(key=margin_key(at, "total_assets")).value == 0.4
    assert at.number_input(key=margin_key(at, "fees_paid_12m")).value == 100.0
    assert at.number_input(key="value_discount_rate").value == 8.0


def test_book_value_and_value_at_risk_say_which_customers(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model)
    at.run()
    assert not at.exception
    df = sample_dataset.df
    snap = df.snapshot_date.max()
    book = df[(df.churned == 0) & (df.snapshot_date == snap)]
    want = (f"The customers to act on: the {len(book):,} customers active at the latest "
            f"snapshot ({snap.date().isoformat()}).")
    assert want in [c.value for c in at.caption]
    assert metric(at, "Customers to act on") == f"{len(book):,}"
    value = sample_value(book)
    assert metric(at, "Their yearly contribution") == f"{value.sum():,.0f}"
    p = small_model.predict_proba(book)
    assert metric(at, "Yearly contribution likely to leave") == f"{(p * value.to_numpy()).sum():,.0f}"


def test_without_a_model_the_page_asks_for_one(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    assert metric(at, "Yearly contribution likely to leave") == "–"
    assert "Train the churn model (Model page) to see how much of it is likely to leave." in [
        c.value for c in at.caption]


def test_editing_a_margin_changes_customer_value_everywhere(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    at.number_input(key=margin_key(at, "balance")).set_value(3.0)
    at.number_input(key="value_cost_to_serve").set_value(0.0)
    at.number_input(key="value_product_margin").set_value(80.0)
    apply(at)
    assert at.success[0].value.startswith("Applied: every page")
    ws = at.session_state["workspace"]
    assert ws.meanings_.money()["balance"] == pytest.approx(0.03)
    assert ws.settings.value.cost_to_serve == 0.0
    assert ws.settings.value.product_margin == 80.0
    book = ws.book().frame
    want = sample_value(book, balance=0.03, product=80.0, cost=0.0).to_numpy()
    np.testing.assert_allclose(ws.customer_value("book"), want)  # the simulator's value
    c = sample_value(sample_dataset.df, balance=0.03, product=80.0, cost=0.0)
    assert metric(at, "Total yearly contribution") == f"{c.sum():,.0f}"
    assert ws.mapping()["margins"]["balance"] == pytest.approx(0.03)  # the CLI mapping follows


def test_discount_horizon_and_period_are_written_to_the_settings(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    at.number_input(key="value_discount_rate").set_value(10.0)
    at.number_input(key="value_horizon_years").set_value(3)
    at.number_input(key="value_churn_period_months").set_value(12)
    apply(at)
    a = at.session_state["workspace"].settings.value
    assert (a.discount_rate, a.horizon_years, a.churn_period_months) == (pytest.approx(0.10), 3, 12)


def test_currency_in_chinese_uses_wan(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang="zh")
    at.run()
    at.selectbox(key="value_currency").set_value("¥")
    apply(at, "zh")
    assert at.session_state["workspace"].settings.currency == "¥"
    c = sample_value(sample_dataset.df)
    assert metric(at, "年贡献合计") == money(c.sum(), "¥", "zh")
    assert metric(at, "年贡献合计").endswith("万")
    assert metric(at, "年贡献合计").startswith("¥8,546.9")


def test_value_by_region_table_is_formatted(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    at.selectbox(key="value_group_by").set_value("Column: region").run()
    assert not at.exception
    df = sample_dataset.df
    table = next(d.value for d in at.dataframe if "region" in d.value.columns)
    assert table["region"].tolist() == sorted(df["region"].unique())
    assert table["Customers"].tolist() == [f"{n:,}" for n in df.groupby("region").size()]
    c = sample_value(df).groupby(df.region).sum()
    assert table["Total yearly contribution"].tolist() == [f"{v:,.0f}" for v in c]
    assert table["Historical churn rate (%)"].tolist() == [
        f"{r * 100:.1f}%" for r in df.groupby("region")["churned"].mean()]
    assert len(chart_specs(at)) == 2


def test_saved_segments_in_chinese(sample_dataset):
    seg = Segment("Seniors", (Condition("age", ">=", 60),))
    at = make_app(PAGE, dataset=sample_dataset, segments={"Seniors": seg}, lang="zh")
    at.run()
    assert not at.exception
    assert at.title[0].value == "客户价值"
    assert at.selectbox(key="value_group_by").value == "已保存客群"
    table = next(d.value for d in at.dataframe if "客群" in d.value.columns)
    assert table["客群"].tolist() == ["全部客户", "Seniors"]
    assert table["客户数"].tolist() == ["20,000", f"{int((sample_dataset.df.age >= 60).sum()):,}"]
    assert chart_specs(at)[0]["encoding"]["y"]["title"] == "风险价值"


def test_saved_segment_of_another_file_is_left_out(sample_dataset):
    seg = Segment("Cards", (Condition("Total_Trans_Ct", ">=", 60),))
    at = make_app(PAGE, dataset=sample_dataset, segments={"Cards": seg})
    at.run()
    assert not at.exception
    assert at.warning[0].value == "1 saved segment(s) use columns this file does not have and are left out."


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_widget_in_both_languages(sample_dataset, small_model, lang):
    seg = Segment("Seniors", (Condition("age", ">=", 60),))
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, lang=lang, segments={"Seniors": seg})
    at.run()
    assert not at.exception
    for option in at.selectbox(key="value_group_by").options:
        at.selectbox(key="value_group_by").set_value(option).run()
        assert not at.exception, option
        assert not at.error
    at.toggle(key="value_use_model").set_value(False).run()
    assert not at.exception
    at.number_input(key="value_top_limit").set_value(20).run()
    assert len(at.dataframe[-1].value) == 20
    for symbol in at.selectbox(key="value_currency").options:
        at.selectbox(key="value_currency").set_value(symbol)
        apply(at, lang)
    assert not at.error


def test_churn_modelling_values_balance_and_products():
    ds = churn_modelling()
    at = make_app(PAGE, dataset=ds)
    at.run()
    assert not at.exception
    df = ds.df
    assert at.number_input(key=margin_key(at, "Balance")).value == 1.5
    c = df.Balance * 0.015 + df.NumOfProducts * 60 - 40
    assert metric(at, "Total yearly contribution") == f"{c.sum():,.0f}"
    book = df[df.Exited == 0]
    assert metric(at, "Customers to act on") == f"{len(book):,}"
    assert metric(at, "Their yearly contribution") == f"{c[df.Exited == 0].sum():,.0f}"


def card_value(df, revolving=0.15, amount=0.01, limit=0.0):
    return (df.Total_Revolving_Bal * revolving + df.Total_Trans_Amt * amount + df.Credit_Limit * limit
            + df.Total_Relationship_Count * 60 - 40)


def test_credit_card_money_is_revolving_balance_and_transactions():
    ds = credit_card()
    at = make_app(PAGE, dataset=ds)
    at.run()
    assert not at.exception
    assert [at.number_input(key=margin_key(at, c)).value for c in
            ("Credit_Limit", "Total_Revolving_Bal", "Total_Trans_Amt")] == [0.0, 15.0, 1.0]
    assert metric(at, "Total yearly contribution") == f"{card_value(ds.df).sum():,.0f}"


def test_credit_card_margin_edit_reaches_the_simulator_value():
    ds = credit_card()
    at = make_app(PAGE, dataset=ds, lang="zh")
    at.run()
    ws = at.session_state["workspace"]
    before = ws.customer_value("book").copy()
    at.number_input(key=margin_key(at, "Total_Revolving_Bal")).set_value(20.0)
    at.number_input(key=margin_key(at, "Total_Trans_Amt")).set_value(2.0)
    apply(at, "zh")
    book = ws.book().frame
    after = ws.customer_value("book")
    np.testing.assert_allclose(after, card_value(book, revolving=0.20, amount=0.02).to_numpy())
    assert after.sum() > before.sum()
    assert metric(at, "年贡献合计") == money(card_value(ds.df, 0.20, 0.02).sum(), "", "zh")


def test_a_new_file_resets_the_grouping_and_the_margins(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    at.selectbox(key="value_group_by").set_value("Column: region").run()
    cards = credit_card()
    at.session_state["workspace"].set_history(cards.load, roles=cards.roles)
    at.run()
    assert not at.exception
    assert at.selectbox(key="value_group_by").value == at.selectbox(key="value_group_by").options[0]
    assert at.number_input(key=margin_key(at, "Total_Revolving_Bal")).value == 15.0
    assert metric(at, "Total yearly contribution") == f"{card_value(cards.df).sum():,.0f}"
