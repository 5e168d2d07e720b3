"""Drivers found on real tables: the sample's planted truth and the public Churn_Modelling file."""

import json

import numpy as np
import pandas as pd
import pytest

from churn_core import explain
from churn_core.modeling.model import ChurnModel


@pytest.fixture(scope="module")
def sample(sample_path):
    return pd.read_csv(sample_path).iloc[:10000]


@pytest.fixture(scope="module")
def truth(sample_path):
    return json.loads((sample_path.parent / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sample_model(sample):
    return ChurnModel(cv_folds=0, n_estimators=150, learning_rate=0.1).fit(sample)


@pytest.fixture(scope="module")
def sample_expl(sample_model, sample):
    return explain.compute_explanation(sample_model, sample)


def test_planted_drivers_are_the_top_drivers(sample_model, sample_expl, truth):
    imp = explain.compute_global_importance(sample_model, explanation=sample_expl)
    ranking = imp["column"].tolist()
    planted = truth["top_drivers"]
    assert set(planted[:3]) <= set(ranking[:4])
    assert len(set(ranking[:9]) & set(planted)) >= 7
    # no column without effect ranks above the fifth planted driver
    fifth = max(ranking.index(c) for c in planted[:5])
    assert not set(ranking[:fifth]) & set(truth["zero_effect_columns"])


def test_sample_margin_is_reproduced(sample_model, sample, sample_expl):
    margin = sample_model.predict_margin(sample)
    assert np.abs(sample_expl.base_value + sample_expl.contributions.sum(axis=1) - margin).max() < 1e-4


def test_sample_risk_uses_the_calibrated_probability(sample_model, sample, sample_expl):
    np.testing.assert_allclose(sample_expl.proba, sample_model.predict_proba(sample), atol=1e-6)


def test_sample_reasons_in_both_languages(sample_model, sample, sample_expl):
    en = explain.compute_top_reasons(sample_model, sample, explanation=sample_expl)
    zh = explain.compute_top_reasons(sample_model, sample, explanation=sample_expl, lang="zh")
    assert en.shape == zh.shape == (10000, 3)
    has_reason = en["reason_1"] != ""
    assert ((zh["reason_1"] != "") == has_reason).all()
    # above the base risk: what raises it; below: what protects the customer
    above_base = sample_expl.proba > sample_expl.base_risk
    below_base = sample_expl.proba < sample_expl.base_risk
    assert has_reason[above_base | below_base].all()
    assert en.loc[above_base, "reason_1"].str.contains(" raises the risk by ").all()
    assert zh.loc[above_base, "reason_1"].str.contains("，流失风险上升").all()
    assert en.loc[below_base, "reason_1"].str.contains(" lowers the risk by ").all()
    assert zh.loc[below_base, "reason_1"].str.contains("，流失风险下降").all()
    risky = np.argsort(-sample_expl.proba)[:200]
    assert has_reason.iloc[risky].all()
    # the riskiest customers' first reason is one of the planted drivers' wording
    first = en["reason_1"].iloc[risky]
    planted_words = ("Balance down", "transactions this quarter", "complaint", "Holds",
                     "digital logins", "Satisfaction", "Fees", "Customer for", "rate_sensitivity")
    assert first.map(lambda s: any(w in s for w in planted_words)).mean() >= 0.95


@pytest.fixture(scope="module")
def churn_modelling(churn_modelling_path):
    return pd.read_csv(churn_modelling_path)


@pytest.fixture(scope="module")
def cm_model(churn_modelling):
    return ChurnModel(cv_folds=0, n_estimators=150, learning_rate=0.1).fit(churn_modelling)


@pytest.fixture(scope="module")
def cm_expl(cm_model, churn_modelling):
    return explain.compute_explanation(cm_model, churn_modelling)


def test_known_drivers_lead_on_churn_modelling(cm_model, cm_expl):
    imp = explain.compute_global_importance(cm_model, explanation=cm_expl)
    ranking = imp["feature"].tolist()
    assert ranking[:2] == ["Age", "NumOfProducts"]
    assert {"Age", "NumOfProducts", "IsActiveMember", "Balance", "Geography"} <= set(ranking[:6])
    assert "RowNumber" not in ranking and "Surname" not in ranking


def test_germany_raises_the_risk(cm_expl):
    frame = cm_expl.frame
    geo = frame[frame["feature"] == "Geography"].groupby("value")["contribution"].mean()
    assert geo["Germany"] > 0.3
    assert geo["France"] < 0 and geo["Spain"] < 0


def test_inactive_members_get_the_inactivity_reason(cm_model, churn_modelling, cm_expl):
    out = explain.compute_top_reasons(cm_model, churn_modelling, explanation=cm_expl,
                                      with_details=True)
    inactive = (churn_modelling["IsActiveMember"] == 0).to_numpy()
    above = cm_expl.proba > cm_expl.base_risk
    named = out.loc[inactive & above, ["reason_1", "reason_2", "reason_3"]].apply(
        lambda r: r.str.startswith("Inactive member raises the risk by").any(), axis=1)
    assert named.mean() > 0.5
    assert not out.loc[~inactive, "reason_1"].str.startswith("Inactive member").any()
    # active members below the base risk are told what protects them
    protects = out.loc[~inactive & ~above, ["reason_1", "reason_2", "reason_3"]].apply(
        lambda r: r.str.startswith("Active member lowers the risk by").any(), axis=1)
    assert protects.mean() > 0.5


# ---- one scale of points: sentences, details and the waterfall agree and add up ---------------
@pytest.fixture(scope="module")
def cm_reasons(cm_model, churn_modelling, cm_expl):
    return explain.compute_top_reasons(cm_model, churn_modelling, explanation=cm_expl, with_details=True)


def test_points_of_all_drivers_sum_to_risk_minus_base(cm_model, churn_modelling, cm_expl):
    points = cm_expl.points()
    move = 100 * (cm_expl.proba - cm_expl.base_risk)
    assert np.abs(points.sum(axis=1) - move).max() < 1e-9
    # the base risk is the calibrated probability at the base value
    base = cm_model.proba_from_margin(np.array([cm_expl.base_value]))[0]
    assert cm_expl.base_risk == base
    assert 0.15 < cm_expl.base_risk < 0.25
    # and the risk is the model's own
    np.testing.assert_allclose(cm_expl.proba, cm_model.predict_proba(churn_modelling), atol=1e-6)


def test_saturated_customers_get_their_whole_move(cm_expl, cm_reasons):
    saturated = np.flatnonzero(cm_expl.proba > 0.97)
    assert len(saturated) >= 20
    points = cm_expl.points(saturated)
    move = 100 * (cm_expl.proba[saturated] - cm_expl.base_risk)
    assert np.abs(points.sum(axis=1) - move).max() < 1e-9
    # a four-product customer at ~99.7% risk: NumOfProducts carries tens of points, not a handful
    first = cm_reasons.iloc[saturated]
    four = first["reason_1"].str.startswith("Holds 4 products raises the risk by ")
    assert four.any()
    assert first.loc[four, "points_1"].min() > 30


def _number(sentence):
    import re

    if "less than 1 point" in sentence:
        return 0
    return int(re.search(r"by (\d+) points?$", sentence).group(1))


def test_sentences_equal_the_waterfall_bars(cm_expl, cm_reasons):
    riskiest = np.argsort(-cm_expl.proba, kind="stable")[:40]
    lowest = np.argsort(cm_expl.proba, kind="stable")[:20]
    middle = np.random.default_rng(0).choice(len(cm_expl), 40, replace=False)
    for pos in np.concatenate([riskiest, lowest, middle]):
        row = cm_reasons.iloc[pos]
        wf = explain.compute_waterfall(cm_expl, int(pos), top=cm_expl.n_features)
        bars = wf[wf["kind"] == "driver"].set_index("feature")["points"]
        assert abs(bars.sum() - (wf["end"].iloc[-1] - wf["end"].iloc[0])) < 1e-9
        for j in (1, 2, 3):
            driver = row[f"driver_{j}"]
            if not driver:
                continue
            bar = bars[cm_expl.features[cm_expl.columns.index(driver)]]
            assert row[f"points_{j}"] == bar
            # the sentence shows the bar at 2 decimals (as exports do), rounded half up
            assert _number(row[f"reason_{j}"]) == int(np.floor(round(abs(bar), 2) + 0.5))
            word = " raises the risk by " if bar > 0 else " lowers the risk by "
            assert word in row[f"reason_{j}"]


def test_every_customer_gets_reasons_in_their_direction(cm_expl, cm_reasons):
    above = cm_expl.proba > cm_expl.base_risk
    below = cm_expl.proba < cm_expl.base_risk
    assert above.sum() == 3061 and below.sum() == 6939
    assert (cm_reasons["reason_1"] != "").all()
    assert (cm_reasons.loc[above, "points_1"] > 0).all()
    assert (cm_reasons.loc[below, "points_1"] < 0).all()
    assert cm_reasons.loc[below, "reason_1"].str.contains(" lowers the risk by ").all()


def test_protected_attributes_stay_out_of_reasons_by_default(cm_model, churn_modelling, cm_expl,
                                                             cm_reasons):
    drivers = set(cm_reasons[["driver_1", "driver_2", "driver_3"]].stack())
    assert not drivers & {"Age", "Gender"}
    assert not cm_reasons["reason_1"].str.contains("Age|Gender").any()
    full = explain.compute_top_reasons(cm_model, churn_modelling, explanation=cm_expl,
                                       with_details=True, include_protected=True)
    assert (full["driver_1"] == "Age").sum() > 1000

