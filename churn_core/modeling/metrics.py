"""Evaluation of a churn score: curves, confusion matrix, lift, calibration, grade, and charts.

Every ``compute_*`` function returns a small frame (at most ``max_points`` rows) that the
``build_*_chart`` functions draw in Altair; titles and axis labels are passed in by the page so
they can be translated.

ECE (expected calibration error) uses 10 **equal-width** probability bins: the share-weighted mean
gap between the average predicted probability and the observed churn rate in each bin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "compute_roc_curve", "compute_pr_curve", "compute_confusion", "compute_lift_table",
    "compute_reliability", "compute_summary", "compute_grade",
    "roc_auc", "pr_auc", "brier_score", "expected_calibration_error", "top_decile_lift",
    "build_roc_chart", "build_pr_chart", "build_lift_chart", "build_gains_chart",
    "build_reliability_chart", "build_confusion_chart",
]


def _check(y, p):
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y and p differ in length ({len(y)} vs {len(p)})")
    if len(y) == 0:
        raise ValueError("no rows to evaluate")
    ok = np.isfinite(p) & np.isfinite(y)
    return y[ok], p[ok]


def _downsample(frame, max_points):
    if len(frame) <= max_points:
        return frame.reset_index(drop=True)
    idx = np.unique(np.linspace(0, len(frame) - 1, max_points).round().astype(int))
    return frame.iloc[idx].reset_index(drop=True)


def roc_auc(y, p):
    """Area under the ROC curve (0.5 = guessing, 1 = perfect ranking)."""
    from sklearn.metrics import roc_auc_score

    y, p = _check(y, p)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, p))


def pr_auc(y, p):
    """Average precision (area under the precision-recall curve)."""
    from sklearn.metrics import average_precision_score

    y, p = _check(y, p)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(average_precision_score(y, p))


def brier_score(y, p):
    """Mean squared gap between probability and outcome (lower is better)."""
    y, p = _check(y, p)
    return float(np.mean((p - y) ** 2))


def expected_calibration_error(y, p, n_bins=10):
    """ECE over ``n_bins`` equal-width bins of the predicted probability."""
    rel = compute_reliability(y, p, n_bins=n_bins)
    total = rel["customers"].sum()
    return float((rel["customers"] * (rel["mean_predicted"] - rel["observed_rate"]).abs()).sum() / total)


def top_decile_lift(y, p):
    """Churn rate among the 10% highest scores divided by the overall churn rate."""
    y, p = _check(y, p)
    k = max(int(np.ceil(0.1 * len(y))), 1)
    order = np.argsort(-p, kind="mergesort")
    base = y.mean()
    return float(y[order[:k]].mean() / base) if base > 0 else float("nan")


def compute_roc_curve(y, p, max_points=500):
    """ROC curve: ``fpr, tpr, threshold`` (at most ``max_points`` rows, ends kept)."""
    from sklearn.metrics import roc_curve

    y, p = _check(y, p)
    fpr, tpr, thr = roc_curve(y, p, drop_intermediate=True)
    thr = np.where(np.isfinite(thr), thr, 1.0)
    return _downsample(pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thr}), max_points)


def compute_pr_curve(y, p, max_points=500):
    """Precision-recall curve: ``recall, precision, threshold`` (at most ``max_points`` rows)."""
    from sklearn.metrics import precision_recall_curve

    y, p = _check(y, p)
    precision, recall, thr = precision_recall_curve(y, p)
    thr = np.append(thr, 1.0)
    frame = pd.DataFrame({"recall": recall, "precision": precision, "threshold": thr})
    return _downsample(frame.iloc[::-1], max_points)


def compute_confusion(y, p, cutoff=0.5):
    """Confusion matrix at ``cutoff`` (flag when p >= cutoff) and the rates a banker reads.

    Returns
    -------
    dict with ``tp, fp, tn, fn, flagged, precision, recall, false_positive_rate, accuracy, cutoff``.
    """
    y, p = _check(y, p)
    pred = p >= cutoff
    pos = y == 1
    tp = int(np.sum(pred & pos))
    fp = int(np.sum(pred & ~pos))
    fn = int(np.sum(~pred & pos))
    tn = int(np.sum(~pred & ~pos))
    return {
        "cutoff": float(cutoff), "tp": tp, "fp": fp, "tn": tn, "fn": fn, "flagged": tp + fp,
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        "false_positive_rate": fp / (fp + tn) if fp + tn else float("nan"),
        "accuracy": (tp + tn) / len(y),
    }


def compute_lift_table(y, p, n_bins=10):
    """Lift and gains by score decile (decile 1 = highest scores).

    Columns: ``decile, customers, churners, churn_rate, lift, cum_customers_pct,
    cum_churners_pct`` (percentages 0-100).
    """
    y, p = _check(y, p)
    order = np.argsort(-p, kind="mergesort")
    ys = y[order]
    groups = np.array_split(np.arange(len(ys)), n_bins)
    base = ys.mean()
    rows, cum_n, cum_c = [], 0, 0.0
    for i, g in enumerate(groups, start=1):
        n, c = len(g), float(ys[g].sum())
        cum_n += n
        cum_c += c
        rate = c / n if n else float("nan")
        rows.append({
            "decile": i, "customers": n, "churners": int(c), "churn_rate": rate,
            "lift": rate / base if base > 0 and n else float("nan"),
            "cum_customers_pct": 100.0 * cum_n / len(ys),
            "cum_churners_pct": 100.0 * cum_c / ys.sum() if ys.sum() else float("nan"),
        })
    return pd.DataFrame(rows)


def compute_reliability(y, p, n_bins=10):
    """Reliability (calibration) curve on equal-width bins: ``bin, lower, upper, customers,
    mean_predicted, observed_rate``; empty bins are left out."""
    y, p = _check(y, p)
    edges = np.linspace(0, 1, n_bins + 1)
    b = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    frame = pd.DataFrame({"bin": b, "p": p, "y": y})
    g = frame.groupby("bin").agg(customers=("y", "size"), mean_predicted=("p", "mean"),
                                 observed_rate=("y", "mean")).reset_index()
    g["lower"] = edges[g["bin"]]
    g["upper"] = edges[g["bin"] + 1]
    return g[["bin", "lower", "upper", "customers", "mean_predicted", "observed_rate"]]


def compute_grade(auc, baseline_auc):
    """Grade A/B/C of the model against the logistic-regression baseline.

    A: ranks churners well (AUC >= 0.80) and at least as well as the baseline (within 0.005).
    B: useful (AUC >= 0.70) and not clearly worse than the baseline (within 0.02).
    C: otherwise (weak, or the simple baseline does better: check the data).

    Returns
    -------
    dict with ``grade`` ("A"/"B"/"C"), ``code`` (plain-words key: ``strong_beats_baseline``,
    ``strong_like_baseline``, ``useful``, ``weak``, ``baseline_better``), ``auc``, ``baseline_auc``,
    ``gain`` (auc - baseline).
    """
    gain = auc - baseline_auc
    if auc >= 0.80 and gain >= -0.005:
        grade, code = "A", "strong_beats_baseline" if gain >= 0.01 else "strong_like_baseline"
    elif auc >= 0.70 and gain >= -0.02:
        grade, code = "B", "useful"
    else:
        grade, code = "C", "baseline_better" if gain < -0.02 else "weak"
    return {"grade": grade, "code": code, "auc": float(auc), "baseline_auc": float(baseline_auc),
            "gain": float(gain)}


def compute_summary(y, p):
    """Headline figures: roc_auc, pr_auc, brier, ece, top_decile_lift, churn_rate, n."""
    y, p = _check(y, p)
    return {
        "roc_auc": roc_auc(y, p), "pr_auc": pr_auc(y, p), "brier": brier_score(y, p),
        "ece": expected_calibration_error(y, p), "top_decile_lift": top_decile_lift(y, p),
        "churn_rate": float(y.mean()), "n": int(len(y)),
    }


# ---------------------------------------------------------------- charts

def _alt():
    import altair as alt

    return alt


def build_roc_chart(roc, title="ROC", x_title="False positive rate", y_title="True positive rate"):
    """ROC curve with the diagonal of guessing."""
    alt = _alt()
    line = alt.Chart(roc).mark_line().encode(
        x=alt.X("fpr:Q", title=x_title, scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("tpr:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("fpr:Q", format=".3f"), alt.Tooltip("tpr:Q", format=".3f"),
                 alt.Tooltip("threshold:Q", format=".3f")])
    diag = alt.Chart(pd.DataFrame({"fpr": [0, 1], "tpr": [0, 1]})).mark_line(
        strokeDash=[4, 4], color="gray").encode(x="fpr:Q", y="tpr:Q")
    return (diag + line).properties(title=title, height=300)


def build_pr_chart(pr, base_rate=None, title="Precision-recall", x_title="Recall", y_title="Precision"):
    """Precision-recall curve with the churn rate (precision of guessing) as a rule."""
    alt = _alt()
    line = alt.Chart(pr).mark_line().encode(
        x=alt.X("recall:Q", title=x_title, scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("precision:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("recall:Q", format=".3f"), alt.Tooltip("precision:Q", format=".3f"),
                 alt.Tooltip("threshold:Q", format=".3f")])
    if base_rate is None:
        return line.properties(title=title, height=300)
    rule = alt.Chart(pd.DataFrame({"precision": [base_rate]})).mark_rule(
        strokeDash=[4, 4], color="gray").encode(y="precision:Q")
    return (rule + line).properties(title=title, height=300)


def build_lift_chart(lift, title="Lift by decile", x_title="Decile (1 = highest risk)", y_title="Lift"):
    """Bars of lift per decile with a rule at 1 (no better than random)."""
    alt = _alt()
    bars = alt.Chart(lift).mark_bar().encode(
        x=alt.X("decile:O", title=x_title), y=alt.Y("lift:Q", title=y_title),
        tooltip=["decile:O", alt.Tooltip("lift:Q", format=".2f"),
                 alt.Tooltip("churn_rate:Q", format=".1%"), "customers:Q"])
    rule = alt.Chart(pd.DataFrame({"lift": [1.0]})).mark_rule(color="gray").encode(y="lift:Q")
    return (bars + rule).properties(title=title, height=300)


def build_gains_chart(lift, title="Cumulative gains", x_title="% of customers contacted",
                      y_title="% of churners reached"):
    """Cumulative gains curve from :func:`compute_lift_table`."""
    alt = _alt()
    frame = pd.concat([pd.DataFrame({"cum_customers_pct": [0.0], "cum_churners_pct": [0.0]}),
                       lift[["cum_customers_pct", "cum_churners_pct"]]], ignore_index=True)
    line = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("cum_customers_pct:Q", title=x_title, scale=alt.Scale(domain=[0, 100])),
        y=alt.Y("cum_churners_pct:Q", title=y_title, scale=alt.Scale(domain=[0, 100])),
        tooltip=[alt.Tooltip("cum_customers_pct:Q", format=".0f"),
                 alt.Tooltip("cum_churners_pct:Q", format=".1f")])
    diag = alt.Chart(pd.DataFrame({"cum_customers_pct": [0, 100], "cum_churners_pct": [0, 100]})).mark_line(
        strokeDash=[4, 4], color="gray").encode(x="cum_customers_pct:Q", y="cum_churners_pct:Q")
    return (diag + line).properties(title=title, height=300)


def build_reliability_chart(rel, title="Reliability", x_title="Predicted probability",
                            y_title="Observed churn rate"):
    """Predicted vs observed churn rate per bin, with the diagonal of perfect calibration."""
    alt = _alt()
    pts = alt.Chart(rel).mark_line(point=True).encode(
        x=alt.X("mean_predicted:Q", title=x_title, scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("observed_rate:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("mean_predicted:Q", format=".3f"),
                 alt.Tooltip("observed_rate:Q", format=".3f"), "customers:Q"])
    diag = alt.Chart(pd.DataFrame({"mean_predicted": [0, 1], "observed_rate": [0, 1]})).mark_line(
        strokeDash=[4, 4], color="gray").encode(x="mean_predicted:Q", y="observed_rate:Q")
    return (diag + pts).properties(title=title, height=300)


def build_confusion_chart(confusion, labels, title="Confusion matrix"):
    """2x2 heat map. ``labels`` maps ``actual_yes, actual_no, predicted_yes, predicted_no,
    actual, predicted`` to display text."""
    alt = _alt()
    c = confusion
    frame = pd.DataFrame({
        "actual": [labels["actual_yes"], labels["actual_yes"], labels["actual_no"], labels["actual_no"]],
        "predicted": [labels["predicted_yes"], labels["predicted_no"], labels["predicted_yes"],
                      labels["predicted_no"]],
        "customers": [c["tp"], c["fn"], c["fp"], c["tn"]],
    })
    base = alt.Chart(frame).encode(x=alt.X("predicted:N", title=labels["predicted"]),
                                   y=alt.Y("actual:N", title=labels["actual"]))
    rect = base.mark_rect().encode(color=alt.Color("customers:Q", legend=None))
    text = base.mark_text(fontSize=16).encode(text="customers:Q")
    return (rect + text).properties(title=title, height=200)
