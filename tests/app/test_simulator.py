"""Retention simulator page: the workspace's one plan (the CLI's plan), shown the way a banker reads it.

On the sample (with the session's small model) and on Churn_Modelling, in English and Chinese:
the book it acts on, money value, the plan against both baselines, every widget, the settings
surviving page and language switches, the board report, and the page's figures equal to
``python -m churn_core simulate`` for the same file, model, budget, draws and seed.
"""

import json
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
import streamlit as st

from churn_core.analysis.segments import Condition, Segment
from churn_core.sharing.formatting import money, number
from tests.app.conftest import ROOT, SAMPLE, chart_rows, make_app, workspace_of

PAGE = "pages/8_simulator.py"
CHURN_MODELLING = ROOT.parent / "shared" / "datasets" / "Churn_Modelling.csv"


def _metric(at, label):
    return next(m for m in at.metric if m.label == label)


def _frame(at, first_column):
    return next(d.value for d in at.dataframe if len(d.value.columns) and d.value.columns[0] == first_column)


def _num(text):
    return float(str(text).replace(",", ""))


def _comparison(at, lang="en"):
    plan = "Plan" if lang == "en" else "方案"
    return _frame(at, plan).set_index(plan)


@pytest.fixture(scope="module")
def page(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def churn_modelling():
    """Churn_Modelling (10,000 bank customers, money in Balance) with a small model."""
    from churn_core.data.ingest import load_file
    from churn_core.data.roles import detect_roles
    from churn_core.modeling.model import ChurnModel
    from studio.state import Dataset

    load = load_file(CHURN_MODELLING)
    dataset = Dataset(load, detect_roles(load.df))
    model = ChurnModel(random_state=0, n_estimators=60, cv_folds=2).fit(dataset.df, dataset.roles)
    return dataset, model


# ---------------------------------------------------------------- what the plan acts on, and its value

def test_acts_on_the_customers_still_here_at_the_latest_snapshot(page):
    df = pd.read_csv(SAMPLE)
    latest = df["snapshot_date"].max()
    n = int(((df["churned"] == 0) & (df["snapshot_date"] == latest)).sum())
    assert page.info[0].value == (f"The plan acts on the {n:,} customers still here at the latest snapshot "
                                  f"({latest}).")


def test_value_is_money_from_the_value_page(page):
    ws = workspace_of(page)
    value = np.asarray(ws.customer_value("book"), dtype=float)
    assert value.mean() > 100  # money, not 1 per customer
    assert (f"Customer value (Value page: money columns × margins): {money(value.sum())} a year for "
            f"{len(value):,} customers, {money(value.mean())} on average.") in [c.value for c in page.caption]


def test_plan_keeps_at_least_as_much_as_both_baselines_and_shows_the_unspent_budget(page):
    budget = page.number_input(key="sim_budget").value
    table = _comparison(page)
    assert list(table.index) == ["This plan", "Contact the riskiest", "Contact at random"]
    assert list(table.columns) == ["Spend", "Unspent budget", "Customers contacted", "Customers kept",
                                   "Customers kept, 90% interval", "Value kept", "Value kept, 90% interval",
                                   "Net benefit", "Net benefit, 90% interval"]
    for plan in table.index:
        assert _num(table.loc[plan, "Spend"]) + _num(table.loc[plan, "Unspent budget"]) == pytest.approx(budget, abs=1)
        low, high = (_num(x) for x in table.loc[plan, "Customers kept, 90% interval"].split(" – "))
        assert low <= _num(table.loc[plan, "Customers kept"]) <= high
    ours = table.loc["This plan"]
    for base in ("Contact the riskiest", "Contact at random"):
        assert _num(ours["Customers kept"]) >= _num(table.loc[base, "Customers kept"])
        assert _num(ours["Value kept"]) >= _num(table.loc[base, "Value kept"])
    assert _metric(page, "Unspent budget").value == table.loc["This plan", "Unspent budget"]
    assert _metric(page, "Value kept").help.startswith("90% interval: ")


def test_offers_are_named_in_tables_and_sentences(page):
    by_offer = _frame(page, "Offer")
    assert list(by_offer["Offer"]) == ["Fee waiver", "Deposit rate bonus", "Loyalty points / tier upgrade",
                                       "Relationship-manager call", "Second product", "Win-back call"]
    verdict = next(m.value for m in page.markdown if m.value.startswith("Contacting "))
    assert "The offer used most is " in verdict and "rm_call" not in verdict and "cross_sell" not in verdict


def test_charts_compare_the_plan_with_both_baselines(page):
    rows = chart_rows(page)
    assert sorted(r["label"] for r in rows[0]) == ["Contact at random", "Contact the riskiest", "This plan"]
    ours = next(r for r in rows[0] if r["plan"] == "optimiser")["value"]
    assert all(ours >= r["value"] - 1e-6 for r in rows[0])
    assert sorted(r["label"] for r in rows[2]) == ["Costs ±20%", "Effect", "Take-up"]


# ---------------------------------------------------------------- one plan: the page's plan is the CLI's

def test_page_plan_is_the_cli_plan(tmp_path, capsys):
    from churn_core.cli import main
    from churn_core.data.ingest import load_file
    from churn_core.data.roles import detect_roles
    from churn_core.modeling.model import ChurnModel
    from studio.state import Dataset

    path = tmp_path / "customers.csv"
    pd.read_csv(SAMPLE).sample(3000, random_state=1).to_csv(path, index=False)
    assert main(["train", str(path), "--out", str(tmp_path / "model")]) == 0
    assert main(["simulate", str(path), "--model", str(tmp_path / "model"), "--budget", "15000",
                 "--draws", "500", "--seed", "3", "--out", str(tmp_path / "plan")]) == 0
    capsys.readouterr()
    cli = json.loads((tmp_path / "plan" / "plan.json").read_text(encoding="utf-8"))

    load = load_file(path)
    at = make_app(PAGE, dataset=Dataset(load, detect_roles(load.df)), model=ChurnModel.load(tmp_path / "model"),
                  timeout=120)
    at.run()
    at.number_input(key="sim_budget").set_value(15000)
    at.number_input(key="sim_draws").set_value(500)
    at.number_input(key="sim_seed").set_value(3).run()
    assert not at.exception
    assert cli["retained_value"] != pytest.approx(cli["expected_saved"])  # value in money, not customers
    assert _metric(at, "Spend").value == money(cli["cost"])
    assert _metric(at, "Customers kept").value == number(cli["expected_saved"], 1)
    assert _metric(at, "Value kept").value == money(cli["retained_value"])
    assert _metric(at, "Net benefit").value == money(cli["net_benefit"])
    assert _metric(at, "Customers kept").help == (f"90% interval: {number(cli['expected_saved_low'], 1)} to "
                                                  f"{number(cli['expected_saved_high'], 1)}")
    table = _comparison(at)
    risk = cli["baselines"]["risk"]
    assert table.loc["Contact the riskiest", "Spend"] == money(risk["cost"])
    assert table.loc["Contact the riskiest", "Value kept"] == money(risk["retained_value"])
    assert table.loc["This plan", "Customers contacted"] == number(cli["targeted"])


# ---------------------------------------------------------------- every widget, settings kept

def test_every_widget_reruns_without_error(sample_dataset, small_model):
    segments = {"Complainers": Segment("Complainers", (Condition("complaints_12m", ">=", 2),))}
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120, segments=segments)
    at.run()
    before = _num(_metric(at, "Customers kept").value)
    at.number_input(key="sim_budget").set_value(at.number_input(key="sim_budget").value * 3).run()
    assert _num(_metric(at, "Customers kept").value) > before
    for key, value in (("sim_take_up", 1.5), ("sim_effect", 0.5), ("sim_cost", 1.2)):
        at.slider(key=key).set_value(value).run()
        assert not at.exception
    at.radio(key="sim_objective").set_value("Most net value (skip contacts that lose money)").run()
    assert workspace_of(at).settings.objective == "net_value"
    at.radio(key="sim_targeting").set_value("The N riskiest customers").run()
    at.number_input(key="sim_top_n").set_value(100).run()
    at.selectbox(key="sim_fixed_offer").set_value("Relationship-manager call").run()
    assert _num(_comparison(at).loc["This plan", "Customers contacted"]) <= 100
    by_offer = _frame(at, "Offer").set_index("Offer")
    assert by_offer.loc["Relationship-manager call", "Customers"] == _comparison(at).loc["This plan",
                                                                                          "Customers contacted"]
    at.radio(key="sim_targeting").set_value("Risk tiers").run()
    at.multiselect(key="sim_tiers").set_value(["High", "Medium"]).run()
    tiers = workspace_of(at).tiers().astype(str)
    assert f"{int(tiers.isin(['High', 'Medium']).sum()):,} customers in the chosen tiers" in " ".join(
        c.value for c in at.caption)
    at.radio(key="sim_targeting").set_value("A saved segment").run()
    at.selectbox(key="sim_segment").set_value("Complainers").run()
    at.radio(key="sim_effect_source").set_value("Churn model").run()
    assert not at.exception
    assert set(_frame(at, "Offer")["Effect from"]) <= {"Churn model", "Assumed"}
    at.radio(key="sim_targeting").set_value("Optimiser: best offer (or none) per customer").run()
    at.selectbox(key="sim_fixed_offer").set_value("Best offer for each customer").run()
    at.button(key="FormSubmitter:sim_offers_form-Apply offers").click().run()
    assert "6 offers in use." in [s.value for s in at.success]
    at.text_input(key="sim_scenario_name").set_value("Wide").run()
    at.button(key="sim_save_scenario").click().run()
    assert list(at.session_state["results"]["scenarios"]) == ["Wide"]
    assert list(_frame(at, "Wide").columns) == ["Wide"]
    at.button(key="sim_clear_scenarios").click().run()
    assert at.session_state["results"]["scenarios"] == {}
    at.toggle(key="sim_prepare_plan").set_value(True).run()
    customer = at.selectbox(key="sim_one_customer")
    customer.set_value(customer.options[3]).run()
    edits = [w for w in at.number_input if str(w.key).startswith("sim_one_")]
    assert edits, "the one-customer section offers fields the bank can change"
    edits[0].set_value(edits[0].value + 1).run()
    assert not at.exception
    assert not at.error


