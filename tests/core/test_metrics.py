"""Evaluation figures on small hand-checked inputs."""

import numpy as np
import pandas as pd
import pytest

from churn_core.modeling import metrics as M

Y = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])
P = np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.15, 0.1, 0.05])


def test_auc_and_pr_auc():
    # 3 churners x 7 stayers = 21 pairs; only the stayer at 0.7 outranks a churner (0.6)
    assert M.roc_auc(Y, P) == pytest.approx(20 / 21)
    assert M.pr_auc(Y, P) == pytest.approx((1 + 1 + 3 / 4) / 3)


def test_confusion_at_cutoff():
    c = M.compute_confusion(Y, P, cutoff=0.5)
    assert (c["tp"], c["fp"], c["tn"], c["fn"]) == (3, 1, 6, 0)
    assert c["precision"] == 0.75 and c["recall"] == 1.0 and c["flagged"] == 4


def test_brier_and_ece_equal_width():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.05, 0.05, 0.95, 0.55])
    assert M.brier_score(y, p) == pytest.approx((0.0025 * 3 + 0.2025) / 4)
    # bins: [0,0.1) has 2 rows, gap 0.05; [0.5,0.6) 1 row gap 0.45; [0.9,1] 1 row gap 0.05
    assert M.expected_calibration_error(y, p) == pytest.approx((2 * 0.05 + 0.45 + 0.05) / 4)
    rel = M.compute_reliability(y, p)
    assert rel["bin"].tolist() == [0, 5, 9]
    assert rel["customers"].tolist() == [2, 1, 1]


def test_lift_table_and_top_decile():
    lift = M.compute_lift_table(Y, P)
    assert lift["customers"].tolist() == [1] * 10
    assert lift["lift"].iloc[0] == pytest.approx(1 / 0.3)
    assert lift["cum_churners_pct"].iloc[3] == pytest.approx(100.0)
    assert M.top_decile_lift(Y, P) == pytest.approx(1 / 0.3)


def test_curves_are_downsampled_and_monotone():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 20_000)
    p = np.clip(y * 0.3 + rng.random(20_000) * 0.7, 0, 1)
    roc = M.compute_roc_curve(y, p)
    pr = M.compute_pr_curve(y, p)
    assert len(roc) <= 500 and len(pr) <= 500
    assert roc["fpr"].is_monotonic_increasing
    assert roc[["fpr", "tpr"]].iloc[0].tolist() == [0.0, 0.0]
    assert roc[["fpr", "tpr"]].iloc[-1].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("auc, base, grade, code", [
    (0.87, 0.77, "A", "strong_beats_baseline"),
    (0.85, 0.85, "A", "strong_like_baseline"),
    (0.75, 0.74, "B", "useful"),
    (0.78, 0.81, "C", "baseline_better"),
    (0.62, 0.61, "C", "weak"),
])
def test_grade_table(auc, base, grade, code):
    g = M.compute_grade(auc, base)
    assert (g["grade"], g["code"]) == (grade, code)


def test_charts_take_titles():
    roc = M.compute_roc_curve(Y, P)
    spec = M.build_roc_chart(roc, title="ROC 曲线", x_title="误报率", y_title="命中率").to_dict()
    assert spec["title"] == "ROC 曲线"
    assert spec["layer"][1]["encoding"]["x"]["title"] == "误报率"
    rel = M.build_reliability_chart(M.compute_reliability(Y, P), title="R").to_dict()
    assert rel["title"] == "R"
    lift = M.build_lift_chart(M.compute_lift_table(Y, P)).to_dict()
    assert len(lift["datasets"][next(iter(lift["datasets"]))]) == 10


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="differ in length"):
        M.roc_auc([0, 1], [0.5])
