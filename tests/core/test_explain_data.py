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
    assert en.loc[has_reason, "reason_1"].str.contains(" raises the risk by ").all()
    assert zh.loc[has_reason, "reason_1"].str.contains("，流失风险上升").all()
    # every customer above the base risk has a reason; only low-risk ones may have none
    above_base = sample_expl.proba > sample_expl.base_proba
    assert has_reason[above_base].all()
    assert has_reason.mean() > 0.7
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
    inactive = churn_modelling["IsActiveMember"] == 0
    named = out.loc[inactive, ["reason_1", "reason_2", "reason_3"]].apply(
        lambda r: r.str.startswith("Inactive member raises the risk by").any(), axis=1)
    assert named.mean() > 0.5
    assert not out.loc[~inactive, "reason_1"].str.startswith("Inactive member").any()
