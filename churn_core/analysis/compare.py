"""Compare two snapshots of the same bank (KPI monitoring): who stayed, who left, who arrived, what
they are worth, how their risk tiers moved and which columns drifted.

Two snapshots are two tables keyed by one id column: two uploads, or two snapshot dates of one
table (:func:`split_snapshots`). Every figure is a plain count, sum or mean over ids:

* ``customers_old`` / ``customers_new``: distinct ids in each snapshot (an id must occur once);
* ``retained``: ids in both; ``lost``: ids in the old snapshot only; ``new``: ids in the new only;
* ``retention_rate = retained / customers_old`` (the seed's definition).
  *Decision*: "lost" is decided by presence only. A churn label in the new snapshot says who
  leaves *after* it (the sample's label is "churned in the next quarter"), so a retained customer
  marked churned is still a customer here; the extra ``retained_marked_churned`` counts them;
* ``churn_rate_old`` / ``churn_rate_new``: mean of the 0/1 label over the rows where it is known,
  ``None`` when that snapshot has no label column;
* ``value_old`` / ``value_new``: total yearly customer value
  (:func:`churn_core.analysis.value.compute_customer_value`, the same meanings and assumptions for
  both snapshots), with averages and growth;
* product holding: mean products held and the share holding each product flag;
* tier migration (with a model): each snapshot is scored by the same model and cut into tiers by
  the same :class:`~churn_core.modeling.warning.TierConfig` among its own customers;
  ``{from: {to: count}}`` over the old customers, ``to`` being ``Left`` for the lost ones;
* drift: population stability index per column,
  ``PSI = sum over bins (new% - old%) * ln(new% / old%)`` with empty bins at ``EPSILON``. A numeric
  column with more than ``bins`` distinct old values is cut at the deciles of the old snapshot
  (bins ``(-inf, q10], (q10, q20], ... (q90, inf)``, repeated edges merged); other columns are
  compared per value; missing values are a bin of their own. Flag codes: ``stable`` (PSI < 0.1),
  ``moderate_shift`` (0.1 to 0.25), ``major_shift`` (> 0.25).

The engine returns codes; ``locales/*/monitoring.json`` holds the words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError

__all__ = [
    "DRIFT_FLAGS", "EPSILON", "LEFT", "NEW", "Comparison", "split_snapshots", "compute_psi", "drift_flag",
    "compute_drift", "compute_comparison", "compute_migration_table", "build_migration_chart",
    "build_drift_chart",
]

DRIFT_FLAGS = ("stable", "moderate_shift", "major_shift")
#: Share given to an empty bin so that the logarithm stays finite.
EPSILON = 1e-4
LEFT = "Left"
NEW = "New"
_MAX_CATEGORIES = 50


# ------------------------------------------------------------------------------ snapshots

def split_snapshots(df, date_column, old=None, new=None):
    """The rows of two snapshot dates of one table: ``(old_frame, new_frame)``.

    Parameters
    ----------
    df : pandas.DataFrame
    date_column : str
        The snapshot date column.
    old, new : date-like, optional
        The two dates (text such as ``"2024-09-30"`` or timestamps). Default: the two latest.
    """
    if date_column not in df.columns:
        raise ChurnCoreError("compare.no_date_column", f"There is no column {date_column!r} in the file.",
                             column=str(date_column))
    dates = pd.to_datetime(df[date_column], errors="coerce")
    known = sorted(dates.dropna().unique())
    if len(known) < 2:
        raise ChurnCoreError("compare.one_snapshot", f"Column {date_column!r} holds fewer than two snapshot dates; "
                             "upload two files to compare instead.", column=str(date_column))
    pick = []
    for which, value, default in (("old", old, known[-2]), ("new", new, known[-1])):
        if value is None:
            pick.append(pd.Timestamp(default))
            continue
        stamp = pd.to_datetime(value, errors="coerce")
        if pd.isna(stamp) or stamp not in set(pd.to_datetime(known)):
            listed = ", ".join(pd.Timestamp(d).date().isoformat() for d in known[:12])
            raise ChurnCoreError("compare.unknown_snapshot", f"There is no snapshot {value!s} in {date_column!r}; "
                                 f"the file has {listed}.", date=str(value), dates=listed)
        pick.append(pd.Timestamp(stamp))
    if pick[0] == pick[1]:
        raise ChurnCoreError("compare.same_snapshot", "Choose two different snapshot dates.")
    if pick[0] > pick[1]:
        raise ChurnCoreError("compare.snapshot_order", "The old snapshot must be earlier than the new one.")
    return df[(dates == pick[0]).to_numpy()], df[(dates == pick[1]).to_numpy()]


# ------------------------------------------------------------------------------ drift

def drift_flag(psi):
    """Flag code of a PSI value (see the module docstring); ``None`` for a missing value."""
    if psi is None or not math.isfinite(psi):
        return None
    if psi < 0.1:
        return "stable"
    if psi <= 0.25:
        return "moderate_shift"
    return "major_shift"


def _is_numeric(s):
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _psi_from_counts(old_counts, new_counts, eps=EPSILON):
    p = old_counts / old_counts.sum()
    q = new_counts / new_counts.sum()
    p = np.maximum(p, eps)
    q = np.maximum(q, eps)
    return float(np.sum((q - p) * np.log(q / p)))


_MISSING = "missing"


def _counts(values, text=False):
    """Counts per bin key; missing values share the key ``"missing"`` (text values get a ``v:``
    prefix, so a category called "missing" stays its own bin)."""
    vc = values.value_counts(dropna=False)
    keys = [_MISSING if pd.isna(k) else ("v:" + str(k) if text else k) for k in vc.index]
    counts = pd.Series(vc.to_numpy(dtype=float), index=pd.Index(keys, dtype=object))
    return counts.groupby(level=0, sort=False).sum()


def _bin_counts(old, new, bins):
    """``(old_counts, new_counts, kind)`` over the same keys: numeric deciles of the old, or per value."""
    if _is_numeric(old) and _is_numeric(new):
        o = pd.to_numeric(old, errors="coerce").astype(float)
        n = pd.to_numeric(new, errors="coerce").astype(float)
        if o.dropna().nunique() > bins:
            edges = np.unique(np.quantile(o.dropna().to_numpy(), np.linspace(0, 1, bins + 1)[1:-1]))

            def cut(s):
                arr = s.to_numpy()
                code = np.searchsorted(edges, arr, side="left").astype(float)
                code[np.isnan(arr)] = np.nan  # bins (-inf, e1], (e1, e2], ... (ek, inf); NaN its own
                return pd.Series(code)

            oc, nc, kind = _counts(cut(o)), _counts(cut(n)), "numeric"
        else:
            oc, nc, kind = _counts(o), _counts(n), "values"
    else:
        oc, nc, kind = _counts(old, text=True), _counts(new, text=True), "categorical"
    keys = oc.index.union(nc.index, sort=False)
    return oc.reindex(keys, fill_value=0).to_numpy(float), nc.reindex(keys, fill_value=0).to_numpy(float), kind


def compute_psi(old, new, bins=10, eps=EPSILON):
    """Population stability index of one column between two snapshots (see the module docstring)."""
    old = pd.Series(old)
    new = pd.Series(new)
    if not len(old) or not len(new):
        raise ChurnCoreError("compare.empty_snapshot", "A snapshot has no customers; nothing to compare.")
    oc, nc, _ = _bin_counts(old, new, bins)
    return _psi_from_counts(oc, nc, eps)


def compute_drift(old, new, columns, bins=10, eps=EPSILON):
    """PSI and flag per column: a frame ``column, kind, psi, flag`` (largest PSI first, then column order).

    ``kind`` is ``numeric`` (decile bins), ``values`` (a numeric column with few values) or
    ``categorical``.
    """
    rows = []
    for col in columns:
        if col not in old.columns or col not in new.columns:
            raise ChurnCoreError("compare.missing_columns", f"Column {col!r} is not in both snapshots.",
                                 columns=str(col))
        oc, nc, kind = _bin_counts(old[col], new[col], bins)
        psi = _psi_from_counts(oc, nc, eps)
        rows.append({"column": str(col), "kind": kind, "psi": psi, "flag": drift_flag(psi)})
    frame = pd.DataFrame(rows, columns=["column", "kind", "psi", "flag"])
    if len(frame):
        frame = frame.sort_values("psi", ascending=False, kind="mergesort").reset_index(drop=True)
    return frame


def default_drift_columns(old, new, exclude=()):
    """Columns of both snapshots worth a PSI: not excluded (id, label, snapshot date), not dates,
    not free text (a text column with more than 50 distinct values, e.g. names)."""
    out = []
    skip = {c for c in exclude if c is not None}
    for col in old.columns:
        if col in skip or col not in new.columns:
            continue
        s = old[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            continue
        if not _is_numeric(s) and not pd.api.types.is_bool_dtype(s) and s.nunique() > _MAX_CATEGORIES:
            continue
        out.append(col)
    return out


# ------------------------------------------------------------------------------ the comparison

@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compute_comparison`.

    Attributes
    ----------
    figures : dict
        JSON-ready figures (the keys of ``compare.json`` and extras, see :meth:`to_dict`).
    drift : pandas.DataFrame
        ``column, kind, psi, flag``.
    migration : pandas.DataFrame
        One row per customer of either snapshot: id, ``status`` (``retained`` / ``lost`` /
        ``new``), ``tier_old``, ``tier_new`` (``Left`` for lost, ``New`` as ``tier_old`` of new
        customers, empty without a model).
    products : pandas.DataFrame
        ``column, measure, old, new, change``: mean products held (``mean``) and share holding each
        product flag (``share``).
    """

    figures: dict
    drift: pd.DataFrame
    migration: pd.DataFrame
    products: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self):
        """``compare.json``: the figures plus ``drift`` as ``[{"column", "psi", "flag"}]``."""
        out = dict(self.figures)
        out["drift"] = [{"column": r["column"], "psi": float(r["psi"]), "flag": r["flag"]}
                        for r in self.drift.to_dict("records")]
        return out


