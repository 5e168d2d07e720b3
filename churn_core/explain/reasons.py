"""Reasons: the top drivers of each customer's risk, in probability points and in words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError
from churn_core.explain.explanation import _check_frame, _check_model, _sigmoid, compute_explanation
from churn_core.explain.sentences import _check_lang, format_reasons

MIN_POINTS = 0.5  # a reason must raise the risk by at least half a probability point


def points_from_contributions(margin, contributions, prob_fn=_sigmoid):
    """Probability points of each contribution: ``100 * (P(m) - P(m - c))`` (same shape as c)."""
    margin = np.asarray(margin, dtype=np.float64)
    c = np.asarray(contributions, dtype=np.float64)
    m = margin.reshape(-1, *([1] * (c.ndim - 1)))
    return 100.0 * (prob_fn(m) - prob_fn(m - c))


def compute_reason_codes(explanation, k=3, actionable_only=False, min_points=None):
    """Top-``k`` risk-raising drivers of every row, vectorised (no per-row Python).

    Returns
    -------
    feature_idx : numpy.ndarray
        ``(n, k)`` int16 feature positions, ``-1`` where the row has fewer than ``k`` drivers that
        raise its risk by at least ``min_points`` (default :data:`MIN_POINTS`).
    points : numpy.ndarray
        ``(n, k)`` float32 probability points of those drivers (0 where none).
    """
    from churn_core.retention.actionable import is_actionable

    c = explanation.contributions
    n, f = c.shape
    k = int(k)
    if k < 1:
        raise ChurnCoreError("explain.bad_k", "Ask for at least one reason per customer.", k=k)
    work = c.astype(np.float32, copy=True)
    if actionable_only:
        fixed = np.array([not is_actionable(col) for col in explanation.columns])
        work[:, fixed] = -np.inf
    kk = min(k, f)
    if kk < f:
        top = np.argpartition(-work, kk - 1, axis=1)[:, :kk]
    else:
        top = np.tile(np.arange(f), (n, 1))
    top_vals = np.take_along_axis(work, top, axis=1)
    order = np.argsort(-top_vals, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    top_vals = np.take_along_axis(top_vals, order, axis=1)
    positive = top_vals > 0
    prob_fn = explanation.extra.get("prob_fn", _sigmoid)
    pts = points_from_contributions(explanation.margin, np.where(positive, top_vals, 0.0), prob_fn)
    floor = MIN_POINTS if min_points is None else float(min_points)
    positive &= pts >= floor
    idx = np.where(positive, top, -1).astype(np.int16)
    pts = np.where(positive, pts, 0.0).astype(np.float32)
    if kk < k:
        idx = np.hstack([idx, np.full((n, k - kk), -1, dtype=np.int16)])
        pts = np.hstack([pts, np.zeros((n, k - kk), dtype=np.float32)])
    return idx, pts


def iter_top_reasons(
    model,
    df,
    k=3,
    lang="en",
    actionable_only=False,
    *,
    priority=None,
    chunk_size=250_000,
    progress=None,
    with_details=False,
    min_points=None,
):
    """Yield the top reasons chunk by chunk, the ``priority`` rows (e.g. the watch-list) first.

    Parameters
    ----------
    priority : array-like of bool or of row positions, optional
        Rows to explain first.
    progress : callable, optional
        ``progress(fraction, code)`` after each chunk; code is ``"explain.reasons_priority"`` while
        priority rows are processed, ``"explain.reasons"`` after.

    Yields
    ------
    pandas.DataFrame
        ``reason_1..reason_k`` indexed like the matching rows of ``df``.
    """
    for _, frame in _iter_reason_chunks(
        model, df, k, lang, actionable_only, priority, chunk_size, progress, with_details, min_points
    ):
        yield frame


def _row_order(n, priority):
    if priority is None:
        return np.arange(n), 0
    pri = np.asarray(priority)
    if pri.dtype == bool:
        if len(pri) != n:
            raise ChurnCoreError(
                "explain.bad_priority", "The priority mask must have one entry per customer."
            )
        first = np.flatnonzero(pri)
    else:
        first = np.unique(pri.astype(np.int64))
        if len(first) and (first[0] < 0 or first[-1] >= n):
            raise ChurnCoreError(
                "explain.bad_priority", "Priority rows must be positions inside the table."
            )
    rest = np.setdiff1d(np.arange(n), first, assume_unique=True)
    return np.concatenate([first, rest]), len(first)


def _iter_reason_chunks(model, df, k, lang, actionable_only, priority, chunk_size, progress, with_details,
                        min_points=None):
    _check_model(model)
    _check_frame(df)
    _check_lang(lang)
    n = len(df)
    chunk_size = max(1, int(chunk_size))
    order, n_first = _row_order(n, priority)
    bounds = [(s, min(s + chunk_size, n_first)) for s in range(0, n_first, chunk_size)]
    bounds += [(s, min(s + chunk_size, n)) for s in range(n_first, n, chunk_size)]
    for start, stop in bounds:
        rows = order[start:stop]
        part = df.iloc[rows] if n_first or len(rows) < n else df
        expl = compute_explanation(model, part, chunk_size=max(chunk_size, len(part)))
        yield rows, _reasons_frame(expl, part.index, k, lang, actionable_only, with_details, min_points)
        if progress is not None:
            code = "explain.reasons_priority" if stop <= n_first else "explain.reasons"
            progress(stop / n, code)


def _reasons_frame(expl, index, k, lang, actionable_only, with_details, min_points=None):
    idx, pts = compute_reason_codes(expl, k=k, actionable_only=actionable_only, min_points=min_points)
    sentences = format_reasons(expl, idx, pts, lang=lang)
    data = {f"reason_{j + 1}": sentences[j] for j in range(k)}
    if with_details:
        names = np.array(list(expl.columns) + [""], dtype=object)
        for j in range(k):
            data[f"driver_{j + 1}"] = names[idx[:, j]]
            data[f"points_{j + 1}"] = np.round(pts[:, j].astype(np.float64), 1)
    return pd.DataFrame(data, index=index)


def compute_top_reasons(
    model,
    df,
    k=3,
    lang="en",
    actionable_only=False,
    *,
    explanation=None,
    priority=None,
    chunk_size=250_000,
    progress=None,
    with_details=False,
    min_points=None,
):
    """Top-``k`` reasons (sentences) why each customer is at risk, index aligned with ``df``.

    Each reason names a driver that raises the customer's risk, with its value and size in
    probability points, e.g. ``"3 complaints in the last 12 months raises the risk by 8 points"`` /
    ``"近12个月投诉3次，流失风险上升8个百分点"``. Rows with fewer than ``k`` risk-raising drivers get
    empty strings in the remaining columns (so do drivers below ``min_points``).

    Parameters
    ----------
    k : int
        Number of reasons per customer (columns ``reason_1..reason_k``).
    lang : {"en", "zh"}
    actionable_only : bool
        Only drivers the bank can act on (:mod:`churn_core.retention.actionable`).
    explanation : Explanation, optional
        Reuse an explanation of exactly these rows instead of recomputing it.
    priority : array-like, optional
        Rows to explain first (bool mask or positions); see :func:`iter_top_reasons`.
    with_details : bool
        Also return ``driver_j`` (business column) and ``points_j``.
    min_points : float, optional
        Drivers raising the risk by fewer probability points are not reasons (default
        :data:`MIN_POINTS`, 0.5: a driver must round to at least 1 point); 0 keeps every raising
        driver ("... by less than 1 point").
    """
    _check_lang(lang)
    if explanation is not None:
        if len(explanation) != len(df):
            raise ChurnCoreError(
                "explain.stale_explanation",
                "The explanation does not match the table; explain the table again.",
            )
        return _reasons_frame(explanation, df.index, k, lang, actionable_only, with_details, min_points)
    chunks = list(
        _iter_reason_chunks(
            model, df, k, lang, actionable_only, priority, chunk_size, progress, with_details,
            min_points,
        )
    )
    if len(chunks) == 1 and priority is None:
        return chunks[0][1]
    rows = np.concatenate([r for r, _ in chunks])
    out = pd.concat([f for _, f in chunks], ignore_index=True)
    out = out.iloc[np.argsort(rows, kind="stable")]
    out.index = df.index
    return out
