"""Customer value: yearly contribution, loyalty, growth, lifetime value and value at risk by segment.

All per-customer arithmetic runs in DuckDB on the session's ``customers`` table; results are
aggregated per group (a few hundred rows at most). Assumptions are a frozen dataclass the page
lets the user edit; they enter the SQL as parameters.

Formulas (per customer ``i``, money per year):

* contribution ``c_i = sum over money columns m of margin_m * amount_im
  + products_i * product_margin - cost_to_serve``. The money columns and their yearly margins come
  from the column meanings (one source, editable per column:
  :meth:`churn_core.data.meanings.ColumnMeanings.money`): a deposit earns its margin on the
  balance, a credit card on its revolving balance and on its transaction amount, fees count as
  they are (margin 1), monthly charges 12 times. ``products_i`` is the products-held count, else
  the number of product flags held. A missing amount counts as 0. The same formula in pandas is
  :func:`compute_customer_value` (the simulator, tiers and workspace use it; a test checks both
  give the same numbers);
* churn probability ``p_i`` for the period the label covers (``churn_period_months``): the churn
  model's probability when given, else the historical churn rate of the customer's group;
* yearly retention ``r_i = (1 - p_i) ** (12 / churn_period_months)``;
* lifetime value over ``H = horizon_years`` with discount rate ``d`` (this year counted in full):
  ``LTV_i = c_i * sum_{t=0}^{H-1} q_i**t = c_i * (1 - q_i**H) / (1 - q_i)``, ``q_i = r_i / (1 + d)``;
* value at risk ``VaR_i = p_i * LTV_i`` (expected lifetime value lost if nothing is done).

Loyalty is reported as average tenure in years and share of active customers; growth as the
average balance change and the transaction trend ``sum(this period) / sum(last period) - 1``.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from churn_core.data.meanings import YES_VALUES
from churn_core.errors import ChurnCoreError
from churn_core.analysis.segments import TABLE, Segment, churn_sql, held_sql, quote_ident

PROBA_TABLE = "churn_proba"


@dataclass(frozen=True)
class ValueAssumptions:
    """Editable assumptions of the value model (yearly figures in the data's currency).

    Margins per money column are not here: the column meanings own them (one source, edited per
    column on the Data / Value pages, saved in the mapping file).

    Parameters
    ----------
    product_margin : float, default 60.0
        Contribution of each product held per year.
    cost_to_serve : float, default 40.0
        Yearly cost of serving one customer.
    discount_rate : float, default 0.08
    horizon_years : int, default 5
    churn_period_months : int, default 3
        Period the churn label (or the model's probability) covers; the sample's label is
        "churned in the next quarter".
    """

    product_margin: float = 60.0
    cost_to_serve: float = 40.0
    discount_rate: float = 0.08
    horizon_years: int = 5
    churn_period_months: int = 3

    def __post_init__(self):
        for name in ("product_margin", "cost_to_serve"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ChurnCoreError("value.bad_assumption", f"{name} must be a number of at least 0.", name=name)
        if not (0 <= self.discount_rate < 1):
            raise ChurnCoreError("value.bad_discount", "The discount rate must be between 0 and 1 (e.g. 0.08).")
        if int(self.horizon_years) != self.horizon_years or not (1 <= self.horizon_years <= 50):
            raise ChurnCoreError("value.bad_horizon", "The horizon must be a whole number of years from 1 to 50.")
        if int(self.churn_period_months) != self.churn_period_months or not (1 <= self.churn_period_months <= 60):
            raise ChurnCoreError("value.bad_period", "The churn period must be 1 to 60 months.")

    def to_dict(self):
        return asdict(self)


def _value_terms(cols):
    """``[(columns, weight_kind)]`` of the contribution: money columns with their margins, then
    products (count, else the sum of product flags). ``weight`` is a margin (float) or "product"."""
    terms = [((c,), float(m)) for c, m in getattr(cols, "money", ()) or ()]
    if cols.products:
        terms.append(((cols.products,), "product"))
    elif cols.product_flags:
        terms.append((tuple(cols.product_flags), "product"))
    return terms


def has_money(cols):
    """True when the table has something to value customers by (a money column or products)."""
    return bool(_value_terms(cols))


def contribution_sql(cols, assumptions, alias="c"):
    """``(sql, params)``: yearly contribution of one customer row (see module docstring).

    ``cols`` is a :class:`~churn_core.analysis.segments.ColumnMap` (its ``money`` margins come from
    the column meanings). Raises ``value.no_money_columns`` when there is nothing to value.
    """
    a = assumptions
    parts, params = [], []

    def amount(col):
        return f"COALESCE(TRY_CAST({alias}.{quote_ident(col)} AS DOUBLE), 0)"

    for columns, weight in _value_terms(cols):
        if weight == "product":
            flags, fparams = held_sql(columns, alias)
            parts.append(f"{flags} * ?")
            params.extend(fparams + [float(a.product_margin)])
        else:
            parts.append(f"{amount(columns[0])} * ?")
            params.append(float(weight))
    if not parts:
        raise ChurnCoreError("value.no_money_columns",
                             "No money column (balance, assets, revolving balance, transaction amount, fees, "
                             "charges...) and no products column was found; mark a column as money on the "
                             "Data page (column meanings) to value customers.")
    return "(" + " + ".join(parts) + " - ?)", params + [float(a.cost_to_serve)]


def _dims(grouping):
    """Key expressions for a grouping: None (everyone), a Segmentation, or a list of columns."""
    if grouping is None:
        return [], [], []
    if isinstance(grouping, (list, tuple)):
        return [f"c.{quote_ident(g)} AS {quote_ident(g)}" for g in grouping], [], list(grouping)
    exprs, params = grouping.dims_sql(alias="c")
    return exprs, params, grouping.keys()


def _load_proba(store, proba, n_rows):
    if proba is None:
        return False
    values = pd.Series(proba).to_numpy(dtype=float)
    if len(values) != n_rows:
        raise ChurnCoreError("value.proba_length", f"The model gave {len(values)} probabilities for {n_rows} customers.",
                             got=len(values), rows=n_rows)
    if np.any((values < 0) | (values > 1)):
        raise ChurnCoreError("value.proba_range", "Churn probabilities must be between 0 and 1.")
    store.load_frame(PROBA_TABLE, pd.DataFrame({"__row_idx": np.arange(n_rows, dtype=np.int64), "__p_model": values}))
    return True


def valued_sql(cols, assumptions, grouping=None, use_proba=False, segment=None, table=TABLE):
    """``(sql, params)`` of a per-customer relation with ``__contribution``, ``__p``, ``__ltv``,
    ``__var`` and the group keys; the building block of every value aggregate."""
    a = assumptions
    contrib, cparams = contribution_sql(cols, a, alias="c")
    dim_exprs, dparams, keys = _dims(grouping)
    churn, chp = churn_sql(cols) if cols.label else ("NULL", [])
    # segment conditions and the churn flag use bare column names: the probability table's
    # columns (__row_idx, __p_model) cannot clash with a customer column.
    where, wparams = (segment or Segment()).where_sql()
    join = f"LEFT JOIN {quote_ident(PROBA_TABLE)} m ON m.__row_idx = c.rowid" if use_proba else ""
    model_p = "m.__p_model" if use_proba else "NULL"
    select_keys = "".join(e + ", " for e in dim_exprs)
    partition = ("PARTITION BY " + ", ".join(quote_ident(k) for k in keys)) if keys else ""
    extra, eparams = [], []
    if cols.tenure:
        extra.append(f"CAST(c.{quote_ident(cols.tenure)} AS DOUBLE) AS __tenure")
    if cols.active:
        held, eparams = held_sql([cols.active], alias="c")  # 0/1, true/false or yes/no
        extra.append(f"CASE WHEN c.{quote_ident(cols.active)} IS NULL THEN NULL WHEN {held} = 0 THEN 0.0 ELSE 1.0 END AS __active")
    if cols.balance_trend:
        extra.append(f"CAST(c.{quote_ident(cols.balance_trend)} AS DOUBLE) AS __balance_trend")
    if cols.transactions and cols.transactions_prev:
        extra.append(f"CAST(c.{quote_ident(cols.transactions)} AS DOUBLE) AS __txn_now")
        extra.append(f"CAST(c.{quote_ident(cols.transactions_prev)} AS DOUBLE) AS __txn_prev")
    extra_sql = "".join(", " + e for e in extra)
    sql = f"""
WITH base AS (
  SELECT {select_keys}c.rowid AS __row, {contrib} AS __contribution, {churn} AS __churn, {model_p} AS __model_p{extra_sql}
  FROM {quote_ident(table)} c {join}
  WHERE {where}
), scored AS (
  SELECT *, COALESCE(__model_p, AVG(__churn) OVER ({partition})) AS __p FROM base
), valued AS (
  SELECT *, pow(1 - LEAST(GREATEST(COALESCE(__p, 0), 0), 1), 12.0 / ?) / (1 + ?) AS __q FROM scored
)
SELECT *,
  CASE WHEN abs(1 - __q) < 1e-12 THEN __contribution * ? ELSE __contribution * (1 - pow(__q, ?)) / (1 - __q) END AS __ltv,
  pow(1 - LEAST(GREATEST(COALESCE(__p, 0), 0), 1), 12.0 / ?) AS __retention
FROM valued"""
    params = dparams + cparams + chp + eparams + wparams + [
        float(a.churn_period_months), float(a.discount_rate), float(a.horizon_years), float(a.horizon_years),
        float(a.churn_period_months)]
    return sql, params, keys


def compute_value(store, cols, assumptions=None, grouping=None, proba=None, segment=None, table=TABLE):
    """Contribution, lifetime value and value at risk per group.

    Parameters
    ----------
    store : SessionStore
    cols : churn_core.analysis.segments.ColumnMap
    assumptions : ValueAssumptions, optional
    grouping : None, list of str, or churn_core.analysis.segments.Segmentation
        Groups to report (None: the whole base in one row).
    proba : array-like, optional
        The churn model's probability per customer, in the table's row order; without it the
        historical churn rate of each group is used.
    segment : Segment, optional
        Restrict to one saved segment first.

    Returns
    -------
    pandas.DataFrame
        Key columns, ``customers``, ``churn_rate`` (historical), ``risk`` (average probability
        used), ``avg_contribution``, ``total_contribution``, ``avg_ltv``, ``total_ltv``,
        ``value_at_risk``, ``share_of_value_at_risk``, and when the columns exist
        ``avg_tenure_years``, ``share_active``, ``avg_balance_change``, ``txn_trend``.
    """
    a = assumptions or ValueAssumptions()
    n = int(store.query(f"SELECT COUNT(*) AS n FROM {quote_ident(table)}")["n"].iloc[0])
    use_proba = _load_proba(store, proba, n)
    try:
        return _compute_value(store, cols, a, grouping, use_proba, segment, table)
    finally:
        if use_proba:
            store.drop(PROBA_TABLE)


def tenure_months_per_unit(store, column, table):
    """12.0 when the tenure column counts months, 1.0 when it counts years.

    The name decides when it says so (``month``/``月`` or ``year``/``年``). Otherwise the values do:
    a plain ``tenure`` whose median is over 15 and maximum over 40 is months (Telco's 0-72, median
    29), since a bank's customers are rarely 15 years on the books on average; Churn_Modelling's
    ``Tenure`` (0-10) stays years.
    """
    low = str(column).lower()
    if "month" in low or "月" in low:
        return 12.0
    if "year" in low or "年" in low:
        return 1.0
    q = quote_ident(column)
    row = store.query(f"SELECT MEDIAN(TRY_CAST({q} AS DOUBLE)) AS med, MAX(TRY_CAST({q} AS DOUBLE)) AS mx "
                      f"FROM {quote_ident(table)}").iloc[0]
    med, mx = row["med"], row["mx"]
    if pd.notna(med) and pd.notna(mx) and float(med) > 15 and float(mx) > 40:
        return 12.0
    return 1.0


def _compute_value(store, cols, a, grouping, use_proba, segment, table):
    inner, params, keys = valued_sql(cols, a, grouping, use_proba, segment, table)
    key_sql = ", ".join(quote_ident(k) for k in keys)
    aggs = [
        "COUNT(*) AS customers",
        "AVG(__churn) AS churn_rate",
        "AVG(__p) AS risk",
        "AVG(__contribution) AS avg_contribution",
        "SUM(__contribution) AS total_contribution",
        "AVG(__retention) AS retention_per_year",
        "AVG(__ltv) AS avg_ltv",
        "SUM(__ltv) AS total_ltv",
        "SUM(__p * __ltv) AS value_at_risk",
    ]
    if cols.tenure:
        aggs.append(f"AVG(__tenure) / {tenure_months_per_unit(store, cols.tenure, table)} AS avg_tenure_years")
    if cols.active:
        aggs.append("AVG(__active) AS share_active")
    if cols.balance_trend:
        aggs.append("AVG(__balance_trend) AS avg_balance_change")
    if cols.transactions and cols.transactions_prev:
        aggs.append("SUM(__txn_now) / NULLIF(SUM(__txn_prev), 0) - 1 AS txn_trend")
    sql = f"SELECT {key_sql + ', ' if keys else ''}{', '.join(aggs)} FROM ({inner}) v"
    if keys:
        sql += f" GROUP BY {key_sql} ORDER BY {key_sql} NULLS LAST"
    frame = store.query(sql, params)
    if grouping is not None and not isinstance(grouping, (list, tuple)):
        for d in grouping.dims:
            if hasattr(d, "labels"):
                labels = d.labels()
                frame[d.key] = [labels[int(i)] if i is not None and not pd.isna(i) else None for i in frame[d.key]]
    total = frame["value_at_risk"].sum()
    frame["share_of_value_at_risk"] = frame["value_at_risk"] / total if total else np.nan
    return frame


def compute_value_for_segments(store, cols, segments, assumptions=None, proba=None, table=TABLE):
    """One row per saved segment (plus ``All customers``): value and value at risk of each.

    ``segments`` is ``{name: Segment}``; with no model, each segment's own historical churn rate
    is its customers' probability.
    """
    rows = []
    for name, seg in [("__all__", None)] + list(segments.items()):
        frame = compute_value(store, cols, assumptions, None, proba, seg, table)
        row = frame.iloc[0].to_dict()
        row["segment"] = name
        rows.append(row)
    out = pd.DataFrame(rows)
    out["customers"] = out["customers"].astype(int)
    cols_order = ["segment"] + [c for c in out.columns if c not in ("segment", "share_of_value_at_risk")]
    return out[cols_order]


def compute_top_at_risk(store, cols, assumptions=None, proba=None, limit=1000, id_column=None, table=TABLE):
    """The ``limit`` customers with the largest value at risk (for download), with their figures."""
    a = assumptions or ValueAssumptions()
    n = int(store.query(f"SELECT COUNT(*) AS n FROM {quote_ident(table)}")["n"].iloc[0])
    use_proba = _load_proba(store, proba, n)
    try:
        inner, params, _ = valued_sql(cols, a, None, use_proba, None, table)
        ident = f"c.{quote_ident(id_column)} AS {quote_ident(id_column)}, " if id_column else ""
        sql = (
            f"SELECT {ident}v.__row AS row_number, v.__contribution AS contribution, v.__p AS churn_probability, "
            f"v.__ltv AS ltv, v.__p * v.__ltv AS value_at_risk FROM ({inner}) v "
            f"JOIN {quote_ident(table)} c ON c.rowid = v.__row ORDER BY value_at_risk DESC, row_number LIMIT ?"
        )
        return store.query(sql, params + [int(limit)])
    finally:
        if use_proba:
            store.drop(PROBA_TABLE)


def build_value_at_risk_chart(frame, key, title_x=None, title_y=None, title_ltv=None):
    """Bars of value at risk per group, with average LTV in the tooltip."""
    import altair as alt

    data = frame[[key, "value_at_risk", "avg_ltv", "customers", "risk"]].copy()
    data[key] = data[key].astype(str)
    return alt.Chart(data).mark_bar().encode(
        x=alt.X(f"{key}:N", sort="-y", title=title_x or key),
        y=alt.Y("value_at_risk:Q", title=title_y or "value_at_risk"),
        tooltip=[alt.Tooltip(f"{key}:N", title=title_x or key),
                 alt.Tooltip("value_at_risk:Q", format=",.0f", title=title_y or "value_at_risk"),
                 alt.Tooltip("avg_ltv:Q", format=",.0f", title=title_ltv or "avg_ltv"),
                 alt.Tooltip("customers:Q", format=","), alt.Tooltip("risk:Q", format=".1%")],
    ).properties(height=300)


def build_risk_value_chart(frame, key, title_x=None, title_y=None):
    """Bubbles: churn risk (x) against average lifetime value (y), size = customers."""
    import altair as alt

    data = frame[[key, "risk", "avg_ltv", "customers"]].copy()
    data[key] = data[key].astype(str)
    return alt.Chart(data).mark_circle(opacity=0.7).encode(
        x=alt.X("risk:Q", title=title_x or "risk", axis=alt.Axis(format=".0%")),
        y=alt.Y("avg_ltv:Q", title=title_y or "avg_ltv"),
        size=alt.Size("customers:Q", legend=None),
        color=alt.Color(f"{key}:N", legend=None),
        tooltip=[f"{key}:N", alt.Tooltip("customers:Q", format=","), alt.Tooltip("risk:Q", format=".1%"),
                 alt.Tooltip("avg_ltv:Q", format=",.0f")],
    ).properties(height=300)


def compute_customer_value(df, meanings, assumptions=None):
    """Yearly value of each customer (a float array aligned with ``df``), in the data's money.

    ``value_i = sum over money columns c of margin_c * amount_ic + product_margin * products_i
    - cost_to_serve`` (the formula of :func:`contribution_sql`, which gives the same numbers);
    margins per money column come from the column meanings
    (:meth:`churn_core.data.meanings.ColumnMeanings.money`), ``products`` is the products-held
    count, else the number of product flags held; a missing amount counts as 0. A table with no
    money column and no products gets 1 per customer (value then counts customers): check
    :func:`has_money` first to tell the two apart.
    """
    from churn_core.analysis.segments import ColumnMap

    a = assumptions or ValueAssumptions()
    n = len(df)
    cols = ColumnMap.from_meanings(meanings, df=df) if meanings is not None else ColumnMap()
    terms = _value_terms(cols)
    if not terms:
        return np.ones(n)
    total = np.zeros(n)
    for columns, weight in terms:
        if weight == "product":
            total += sum(_held(df[c]) for c in columns) * a.product_margin
        else:
            total += pd.to_numeric(df[columns[0]], errors="coerce").fillna(0.0).to_numpy(dtype=float) * weight
    return total - a.cost_to_serve


def _held(series):
    """A product flag as 1/0 per customer (numbers as they are, yes/no text by the vocabulary's
    yes words, anything else 0), exactly like :func:`contribution_sql`."""
    x = pd.to_numeric(series, errors="coerce") if not pd.api.types.is_bool_dtype(series) else series.astype(float)
    words = series.astype("string").str.strip().str.lower().isin(YES_VALUES).fillna(False).astype(float)
    return x.astype(float).fillna(words).to_numpy(dtype=float)
