"""Closing the loop: effects measured on the sample's past campaign feed the simulator."""

import numpy as np
import pandas as pd
import pytest

from churn_core.data import synth
from churn_core.retention.offers import default_catalogue
from churn_core.retention.simulate import (
    SimulationSettings,
    compute_measured_effects,
    compute_simulation,
    prepare_inputs_from_frame,
)
from churn_core.retention.uplift import UpliftResult, load_campaign_frame


@pytest.fixture(scope="module")
def sample(sample_path):
    return pd.read_csv(sample_path)


@pytest.fixture(scope="module")
def measured(sample, sample_path):
    campaign = pd.read_csv(sample_path.parent / "campaign.csv")
    frame = load_campaign_frame(campaign, sample, "customer_id", drop=["churned"])
    result = UpliftResult(treatment="arm", control="control", outcome="churned", id_column="customer_id",
                          heterogeneous=False).fit(frame)
    return result, result.predict_effects(sample)


def test_measured_offers_replace_assumed_ones_and_win_back_stays_assumed(measured, sample):
    result, effects = measured
    cat = default_catalogue()
    p = synth.true_churn_probability(sample)
    eff = compute_measured_effects(effects, cat, p)
    assert eff.sources == ("measured",) * 5 + ("assumed",)
    ate = dict(zip(result.offers_["offer"], result.offers_["effect"]))
    for k, code in enumerate(cat.codes[:5]):
        # the average effect is kept, spread in proportion to each customer's risk
        assert eff.base[:, k].mean() == pytest.approx(ate[code], rel=0.02, abs=1e-4)
        assert (eff.base[:, k] <= p + 1e-12).all()
    assert eff.se is not None and (eff.se[:, :5] > 0).all()


def test_measured_interval_covers_a_random_campaign_replayed_by_the_generator(measured, sample):
    _, effects = measured
    cat = default_catalogue()
    p = synth.true_churn_probability(sample)
    eff = compute_measured_effects(effects, cat, p)
    inputs = prepare_inputs_from_frame(sample, cat, p, eff, id_column="customer_id", seed=5)
    covered = 0
    for code in ("rm_call", "cross_sell", "fee_waiver"):
        offer = cat.get(code)
        budget = 3000 * offer.expected_cost
        res = compute_simulation(inputs, cat, SimulationSettings(budget=budget, targeting="random", fixed_offer=code,
                                                                 n_draws=4000), baselines=False)
        s = res.summary
        assert s["targeted"] >= 1000
        offers = [code if c >= 0 else None for c in res.choice]
        saved = synth.simulate_plan_outcome(sample, offers, seed=1)["saved"]
        covered += s["expected_saved_low"] <= saved <= s["expected_saved_high"]
        # the measured standard error widens the interval beyond the binomial one
        assert s["expected_saved_high"] - s["expected_saved_low"] > 2 * 1.645 * np.sqrt(s["expected_saved"])
    assert covered == 3