def test_offer_catalogue_upload_renames_offers(sample_dataset, small_model):
    from churn_core.retention.offers import catalogue_to_records, default_catalogue

    records = catalogue_to_records(default_catalogue())
    records[0]["name_en"] = "No fees for a year"
    records[1]["name_en"] = "[Rate](http://evil.example) bonus"
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120)
    at.run()
    at.file_uploader(key="sim_offers_upload").set_value(
        ("offers.json", json.dumps(records).encode(), "application/json")).run()
    assert not at.exception
    assert list(_frame(at, "Offer")["Offer"])[:2] == ["No fees for a year", "[Rate](http://evil.example) bonus"]
    shown = [e.value for kind in ("markdown", "caption", "success", "warning") for e in getattr(at, kind)]
    assert any("\\[Rate\\]\\(http\u2060\\://evil\\.example\\) bonus" in s for s in shown)
    assert not any("](http" in s for s in shown)  # an offer name is text, never a live link


def test_settings_survive_a_page_switch_and_a_language_switch(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120)
    at.run()
    at.number_input(key="sim_budget").set_value(12345)
    at.slider(key="sim_take_up").set_value(1.25)
    at.radio(key="sim_targeting").set_value("Risk tiers").run()
    at.multiselect(key="sim_tiers").set_value(["High", "Low"]).run()
    at.number_input(key="sim_seed").set_value(7).run()
    at.switch_page("pages/6_early_warning.py").run()
    assert not at.exception
    assert "sim_budget" not in at.session_state  # Streamlit dropped the widget's own key...
    at.switch_page(PAGE).run()
    assert at.number_input(key="sim_budget").value == 12345  # ...the page restored it from its own key
    assert at.slider(key="sim_take_up").value == 1.25
    assert at.radio(key="sim_targeting").value == "Risk tiers"
    assert at.multiselect(key="sim_tiers").value == ["High", "Low"]
    assert at.number_input(key="sim_seed").value == 7
    at.session_state["lang"] = "zh"  # what the sidebar's language switch sets
    at.run()
    assert not at.exception
    assert at.title[0].value == "客户挽留模拟器"
    assert at.number_input(key="sim_budget").value == 12345
    assert at.radio(key="sim_targeting").value == "风险等级"
    assert at.multiselect(key="sim_tiers").value == ["高", "低"]
    assert "预算：1.2万" in [c.value for c in at.caption]
    assert workspace_of(at).settings.objective == "saved_value"


