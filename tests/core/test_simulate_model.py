"""Model-based effects with the real churn model on the sample: offers move features, model re-scores."""

import numpy as np
import pytest

from churn_core.data import synth
from churn_core.retention.offers import default_catalogue, detect_lever_columns
from churn_core.retention.simulate import compute_customer_offers, compute_model_effects


@pytest.fixture(scope="session")
def sample_and_model(sample_path):
    """The sample and a small churn model on its first 5,000 rows (shared with the CLI tests)."""
    from churn_core.data.ingest import load_file
    from churn_core.modeling.model import ChurnModel
    from churn_core.data.roles import detect_roles

    df = load_file(sample_path).df
    model = ChurnModel(n_estimators=60, cv_folds=0, random_state=0).fit(df.head(5000), detect_roles(df))
    return df, model


@pytest.fixture(scope="module")
def effects(sample_and_model):
    df, model = sample_and_model
    return compute_model_effects(model, df, default_catalogue())


def test_every_offer_with_a_lever_is_rescored(effects):
    assert effects.sources == ("model", "model", "model", "model", "model", "assumed")


@pytest.mark.parametrize("code, ratio", [("fee_waiver", 2.0), ("rm_call", 10.0), ("cross_sell", 2.0)])
def test_model_effects_are_larger_for_the_customers_the_generator_made_responsive(sample_and_model, effects, code, ratio):
    df, _ = sample_and_model
    k = default_catalogue().codes.index(code)
    responsive = synth.responsive_mask(df, code)
    assert effects.base[responsive, k].mean() > ratio * max(effects.base[~responsive, k].mean(), 1e-4)


def test_a_call_changes_nothing_for_customers_without_complaints(sample_and_model, effects):
    df, _ = sample_and_model
    k = default_catalogue().codes.index("rm_call")
    assert np.abs(effects.base[(df["complaints_12m"] == 0).to_numpy(), k]).max() == 0.0


def test_cheapest_offer_for_a_complaining_customer_is_the_call(sample_and_model):
    df, model = sample_and_model
    levers = detect_lever_columns(df, exclude=["churned", "customer_id"])
    p = model.predict_proba(df)
    complainers = np.flatnonzero((df["complaints_12m"] >= 2).to_numpy() & (p > 0.3) & (p < 0.6))
    row = df.iloc[[complainers[0]]]
    frame, best = compute_customer_offers(model, row, default_catalogue(), threshold=0.3, lever_columns=levers,
                                          maxima={"num_products": 5.0, "satisfaction": 5.0})
    calls = frame.set_index("offer").loc["rm_call"]
    assert calls["method"] == "model" and calls["churn_probability_after"] < calls["churn_probability"]
    assert best is None or frame.set_index("offer").loc[best, "below"]
    cheaper = frame[frame["cost"] < frame.set_index("offer").loc[best, "cost"]] if best else frame
    assert not cheaper["below"].any()