def _ids(frame, id_column, which):
    if id_column is None:
        raise ChurnCoreError("compare.no_id", "Choose the customer id column (--id): snapshots are matched by id.")
    if id_column not in frame.columns:
        raise ChurnCoreError("compare.no_id_column", f"The {which} snapshot has no column {id_column!r}.",
                             column=str(id_column), snapshot=which)
    ids = frame[id_column]
    if ids.isna().any():
        raise ChurnCoreError("compare.missing_ids", f"The {which} snapshot has customers without an id "
                             f"in {id_column!r}.", column=str(id_column), snapshot=which)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise ChurnCoreError("compare.duplicate_ids", f"The {which} snapshot lists customer {dup.iloc[0]!s} more than "
                             f"once in {id_column!r}; compare one snapshot date at a time.",
                             column=str(id_column), snapshot=which, id=str(dup.iloc[0]))
    return ids.astype(str) if ids.dtype == object else ids


def _text_ids(ids):
    if pd.api.types.is_float_dtype(ids) and (ids == ids.round()).all():
        ids = ids.astype("int64")
    return ids.astype(str).str.strip()


def _churn_rate(frame, label, positive):
    if label is None or label not in frame.columns:
        return None, None
    from churn_core.data.roles import label_to_binary

    try:
        y = label_to_binary(frame[label], positive)
    except ChurnCoreError:
        y = pd.Series(np.where(frame[label].isna(), np.nan, 0.0), index=frame.index)
    y = pd.to_numeric(pd.Series(y, index=frame.index), errors="coerce").astype(float)
    known = y.dropna()
    return (float(known.mean()) if len(known) else None), y