def test_board_report_is_one_click_with_the_plan_shown(page):
    """The board report button builds the report of the plan on screen when clicked."""
    kept = {}
    real = st.download_button

    def spy(label, data, *args, **kw):
        if kw.get("key") == "sim_board_report":
            kept["data"] = data
        return real(label, data, *args, **kw)

    with patch.object(st, "download_button", spy):
        page.run()
    html = kept["data"]().decode("utf-8")
    spend = _metric(page, "Spend").value
    assert 'data-figure="plan_cost"' in html
    cost = float(html.split('data-figure="plan_cost" data-value="')[1].split('"')[0])
    assert money(cost) == spend
    assert "Relationship-manager call" in html


def test_measured_effects_from_a_campaign_feed_the_plan(sample_dataset, small_model):
    from churn_core.retention.uplift import UpliftResult

    rng = np.random.default_rng(0)
    n = 2000
    campaign = pd.DataFrame({"arm": rng.choice(["control", "rm_call"], n)})
    campaign["churned"] = (rng.random(n) < np.where(campaign["arm"] == "rm_call", 0.10, 0.16)).astype(int)
    uplift = UpliftResult(treatment="arm", control="control", outcome="churned", positive="1").fit(campaign)
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120, results={"uplift": uplift})
    at.run()
    at.radio(key="sim_effect_source").set_value("Measured in a past campaign").run()
    assert not at.exception
    sources = _frame(at, "Offer").set_index("Offer")["Effect from"]
    assert sources["Relationship-manager call"] == "Measured in a past campaign"
    assert sources["Fee waiver"] == "Assumed"


