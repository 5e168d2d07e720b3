"""The churn model on real public files and on the sample with planted truth.

Each dataset is trained once per module (fixtures); the figures asserted are the measured
held-out ones, with the thresholds of the issue.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import ChurnCoreError
from churn_core.data.ingest import load_file
from churn_core.modeling.model import ChurnModel
from churn_core.data.roles import detect_roles

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT.parent / "shared" / "datasets"
SAMPLE = ROOT / "sample_data" / "customers.csv"


def _fit(path, **kw):
    df = load_file(path).df
    return ChurnModel(**kw).fit(df, detect_roles(df)), df


@pytest.fixture(scope="module")
def bank():
    return _fit(DATASETS / "Churn_Modelling.csv")


@pytest.fixture(scope="module")
def telco():
    return _fit(DATASETS / "WA_Fn-UseC_-Telco-Customer-Churn.csv")


@pytest.fixture(scope="module")
def sample_with_leaks():
    """The sample plus two planted leaks: a flag equal to the label with 1% noise, and a closure
    date filled only for churners."""
    df = load_file(SAMPLE).df.copy()
    rng = np.random.default_rng(0)
    y = df["churned"].to_numpy()
    df["account_closed"] = np.where(rng.random(len(df)) < 0.01, 1 - y, y)
    df["closure_date"] = pd.Series(np.where(y == 1, "2025-01-15", None), index=df.index).astype("string")
    model = ChurnModel().fit(df, detect_roles(df))
    return model, df


def test_bank_auc_and_calibration(bank):
    m, _ = bank
    assert m.metrics_["roc_auc"] >= 0.86
    assert m.metrics_["ece"] <= 0.03
    assert m.metrics_["n_test"] == 2000 and m.metrics_["n_train"] == 8000
    assert m.metrics_["test_churn_rate"] == pytest.approx(0.2035)
    assert m.metrics_["top_decile_lift"] > 3.5


def test_bank_beats_logistic_baseline(bank):
    m, _ = bank
    assert 0.74 < m.metrics_["baseline_roc_auc"] < 0.80
    assert m.metrics_["roc_auc"] - m.metrics_["baseline_roc_auc"] > 0.06
    assert (m.metrics_["grade"], m.metrics_["grade_code"]) == ("A", "strong_beats_baseline")


def test_bank_gate(bank):
    m, _ = bank
    assert m.label_ == "Exited" and m.positive_ == 1
    assert set(m.excluded_) == {"RowNumber", "CustomerId", "Surname"}
    assert m.excluded_["Surname"] == "personal_name"
    assert m.features_ == ["CreditScore", "Geography", "Gender", "Age", "Tenure", "Balance",
                           "NumOfProducts", "HasCrCard", "IsActiveMember", "EstimatedSalary"]
    assert m.flagged_ == {}
    assert m.id_column_ == "CustomerId"


def test_bank_cross_validation_and_size(bank):
    m, _ = bank
    cv = m.metrics_["cv"]
    assert cv["folds"] == 5 and cv["rows"] == 8000
    assert 0.85 < cv["roc_auc_mean"] < 0.89 and cv["roc_auc_sd"] < 0.03
    assert m.metrics_["backtest"] is None  # no snapshot date in this file
    # kept small so SHAP on a million customers stays fast
    assert m.n_trees_ <= 400 and m.metrics_["max_depth"] == 4
    assert m.booster_.num_boosted_rounds() == m.n_trees_


def test_telco_works_with_blank_total_charges(telco):
    m, df = telco
    assert m.positive_ == "Yes"
    assert m.excluded_ == {"customerID": "id_role"}
    assert "TotalCharges" in m.features_
    X = m.transform(df)
    assert int(X[m.feature_names_[m.features_.index("TotalCharges")]].isna().sum()) == 11
    assert m.metrics_["roc_auc"] >= 0.83
    assert m.metrics_["ece"] <= 0.03


def test_sample_leaks_excluded_with_reason(sample_with_leaks):
    m, _ = sample_with_leaks
    assert m.excluded_["account_closed"] == "leakage"
    assert m.excluded_["closure_date"] == "leakage"
    assert m.gate_.leak_auc["account_closed"] >= 0.98
    assert m.excluded_["snapshot_date"] == "snapshot_date"
    assert "account_closed" not in m.features_
    card = m.model_card()
    reasons = {e["column"]: e["reason"] for e in card["excluded"]}
    assert reasons["closure_date"] == "leakage"


def test_sample_planted_drivers_rank_top(sample_with_leaks):
    from churn_core.modeling.warning import compute_drivers

    m, df = sample_with_leaks
    truth = json.loads((ROOT / "sample_data" / "ground_truth.json").read_text())["top_drivers"]
    drivers = compute_drivers(m, df.head(5000))
    top5 = drivers["feature"].head(5).tolist()
    assert set(truth[:3]) <= set(top5)
    assert drivers["mean_abs_shap"].is_monotonic_decreasing


def test_sample_backtest_on_latest_snapshot(sample_with_leaks):
    m, _ = sample_with_leaks
    bt = m.metrics_["backtest"]
    assert bt["test_snapshot"] == "2024-12-31"
    assert bt["n_test"] == 4959 and bt["n_train"] == 15041
    assert bt["roc_auc"] > 0.80
    assert m.metrics_["roc_auc"] > 0.84 and m.metrics_["ece"] <= 0.03


def test_probabilities_calibrated_mean(sample_with_leaks):
    m, df = sample_with_leaks
    p = m.predict_proba(df)
    assert p.shape == (len(df),)
    assert abs(p.mean() - df["churned"].mean()) < 0.01
    assert np.allclose(m.proba_from_margin(m.predict_margin(df.head(50))), p[:50])


def test_save_load_round_trip(bank, tmp_path):
    m, df = bank
    m.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["booster.ubj", "evaluation.npz", "model.json"]
    back = ChurnModel.load(tmp_path)
    assert np.allclose(back.predict_proba(df.head(300)), m.predict_proba(df.head(300)))
    assert back.features_ == m.features_ and back.excluded_ == m.excluded_
    assert back.metrics_["roc_auc"] == pytest.approx(m.metrics_["roc_auc"])
    assert len(back.test_proba_) == 2000
    assert back.fingerprint_ == m.fingerprint_


def test_load_missing_dir_is_clear(tmp_path):
    with pytest.raises(ChurnCoreError, match="No saved model") as exc:
        ChurnModel.load(tmp_path)
    assert exc.value.code == "model.not_found"


def test_missing_column_at_scoring(bank):
    m, df = bank
    with pytest.raises(ChurnCoreError, match="Age") as exc:
        m.predict_proba(df.drop(columns=["Age"]).head(5))
    assert exc.value.code == "model.missing_columns"


def _zh_frame(n=800, seed=0):
    rng = np.random.default_rng(seed)
    city = rng.choice(["北京", "上海", "广州", "深圳"], n)
    x = rng.normal(size=n)
    logit = -1.5 + 1.2 * x + np.where(city == "北京", 1.0, 0.0)
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "是", "否")
    return pd.DataFrame({"客户号": [f"C{i}" for i in range(n)], "城市": city, "余额[万]": x,
                         "是否流失": y})


@pytest.fixture(scope="module")
def zh_model():
    df = _zh_frame()
    return ChurnModel(label="是否流失", positive="是", cv_folds=3, n_estimators=60, n_jobs=1).fit(df), df


def test_chinese_names_kept_for_display(zh_model):
    m, _ = zh_model
    assert m.excluded_ == {"客户号": "id_name"}
    assert m.feature_names_ == ["f0", "f1"]
    assert m.display_names_ == {"f0": "城市", "f1": "余额[万]"}
    assert m.feature_map_ == {"f0": "城市", "f1": "余额[万]"}
    assert m.id_column_ == "客户号"


def test_unseen_chinese_category_and_inf_do_not_crash(zh_model):
    m, _ = zh_model
    new = pd.DataFrame({"客户号": ["X1", "X2", "X3"], "城市": ["乌鲁木齐", "北京", None],
                        "余额[万]": [np.inf, 0.5, -np.inf]})
    p = m.predict_proba(new)
    assert np.isfinite(p).all()
    X = m.transform(new)
    assert X["f0"].isna().tolist() == [True, False, True]
    assert X["f1"].isna().tolist() == [True, False, True]


def test_progress_reported(zh_model):
    seen = []
    df = _zh_frame(seed=1)
    ChurnModel(label="是否流失", positive="是", cv_folds=3, n_estimators=30, n_jobs=1).fit(
        df, progress=lambda f, code: seen.append((f, code)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)
    assert seen[-1] == (1.0, "model.done")
    assert {"model.gate", "model.cv", "model.train", "model.calibrate", "model.baseline"} <= {c for _, c in seen}


def test_one_class_label_is_refused():
    df = _zh_frame()
    df["是否流失"] = "否"
    with pytest.raises(ChurnCoreError) as exc:
        ChurnModel(label="是否流失", positive="是").fit(df)
    assert exc.value.code == "model.one_class"


def test_predict_before_fit():
    with pytest.raises(ChurnCoreError) as exc:
        ChurnModel().predict_proba(pd.DataFrame({"a": [1]}))
    assert exc.value.code == "model.not_fitted"


def test_large_data_path_uses_a_validation_split():
    df = _zh_frame(n=1200, seed=2)
    m = ChurnModel(label="是否流失", positive="是", cv_max_rows=100, n_estimators=50, n_jobs=1).fit(df)
    assert m.metrics_["cv"] is None
    assert m.metrics_["n_valid"] == 192 and m.metrics_["n_train"] == 768
    assert m.metrics_["calibration"]["fitted_on"] == "validation split"


def test_repeated_customers_split_by_customer():
    """With several snapshot rows per customer, a customer is never on both sides of a split."""
    df = _zh_frame(n=900, seed=4)
    df["客户号"] = [f"C{i // 3}" for i in range(len(df))]
    m = ChurnModel(label="是否流失", positive="是", cv_folds=3, n_estimators=40, n_jobs=1).fit(df)
    assert m.metrics_["grouped_split"] is True
    assert m.metrics_["n_test"] % 3 == 0 and m.metrics_["n_train"] % 3 == 0


def test_isotonic_calibration_is_monotone_and_saved(tmp_path):
    df = _zh_frame(n=900, seed=5)
    m = ChurnModel(label="是否流失", positive="是", cv_folds=3, n_estimators=40, n_jobs=1,
                   calibration="isotonic").fit(df)
    margins = np.linspace(-4, 4, 50)
    p = m.proba_from_margin(margins)
    assert np.all(np.diff(p) >= 0) and p.min() >= 0 and p.max() <= 1
    m.save(tmp_path)
    assert np.allclose(ChurnModel.load(tmp_path).predict_proba(df.head(20)), m.predict_proba(df.head(20)))
