"""Score customers with a fitted model: one row per customer, the same columns for the CLI, the app
and the Spark engine.

Scoring is split in two so that a distributed engine can run the row-wise part per partition and
the tiering (a global rank) on the whole table:

- :func:`score_rows`: per customer, independent of the others: ``[id], churn_probability, status,
  reason_1..3, points_1..3, signals``.
- :func:`assign_tiers`: risk tiers by capacity among the **active** customers only; customers the
  file marks as churned get tier ``Left`` (they are for the win-back list, not the watch-list).
"""

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError
from churn_core.modeling.warning import TierConfig, compute_signals, compute_tiers

ACTIVE, CHURNED = "active", "churned"
LEFT = "Left"
TIER_ORDER = ["High", "Medium", "Low", LEFT]
SCORE_COLUMNS = ["churn_probability", "status", "risk_tier", "reason_1", "reason_2", "reason_3",
                 "points_1", "points_2", "points_3", "signals"]


def compute_status(model, df):
    """``"active"`` / ``"churned"`` per customer when the model's label column is in ``df``, else None.

    A missing label counts as active (the customer is still on the book as far as the file says).
    """
    from churn_core.data.roles import label_to_binary

    label = getattr(model, "label_", None)
    if not label or label not in df.columns:
        return None
    try:
        y = pd.Series(label_to_binary(df[label], model.positive_), index=df.index)
    except ChurnCoreError:  # the churned value does not occur here (e.g. only active customers)
        y = pd.Series(np.where(df[label].isna(), np.nan, 0.0), index=df.index)
    return pd.Series(np.where(y.fillna(0).to_numpy(dtype=float) == 1, CHURNED, ACTIVE), index=df.index,
                     name="status")


def score_rows(model, df, lang="en", explanation=None, signal_columns=None, thresholds=None, meanings=None,
               reasons=None):
    """Row-wise scores (no tiers): id (if any), probability, status, three reasons with points, signals.

    Signals use ``signal_columns`` when given, else the column ``meanings`` (detected from ``df``
    when not given: pass the saved map, :func:`load_model_meanings`, for the same answer on every
    partition of a big table).
    """
    from churn_core.explain import compute_top_reasons
    from churn_core.modeling.warning import signal_columns_from_meanings

    if meanings is None:
        from churn_core.data.meanings import detect_meanings

        meanings = detect_meanings(df)
    if signal_columns is None:
        signal_columns = signal_columns_from_meanings(meanings)

    if explanation is not None and len(explanation.proba) == len(df) and explanation.index.equals(df.index):
        proba = explanation.proba  # the model's own probabilities (the explanation keeps its margin)
    else:
        proba = model.predict_proba(df)
    if reasons is None:  # the workspace passes the ones it already has
        reasons = compute_top_reasons(model, df, k=3, lang=lang, explanation=explanation, with_details=True,
                                      meanings=meanings)
    signals = compute_signals(df, thresholds=thresholds, columns=signal_columns)
    out = pd.DataFrame(index=df.index)
    if model.id_column_ and model.id_column_ in df.columns:
        out[model.id_column_] = df[model.id_column_].to_numpy()
    out["churn_probability"] = np.asarray(proba, dtype=float).round(6)
    status = compute_status(model, df)
    out["status"] = status.to_numpy() if status is not None else ACTIVE
    for j in (1, 2, 3):
        out[f"reason_{j}"] = reasons[f"reason_{j}"].to_numpy()
    for j in (1, 2, 3):
        col = f"points_{j}"
        pts = pd.to_numeric(reasons[col], errors="coerce") if col in reasons.columns else np.nan
        out[col] = np.round(np.asarray(pts, dtype=float), 2) if col in reasons.columns else np.nan
    out["signals"] = signals["signals"].to_numpy()
    return out.reset_index(drop=True)


def assign_tiers(scores, config=None):
    """Add ``risk_tier``: tiers among active customers (by ``config``), ``Left`` for churned ones."""
    config = config or TierConfig()
    out = scores.copy()
    tier = np.full(len(out), LEFT, dtype=object)
    active = (out["status"] != CHURNED).to_numpy() if "status" in out.columns else np.ones(len(out), bool)
    if active.any():
        tier[active] = compute_tiers(out["churn_probability"].to_numpy()[active], config).astype(str).to_numpy()
    out["risk_tier"] = pd.Categorical(tier, categories=TIER_ORDER)
    cols = [c for c in out.columns if c not in SCORE_COLUMNS] + [c for c in SCORE_COLUMNS if c in out.columns]
    return out[cols]


def score_frame(model, df, lang="en", high=None, medium=None, explanation=None, config=None):
    """Scores table: id column (if any), ``churn_probability, status, risk_tier, reason_1..3,
    points_1..3, signals``; tiers among active customers only."""
    config = config or TierConfig(high_capacity=high, medium_capacity=medium)
    return assign_tiers(score_rows(model, df, lang=lang, explanation=explanation), config)


def tier_counts(scores):
    """``{tier: customers}`` in :data:`TIER_ORDER` (``Left`` only when some customer left)."""
    counts = scores["risk_tier"].astype(str).value_counts().reindex(TIER_ORDER, fill_value=0)
    return {k: int(v) for k, v in counts.items() if k != LEFT or v > 0}


def load_model_meanings(model_dir, df=None):
    """The column meanings saved beside a model by ``train`` (``columns.json``), or None.

    With ``df`` the saved mapping is applied to the meanings detected on ``df`` (columns the file
    lacks are left out); without it the saved map is rebuilt as it was.
    """
    import json
    from pathlib import Path

    from churn_core.data.meanings import ColumnInfo, ColumnMeanings, apply_mapping, detect_meanings

    path = Path(model_dir) / "columns.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if df is None:
        infos = tuple(ColumnInfo(c, spec.get("meaning"), float(spec.get("confidence", 1.0)),
                                 bool(spec.get("actionable")), bool(spec.get("protected")))
                      for c, spec in data.get("columns", {}).items())
        return ColumnMeanings(infos=infos, margins=dict(data.get("margins", {})), label=data.get("label"),
                              positive=data.get("positive"), id_column=data.get("id"))
    data = dict(data)
    data["columns"] = {c: v for c, v in data.get("columns", {}).items() if c in df.columns}
    data["margins"] = {c: v for c, v in data.get("margins", {}).items() if c in df.columns}
    for key in ("label", "id"):
        if data.get(key) not in df.columns:
            data.pop(key, None)
    return apply_mapping(detect_meanings(df), data, columns=df.columns)
