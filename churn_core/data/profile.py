"""Quick profile of a loaded table: per-column facts and churn rate by category."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError
from churn_core.jsonutil import to_jsonable
from churn_core.data.colstats import all_integral, distinct_and_top, release_memory
from churn_core.data.roles import label_to_binary

__all__ = ["compute_profile", "compute_category_churn", "compute_churn_spread", "profile_summary",
           "build_category_churn_chart", "PROFILE_COLUMNS"]

PROFILE_COLUMNS = ["column", "role", "dtype", "missing", "missing_pct", "distinct", "min", "mean",
                   "max", "top", "top_count"]
OTHER = "(other)"
_BIG = 100_000  # rows from which a column's temporaries are worth handing back at once
MISSING = "(missing)"


def _dtype_name(series):
    kind = series.dtype.kind
    if kind == "M":
        return "date"
    if kind == "b" or str(series.dtype) == "boolean":
        return "boolean"
    if kind in "iu":
        return "integer"
    if kind == "f":
        values = series.dropna() if series.hasnans else series
        if len(values) and all_integral(values.to_numpy()):
            return "integer"
        return "float"
    return "text"


def compute_profile(df, roles):
    """One row per column: role, type, missing, distinct, min/mean/max, most frequent value.

    Parameters
    ----------
    df : pandas.DataFrame
    roles : churn_core.data.roles.Roles

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PROFILE_COLUMNS`. ``min``/``mean``/``max`` are floats for numeric and boolean
        columns (NaN otherwise); date ranges are in ``top`` only through ``min_date``/``max_date``.
    """
    rows = []
    n = len(df)
    for col in df.columns:
        s = df[col]
        missing = int(s.isna().sum())
        present = s.dropna() if missing else s  # no copy of a complete column
        # exact, by sorting: no hash table over a million ids
        distinct, top_value, top_count = distinct_and_top(present)
        if n > _BIG:
            release_memory()  # the sort's blocks go back to the system, not into the next column's peak
        lo = mean = hi = math.nan
        min_date = max_date = None
        kind = s.dtype.kind
        if kind in "iuf" and len(present):
            arr = present.to_numpy()
            lo, hi = float(arr.min()), float(arr.max())
            if kind == "f" or max(abs(lo), abs(hi)) * len(arr) >= 2.0 ** 53:
                mean = float(arr.astype("float64", copy=False).mean())
            else:  # integer sums this small are exact in any order: the same mean, no float copy
                mean = float(arr.mean())
        elif (kind == "b" or str(s.dtype) == "boolean") and len(present):
            arr = present.astype(bool).to_numpy(dtype="float64")
            lo, mean, hi = float(arr.min()), float(arr.mean()), float(arr.max())
        elif kind == "M" and len(present):
            min_date = present.min().isoformat()
            max_date = present.max().isoformat()
        top = None
        if not len(present):
            top_count = None
        else:
            top = top_value.date().isoformat() if isinstance(top_value, pd.Timestamp) and \
                top_value == top_value.normalize() else str(top_value)
            if isinstance(top_value, (float, np.floating)) and float(top_value).is_integer():
                top = str(int(top_value))
        rows.append({
            "column": str(col),
            "role": roles.roles.get(col, ""),
            "dtype": _dtype_name(s),
            "missing": missing,
            "missing_pct": round(100.0 * missing / n, 2) if n else 0.0,
            "distinct": distinct,
            "min": lo,
            "mean": mean,
            "max": hi,
            "top": top,
            "top_count": top_count,
            "min_date": min_date,
            "max_date": max_date,
        })
    out = pd.DataFrame(rows, columns=PROFILE_COLUMNS + ["min_date", "max_date"])
    out["top_count"] = out["top_count"].astype("Int64")
    return out


def compute_category_churn(df, roles, column, *, max_categories=30, bins=10):
    """Customers and churn rate per value of ``column`` (top ``max_categories`` + other/missing).

    Numeric columns with many values are cut into up to ``bins`` quantile bins.

    Returns
    -------
    pandas.DataFrame
        ``value`` (text), ``customers``, ``churned``, ``churn_rate`` (0-1), ``is_other``,
        ``is_missing``; sorted by customers (other and missing last).
    """
    if roles.label is None or roles.positive is None:
        raise ChurnCoreError("profile.no_label", "Choose the churn label column first.")
    if column not in df.columns:
        raise ChurnCoreError("roles.unknown_column", f"There is no column {column!r}.", column=column)
    y = label_to_binary(df[roles.label], roles.positive)
    s = df[column]
    if s.dtype.kind in "iuf" and s.nunique() > max_categories:
        try:
            binned = pd.qcut(s, q=bins, duplicates="drop")
        except (ValueError, TypeError):
            binned = pd.cut(s, bins=bins)
        keys = binned.astype(str).where(binned.notna(), None)
        order = {str(c): i for i, c in enumerate(binned.cat.categories)}
    else:
        if s.dtype.kind == "M":
            keys = s.dt.strftime("%Y-%m-%d")
        elif s.dtype.kind in "iuf":
            keys = s.map(lambda v: None if pd.isna(v) else _number_text(v))
        else:
            keys = s.map(lambda v: None if pd.isna(v) else str(v))
        order = None
        if s.dtype.kind in "iufM":
            # few distinct numbers or dates: in their natural order, not by size
            uniques = sorted(s.dropna().unique())
            if s.dtype.kind == "M":
                order = {pd.Timestamp(v).strftime("%Y-%m-%d"): i for i, v in enumerate(uniques)}
            else:
                order = {_number_text(v): i for i, v in enumerate(uniques)}
    frame = pd.DataFrame({"value": keys.astype(object), "y": y})
    frame["is_missing"] = frame["value"].isna()
    frame["value"] = frame["value"].where(~frame["is_missing"], MISSING)
    frame = frame[frame["y"].notna()]
    grouped = frame.groupby(["value", "is_missing"], sort=False)["y"].agg(["size", "sum"]).reset_index()
    grouped.columns = ["value", "is_missing", "customers", "churned"]
    present = grouped[~grouped["is_missing"]]
    if order is not None:
        present = present.assign(_o=present["value"].map(order)).sort_values("_o").drop(columns="_o")
    else:
        present = present.sort_values(["customers", "value"], ascending=[False, True])
    top = present.head(max_categories)
    rest = present.iloc[max_categories:]
    parts = [top.assign(is_other=False)]
    if len(rest):
        parts.append(pd.DataFrame({
            "value": [OTHER], "is_missing": [False],
            "customers": [int(rest["customers"].sum())], "churned": [int(rest["churned"].sum())],
            "is_other": [True],
        }))
    missing = grouped[grouped["is_missing"]]
    if len(missing):
        parts.append(missing.assign(is_other=False))
    out = pd.concat(parts, ignore_index=True)
    out["customers"] = out["customers"].astype("int64")
    out["churned"] = out["churned"].astype("int64")
    out["churn_rate"] = out["churned"] / out["customers"]
    return out[["value", "customers", "churned", "churn_rate", "is_other", "is_missing"]]


def compute_churn_spread(df, roles, columns=None, *, min_share=0.01):
    """How strongly churn differs across each column's categories (to pick a telling default).

    ``spread`` is the highest minus the lowest churn rate among categories holding at least
    ``min_share`` of the customers (the "(other)" and "(missing)" rows included).

    Returns
    -------
    pandas.DataFrame
        ``column``, ``spread``, ``categories``; sorted by spread, largest first.
    """
    if roles.label is None or roles.positive is None:
        raise ChurnCoreError("profile.no_label", "Choose the churn label column first.")
    if columns is None:
        columns = roles.columns_with("categorical", "boolean")
    rows = []
    total = max(len(df), 1)
    for column in columns:
        frame = compute_category_churn(df, roles, column)
        big = frame[frame["customers"] >= min_share * total]
        spread = float(big["churn_rate"].max() - big["churn_rate"].min()) if len(big) > 1 else 0.0
        rows.append({"column": column, "spread": spread, "categories": int(len(frame))})
    out = pd.DataFrame(rows, columns=["column", "spread", "categories"])
    return out.sort_values("spread", ascending=False, kind="stable").reset_index(drop=True)


def _number_text(value):
    value = float(value)
    return str(int(value)) if value.is_integer() else str(value)



def profile_summary(load, roles):
    """JSON-safe dict of the CLI's ``profile`` output."""
    df = load.df
    label = None
    churn_rate = None
    churned = None
    if roles.label is not None:
        label = {"column": roles.label, "positive": to_jsonable(roles.positive)}
        if roles.positive is not None:
            y = label_to_binary(df[roles.label], roles.positive)
            valid = y.dropna()
            if len(valid):
                churned = int(valid.sum())
                churn_rate = round(float(valid.mean()), 6)
    prof = compute_profile(df, roles)
    column_profile = []
    for rec in prof.to_dict("records"):
        column_profile.append({k: to_jsonable(v) if not (isinstance(v, float) and math.isnan(v)) else None
                               for k, v in rec.items() if k != "column" or True})
    for rec in column_profile:
        if rec.get("top_count") is pd.NA:
            rec["top_count"] = None
    return {
        "file": load.source_name,
        "format": load.format,
        "rows": load.rows_loaded,
        "columns": int(df.shape[1]),
        "encoding": load.encoding,
        "delimiter": load.delimiter,
        "decimal": load.decimal,
        "sheet": load.sheet,
        "rows_in_file": load.rows_in_file,
        "rows_loaded": load.rows_loaded,
        "rows_rejected": load.rows_rejected,
        "label": label,
        "churned": churned,
        "churn_rate": churn_rate,
        "id_columns": list(roles.id_columns),
        "roles": dict(roles.roles),
        "column_types": dict(load.column_types),
        "rejects": [
            {"line": int(r.line), "reason": r.reason, "detail": r.detail}
            for r in load.rejects.head(20).itertuples()
        ],
        "warnings": list(load.warnings),
        "column_profile": column_profile,
        "fingerprint": load.fingerprint,
    }


def build_category_churn_chart(frame, *, x_title="Churn rate", y_title="", customers_title="Customers",
                               overall_rate=None, label_map=None):
    """Horizontal bars of churn rate per category (from :func:`compute_category_churn`, <= 32 rows).

    ``label_map`` renames special values (``"(other)"``, ``"(missing)"``) for display; titles are
    passed in by the page so the chart is translatable. A rule marks ``overall_rate`` when given.
    """
    import altair as alt

    data = frame[["value", "customers", "churn_rate"]].copy()
    if label_map:
        data["value"] = data["value"].map(lambda v: label_map.get(v, v))
    data["order"] = range(len(data))
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("value:N", title=y_title, sort=alt.SortField("order")),
        x=alt.X("churn_rate:Q", title=x_title, axis=alt.Axis(format="%")),
        tooltip=[
            alt.Tooltip("value:N", title=y_title or " "),
            alt.Tooltip("customers:Q", title=customers_title, format=","),
            alt.Tooltip("churn_rate:Q", title=x_title, format=".1%"),
        ],
    )
    chart = bars
    if overall_rate is not None:
        rule = alt.Chart(pd.DataFrame({"rate": [float(overall_rate)]})).mark_rule(
            color="firebrick", strokeDash=[4, 3]).encode(x="rate:Q")
        chart = bars + rule
    return chart.properties(height=alt.Step(24))
