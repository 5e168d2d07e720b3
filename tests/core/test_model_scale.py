"""Model training at scale: the backtest and the baseline train on a capped sample of rows.

The caps are lowered here so that a 4,000-row table exercises them (two fits in total).
"""

import pytest

from churn_core.data.roles import detect_roles
from churn_core.data.synth import generate
from churn_core.modeling import model as model_module
from churn_core.modeling.model import ChurnModel


def _fit(df, roles):
    return ChurnModel(n_estimators=30, cv_folds=0, n_jobs=1).fit(df, roles)


@pytest.fixture(scope="module")
def table():
    df = generate(rows=4000, seed=21)["customers"]
    return df, detect_roles(df)


@pytest.fixture(scope="module")
def full(table):
    return _fit(*table)


@pytest.fixture(scope="module")
def capped(table):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(model_module, "BACKTEST_MAX_ROWS", 1000)
        mp.setattr(model_module, "BASELINE_MAX_ROWS", 1000)
        return _fit(*table)


def test_under_the_caps_every_earlier_snapshot_row_trains_the_backtest(full):
    bt = full.metrics_["backtest"]
    assert (bt["n_train"], bt["n_train_available"], bt["n_test"], bt["train_snapshots"]) == (2970, 2970, 1030, 3)
    assert bt["test_snapshot"] == "2024-12-31"


def test_backtest_trains_on_at_most_the_cap(capped):
    bt = capped.metrics_["backtest"]
    assert (bt["n_train"], bt["n_train_available"], bt["n_test"]) == (1000, 2970, 1030)
    assert 0.7 < bt["roc_auc"] < 0.9


def test_caps_change_only_the_reporting_figures_not_the_model(full, capped):
    assert capped.fingerprint_ == full.fingerprint_
    assert capped.metrics_["roc_auc"] == full.metrics_["roc_auc"]
    assert capped.metrics_["baseline_roc_auc"] != full.metrics_["baseline_roc_auc"]
    assert abs(capped.metrics_["baseline_roc_auc"] - full.metrics_["baseline_roc_auc"]) < 0.02


def test_baseline_is_the_same_as_before_the_conversion_change(full):
    # the previous implementation (whole-table conversion, commit 7cd3c1b) gave 0.8404661734126408
    assert full.metrics_["baseline_roc_auc"] == pytest.approx(0.8404661734126408, abs=1e-12)