def _ratio(a, b):
    return float(a / b - 1) if b else None


def _product_holding(old, new, meanings):
    rows = []
    if meanings is None:
        return pd.DataFrame(columns=["column", "measure", "old", "new", "change"])
    count = meanings.column("products_count")
    cols = ([(count, "mean")] if count else []) + [(c, "share") for c in meanings.columns("product_flag")]
    for col, measure in cols:
        if col not in old.columns or col not in new.columns:
            continue
        o = float(pd.to_numeric(old[col], errors="coerce").mean())
        n = float(pd.to_numeric(new[col], errors="coerce").mean())
        rows.append({"column": col, "measure": measure, "old": o, "new": n, "change": n - o})
    return pd.DataFrame(rows, columns=["column", "measure", "old", "new", "change"])


def _tiers(model, frame, tier_config, values):
    from churn_core.modeling.warning import compute_tiers

    if not len(frame):
        return pd.Series([], dtype=object, index=frame.index)
    p = model.predict_proba(frame)
    use_values = values if getattr(tier_config, "method", "capacity") == "profit" else None
    t = compute_tiers(np.asarray(p, dtype=float), tier_config, values=use_values)
    return pd.Series(t.astype(str).to_numpy(), index=frame.index)


def compute_comparison(old, new, id_column, meanings=None, label=None, positive=None, assumptions=None,
                       model=None, tier_config=None, columns=None, bins=10):
    """Compare two snapshots of the same bank (see the module docstring for every definition).

    Parameters
    ----------
    old, new : pandas.DataFrame
        The earlier and the later snapshot (one row per customer).
    id_column : str
        Column that identifies a customer in both.
    meanings : churn_core.data.meanings.ColumnMeanings, optional
        Column meanings of the bank (money columns and margins, products); used for both snapshots.
    label, positive : optional
        Churn label column and its churned value (churn rates).
    assumptions : churn_core.analysis.value.ValueAssumptions, optional
    model : churn_core.modeling.model.ChurnModel, optional
        Scores both snapshots for the tier migration.
    tier_config : churn_core.modeling.warning.TierConfig, optional
    columns : list of str, optional
        Columns to check for drift (default :func:`default_drift_columns`, or the model's features).

    Returns
    -------
    Comparison
    """
    from churn_core.analysis.value import ValueAssumptions, compute_customer_value
    from churn_core.modeling.warning import TIERS, TierConfig

    if not isinstance(old, pd.DataFrame) or not isinstance(new, pd.DataFrame):
        raise ChurnCoreError("compare.bad_input", "Give two tables to compare.")
    if not len(old) or not len(new):
        raise ChurnCoreError("compare.empty_snapshot", "A snapshot has no customers; nothing to compare.")
    ids_old = _ids(old, id_column, "old")
    ids_new = _ids(new, id_column, "new")
    if ids_old.dtype != ids_new.dtype:  # e.g. 1001 in one export, "1001" in the other
        ids_old, ids_new = _text_ids(ids_old), _text_ids(ids_new)
    if meanings is not None:
        needed = list(meanings.money()) + [c for c in [meanings.column("products_count")] if c]
        missing = [c for c in needed if c in old.columns and c not in new.columns]
        if missing:
            raise ChurnCoreError("compare.missing_columns", "The new snapshot lacks columns of the old one: "
                                 + ", ".join(map(str, missing)) + ".", columns=", ".join(map(str, missing)))
    set_old, set_new = pd.Index(ids_old), pd.Index(ids_new)
    in_new = set_old.isin(set_new)
    in_old = set_new.isin(set_old)
    customers_old, customers_new = int(len(set_old)), int(len(set_new))
    retained = int(in_new.sum())

    a = assumptions or ValueAssumptions()
    v_old = pd.Series(compute_customer_value(old, meanings, a), index=old.index, dtype=float)
    v_new = pd.Series(compute_customer_value(new, meanings, a), index=new.index, dtype=float)
    value_old, value_new = float(v_old.sum()), float(v_new.sum())
    avg_old, avg_new = value_old / customers_old, value_new / customers_new

    rate_old, _ = _churn_rate(old, label, positive)
    rate_new, y_new = _churn_rate(new, label, positive)
    marked = None
    if y_new is not None:
        marked = int((y_new[in_old] == 1).sum())

    products = _product_holding(old, new, meanings)

    figures = {
        "customers_old": customers_old,
        "customers_new": customers_new,
        "retained": retained,
        "lost": int(customers_old - retained),
        "new": int((~in_old).sum()),
        "retention_rate": retained / customers_old,
        "churn_rate_old": rate_old,
        "churn_rate_new": rate_new,
        "value_old": value_old,
        "value_new": value_new,
        "tier_migration": None,
        # extras
        "id_column": str(id_column),
        "customer_growth": _ratio(customers_new, customers_old),
        "avg_value_old": avg_old,
        "avg_value_new": avg_new,
        "value_growth": _ratio(value_new, value_old),
        "avg_value_growth": _ratio(avg_new, avg_old),
        "value_of_lost": float(v_old[~in_new].sum()),
        "value_of_new": float(v_new[~in_old].sum()),
        "retained_marked_churned": marked,
        "products": {r["column"]: {"measure": r["measure"], "old": r["old"], "new": r["new"]}
                     for r in products.to_dict("records")},
    }

    status = pd.Series(np.where(in_new, "retained", "lost"), index=old.index)
    migration = pd.DataFrame({id_column: ids_old.to_numpy(), "status": status.to_numpy(),
                              "tier_old": "", "tier_new": np.where(in_new, "", LEFT)})
    new_rows = pd.DataFrame({id_column: ids_new[~in_old].to_numpy(), "status": "new",
                             "tier_old": NEW, "tier_new": ""})
    if model is not None:
        missing = [c for c in model.features_ if c not in old.columns or c not in new.columns]
        if missing:
            raise ChurnCoreError("model.missing_columns", "The snapshots lack columns the model needs: "
                                 + ", ".join(map(str, missing[:10])), columns=", ".join(map(str, missing[:10])))
        config = tier_config or TierConfig()
        t_old = _tiers(model, old, config, v_old.to_numpy())
        t_new = _tiers(model, new, config, v_new.to_numpy())
        new_by_id = pd.Series(t_new.to_numpy(), index=set_new)
        migration["tier_old"] = t_old.to_numpy()
        migration["tier_new"] = np.where(in_new, new_by_id.reindex(set_old).to_numpy(), LEFT)
        new_rows["tier_new"] = t_new[~in_old].to_numpy()
        counts = migration.groupby(["tier_old", "tier_new"]).size()
        figures["tier_migration"] = {
            f: {t: int(counts.get((f, t), 0)) for t in (*TIERS, LEFT)} for f in TIERS}
        figures["tiers_old"] = {t: int((t_old == t).sum()) for t in TIERS}
        figures["tiers_new"] = {t: int((t_new == t).sum()) for t in TIERS}
        figures["new_customers_by_tier"] = {t: int((t_new[~in_old] == t).sum()) for t in TIERS}
    migration = pd.concat([migration, new_rows], ignore_index=True)

    if columns is None:
        snap = meanings.column("snapshot_date") if meanings is not None else None
        columns = list(model.features_) if model is not None else default_drift_columns(
            old, new, exclude=(id_column, label, snap))
        columns = [c for c in columns if c != snap and c in old.columns and c in new.columns]
    drift = compute_drift(old, new, columns, bins=bins)
    figures["drift_flags"] = {f: int((drift["flag"] == f).sum()) for f in DRIFT_FLAGS}
    return Comparison(figures=figures, drift=drift, migration=migration, products=products)


