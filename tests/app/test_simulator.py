"""Simulator page: runs on the sample with a small model, sliders rerun, scenarios compare."""

import json

import pytest

from tests.app.conftest import chart_rows, chart_specs, make_app

PAGE = "pages/8_simulator.py"


@pytest.fixture(scope="module")
def page(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _frame(at, first_column):
    return next(d.value for d in at.dataframe if len(d.value.columns) and d.value.columns[0] == first_column)


def _metric(at, label):
    return next(m for m in at.metric if m.label == label)


def test_page_shows_the_plan_with_intervals(page):
    at = page
    assert at.title[0].value == "Retention simulator"
    contacted = int(_metric(at, "Customers contacted").value.replace(",", ""))
    assert contacted > 0
    saved = _metric(at, "Customers kept")
    assert saved.help.startswith("90% interval: ")
    plan = at.session_state["results"]["simulator_cache"]["inputs"]
    assert plan.n == 20_000 and plan.value_source == "contribution"
    figures = _frame(at, "Figure")
    assert list(figures.iloc[:, 0]) == ["Customers kept", "Retention rate before", "Retention rate after", "Value kept",
                                        "Cost", "Net benefit", "Return on cost (ROI)"]


def test_page_charts_compare_with_both_baselines_and_show_a_tornado(page):
    assert len(chart_specs(page)) == 3
    datasets = chart_rows(page)
    plans = sorted(row["label"] for row in datasets[0])
    assert plans == ["Contact at random", "Contact the riskiest", "This plan"]
    assert sorted(row["label"] for row in datasets[2]) == ["Costs ±20%", "Effect", "Take-up"]
    ours = next(r for r in datasets[0] if r["plan"] == "optimiser")["value"]
    assert all(ours >= r["value"] for r in datasets[0])
    assert all(len(d) <= 5000 for d in datasets)


def test_budget_slider_reruns_and_changes_the_plan(page):
    at = page
    before = int(_metric(at, "Customers contacted").value.replace(",", ""))
    budget = at.slider(key="sim_budget")
    budget.set_value(budget.value * 2).run()
    assert not at.exception
    after = int(_metric(at, "Customers contacted").value.replace(",", ""))
    assert after > before
    at.slider(key="sim_take").set_value(1.5).run()
    at.slider(key="sim_cost").set_value(0.5).run()
    assert not at.exception


def test_scenarios_are_saved_and_compared_side_by_side(page):
    at = page
    at.text_input(key="sim_scenario_name").set_value("Generous").run()
    at.button(key="sim_save_scenario").click().run()
    at.slider(key="sim_budget").set_value(at.slider(key="sim_budget").value / 4).run()
    at.text_input(key="sim_scenario_name").set_value("Tight").run()
    at.button(key="sim_save_scenario").click().run()
    assert not at.exception
    scenarios = at.session_state["results"]["scenarios"]
    assert list(scenarios) == ["Generous", "Tight"]
    assert scenarios["Tight"]["budget"] == pytest.approx(scenarios["Generous"]["budget"] / 4)
    assert scenarios["Tight"]["cost"] <= scenarios["Tight"]["budget"]
    table = _frame(at, "Generous")
    assert list(table.columns) == ["Generous", "Tight"]
    budgets = [float(x.replace(",", "")) for x in table.loc["Budget"]]
    assert budgets[1] == pytest.approx(budgets[0] / 4, abs=1)
    assert table.loc["ROI", "Tight"].endswith("%")
    json.dumps(scenarios)  # saved scenarios are plain JSON


def test_top_n_targeting_with_one_offer(page):
    at = page
    at.radio(key="sim_targeting").set_value("top_n").run()
    at.number_input(key="sim_top_n").set_value(100).run()
    at.selectbox(key="sim_fixed_offer").set_value("rm_call").run()
    assert not at.exception
    assert int(_metric(at, "Customers contacted").value.replace(",", "")) <= 100
    by_offer = _frame(at, "Offer").set_index("Offer")
    assert by_offer["Customers"].sum() == by_offer.loc["Relationship-manager call", "Customers"]
    at.radio(key="sim_targeting").set_value("optimiser").run()
    at.selectbox(key="sim_fixed_offer").set_value("best").run()


def test_page_in_chinese(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, lang="zh", timeout=120)
    at.run()
    assert not at.exception
    assert at.title[0].value == "客户挽留模拟器"
    assert any(m.label == "挽留客户数" for m in at.metric)


def test_page_without_a_model_points_to_the_model_page(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    assert not at.exception
    assert at.info[0].value == "Train the churn model first on the Churn model page."


class MeasuredStandIn:
    """What the Past campaigns page stores: an object whose predict_effects gives per-customer effects."""

    def predict_effects(self, customers_df):
        import pandas as pd

        n = len(customers_df)
        return pd.DataFrame({"rm_call": [0.02] * n, "rm_call_se": [0.005] * n}, index=customers_df.index)


def test_measured_and_model_effects_can_be_chosen(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120, results={"uplift": MeasuredStandIn()})
    at.run()
    assert not at.exception
    at.radio(key="sim_effect_source").set_value("measured").run()
    assert not at.exception
    sources = _frame(at, "Offer").set_index("Offer")["Effect from"].to_dict()
    assert sources["Relationship-manager call"] == "Measured in a past campaign"
    assert sources["Fee waiver"] == "Assumed"
    at.radio(key="sim_effect_source").set_value("model").run()
    assert not at.exception
    sources = _frame(at, "Offer").set_index("Offer")["Effect from"].to_dict()
    assert sources["Fee waiver"] == "Churn model" and sources["Win-back call"] == "Assumed"


def test_editing_one_customer_moves_the_risk(page):
    at = page
    who = at.selectbox(key="sim_one_customer").value
    risk = _metric(at, "Churn probability")
    assert not risk.delta  # nothing edited yet
    at.number_input(key=f"sim_one_{who}_complaints_12m").set_value(0.0).run()
    at.number_input(key=f"sim_one_{who}_satisfaction").set_value(5.0).run()
    assert not at.exception
    moved = _metric(at, "Churn probability")
    assert moved.delta.startswith("-")
    offers = at.dataframe[-1].value
    assert list(offers.columns) == ["Offer", "Cost if accepted", "Risk now", "Risk after the offer", "Effect from",
                                    "Below the High tier"]


def test_saved_segment_targeting_stays_inside_the_segment(sample_dataset, small_model):
    from churn_core.analysis.segments import Condition, Segment

    complainers = Segment("Complainers", (Condition("complaints_12m", ">=", 2),))
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=120,
                  segments={"Complainers": complainers})
    at.run()
    at.radio(key="sim_targeting").set_value("segment").run()
    assert not at.exception
    assert at.selectbox(key="sim_segment").value == "Complainers"
    contacted = int(_metric(at, "Customers contacted").value.replace(",", ""))
    in_segment = int((sample_dataset.df["complaints_12m"] >= 2).sum())
    assert 0 < contacted <= in_segment
    assert at.session_state["results"]["simulator_cache"]["inputs"].customer_ids[0] == "C000001"


def test_tier_targeting_uses_the_early_warning_tiers(page):
    at = page
    at.radio(key="sim_targeting").set_value("tier").run()
    assert not at.exception
    assert at.multiselect(key="sim_tiers").value == ["high"]
    contacted = int(_metric(at, "Customers contacted").value.replace(",", ""))
    assert 0 < contacted <= 2000  # the High tier is the riskiest 10% of 20,000
    at.radio(key="sim_targeting").set_value("optimiser").run()
