"""Simulator and optimiser: arithmetic, budget and capacity guarantees, baselines, intervals."""

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import ChurnCoreError
from churn_core.retention.offers import Offer, OfferCatalogue, default_catalogue
from churn_core.retention.simulate import (
    SimulationSettings,
    compute_assumed_effects,
    compute_custom_effects,
    compute_customer_offers,
    compute_customer_value,
    compute_measured_effects,
    compute_model_effects,
    compute_simulation,
    prepare_inputs,
    prepare_inputs_from_frame,
    top_n_mask,
)


def two_offers(cap_a=None, cap_b=None):
    return OfferCatalogue((
        Offer("a", "A", contact_cost=10, unit_cost=0, take_up=1, effect_low=0.5, effect_mid=0.5, effect_high=0.5, capacity=cap_a),
        Offer("b", "B", contact_cost=30, unit_cost=0, take_up=1, effect_low=0.9, effect_mid=0.9, effect_high=0.9, capacity=cap_b),
    ))


@pytest.fixture(scope="module")
def population():
    rng = np.random.default_rng(7)
    n = 5000
    p = rng.beta(1.5, 7, n)
    value = rng.lognormal(5.5, 1.0, n)
    return p, value


# ---------------------------------------------------------------- arithmetic on tiny examples

def test_assumed_effect_is_probability_times_take_up_times_effect():
    cat = default_catalogue()
    eff = compute_assumed_effects([0.5, 0.1], cat)
    assert eff.base[:, 0].tolist() == pytest.approx([0.5 * 0.6 * 0.2, 0.1 * 0.6 * 0.2])
    assert eff.effect_rel_low[0] == pytest.approx(0.5) and eff.effect_rel_high[0] == pytest.approx(1.5)
    assert eff.takeup_rel_low[0] == pytest.approx(0.4 / 0.6) and eff.sources == ("assumed",) * 6


def test_optimiser_picks_the_best_value_per_cost_within_budget():
    # one offer costing 10 that halves churn; values 100; benefit = 0.5 * p * 100
    cat = OfferCatalogue((Offer("a", "A", contact_cost=10, take_up=1, effect_mid=0.5, effect_low=0.5, effect_high=0.5),))
    p = np.array([0.9, 0.1, 0.5, 0.3, 0.8])
    inputs = prepare_inputs(p, compute_assumed_effects(p, cat), value=np.full(5, 100.0))
    res = compute_simulation(inputs, cat, SimulationSettings(budget=25))
    assert res.choice.tolist() == [0, -1, -1, -1, 0]
    s = res.summary
    assert (s["targeted"], s["cost"]) == (2, 20.0)
    assert s["expected_saved"] == pytest.approx(0.5 * (0.9 + 0.8))
    assert s["retained_value"] == pytest.approx(85.0)
    assert s["net_benefit"] == pytest.approx(65.0)
    assert s["roi"] == pytest.approx(65.0 / 20.0)
    assert s["retention_before"] == pytest.approx(1 - 2.6 / 5)
    assert s["retention_after"] == pytest.approx(1 - (2.6 - 0.85) / 5)


def test_net_value_objective_skips_contacts_that_lose_money():
    cat = OfferCatalogue((Offer("a", "A", contact_cost=10, take_up=1, effect_mid=0.5, effect_low=0.5, effect_high=0.5),))
    p = np.array([0.9, 0.1, 0.5])  # benefits 45, 5, 25 against a cost of 10
    inputs = prepare_inputs(p, compute_assumed_effects(p, cat), value=np.full(3, 100.0))
    assert compute_simulation(inputs, cat, SimulationSettings(budget=1000)).choice.tolist() == [0, -1, 0]
    saved = compute_simulation(inputs, cat, SimulationSettings(budget=1000, objective="saved_value"))
    assert saved.choice.tolist() == [0, 0, 0]


def test_each_customer_gets_the_offer_with_the_best_net_value():
    cat = two_offers()
    p = np.array([0.9, 0.2])  # a: 45-10=35 vs b: 81-30=51 ; a: 10-10=0 vs b: 18-30<0
    inputs = prepare_inputs(p, compute_assumed_effects(p, cat), value=np.full(2, 100.0))
    res = compute_simulation(inputs, cat, SimulationSettings(budget=1000))
    assert res.choice.tolist() == [1, -1]


