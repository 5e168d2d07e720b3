"""Reasons: the top drivers of each customer's risk, in percentage points of risk and in words."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError
from churn_core.explain.explanation import (
    _check_frame, _check_model, _sigmoid, compute_explanation, point_scale,
)
from churn_core.explain.sentences import _check_lang, format_reasons

MIN_POINTS = 0.5  # a reason must move the risk by at least half a percentage point (the top one always shows)

# protected meanings (age, gender, marital status...) are kept out of call-centre reasons by default
_PROTECTED_FALLBACK = r"^(customer_?)?age(_years)?$|^gender$|^sex$|marital|^senior|年龄|性别|婚姻"


def points_from_contributions(margin, contributions, prob_fn=_sigmoid, base_value=0.0):
    """Percentage points of risk of each contribution, on the one scale of :meth:`Explanation.points`.

    ``contributions`` holds *every* driver of each row (``(n, f)``, or ``(f,)`` for one row): a row's
    points are its move ``100 * (P(margin) - P(base_value))`` shared out in proportion to the
    contributions, so they sum exactly to that move.
    """
    c = np.asarray(contributions, dtype=np.float64)
    one = c.ndim == 1
    c = np.atleast_2d(c)
    margin = np.broadcast_to(np.asarray(margin, dtype=np.float64).reshape(-1), (c.shape[0],))
    move = 100.0 * (prob_fn(margin) - prob_fn(np.array([float(base_value)]))[0])
    scale, fix_col, fix = point_scale(c, margin, move, prob_fn)
    out = c * scale[:, None]
    out[np.arange(len(out)), fix_col] += fix
    return out[0] if one else out


def protected_columns(columns, meanings=None):
    """The columns among ``columns`` that are protected (age, gender, marital status...).

    ``meanings`` is the session's :class:`churn_core.data.meanings.ColumnMeanings` (the user may have
    corrected the flags); without it the vocabulary's protected meanings are matched on the names.
    """
    if meanings is not None:
        return [c for c in columns if meanings.is_protected(c)]
    try:
        from churn_core.data.meanings import MEANINGS, name_confidence
    except ImportError:  # pragma: no cover - the vocabulary module is part of the package
        return [c for c in columns if re.search(_PROTECTED_FALLBACK, str(c), flags=re.IGNORECASE)]
    codes = [code for code, m in MEANINGS.items() if m.protected]
    return [c for c in columns if any(name_confidence(code, c) > 0 for code in codes)]


def compute_reason_codes(explanation, k=3, actionable_only=False, min_points=None, exclude=()):
    """Top-``k`` drivers of every row's risk, vectorised (no per-row Python).

    A row above the base risk gets the drivers that raise its risk (largest first); a row below it
    gets the drivers that protect it (lower its risk, largest first); a row exactly at the base gets
    none. Drivers moving the risk by less than ``min_points`` (default :data:`MIN_POINTS`) are left
    out, except the first one: every row away from the base has at least one reason when it has
    at least one driver that is not excluded.

    Parameters
    ----------
    exclude : iterable of str
        Business columns never used as reasons (e.g. :func:`protected_columns`).

    Returns
    -------
    feature_idx : numpy.ndarray
        ``(n, k)`` int16 feature positions, ``-1`` where the row has fewer reasons.
    points : numpy.ndarray
        ``(n, k)`` float64 percentage points of those drivers on the one scale
        (:meth:`Explanation.points`): positive raises the risk, negative lowers it (0 where none).
    """
    from churn_core.retention.actionable import is_actionable

    c = explanation.contributions
    n, f = c.shape
    k = int(k)
    if k < 1:
        raise ChurnCoreError("explain.bad_k", "Ask for at least one reason per customer.", k=k)
    direction = np.sign(explanation.risk_move).astype(np.float32)
    work = np.multiply(c, direction[:, None], dtype=np.float32)
    skip = set(exclude or ())
    if actionable_only:
        skip |= {col for col in explanation.columns if not is_actionable(col)}
    if skip:
        work[:, [j for j, col in enumerate(explanation.columns) if col in skip]] = -np.inf
    kk = min(k, f)
    if kk < f:
        top = np.argpartition(-work, kk - 1, axis=1)[:, :kk]
    else:
        top = np.tile(np.arange(f), (n, 1))
    top_vals = np.take_along_axis(work, top, axis=1)
    order = np.argsort(-top_vals, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    top_vals = np.take_along_axis(top_vals, order, axis=1)
    keep = top_vals > 0
    pts = explanation.points(features=top)
    floor = MIN_POINTS if min_points is None else float(min_points)
    keep[:, 1:] &= np.abs(pts[:, 1:]) >= floor
    keep = np.logical_and.accumulate(keep, axis=1)
    idx = np.where(keep, top, -1).astype(np.int16)
    pts = np.where(keep, pts, 0.0)
    if kk < k:
        idx = np.hstack([idx, np.full((n, k - kk), -1, dtype=np.int16)])
        pts = np.hstack([pts, np.zeros((n, k - kk))])
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
    include_protected=False,
    meanings=None,
):
    """Yield the top reasons chunk by chunk, the ``priority`` rows (e.g. the watch-list) first.

    Parameters are those of :func:`compute_top_reasons`, plus:

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
    opts = _options(k, lang, actionable_only, with_details, min_points, include_protected, meanings)
    for _, frame in _iter_reason_chunks(model, df, opts, priority, chunk_size, progress):
        yield frame