# ------------------------------------------------------------------------------ charts

def compute_migration_table(tier_migration):
    """A tidy frame ``tier_old, tier_new, customers`` from ``{from: {to: count}}`` (for charts)."""
    rows = [{"tier_old": f, "tier_new": t, "customers": int(n)}
            for f, to in (tier_migration or {}).items() for t, n in to.items()]
    return pd.DataFrame(rows, columns=["tier_old", "tier_new", "customers"])


def build_migration_chart(tier_migration, words=None, title_old="Tier before", title_new="Tier now"):
    """Heat map of the tier migration (3 x 4 cells) with the counts written in.

    ``words`` maps tier codes to display words (``{"High": "高", "Left": "已流失"}``).
    """
    import altair as alt

    words = words or {}
    data = compute_migration_table(tier_migration)
    order_old = [words.get(t, t) for t in ("High", "Medium", "Low")]
    order_new = [words.get(t, t) for t in ("High", "Medium", "Low", LEFT)]
    data["tier_old"] = data["tier_old"].map(lambda t: words.get(t, t))
    data["tier_new"] = data["tier_new"].map(lambda t: words.get(t, t))
    base = alt.Chart(data).encode(
        x=alt.X("tier_new:N", sort=order_new, title=title_new),
        y=alt.Y("tier_old:N", sort=order_old, title=title_old),
    )
    cells = base.mark_rect().encode(color=alt.Color("customers:Q", legend=None),
                                    tooltip=["tier_old:N", "tier_new:N", alt.Tooltip("customers:Q", format=",")])
    text = base.mark_text().encode(text=alt.Text("customers:Q", format=","))
    return (cells + text).properties(height=220)


def build_drift_chart(drift, words=None, title_column="Column", title_psi="PSI"):
    """Bars of PSI per column coloured by flag, with the 0.1 and 0.25 thresholds as rules.

    ``words`` maps flag codes to display words.
    """
    import altair as alt

    words = words or {}
    data = drift[["column", "psi", "flag"]].copy()
    data["flag"] = data["flag"].map(lambda f: words.get(f, f))
    domain = [words.get(f, f) for f in DRIFT_FLAGS]
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("column:N", sort="-x", title=title_column),
        x=alt.X("psi:Q", title=title_psi),
        color=alt.Color("flag:N", scale=alt.Scale(domain=domain, range=["#59a14f", "#f28e2b", "#e15759"]),
                        title=None),
        tooltip=["column:N", alt.Tooltip("psi:Q", format=".3f"), "flag:N"],
    )
    rules = alt.Chart(pd.DataFrame({"psi": [0.1, 0.25]})).mark_rule(strokeDash=[4, 4]).encode(x="psi:Q")
    return (bars + rules).properties(height=max(120, 22 * len(data)))