def test_capacity_sends_customers_to_their_next_best_offer():
    cat = two_offers(cap_b=2)
    p = np.array([0.9, 0.8, 0.7, 0.6])
    inputs = prepare_inputs(p, compute_assumed_effects(p, cat), value=np.full(4, 100.0))
    res = compute_simulation(inputs, cat, SimulationSettings(budget=1000))
    assert res.choice.tolist() == [1, 1, 0, 0]
    assert res.by_offer.set_index("offer")["customers"].to_dict() == {"a": 2, "b": 2}


def test_ineligible_customers_never_get_the_offer():
    cat = two_offers()
    p = np.array([0.9, 0.8])
    elig = np.array([[True, False], [False, False]])
    inputs = prepare_inputs(p, compute_assumed_effects(p, cat), value=np.full(2, 100.0), eligibility=elig)
    assert compute_simulation(inputs, cat, SimulationSettings(budget=1000)).choice.tolist() == [0, -1]


def test_zero_budget_contacts_nobody_and_roi_is_undefined():
    cat = default_catalogue()
    p = np.full(10, 0.5)
    res = compute_simulation(prepare_inputs(p, compute_assumed_effects(p, cat)), cat, SimulationSettings(budget=0))
    assert res.summary["targeted"] == 0 and res.summary["roi"] is None
    assert res.contact_plan().empty


# ---------------------------------------------------------------- guarantees (property style)

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plan_never_exceeds_budget_or_any_capacity(population, seed):
    p, value = population
    rng = np.random.default_rng(seed)
    base_cat = default_catalogue()
    for trial in range(3):
        caps = rng.choice([None, 0, 5, 50, 400, 2000], size=len(base_cat))
        cat = OfferCatalogue(tuple(o.__class__(**{**o.__dict__, "capacity": None if c is None else int(c)})
                                   for o, c in zip(base_cat, caps)))
        elig = rng.random((len(p), len(cat))) < 0.8
        inputs = prepare_inputs(p, compute_assumed_effects(p, cat), value, elig, seed=seed)
        for budget in (0, 37.5, 1_000, 25_000, 120_000, 10_000_000):
            for objective in ("net_value", "saved_value"):
                for targeting in ("optimiser", "risk", "random"):
                    s = SimulationSettings(budget=budget, objective=objective, targeting=targeting,
                                           take_up_multiplier=rng.uniform(0.5, 2), cost_multiplier=rng.uniform(0.5, 2),
                                           n_draws=200)
                    res = compute_simulation(inputs, cat, s, baselines=False)
                    plan = res.contact_plan()
                    assert plan["cost"].sum() <= budget + 1e-6
                    assert res.summary["cost"] <= budget + 1e-6
                    counts = plan["offer"].value_counts()
                    for offer in cat:
                        if offer.capacity is not None:
                            assert counts.get(offer.code, 0) <= offer.capacity
                    assert not elig[res.choice >= 0, res.choice[res.choice >= 0]].__invert__().any()


@pytest.mark.parametrize("budget", [2_000, 10_000, 40_000, 150_000])
def test_optimiser_saves_at_least_the_value_of_both_baselines(population, budget):
    p, value = population
    cat = default_catalogue()
    inputs = prepare_inputs(p, compute_assumed_effects(p, cat), value)
    res = compute_simulation(inputs, cat, SimulationSettings(budget=budget, objective="saved_value"))
    assert res.summary["retained_value"] >= res.baselines["risk"]["retained_value"]
    assert res.summary["retained_value"] >= res.baselines["random"]["retained_value"]
    net = compute_simulation(inputs, cat, SimulationSettings(budget=budget))
    assert net.summary["net_benefit"] >= net.baselines["risk"]["net_benefit"]
    assert net.summary["net_benefit"] >= net.baselines["random"]["net_benefit"]


def test_optimiser_beats_baselines_by_a_wide_margin_on_planted_value(population):
    p, value = population
    cat = default_catalogue()
    res = compute_simulation(prepare_inputs(p, compute_assumed_effects(p, cat), value), cat,
                             SimulationSettings(budget=2_000))
    assert res.summary["cost"] == pytest.approx(2_000, abs=121)  # budget binds: spent to the last offer
    assert res.summary["retained_value"] > 1.5 * res.baselines["risk"]["retained_value"]
    assert res.baselines["risk"]["expected_saved"] > res.baselines["random"]["expected_saved"]