def _options(k, lang, actionable_only, with_details, min_points, include_protected, meanings):
    _check_lang(lang)
    return dict(k=k, lang=lang, actionable_only=actionable_only, with_details=with_details,
                min_points=min_points, include_protected=include_protected, meanings=meanings)


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


def _iter_reason_chunks(model, df, opts, priority, chunk_size, progress):
    _check_model(model)
    _check_frame(df)
    n = len(df)
    chunk_size = max(1, int(chunk_size))
    order, n_first = _row_order(n, priority)
    bounds = [(s, min(s + chunk_size, n_first)) for s in range(0, n_first, chunk_size)]
    bounds += [(s, min(s + chunk_size, n)) for s in range(n_first, n, chunk_size)]
    for start, stop in bounds:
        rows = order[start:stop]
        part = df.iloc[rows] if n_first or len(rows) < n else df
        expl = compute_explanation(model, part, chunk_size=max(chunk_size, len(part)))
        yield rows, _reasons_frame(expl, part.index, **opts)
        if progress is not None:
            code = "explain.reasons_priority" if stop <= n_first else "explain.reasons"
            progress(stop / n, code)


def _reasons_frame(expl, index, k, lang, actionable_only, with_details, min_points, include_protected,
                   meanings):
    exclude = () if include_protected else protected_columns(expl.columns, meanings)
    idx, pts = compute_reason_codes(expl, k=k, actionable_only=actionable_only, min_points=min_points,
                                    exclude=exclude)
    sentences = format_reasons(expl, idx, pts, lang=lang)
    data = {f"reason_{j + 1}": sentences[j] for j in range(k)}
    if with_details:
        names = np.array(list(expl.columns) + [""], dtype=object)
        for j in range(k):
            data[f"driver_{j + 1}"] = names[idx[:, j]]
            data[f"points_{j + 1}"] = np.where(idx[:, j] >= 0, pts[:, j], np.nan)
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
    include_protected=False,
    meanings=None,
):
    """Top-``k`` reasons (sentences) for each customer's risk, index aligned with ``df``.

    Points are percentage points of risk on the one scale of :meth:`Explanation.points` (the
    drivers' shares of the move from the base risk to the customer's risk; the waterfall shows the
    same numbers). A customer above the base risk gets the drivers that raise it, e.g.
    ``"3 complaints in the last 12 months raises the risk by 8 points"`` /
    ``"近12个月投诉3次，流失风险上升8个百分点"``; a customer below it gets what protects them, e.g.
    ``"Active member lowers the risk by 8 points"`` / ``"活跃客户，流失风险下降8个百分点"``. Rows with
    fewer than ``k`` such drivers get empty strings in the remaining columns.

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
        Also return ``driver_j`` (business column) and ``points_j`` (float points, unrounded, same
        sign as the sentence: positive raises, negative lowers; NaN where there is no reason).
    min_points : float, optional
        Drivers after the first moving the risk by fewer points are not reasons (default
        :data:`MIN_POINTS`, 0.5: they must round to at least 1 point); 0 keeps every driver in the
        customer's direction ("... by less than 1 point").
    include_protected : bool
        Also use protected attributes (age, gender, marital status...) as reasons. Off by default:
        call-centre reasons never cite them.
    meanings : churn_core.data.meanings.ColumnMeanings, optional
        The session's column meanings, whose ``protected`` flags decide (see
        :func:`protected_columns`).
    """
    opts = _options(k, lang, actionable_only, with_details, min_points, include_protected, meanings)
    if explanation is not None:
        if len(explanation) != len(df):
            raise ChurnCoreError(
                "explain.stale_explanation",
                "The explanation does not match the table; explain the table again.",
            )
        return _reasons_frame(explanation, df.index, **opts)
    chunks = list(_iter_reason_chunks(model, df, opts, priority, chunk_size, progress))
    if len(chunks) == 1 and priority is None:
        return chunks[0][1]
    rows = np.concatenate([r for r, _ in chunks])
    out = pd.concat([f for _, f in chunks], ignore_index=True)
    out = out.iloc[np.argsort(rows, kind="stable")]
    out.index = df.index
    return out