def test_page_in_chinese_uses_translated_headers_and_money(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, lang="zh", timeout=120)
    at.run()
    assert not at.exception
    ws = workspace_of(at)
    budget = at.number_input(key="sim_budget").value
    result = ws.plan(budget)  # the default offers, effects, draws and seed, as on the page
    assert _metric(at, "保住的价值").value == money(result.summary["retained_value"], lang="zh")
    assert _metric(at, "挽留客户数").value == number(result.summary["expected_saved"], 1)
    table = _comparison(at, "zh")
    assert list(table.index) == ["本方案", "联系风险最高的客户", "随机联系"]
    assert list(_frame(at, "措施")["措施"])[:2] == ["免收手续费", "存款利率加点"]


def test_page_without_a_model_points_to_the_model_page(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    assert not at.exception
    assert at.info[0].value.startswith("Train the churn model")


# ---------------------------------------------------------------- Churn_Modelling, both languages

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_churn_modelling_plan_in_money_beats_both_baselines(churn_modelling, lang):
    dataset, model = churn_modelling
    at = make_app(PAGE, dataset=dataset, model=model, lang=lang, timeout=120)
    at.run()
    assert not at.exception
    ws = workspace_of(at)
    n = int((dataset.df["Exited"] == 0).sum())
    assert ws.describe_book()["customers"] == n
    value = np.asarray(ws.customer_value("book"), dtype=float)
    assert value.mean() > 100  # money from Balance (and products), not 1 per customer
    at.number_input(key="sim_budget").set_value(50000).run()
    at.radio(key="sim_effect_source").set_value(at.radio(key="sim_effect_source").options[1]).run()
    assert not at.exception
    result = ws.plan(50000, None, effects="model")
    s, risk, rand = result.summary, result.baselines["risk"], result.baselines["random"]
    assert s["expected_saved"] >= max(risk["expected_saved"], rand["expected_saved"]) - 1e-9
    assert s["retained_value"] >= max(risk["retained_value"], rand["retained_value"]) - 1e-6
    kept = "Customers kept" if lang == "en" else "挽留客户数"
    assert _metric(at, kept).value == number(s["expected_saved"], 1)
    value_label = "Value kept" if lang == "en" else "保住的价值"
    assert _metric(at, value_label).value == money(s["retained_value"], lang=lang)


def test_simulator_follows_the_shared_tiers_value_and_currency(sample_dataset, small_model):
    """Tiers set on Early warning, the cost to serve set on the Value page and the currency: the
    simulator's High-tier targeting, customer value and money all follow the workspace."""
    from dataclasses import replace

    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120)
    ws = at.session_state["workspace"]
    ws.update_settings(tiers=replace(ws.settings.tiers, high_capacity=50, medium_capacity=0), currency="¥",
                       value=replace(ws.settings.value, cost_to_serve=100.0))
    at.run()
    at.radio(key="sim_targeting").set_value("Risk tiers").run()
    assert not at.exception
    assert "50 customers in the chosen tiers (Early warning settings)." in [c.value for c in at.caption]
    assert _num(_comparison(at).loc["This plan", "Customers contacted"].replace("¥", "")) <= 50
    value = np.asarray(ws.customer_value("book"), dtype=float)
    caption = next(c.value for c in at.caption if c.value.startswith("Customer value"))
    assert f"{money(value.sum(), '¥')} a year" in caption
    assert _metric(at, "Spend").value.startswith("¥")
    at.radio(key="sim_targeting").set_value("Optimiser: best offer (or none) per customer").run()
    budget = at.number_input(key="sim_budget").value
    assert _metric(at, "Value kept").value == money(ws.plan(budget).summary["retained_value"], "¥")