def test_mask_targeting_and_fixed_offer_stay_inside_the_target():
    p = np.linspace(0.01, 0.99, 100)
    cat = default_catalogue()
    inputs = prepare_inputs(p, compute_assumed_effects(p, cat))
    mask = top_n_mask(p, 10)
    assert np.flatnonzero(mask).tolist() == list(range(90, 100))
    res = compute_simulation(inputs, cat, SimulationSettings(budget=1e6, targeting="mask", fixed_offer="rm_call"),
                             target_mask=mask)
    plan = res.contact_plan()
    assert sorted(plan["customer_id"]) == list(range(90, 100))
    assert set(plan["offer"]) == {"rm_call"}
    with pytest.raises(ChurnCoreError, match="Choose whom to target"):
        compute_simulation(inputs, cat, SimulationSettings(budget=10, targeting="mask"))


# ---------------------------------------------------------------- results, intervals, sliders

def test_contact_plan_rows_add_up_to_the_summary(population):
    p, value = population
    cat = default_catalogue()
    res = compute_simulation(prepare_inputs(p, compute_assumed_effects(p, cat), value), cat,
                             SimulationSettings(budget=30_000))
    plan = res.contact_plan()
    assert list(plan.columns) == ["customer_id", "offer", "churn_probability", "expected_saved", "expected_value",
                                  "cost", "net_value"]
    assert len(plan) == res.summary["targeted"]
    assert plan["expected_saved"].sum() == pytest.approx(res.summary["expected_saved"])
    assert plan["expected_value"].sum() == pytest.approx(res.summary["retained_value"])
    assert res.by_offer["cost"].sum() == pytest.approx(res.summary["cost"])
    assert plan["net_value"].is_monotonic_decreasing


def test_intervals_bracket_the_expected_figures(population):
    p, value = population
    cat = default_catalogue()
    s = compute_simulation(prepare_inputs(p, compute_assumed_effects(p, cat), value), cat,
                           SimulationSettings(budget=30_000)).summary
    for key in ("expected_saved", "retained_value", "cost", "net_benefit", "roi", "retention_after"):
        assert s[key + "_low"] < s[key] < s[key + "_high"], key
    assert s["retention_before_low"] < s["retention_before"] < s["retention_before_high"]
    assert s["retention_after"] > s["retention_before"]


def test_interval_without_parameter_uncertainty_is_the_binomial_one():
    n = 40_000
    cat = OfferCatalogue((Offer("a", "A", contact_cost=1, take_up=1, effect_mid=0.5, effect_low=0.5, effect_high=0.5),))
    q = np.full((n, 1), 0.2)
    inputs = prepare_inputs(np.full(n, 0.4), compute_custom_effects(q, cat))
    s = compute_simulation(inputs, cat, SimulationSettings(budget=n, n_draws=20_000, objective="saved_value")).summary
    half = 1.645 * np.sqrt(n * 0.2 * 0.8)  # 131.6
    assert s["expected_saved"] == pytest.approx(8000)
    assert s["expected_saved_high"] - 8000 == pytest.approx(half, rel=0.05)
    assert 8000 - s["expected_saved_low"] == pytest.approx(half, rel=0.05)


def test_measured_standard_errors_widen_the_interval():
    n = 10_000
    cat = default_catalogue()
    p = np.full(n, 0.3)
    effects = pd.DataFrame({"rm_call": np.full(n, 0.05), "rm_call_se": np.full(n, 0.02)})
    measured = compute_measured_effects(effects, cat, p)
    assert measured.sources[3] == "measured" and measured.sources[0] == "assumed"
    assert measured.base[0, 3] == pytest.approx(0.05)
    s = SimulationSettings(budget=1e9, objective="saved_value", fixed_offer="rm_call", n_draws=4000)
    wide = compute_simulation(prepare_inputs(p, measured), cat, s).summary
    narrow = compute_simulation(prepare_inputs(p, compute_measured_effects(effects[["rm_call"]], cat, p)), cat, s).summary
    assert wide["expected_saved"] == pytest.approx(narrow["expected_saved"]) == pytest.approx(0.05 * 2000)
    assert (wide["expected_saved_high"] - wide["expected_saved_low"]) > 3 * (narrow["expected_saved_high"] - narrow["expected_saved_low"])


