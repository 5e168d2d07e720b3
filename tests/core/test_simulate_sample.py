"""On the bundled sample, with the generator's true offer effects, the projection matches reality."""

import numpy as np
import pandas as pd
import pytest

from churn_core.data import synth
from churn_core.retention.offers import default_catalogue
from churn_core.retention.simulate import SimulationSettings, compute_custom_effects, compute_simulation, prepare_inputs_from_frame


@pytest.fixture(scope="module")
def sample(sample_path):
    return pd.read_csv(sample_path)


@pytest.fixture(scope="module")
def true_inputs(sample):
    cat = default_catalogue()
    p = synth.true_churn_probability(sample)
    base = np.column_stack([p - synth.true_churn_probability(sample, code) for code in cat.codes])
    effects = compute_custom_effects(base, cat, source="true")
    return cat, prepare_inputs_from_frame(sample, cat, p, effects, id_column="customer_id")


@pytest.fixture(scope="module")
def plan(true_inputs):
    cat, inputs = true_inputs
    return compute_simulation(inputs, cat, SimulationSettings(budget=150_000, n_draws=4000))


def _offers(result):
    codes = np.asarray(result.codes, dtype=object)
    return [codes[c] if c >= 0 else None for c in result.choice]


def test_plan_spends_the_budget_on_responsive_customers(plan, sample):
    s = plan.summary
    assert s["cost"] <= 150_000
    assert s["targeted"] > 1000
    by = plan.by_offer.set_index("offer")
    assert by.loc["rm_call", "customers"] <= 2000 and by.loc["win_back", "customers"] <= 1000
    chosen = plan.choice >= 0
    responsive = np.zeros(len(sample), dtype=bool)
    for k, code in enumerate(plan.codes):
        mask = plan.choice == k
        if code != "win_back" and mask.any():
            responsive[mask] = synth.responsive_mask(sample.loc[mask], code)
    # the generator made some customers responsive to each offer: the plan finds them
    assert responsive[chosen].mean() > 0.9


def test_projected_interval_covers_what_the_generator_actually_saves(plan, sample):
    s = plan.summary
    outcome = synth.simulate_plan_outcome(sample, _offers(plan), seed=0)
    assert s["expected_saved_low"] <= outcome["saved"] <= s["expected_saved_high"]


def test_interval_covers_about_ninety_percent_of_replays(plan, sample):
    s = plan.summary
    offers = _offers(plan)
    saved = [synth.simulate_plan_outcome(sample, offers, seed=seed)["saved"] for seed in range(20)]
    covered = sum(s["expected_saved_low"] <= x <= s["expected_saved_high"] for x in saved)
    assert covered >= 16
    assert np.mean(saved) == pytest.approx(s["expected_saved"], rel=0.05)


def test_optimiser_keeps_more_value_than_the_baselines(plan):
    s = plan.summary
    assert s["retained_value"] > 1.5 * plan.baselines["risk"]["retained_value"]
    assert plan.baselines["risk"]["retained_value"] > plan.baselines["random"]["retained_value"]


def test_counting_customers_the_optimiser_saves_more_than_the_riskiest_in_the_generators_world(true_inputs, sample):
    cat, inputs = true_inputs
    from churn_core.retention.simulate import prepare_inputs

    counted = prepare_inputs(inputs.p, inputs.effects, None, inputs.eligibility, inputs.customer_ids)
    settings = SimulationSettings(budget=150_000, objective="saved_value", n_draws=1000)
    ours = compute_simulation(counted, cat, settings)
    risk = compute_simulation(counted, cat, SimulationSettings(budget=150_000, targeting="risk", n_draws=1000))
    assert ours.summary["expected_saved"] > 1.2 * risk.summary["expected_saved"]
    assert risk.summary["expected_saved"] == pytest.approx(ours.baselines["risk"]["expected_saved"])
    replay_ours = np.mean([synth.simulate_plan_outcome(sample, _offers(ours), seed=s)["saved"] for s in range(5)])
    replay_risk = np.mean([synth.simulate_plan_outcome(sample, _offers(risk), seed=s)["saved"] for s in range(5)])
    assert replay_ours > 1.2 * replay_risk


@pytest.mark.parametrize("budget", [10_000, 60_000, 150_000, 600_000])
def test_spending_the_budget_beats_both_baselines_on_customers_and_value(true_inputs, budget):
    cat, inputs = true_inputs
    res = compute_simulation(inputs, cat, SimulationSettings(budget=budget, objective="saved_value", n_draws=200))
    s = res.summary
    assert s["cost"] <= budget
    for name in ("risk", "random"):
        assert s["expected_saved"] >= res.baselines[name]["expected_saved"]
        assert s["retained_value"] >= res.baselines[name]["retained_value"]
    assert 0.0 <= s["value_weight"] <= 1.0
