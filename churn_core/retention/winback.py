"""Win-back list (流失客户回访): the customers who left, ranked by the value lost, with why they left.

For every churned customer (at their last snapshot) the list gives the id, the yearly value lost,
their top drivers in words (the reason sentences of :func:`churn_core.explain.compute_top_reasons`),
the retention cause of each driver and the customer's main cause, and the win-back offer with its
cost. The causes are the seed's five (:data:`churn_core.data.meanings.CAUSES`): ``service``,
``products``, ``rates_fees``, ``activity``, ``circumstances``.

Cause of a driver (one owner per concept: the column meanings decide):

1. the cause of the column's meaning (:meth:`ColumnMeanings.cause_of`);
2. a column with no meaning that the bank can act on (its ``actionable`` flag in the meanings, or an
   actionable name for :mod:`churn_core.retention.actionable`) gets the cause of its actionable
   theme (fees / rates / balance -> ``rates_fees``, activity, service, products);
3. anything else is ``circumstances`` (who the customer is, nothing the bank did).

The main cause is the cause whose drivers *raising* the risk add up to the most points; ties go to
the cause of the earlier (stronger) driver. A churned customer the model saw as safe has only drivers
that lowered the risk: nothing explains the departure, the main cause is ``None`` ("not explained")
and each ``cause_j`` still says what the listed driver is about.

Cost of the offer per customer = ``contact_cost + unit_cost`` of the ``win_back`` offer (a call
that is made, and the gesture offered to everyone reached).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn_core.data.meanings import CAUSES
from churn_core.errors import ChurnCoreError

__all__ = ["WINBACK_OFFER", "cause_of_driver", "compute_winback", "compute_value_lost_by",
           "compute_value_lost_by_cause"]

WINBACK_OFFER = "win_back"

_THEME_CAUSE = {"fees": "rates_fees", "rates": "rates_fees", "balance": "rates_fees", "activity": "activity",
                "service": "service", "products": "products"}


def cause_of_driver(column, meanings=None):
    """Retention cause of one driver column (see the module docstring); ``None`` for no driver."""
    from churn_core.retention.actionable import theme_of

    if column is None or (isinstance(column, float) and np.isnan(column)) or column == "":
        return None
    cause = meanings.cause_of(column) if meanings is not None else None
    if cause:
        return cause
    theme = theme_of(column)
    flagged = meanings is not None and meanings.is_actionable(column)
    if theme in _THEME_CAUSE:
        return _THEME_CAUSE[theme]
    if flagged:  # the bank says it can act on it, but nothing tells which lever: a service matter
        return "service"
    return "circumstances"


def _k(reasons):
    ks = sorted(int(c.split("_")[1]) for c in reasons.columns if c.startswith("driver_") and c.split("_")[1].isdigit())
    if not ks:
        raise ChurnCoreError("winback.no_drivers", "The reasons table has no driver columns; "
                             "compute the reasons with their details (driver_1, points_1...).")
    return ks[-1]


def compute_winback(lost_frame, value, reasons, meanings, catalogue=None, id_column=None, lang="en"):
    """Every churned customer, the most valuable loss first.

    Parameters
    ----------
    lost_frame : pandas.DataFrame
        The churned customers, one row each (their last snapshot).
    value : array-like or pandas.Series
        Yearly value of each customer of ``lost_frame`` (same order, or a Series on its index).
    reasons : pandas.DataFrame
        Index of ``lost_frame``; ``reason_j`` (sentences), ``driver_j`` (columns) and ``points_j``.
    meanings : churn_core.data.meanings.ColumnMeanings or None
    catalogue : churn_core.retention.offers.OfferCatalogue, optional
        Where to find the ``win_back`` offer (default: the default catalogue).
    id_column : str, optional
        The customer id column (kept first); without it the row number is used (``row``).
    lang : {"en", "zh"}
        Language of the offer's name (the reason sentences come in the language they were made in).

    Returns
    -------
    pandas.DataFrame
        Index of ``lost_frame`` (sorted by ``value_lost`` descending, ties in table order); columns
        the id, ``value_lost``, ``main_cause``, ``reason_1..k``, ``driver_1..k``, ``cause_1..k``,
        ``points_1..k``, ``offer``, ``offer_name``, ``offer_cost``.
    """
    from churn_core.retention.offers import default_catalogue

    if not isinstance(lost_frame, pd.DataFrame):
        raise ChurnCoreError("winback.bad_input", "The churned customers must be a table.")
    n = len(lost_frame)
    if isinstance(value, pd.Series) and value.index.equals(lost_frame.index):
        values = value.to_numpy(dtype=float)
    elif isinstance(value, pd.Series) and value.index.isin(lost_frame.index).all() and len(value) == n:
        values = value.reindex(lost_frame.index).to_numpy(dtype=float)
    else:
        values = np.asarray(value, dtype=float).ravel()
    if len(values) != n:
        raise ChurnCoreError("winback.value_length", f"There are {len(values)} values for {n} churned customers.",
                             got=len(values), rows=n)
    if not isinstance(reasons, pd.DataFrame) or not lost_frame.index.isin(reasons.index).all():
        raise ChurnCoreError("winback.stale_reasons", "The reasons do not cover every churned customer; "
                             "explain the churned customers again.")
    k = _k(reasons) if n else 0
    reasons = reasons.reindex(lost_frame.index)
    if id_column is not None and id_column not in lost_frame.columns:
        raise ChurnCoreError("winback.no_id_column", f"There is no column {id_column!r} in the file.",
                             column=str(id_column))
    offer = (catalogue or default_catalogue()).get(WINBACK_OFFER)

    id_name = id_column if id_column is not None else "row"
    ids = lost_frame[id_column].to_numpy() if id_column is not None else np.arange(1, n + 1)
    out = pd.DataFrame({id_name: ids, "value_lost": values}, index=lost_frame.index)
    out["main_cause"] = None
    causes = {}
    for j in range(1, k + 1):
        drivers = reasons[f"driver_{j}"].where(reasons[f"driver_{j}"].notna(), "")
        out[f"reason_{j}"] = reasons.get(f"reason_{j}", pd.Series("", index=reasons.index)).fillna("").to_numpy()
        out[f"driver_{j}"] = drivers.to_numpy()
        known = {d: cause_of_driver(d, meanings) for d in pd.unique(drivers)}
        causes[j] = drivers.map(known)
        out[f"cause_{j}"] = causes[j].to_numpy()
        out[f"points_{j}"] = pd.to_numeric(reasons.get(f"points_{j}", pd.Series(np.nan, index=reasons.index)),
                                           errors="coerce").to_numpy(dtype=float)
    out["main_cause"] = _main_causes(out, k)
    out["offer"] = offer.code
    out["offer_name"] = offer.name(lang)
    out["offer_cost"] = float(offer.contact_cost + offer.unit_cost)
    order = np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="mergesort")
    return out.iloc[order]


def _main_causes(out, k):
    """Per row, the cause whose risk-raising drivers add the most points (ties: the earlier driver).

    Drivers that lowered the risk are left out; a driver without points counts 0. Computed per
    cause over whole columns (there are a handful of causes), in driver order so that the totals
    are the same sums as a row-by-row loop.
    """
    n = len(out)
    cause_cols = [out[f"cause_{j}"].to_numpy(dtype=object) for j in range(1, k + 1)]
    pts_cols = [pd.to_numeric(out[f"points_{j}"], errors="coerce").to_numpy(dtype=float) for j in range(1, k + 1)]
    names = []
    for col in cause_cols:
        for c in pd.unique(col):
            if isinstance(c, str) and c and c not in names:
                names.append(c)
    if not names or n == 0:
        return [None] * n
    totals = np.zeros((n, len(names)))
    first = np.full((n, len(names)), np.inf)
    for j, (col, pts) in enumerate(zip(cause_cols, pts_cols), start=1):
        counts = ~(pts < 0)  # a driver that lowered the risk does not explain a departure
        add = np.where(np.isfinite(pts), pts, 0.0)
        for i, c in enumerate(names):
            hit = (col == c) & counts
            totals[hit, i] += add[hit]
            first[hit, i] = np.minimum(first[hit, i], j)
    present = np.isfinite(first)
    best = np.where(present, totals, -np.inf).max(axis=1)
    tied = present & (totals == best[:, None])
    pick = np.where(tied, first, np.inf).argmin(axis=1)
    labels = np.asarray(names, dtype=object)[pick]
    return np.where(present.any(axis=1), labels, None).tolist()


def _share(frame):
    total = frame["value_lost"].sum()
    frame["share_of_value_lost"] = frame["value_lost"] / total if total else np.nan
    return frame


def compute_value_lost_by(winback, by_frame, column, bins=5):
    """Value lost per group of ``column`` (a segment): ``column, customers, value_lost, share_of_value_lost``.

    ``by_frame`` holds ``column`` for the win-back rows (same index, e.g. the churned customers'
    table). A numeric column with more than 12 values is cut into ``bins`` quantile groups first.
    Largest loss first; missing values form a group of their own.
    """
    if column not in by_frame.columns:
        raise ChurnCoreError("winback.unknown_column", f"There is no column {column!r} in the file.",
                             column=str(column))
    if not winback.index.isin(by_frame.index).all():
        raise ChurnCoreError("winback.stale_reasons", "The table does not cover every churned customer.")
    key = by_frame.loc[winback.index, column]
    if pd.api.types.is_numeric_dtype(key) and not pd.api.types.is_bool_dtype(key) and key.nunique() > 12:
        key = pd.qcut(key, q=bins, duplicates="drop").astype(str)
    data = pd.DataFrame({column: key.to_numpy(), "value_lost": winback["value_lost"].to_numpy()})
    g = data.groupby(column, dropna=False, sort=False).agg(customers=("value_lost", "size"),
                                                           value_lost=("value_lost", "sum")).reset_index()
    g = g.sort_values(["value_lost"], ascending=False, kind="mergesort").reset_index(drop=True)
    g["customers"] = g["customers"].astype(int)
    return _share(g)


def compute_value_lost_by_cause(winback):
    """Value lost per main cause: ``cause, customers, value_lost, share_of_value_lost``, one row per
    cause of :data:`CAUSES` (zero when no customer has it) in that order, plus ``None`` for the customers no
    risk-raising driver explains, when there are any."""
    data = winback[["main_cause", "value_lost"]]
    rows = []
    for cause in CAUSES:
        part = data[data["main_cause"] == cause]
        rows.append({"cause": cause, "customers": int(len(part)), "value_lost": float(part["value_lost"].sum())})
    none = data[data["main_cause"].isna()]
    if len(none):
        rows.append({"cause": None, "customers": int(len(none)), "value_lost": float(none["value_lost"].sum())})
    return _share(pd.DataFrame(rows, columns=["cause", "customers", "value_lost"]))