def test_sliders_scale_effects_take_up_and_costs_linearly():
    cat = OfferCatalogue((Offer("a", "A", contact_cost=10, unit_cost=100, take_up=0.5, effect_mid=0.4,
                                effect_low=0.2, effect_high=0.6),))
    p = np.full(100, 0.5)
    inputs = prepare_inputs(p, compute_assumed_effects(p, cat), value=np.full(100, 1000.0))
    base = compute_simulation(inputs, cat, SimulationSettings(budget=1e9, objective="saved_value")).summary
    assert base["cost"] == pytest.approx(100 * (10 + 0.5 * 100))
    assert base["expected_saved"] == pytest.approx(100 * 0.5 * 0.5 * 0.4)
    more = compute_simulation(inputs, cat, SimulationSettings(budget=1e9, take_up_multiplier=1.5, effect_multiplier=0.5,
                                                              cost_multiplier=2, objective="saved_value")).summary
    assert more["expected_saved"] == pytest.approx(base["expected_saved"] * 1.5 * 0.5)
    assert more["cost"] == pytest.approx(100 * 2 * (10 + 0.75 * 100))
    capped = compute_simulation(inputs, cat, SimulationSettings(budget=1e9, take_up_multiplier=5, objective="saved_value")).summary
    assert capped["expected_saved"] == pytest.approx(base["expected_saved"] * 2)  # take-up capped at 100%


def test_tornado_has_the_three_factors_and_cost_moves_roi_the_right_way(population):
    p, value = population
    cat = default_catalogue()
    res = compute_simulation(prepare_inputs(p, compute_assumed_effects(p, cat), value), cat,
                             SimulationSettings(budget=30_000))
    t = res.tornado.set_index("factor")
    assert set(t.index) == {"take_up", "effect", "cost"}
    assert t.loc["cost", "low"] < res.summary["roi"] < t.loc["cost", "high"]
    assert t.loc["effect", "low"] < res.summary["roi"] < t.loc["effect", "high"]
    assert res.tornado["swing"].is_monotonic_decreasing


def test_to_dict_has_the_cli_keys(population):
    p, value = population
    cat = default_catalogue()
    d = compute_simulation(prepare_inputs(p, compute_assumed_effects(p, cat), value), cat,
                           SimulationSettings(budget=5_000)).to_dict()
    for key in ("budget", "cost", "targeted", "expected_saved", "expected_saved_low", "expected_saved_high",
                "retained_value", "net_benefit", "roi", "baseline_risk_saved", "baseline_random_saved", "by_offer"):
        assert key in d
    assert {"offer", "customers", "cost", "expected_saved"} <= set(d["by_offer"][0])


def test_changed_catalogue_requires_new_effects():
    cat = default_catalogue()
    p = np.full(3, 0.3)
    inputs = prepare_inputs(p, compute_assumed_effects(p, cat))
    smaller = OfferCatalogue(cat.offers[:2])
    with pytest.raises(ChurnCoreError, match="recompute the effects"):
        compute_simulation(inputs, smaller, SimulationSettings(budget=10))


@pytest.mark.parametrize("kw, match", [({"budget": -1}, "budget must be a number >= 0"),
                                       ({"budget": "lots"}, "budget must be a number"),
                                       ({"budget": 1, "objective": "fun"}, "objective must be one of"),
                                       ({"budget": 1, "n_draws": 10}, "at least 100")])
def test_settings_are_validated(kw, match):
    with pytest.raises(ChurnCoreError, match=match):
        SimulationSettings(**kw)


# ---------------------------------------------------------------- model-based effects, one customer, value

class StandInModel:
    """A transparent churn model: logit = -2 + fees/400 + 0.8 * complaints - 0.5 * (products - 1)."""

    features_ = ["fees_paid_12m", "complaints_12m", "num_products", "has_wealth"]
    label_ = "churned"
    id_column_ = "customer_id"

    def __init__(self):
        self.calls = 0

    def predict_proba(self, df):
        self.calls += 1
        z = -2 + df["fees_paid_12m"] / 400 + 0.8 * df["complaints_12m"] - 0.5 * (df["num_products"] - 1)
        return (1 / (1 + np.exp(-z))).to_numpy(dtype=float)


@pytest.fixture()
def small_table():
    return pd.DataFrame({
        "customer_id": ["C1", "C2", "C3"],
        "fees_paid_12m": [800.0, 0.0, 400.0],
        "complaints_12m": [0, 3, 1],
        "num_products": [1, 2, 4],
        "has_wealth": [0, 0, 1],
        "total_assets": [100_000.0, 5_000.0, -10.0],
        "churned": [0, 1, 0],
    })


def test_model_effects_rescore_moved_features_once_per_offer(small_table):
    model = StandInModel()
    cat = default_catalogue()
    eff = compute_model_effects(model, small_table, cat)
    assert model.calls == 1 + 3  # baseline + fee waiver, rm call, cross-sell (satisfaction/balance absent)
    assert eff.sources == ("model", "assumed", "assumed", "model", "model", "assumed")
    p = model.predict_proba(small_table)
    no_fees = 1 / (1 + np.exp(-(-2 + 0.8 * small_table["complaints_12m"] - 0.5 * (small_table["num_products"] - 1))))
    assert eff.base[:, 0] == pytest.approx(0.6 * (p - no_fees.to_numpy()))
    assert eff.base[1, 0] == pytest.approx(0.0)  # pays no fees: a waiver changes nothing
    assert eff.base[0, 3] == pytest.approx(0.0)  # no complaints: the call resolves nothing
    assert eff.base[2, 1] == pytest.approx(p[2] * 0.4 * 0.25)  # rate bonus stays assumed


def test_cheapest_offer_that_brings_a_customer_below_the_high_tier(small_table):
    model = StandInModel()
    cat = default_catalogue()
    row = small_table.iloc[[1]]  # 3 complaints: risk 0.75
    frame, best = compute_customer_offers(model, row, cat, threshold=0.3, maxima={"num_products": 5})
    assert frame["churn_probability"].iloc[0] == pytest.approx(1 / (1 + np.exp(-(-2 + 2.4 - 0.5))))
    assert best == "rm_call"  # complaints to 0: risk 0.08 for 120, the cheapest that works
    assert frame.set_index("offer").loc["rm_call", "churn_probability_after"] == pytest.approx(1 / (1 + np.exp(2.5)))
    _, none = compute_customer_offers(model, row, cat, threshold=0.01)
    assert none is None


def test_customer_value_is_the_value_pages_yearly_contribution(small_table):
    values, source = compute_customer_value(small_table)
    assert source == "contribution"
    # assets x 0.4% + products x 60 + fees - 40 to serve (value.ValueAssumptions defaults)
    assert values.tolist() == pytest.approx([400 + 60 + 800 - 40, 20 + 120 + 0 - 40, -0.04 + 240 + 400 - 40])


def test_customer_value_without_money_columns_counts_customers(small_table):
    values, source = compute_customer_value(small_table[["customer_id", "complaints_12m"]])
    assert source == "count" and values.tolist() == [1.0, 1.0, 1.0]


def test_inputs_from_a_frame_use_rules_value_and_ids(small_table):
    cat = default_catalogue()
    p = StandInModel().predict_proba(small_table)
    inputs = prepare_inputs_from_frame(small_table, cat, p, compute_assumed_effects(p, cat), id_column="customer_id")
    assert inputs.customer_ids.tolist() == ["C1", "C2", "C3"]
    assert inputs.eligibility[:, 0].tolist() == [True, False, True]   # fees > 0
    assert inputs.eligibility[:, 4].tolist() == [True, True, True]    # products < 5


def _brute_force(benefit, cost, cap, budget):
    """Best total net value over every assignment of (n <= 7) customers to an offer or none."""
    import itertools

    n, k = benefit.shape
    best = 0.0
    for combo in itertools.product(range(-1, k), repeat=n):
        a = np.array(combo)
        chosen = a >= 0
        counts = np.bincount(a[chosen], minlength=k)
        if (counts > cap).any() or cost[a[chosen]].sum() > budget:
            continue
        best = max(best, float((benefit[np.flatnonzero(chosen), a[chosen]] - cost[a[chosen]]).sum()))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_optimiser_is_close_to_the_exact_optimum_on_small_problems(seed):
    rng = np.random.default_rng(100 + seed)
    n = 7
    cat = OfferCatalogue((
        Offer("a", "A", contact_cost=float(rng.integers(5, 20)), take_up=1, effect_mid=0.3, effect_low=0.3, effect_high=0.3,
              capacity=int(rng.integers(1, 4))),
        Offer("b", "B", contact_cost=float(rng.integers(20, 60)), take_up=1, effect_mid=0.6, effect_low=0.6, effect_high=0.6),
    ))
    p = rng.uniform(0.05, 0.9, n)
    value = rng.uniform(50, 400, n)
    inputs = prepare_inputs(p, compute_assumed_effects(p, cat), value)
    budget = float(rng.integers(40, 150))
    res = compute_simulation(inputs, cat, SimulationSettings(budget=budget, n_draws=100), baselines=False)
    benefit = inputs.effects.base * value[:, None]
    cost = np.array([o.contact_cost for o in cat])
    exact = _brute_force(benefit, cost, np.array([cat.offers[0].capacity, np.inf]), budget)
    assert res.summary["cost"] <= budget
    assert res.summary["net_benefit"] <= exact + 1e-6
    assert res.summary["net_benefit"] >= 0.8 * exact
