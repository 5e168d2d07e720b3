"""Segments: no-code conditions compiled to parameterised DuckDB SQL, plain-language descriptions,
ready-made segmentations (bands from quantiles) and segment profiles computed in DuckDB.

A :class:`Segment` is a frozen list of :class:`Condition` (or nested segments) combined with
``"and"`` or ``"or"``. It compiles to ``(sql, params)`` with quoted identifiers and ``?``
placeholders (values are never pasted into SQL, like datasette's ``filters.py``), describes itself
in English or Chinese, and evaluates the same rule on a pandas frame (:meth:`Segment.mask`) with
the same SQL semantics: a missing value never satisfies a comparison, ``!=`` or ``not in``.

Profiles (:func:`compute_profiles`, :func:`compute_segment_profile`, :func:`compare_segments`,
:func:`compute_decile_cohorts`) run aggregate SQL on the session store's ``customers`` table and
return a few hundred rows at most.
"""

import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError

TABLE = "customers"

OPERATORS = (
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "between",
    "in",
    "not in",
    "contains",
    "is missing",
    "is not missing",
)
ORDERED_OPERATORS = (">", ">=", "<", "<=", "between")
NO_VALUE_OPERATORS = ("is missing", "is not missing")
LIST_OPERATORS = ("in", "not in")
MODES = ("and", "or")


def quote_ident(name):
    """Quote a DuckDB identifier, doubling embedded double quotes.

    >>> quote_ident('a"b')
    '"a""b"'
    """
    return '"' + str(name).replace('"', '""') + '"'


def _native(value):
    """Python scalar for a numpy/pandas scalar (DuckDB parameters and JSON want natives)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


# --------------------------------------------------------------------------- conditions
@dataclass(frozen=True)
class Condition:
    """One rule: ``column op value``.

    Parameters
    ----------
    column : str
        Column name of the ``customers`` table.
    op : str
        One of :data:`OPERATORS`.
    value : object
        A scalar for comparisons and ``contains``; a ``(low, high)`` pair for ``between``
        (both ends included); a tuple of values for ``in`` / ``not in``; ``None`` for
        ``is missing`` / ``is not missing``.
    """

    column: str
    op: str
    value: object = None

    def __post_init__(self):
        if not isinstance(self.column, str) or not self.column:
            raise ChurnCoreError("segments.bad_column", "A condition needs a column name.")
        if self.op not in OPERATORS:
            raise ChurnCoreError(
                "segments.bad_operator",
                f"Unknown operator {self.op!r}; use one of {', '.join(OPERATORS)}.",
                op=self.op,
            )
        value = self.value
        if self.op in NO_VALUE_OPERATORS:
            value = None
        elif self.op == "between":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ChurnCoreError(
                    "segments.bad_between",
                    f"'between' on {self.column} needs two values (low, high).",
                    column=self.column,
                )
            value = tuple(_native(v) for v in value)
            if any(_is_missing(v) for v in value):
                raise ChurnCoreError(
                    "segments.missing_value", f"Give a value for {self.column}.", column=self.column
                )
        elif self.op in LIST_OPERATORS:
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
                value = (value,)
            value = tuple(_native(v) for v in value if not _is_missing(v))
            if not value:
                raise ChurnCoreError(
                    "segments.empty_list",
                    f"Pick at least one value for {self.column}.",
                    column=self.column,
                )
        else:
            value = _native(value)
            if _is_missing(value):
                raise ChurnCoreError(
                    "segments.missing_value", f"Give a value for {self.column}.", column=self.column
                )
            if self.op == "contains":
                value = str(value)
        object.__setattr__(self, "value", value)

    # -- SQL
    def where_sql(self):
        """``(sql, params)`` for this condition."""
        col = quote_ident(self.column)
        op = self.op
        if op in ("=", "!=", ">", ">=", "<", "<="):
            return f"{col} {op} ?", [self.value]
        if op == "between":
            return f"{col} BETWEEN ? AND ?", list(self.value)
        if op in LIST_OPERATORS:
            marks = ", ".join("?" for _ in self.value)
            keyword = "IN" if op == "in" else "NOT IN"
            return f"{col} {keyword} ({marks})", list(self.value)
        if op == "contains":
            return f"contains(lower(CAST({col} AS VARCHAR)), lower(?))", [self.value]
        if op == "is missing":
            return f"{col} IS NULL", []
        return f"{col} IS NOT NULL", []

    # -- pandas, same semantics as the SQL
    def mask(self, df):
        """Boolean Series: rows of ``df`` that satisfy the condition (missing never matches)."""
        if self.column not in df.columns:
            raise ChurnCoreError(
                "segments.unknown_column", f"Column {self.column!r} is not in the data.", column=self.column
            )
        s = df[self.column]
        present = s.notna()
        op = self.op
        if op == "is missing":
            return ~present
        if op == "is not missing":
            return present
        if op == "contains":
            text = s.astype("string").str.lower()
            hit = text.str.contains(self.value.lower(), regex=False)
            return hit.fillna(False).astype(bool) & present
        if op in LIST_OPERATORS:
            hit = s.isin(list(self.value))
            return (hit if op == "in" else ~hit) & present
        valid = s[present]
        if op == "between":
            lo, hi = self.value
            part = (valid >= lo) & (valid <= hi)
        else:
            v = self.value
            part = {
                "=": lambda: valid == v,
                "!=": lambda: valid != v,
                ">": lambda: valid > v,
                ">=": lambda: valid >= v,
                "<": lambda: valid < v,
                "<=": lambda: valid <= v,
            }[op]()
        out = pd.Series(False, index=df.index)
        out[present] = part.astype(bool).to_numpy()
        return out

    # -- words
    def describe(self, lang="en"):
        """Plain-language sentence in ``lang`` ("en" or "zh")."""
        _check_lang(lang)
        words = _WORDS[lang]
        col = self.column
        if self.op in NO_VALUE_OPERATORS:
            return words[self.op].format(col=col)
        if self.op == "between":
            lo, hi = self.value
            return words["between"].format(col=col, lo=_fmt(lo, lang), hi=_fmt(hi, lang))
        if self.op in LIST_OPERATORS:
            sep = ", " if lang == "en" else "、"
            return words[self.op].format(col=col, values=sep.join(_fmt(v, lang) for v in self.value))
        return words[self.op].format(col=col, value=_fmt(self.value, lang))

    def to_dict(self):
        value = self.value
        if isinstance(value, tuple):
            value = [_jsonable(v) for v in value]
        else:
            value = _jsonable(value)
        return {"column": self.column, "op": self.op, "value": value}


_WORDS = {
    "en": {
        "=": "{col} is {value}",
        "!=": "{col} is not {value}",
        ">": "{col} is above {value}",
        ">=": "{col} is at least {value}",
        "<": "{col} is below {value}",
        "<=": "{col} is at most {value}",
        "between": "{col} is between {lo} and {hi}",
        "in": "{col} is one of {values}",
        "not in": "{col} is none of {values}",
        "contains": "{col} contains {value}",
        "is missing": "{col} is missing",
        "is not missing": "{col} is not missing",
        "and": " and ",
        "or": " or ",
        "all": "All customers",
        "yes": "yes",
        "no": "no",
    },
    "zh": {
        "=": "{col} 等于 {value}",
        "!=": "{col} 不等于 {value}",
        ">": "{col} 大于 {value}",
        ">=": "{col} 大于等于 {value}",
        "<": "{col} 小于 {value}",
        "<=": "{col} 小于等于 {value}",
        "between": "{col} 介于 {lo} 和 {hi} 之间",
        "in": "{col} 属于 {values}",
        "not in": "{col} 不属于 {values}",
        "contains": "{col} 包含 {value}",
        "is missing": "{col} 缺失",
        "is not missing": "{col} 有值",
        "and": " 且 ",
        "or": " 或 ",
        "all": "全部客户",
        "yes": "是",
        "no": "否",
    },
}


def _check_lang(lang):
    if lang not in _WORDS:
        raise ChurnCoreError("segments.bad_lang", f"Language must be 'en' or 'zh', not {lang!r}.", lang=lang)


def _is_missing(value):
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return _native(value)


def _fmt(value, lang):
    """Display a value in a sentence: numbers plainly, text in quotes."""
    if isinstance(value, bool):
        return _WORDS[lang]["yes" if value else "no"]
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return f'"{value}"' if lang == "en" else f"“{value}”"


# --------------------------------------------------------------------------- segments
@dataclass(frozen=True)
class Segment:
    """A named group of customers: conditions combined with AND or OR.

    Parameters
    ----------
    name : str
        Display name chosen by the user.
    conditions : tuple of Condition or Segment
        The rules; a nested ``Segment`` is a parenthesised group (its name is ignored).
    mode : {"and", "or"}
        How the rules combine.
    """

    name: str = ""
    conditions: tuple = field(default_factory=tuple)
    mode: str = "and"

    def __post_init__(self):
        if self.mode not in MODES:
            raise ChurnCoreError("segments.bad_mode", f"mode must be 'and' or 'or', not {self.mode!r}.", mode=self.mode)
        conds = tuple(self.conditions or ())
        for c in conds:
            if not isinstance(c, (Condition, Segment)):
                raise ChurnCoreError("segments.bad_condition", "Conditions must be Condition or Segment objects.")
        object.__setattr__(self, "conditions", conds)
        object.__setattr__(self, "name", str(self.name or ""))

    def where_sql(self):
        """``(sql, params)``: a boolean SQL expression with ``?`` placeholders.

        An empty segment is ``TRUE`` (all customers).
        """
        if not self.conditions:
            return "TRUE", []
        parts, params = [], []
        for c in self.conditions:
            sql, p = c.where_sql()
            if isinstance(c, Segment) and len(c.conditions) > 1:
                sql = f"({sql})"
            parts.append(sql)
            params.extend(p)
        return f" {self.mode.upper()} ".join(parts), params

    def count_sql(self, table=TABLE):
        """``(sql, params)`` counting the segment's customers."""
        where, params = self.where_sql()
        return f"SELECT COUNT(*) AS customers FROM {quote_ident(table)} WHERE {where}", params

    def mask(self, df):
        """Boolean Series over ``df`` with the same meaning as :meth:`where_sql`."""
        if not self.conditions:
            return pd.Series(True, index=df.index)
        masks = [c.mask(df) for c in self.conditions]
        out = masks[0].copy()
        for m in masks[1:]:
            out = (out & m) if self.mode == "and" else (out | m)
        return out.astype(bool)

    def describe(self, lang="en"):
        """Plain-language description, e.g. ``age is at least 50 and region is "Beijing"``."""
        _check_lang(lang)
        if not self.conditions:
            return _WORDS[lang]["all"]
        parts = []
        for c in self.conditions:
            text = c.describe(lang)
            if isinstance(c, Segment) and len(c.conditions) > 1:
                text = f"({text})"
            parts.append(text)
        return _WORDS[lang][self.mode].join(parts)

    def columns(self):
        """Columns the segment uses (sorted, unique)."""
        cols = set()
        for c in self.conditions:
            cols.update(c.columns() if isinstance(c, Segment) else [c.column])
        return sorted(cols)

    def validate(self, df):
        """A copy with values coerced to the column types of ``df``; raises on a bad rule."""
        return replace(self, conditions=tuple(
            c.validate(df) if isinstance(c, Segment) else validate_condition(c, df) for c in self.conditions
        ))

    # -- JSON
    def to_dict(self):
        return {
            "name": self.name,
            "mode": self.mode,
            "conditions": [
                {"group": c.to_dict()} if isinstance(c, Segment) else c.to_dict() for c in self.conditions
            ],
        }

    def to_json(self):
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise ChurnCoreError("segments.bad_json", "A segment must be a JSON object.")
        conds = []
        for item in data.get("conditions", []):
            if "group" in item:
                conds.append(cls.from_dict(item["group"]))
            else:
                value = item.get("value")
                if isinstance(value, list):
                    value = tuple(value)
                conds.append(Condition(item["column"], item["op"], value))
        return cls(name=data.get("name", ""), conditions=tuple(conds), mode=data.get("mode", "and"))

    @classmethod
    def from_json(cls, text):
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise ChurnCoreError("segments.bad_json", f"Not valid JSON: {exc}") from exc
        return cls.from_dict(data)


def where_sql(conditions, mode="and"):
    """``(sql, params)`` for a list of conditions combined with ``mode``."""
    return Segment(conditions=tuple(conditions), mode=mode).where_sql()


def column_kind(series):
    """``"number"``, ``"bool"``, ``"date"`` or ``"text"`` for a pandas column."""
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    return "text"


def operators_for(series):
    """Operators that make sense for a column (ordering only for numbers and dates)."""
    kind = column_kind(series)
    if kind in ("number", "date"):
        return [op for op in OPERATORS if op != "contains"]
    if kind == "bool":
        return ["=", "!=", "is missing", "is not missing"]
    return [op for op in OPERATORS if op not in ORDERED_OPERATORS]


def _coerce(value, kind, column):
    if kind == "number":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float, np.integer, np.floating)):
            return _native(value)
        try:
            text = str(value).strip().replace(",", "")
            number = float(text)
        except ValueError as exc:
            raise ChurnCoreError(
                "segments.not_a_number", f"{value!r} is not a number (column {column}).", column=column, value=str(value)
            ) from exc
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    if kind == "bool":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "是"):
            return True
        if text in ("false", "0", "no", "否"):
            return False
        raise ChurnCoreError("segments.not_a_bool", f"{value!r} is not yes/no (column {column}).", column=column, value=str(value))
    if kind == "date":
        try:
            return pd.Timestamp(value).to_pydatetime()
        except (ValueError, TypeError) as exc:
            raise ChurnCoreError(
                "segments.not_a_date", f"{value!r} is not a date (column {column}).", column=column, value=str(value)
            ) from exc
    return _native(value)


def validate_condition(cond, df):
    """Check ``cond`` against ``df`` and return a copy whose values have the column's type.

    Raises
    ------
    ChurnCoreError
        ``segments.unknown_column``, ``segments.bad_operator_for_type``, ``segments.not_a_number``...
    """
    if cond.column not in df.columns:
        raise ChurnCoreError(
            "segments.unknown_column", f"Column {cond.column!r} is not in the data.", column=cond.column
        )
    series = df[cond.column]
    if cond.op not in operators_for(series):
        raise ChurnCoreError(
            "segments.bad_operator_for_type",
            f"Operator {cond.op!r} does not apply to column {cond.column}.",
            column=cond.column,
            op=cond.op,
        )
    kind = column_kind(series)
    if cond.op in NO_VALUE_OPERATORS or cond.op == "contains":
        return cond
    if cond.op in LIST_OPERATORS or cond.op == "between":
        value = tuple(_coerce(v, kind, cond.column) for v in cond.value)
        if cond.op == "between" and value[0] > value[1]:
            value = (value[1], value[0])
    else:
        value = _coerce(cond.value, kind, cond.column)
    return Condition(cond.column, cond.op, value)


# --------------------------------------------------------------------------- column detection
# Which meaning (churn_core.data.meanings) fills each ColumnMap field: the vocabulary owns every
# column name pattern; this map only says which meanings segments, profiles and value ask for.
_FIELD_MEANINGS = {
    "balance": ("balance",),
    "assets": ("total_assets",),
    "products": ("products_count",),
    "age": ("age",),
    "tenure": ("tenure",),
    "region": ("region",),
    "active": ("active_flag",),
    "logins": ("logins",),
    "transactions": ("transactions",),
    "transactions_prev": ("transactions_prev",),
    "balance_trend": ("balance_change",),
    "complaints": ("complaints",),
    "fees": ("fees",),
    "recency": ("days_since_activity",),
    "inactive_months": ("inactive_months",),
    "service_contacts": ("service_contacts",),
}


@dataclass(frozen=True)
class ColumnMap:
    """Business meaning of columns found in an uploaded table (``None`` when absent).

    Built from the column meanings (:func:`churn_core.data.meanings.detect_meanings`, correctable
    and saved as a mapping file) by :meth:`from_meanings`; :func:`detect_columns` detects them
    first. ``money`` lists every money column with its yearly margin (``((column, margin), ...)``),
    the one source of customer value.
    """

    label: object = None
    positive: object = None
    balance: object = None
    assets: object = None
    products: object = None
    product_flags: tuple = ()
    age: object = None
    tenure: object = None
    region: object = None
    active: object = None
    logins: object = None
    transactions: object = None
    transactions_prev: object = None
    balance_trend: object = None
    complaints: object = None
    fees: object = None
    recency: object = None
    inactive_months: object = None
    service_contacts: object = None
    numeric: tuple = ()
    money: tuple = ()

    @property
    def value_column(self):
        """The money measure of a customer: assets, else balance, else the money column with the
        largest margin (a revolving balance, monthly charges...)."""
        if self.assets or self.balance:
            return self.assets or self.balance
        paying = [(m, i, c) for i, (c, m) in enumerate(self.money) if m > 0]
        if paying:
            return min(paying, key=lambda t: (-t[0], t[1]))[2]
        return self.money[0][0] if self.money else None

    @classmethod
    def from_meanings(cls, meanings, roles=None, df=None):
        """The map of a :class:`~churn_core.data.meanings.ColumnMeanings`.

        Parameters
        ----------
        meanings : ColumnMeanings
        roles : churn_core.data.roles.Roles, optional
            Label, positive value and ids (default: the ones the meanings carry).
        df : pandas.DataFrame, optional
            The table, to list its numeric columns (``numeric``) and check the label exists.
        """
        label = getattr(roles, "label", None) if roles is not None else meanings.label
        positive = _native(getattr(roles, "positive", None) if roles is not None else meanings.positive)
        ids = set(getattr(roles, "id_columns", []) or []) if roles is not None else {meanings.id_column}
        ids.update(c for c, r in (getattr(roles, "roles", {}) or {}).items() if r == "id")
        found = {}
        for key, codes in _FIELD_MEANINGS.items():
            for code in codes:
                col = meanings.column(code)
                if col is not None and (df is None or col in df.columns):
                    found[key] = col
                    break
        flags = tuple(c for c in meanings.columns("product_flag") if df is None or c in df.columns)
        money = tuple((c, float(m)) for c, m in meanings.money().items() if df is None or c in df.columns)
        numeric_cols = ()
        if df is not None:
            skip = ids | ({label} if label else set())
            numeric_cols = tuple(c for c in df.columns if c not in skip and _is_number(df[c]) and not _is_binary(df[c]))
            if label is not None and label not in df.columns:
                label = None
        return cls(label=label, positive=positive if label else None, product_flags=flags, numeric=numeric_cols,
                   money=money, **found)


def _is_number(series):
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _is_binary(series):
    if pd.api.types.is_bool_dtype(series):
        return True
    if not pd.api.types.is_numeric_dtype(series):
        return False
    values = set(pd.unique(series.dropna()))
    return bool(values) and values <= {0, 1}


def detect_columns(df, roles=None, meanings=None):
    """Find the columns that segments, profiles and value need, from the column meanings.

    Parameters
    ----------
    df : pandas.DataFrame
    roles : churn_core.data.roles.Roles, optional
        Gives the label, its positive value and the id columns (ignored for every other field).
    meanings : ColumnMeanings, optional
        The (corrected) column meanings; detected from ``df`` when not given.

    Returns
    -------
    ColumnMap
    """
    from churn_core.data.meanings import detect_meanings

    if meanings is None:
        meanings = detect_meanings(df, roles)
    return ColumnMap.from_meanings(meanings, roles, df)


def held_sql(columns, alias=None):
    """``(sql, params)``: how many of the flag ``columns`` a customer holds. A flag is a number
    (0/1), a boolean, or yes/no text read with the vocabulary's yes words; anything else is 0."""
    from churn_core.data.meanings import YES_VALUES

    words = sorted(YES_VALUES)
    parts, params = [], []
    for col in columns:
        ref = (f"{alias}." if alias else "") + quote_ident(col)
        marks = ", ".join("?" for _ in words)
        parts.append(f"COALESCE(TRY_CAST({ref} AS DOUBLE), "
                     f"CASE WHEN lower(trim(CAST({ref} AS VARCHAR))) IN ({marks}) THEN 1.0 ELSE 0.0 END)")
        params.extend(words)
    return "(" + " + ".join(parts) + ")", params


def churn_sql(cols):
    """``(sql, params)``: 1.0 when the label equals the positive value, 0.0 otherwise, NULL when missing."""
    if cols.label is None:
        raise ChurnCoreError("segments.no_label", "No churn column is set; choose it on the Data page.")
    col = quote_ident(cols.label)
    return f"(CASE WHEN {col} IS NULL THEN NULL WHEN {col} = ? THEN 1.0 ELSE 0.0 END)", [cols.positive]


# --------------------------------------------------------------------------- bands
@dataclass(frozen=True)
class Banding:
    """Numeric bands ``[edge_i, edge_i+1)`` on one column (below the first edge, above the last).

    Parameters
    ----------
    column : str
    edges : tuple of float
        Increasing cut points; ``k`` edges make ``k + 1`` bands.
    key : str
        Name of the output column (defaults to the column).
    """

    column: str
    edges: tuple = ()
    key: str = ""

    def __post_init__(self):
        edges = tuple(float(e) for e in self.edges)
        if any(not math.isfinite(e) for e in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ChurnCoreError(
                "segments.bad_edges", f"Band edges of {self.column} must be finite and increasing.", column=self.column
            )
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "key", self.key or self.column)

    def labels(self):
        """Band labels, e.g. ``["< 30", "30 – 40", "≥ 40"]``."""
        e = [_fmt(x, "en") for x in self.edges]
        if not e:
            return ["all"]
        return [f"< {e[0]}"] + [f"{a} – {b}" for a, b in zip(e, e[1:])] + [f"≥ {e[-1]}"]

    def index_sql(self):
        """``(sql, params)``: the band index 0..k, NULL for a missing value."""
        col = quote_ident(self.column)
        if not self.edges:
            return f"(CASE WHEN {col} IS NULL THEN NULL ELSE 0 END)", []
        whens = " ".join(f"WHEN {col} < ? THEN {i}" for i in range(len(self.edges)))
        return f"(CASE WHEN {col} IS NULL THEN NULL {whens} ELSE {len(self.edges)} END)", list(self.edges)

    def index(self, series):
        """Band index of each value (pandas; NaN for missing)."""
        values = pd.to_numeric(series, errors="coerce").astype(float)
        idx = np.searchsorted(np.asarray(self.edges), values.to_numpy(), side="right").astype(float)
        idx[values.isna().to_numpy()] = np.nan
        return pd.Series(idx, index=series.index)


@dataclass(frozen=True)
class Category:
    """Group by the raw values of one column (region, a 0/1 flag...)."""

    column: str
    key: str = ""

    def __post_init__(self):
        object.__setattr__(self, "key", self.key or self.column)


@dataclass(frozen=True)
class Score:
    """Sum of per-column scores 1..(k+1) by band (RFM style); ``reverse`` columns score low values high."""

    bandings: tuple
    reverse: tuple = ()
    key: str = "activity_score"

    def index_sql(self):
        parts, params = [], []
        for b in self.bandings:
            sql, p = b.index_sql()
            n = len(b.edges)
            if b.column in self.reverse:
                parts.append(f"({n} - COALESCE({sql}, 0) + 1)")
            else:
                parts.append(f"(COALESCE({sql}, 0) + 1)")
            params.extend(p)
        return "(" + " + ".join(parts) + ")", params


@dataclass(frozen=True)
class Segmentation:
    """A ready-made way to split customers: one or more dimensions (bands, categories, scores)."""

    name: str
    dims: tuple

    def dims_sql(self, alias=None):
        """``(select_exprs, params)``: one ``expr AS "key"`` per dimension.

        ``alias`` qualifies category columns with a table alias (``c."region"``) in joins.
        """
        exprs, params = [], []
        prefix = f"{alias}." if alias else ""
        for d in self.dims:
            if isinstance(d, Category):
                exprs.append(f"{prefix}{quote_ident(d.column)} AS {quote_ident(d.key)}")
            else:
                sql, p = d.index_sql()
                exprs.append(f"{sql} AS {quote_ident(d.key)}")
                params.extend(p)
        return exprs, params

    def keys(self):
        return [d.key for d in self.dims]


def _nice(x):
    """Round a cut point to 2 significant figures (3 for large values) for readable bands."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    digits = 2 if abs(x) < 1000 else 3
    mag = math.floor(math.log10(abs(x)))
    return float(round(x, -mag + digits - 1))


def quantile_edges(store, column, probs, nice=True, table=TABLE):
    """Band edges from the data: DuckDB ``quantile_cont`` at ``probs``, rounded, deduplicated.

    Values equal to the minimum are dropped so the first band is never empty.
    """
    col = quote_ident(column)
    sql = f"SELECT quantile_cont({col}, ?::DOUBLE[]) AS q, min({col})::DOUBLE AS lo FROM {quote_ident(table)}"
    row = store.query(sql, [list(map(float, probs))]).iloc[0]
    if row["q"] is None or (not isinstance(row["q"], (list, np.ndarray))):
        return ()
    out = []
    for q in row["q"]:
        if q is None or (isinstance(q, float) and math.isnan(q)):
            continue
        q = _nice(float(q)) if nice else float(q)
        if q > row["lo"] and (not out or q > out[-1]):
            out.append(q)
    return tuple(out)


READY_MADE = ("value_tier", "age_band", "tenure_band", "region", "activity", "products", "activity_score")


def build_ready_made(store, cols, table=TABLE):
    """Ready-made segmentations that the data supports, with quantile band edges.

    Returns
    -------
    dict
        ``{code: Segmentation}`` for codes of :data:`READY_MADE` whose columns exist.
    """
    out = {}
    money = cols.value_column
    if money:
        dims = [Banding(money, quantile_edges(store, money, [0.5, 0.8, 0.95], table=table), key="value_band")]
        if cols.products:
            dims.append(Banding(cols.products, (2.0,), key="product_band"))
        elif cols.product_flags:
            dims.append(Banding("__n_products", (2.0,), key="product_band"))
        out["value_tier"] = Segmentation("value_tier", tuple(dims))
    if cols.age:
        out["age_band"] = Segmentation("age_band", (Banding(cols.age, quantile_edges(store, cols.age, [0.2, 0.4, 0.6, 0.8], table=table), key="age_band"),))
    if cols.tenure:
        out["tenure_band"] = Segmentation("tenure_band", (Banding(cols.tenure, quantile_edges(store, cols.tenure, [0.25, 0.5, 0.75], table=table), key="tenure_band"),))
    if cols.region:
        out["region"] = Segmentation("region", (Category(cols.region),))
    if cols.active:
        out["activity"] = Segmentation("activity", (Category(cols.active, key="active"),))
    elif cols.logins or cols.transactions:
        c = cols.logins or cols.transactions
        out["activity"] = Segmentation("activity", (Banding(c, quantile_edges(store, c, [1 / 3, 2 / 3], table=table), key="activity_band"),))
    if cols.products:
        out["products"] = Segmentation("products", (Category(cols.products, key="products"),))
    score = activity_score(store, cols, table=table)
    if score is not None:
        out["activity_score"] = Segmentation("activity_score", (score,))
    return out


def activity_score(store, cols, table=TABLE):
    """RFM-style score: recency (or the active flag, or logins), frequency (transactions or
    logins or products) and monetary (balance or assets), each scored 1..3 by tertile bands
    (a 0/1 flag scores 1 or 2); the score is their sum. ``None`` when fewer than two are found.
    """
    r = cols.recency or cols.active or cols.logins
    f = next((c for c in (cols.transactions, cols.logins, cols.products) if c and c != r), None)
    m = cols.balance or cols.assets
    bandings, reverse = [], []
    for c in (r, f, m):
        if not c or any(b.column == c for b in bandings):
            continue
        if c == cols.active:
            bandings.append(Banding(c, (1.0,)))
        else:
            bandings.append(Banding(c, quantile_edges(store, c, [1 / 3, 2 / 3], table=table)))
        if c == cols.recency:
            reverse.append(c)
    if len(bandings) < 2:
        return None
    return Score(tuple(bandings), tuple(reverse))


def edit_edges(segmentation, key, edges):
    """A copy of ``segmentation`` with new edges for the band dimension ``key`` (user edits)."""
    dims = []
    for d in segmentation.dims:
        if d.key == key and isinstance(d, Banding):
            d = Banding(d.column, tuple(sorted(float(e) for e in edges)), key=d.key)
        dims.append(d)
    return Segmentation(segmentation.name, tuple(dims))


def parse_edges(text):
    """Band edges typed by a user (``"30, 40, 50"``) as a sorted tuple of floats."""
    try:
        values = [float(x) for x in re.split(r"[,;，；\s]+", str(text).strip()) if x]
    except ValueError as exc:
        raise ChurnCoreError("segments.bad_edges_text", f"Band edges must be numbers separated by commas: {text!r}.", text=str(text)) from exc
    values = sorted(set(values))
    return tuple(values)


# --------------------------------------------------------------------------- profiles
def _metric_exprs(cols):
    """SELECT list of profile metrics and its params (churn first)."""
    exprs, params = ["COUNT(*) AS customers"], []
    if cols.label:
        churn, p = churn_sql(cols)
        exprs += [f"CAST(SUM({churn}) AS BIGINT) AS churned", f"AVG({churn}) AS churn_rate"]
        params += p * 2
    for key, col in (("balance", cols.balance), ("assets", cols.assets)):
        if col:
            q = quote_ident(col)
            exprs += [f"AVG({q}) AS avg_{key}", f"SUM({q}) AS total_{key}"]
    if cols.products:
        exprs.append(f"AVG({quote_ident(cols.products)}) AS products_per_customer")
    elif cols.product_flags:
        total, fparams = held_sql(cols.product_flags)
        exprs.append(f"AVG({total}) AS products_per_customer")
        params += fparams
    if cols.active:
        q = quote_ident(cols.active)
        held, hparams = held_sql([cols.active])  # 0/1, true/false or yes/no
        exprs.append(f"AVG(CASE WHEN {q} IS NULL THEN NULL WHEN {held} = 0 THEN 1.0 ELSE 0.0 END) AS share_inactive")
        params += hparams
    if cols.complaints:
        q = quote_ident(cols.complaints)
        exprs += [f"AVG({q}) AS complaints_per_customer",
                  f"AVG(CASE WHEN {q} IS NULL THEN NULL WHEN {q} > 0 THEN 1.0 ELSE 0.0 END) AS share_with_complaints"]
    return exprs, params


def _base_rate(store, cols, table):
    if not cols.label:
        return None
    churn, p = churn_sql(cols)
    value = store.query(f"SELECT AVG({churn}) AS r FROM {quote_ident(table)}", p).iloc[0]["r"]
    return None if value is None or pd.isna(value) else float(value)


def _add_lift(frame, base):
    if "churn_rate" in frame.columns and base:
        frame["lift"] = frame["churn_rate"].astype(float) / base
    return frame


def profile_sql(cols, segment=None, table=TABLE):
    """``(sql, params)`` of the one-row profile of ``segment`` (all customers when None)."""
    exprs, params = _metric_exprs(cols)
    where, wp = (segment or Segment()).where_sql()
    return f"SELECT {', '.join(exprs)} FROM {quote_ident(table)} WHERE {where}", params + wp


def compute_segment_profile(store, cols, segment=None, table=TABLE):
    """Profile of one segment: customers, churn rate, lift, balances, products, inactivity, complaints.

    Returns
    -------
    dict
        Metric name -> value (``lift`` is the churn rate over the whole base's).
    """
    sql, params = profile_sql(cols, segment, table)
    row = store.query(sql, params).to_dict("records")[0]
    base = _base_rate(store, cols, table)
    out = {k: (None if v is None or (isinstance(v, float) and math.isnan(v)) else _native(v)) for k, v in row.items()}
    if "churn_rate" in out:
        out["lift"] = (out["churn_rate"] / base) if (base and out["churn_rate"] is not None) else None
    out["share_of_base"] = out["customers"] / max(int(store.query(f"SELECT COUNT(*) AS n FROM {quote_ident(table)}").iloc[0]["n"]), 1)
    return out


def compare_segments(store, cols, a, b, table=TABLE):
    """Two segments side by side with the whole base: rows are metrics, columns ``a``, ``b``, ``all``."""
    pa = compute_segment_profile(store, cols, a, table)
    pb = compute_segment_profile(store, cols, b, table)
    pall = compute_segment_profile(store, cols, None, table)
    frame = pd.DataFrame({"a": pa, "b": pb, "all": pall})
    frame.index.name = "metric"
    return frame.reset_index()


def group_sql(cols, key_exprs, key_names, params=(), segment=None, table=TABLE):
    """``(sql, params)`` of profile metrics grouped by ``key_exprs`` (already aliased)."""
    exprs, mp = _metric_exprs(cols)
    where, wp = (segment or Segment()).where_sql()
    keys = ", ".join(quote_ident(k) for k in key_names)
    sql = (
        f"SELECT {', '.join(list(key_exprs) + exprs)} FROM {quote_ident(table)} WHERE {where} "
        f"GROUP BY {keys} ORDER BY {keys} NULLS LAST"
    )
    return sql, list(params) + mp + wp


def compute_group_profiles(store, cols, by, segment=None, table=TABLE):
    """Profiles per value of the raw columns ``by`` (the CLI's ``segments --by``), with lift."""
    if isinstance(by, str):
        by = [by]
    by = list(by)
    if not by:
        raise ChurnCoreError("segments.no_keys", "Name at least one column to group by.")
    known = set(store.columns(table)) if hasattr(store, "columns") else None
    for c in by:
        if known is not None and c not in known:
            raise ChurnCoreError("segments.unknown_column", f"Column {c!r} is not in the data.", column=c)
    sql, params = group_sql(cols, [quote_ident(c) for c in by], by, segment=segment, table=table)
    frame = store.query(sql, params)
    return _add_lift(frame, _base_rate(store, cols, table))


def compute_profiles(store, cols, segmentation, segment=None, table=TABLE):
    """Profiles of every group of a ready-made ``segmentation`` (band labels in the key columns).

    Returns
    -------
    pandas.DataFrame
        Key columns (band labels or raw values), ``customers``, ``churned``, ``churn_rate``,
        ``lift``, balances, ``products_per_customer``, ``share_inactive``, complaints;
        ``share_of_base``.
    """
    exprs, params = segmentation.dims_sql()
    src = table
    sql, params = group_sql(cols, exprs, segmentation.keys(), params, segment, src)
    if any(isinstance(d, Banding) and d.column == "__n_products" for d in segmentation.dims):
        total = " + ".join(f"COALESCE(TRY_CAST({quote_ident(c)} AS DOUBLE), 0)" for c in cols.product_flags)
        sql = sql.replace(f"FROM {quote_ident(table)}", f"FROM (SELECT *, {total} AS __n_products FROM {quote_ident(table)})", 1)
    frame = store.query(sql, params)
    for d in segmentation.dims:
        if isinstance(d, Banding):
            labels = d.labels()
            frame[d.key] = [labels[int(i)] if i is not None and not pd.isna(i) else None for i in frame[d.key]]
    frame = _add_lift(frame, _base_rate(store, cols, table))
    frame["share_of_base"] = frame["customers"] / max(int(frame["customers"].sum()), 1)
    return frame


def decile_edges(store, column, table=TABLE):
    """Decile cut points of ``column`` (``quantile_cont`` at 0, 0.1, ..., 1), deduplicated."""
    col = quote_ident(column)
    probs = [i / 10 for i in range(11)]
    q = store.query(f"SELECT quantile_cont({col}::DOUBLE, ?::DOUBLE[]) AS q FROM {quote_ident(table)}", [probs]).iloc[0]["q"]
    if q is None:
        return ()
    out = []
    for v in q:
        if v is not None and not (isinstance(v, float) and math.isnan(v)) and (not out or v > out[-1]):
            out.append(float(v))
    return tuple(out)


def compute_decile_cohorts(store, cols, columns=None, table=TABLE):
    """Churn rate by decile of every numeric column (bins like ``pandas.qcut``: right-closed, the
    lowest value included; tied quantiles merge bins).

    Returns
    -------
    pandas.DataFrame
        ``column``, ``decile`` (1 = lowest values), ``low``, ``high``, ``customers``,
        ``churn_rate``, ``lift``.
    """
    if not cols.label:
        raise ChurnCoreError("segments.no_label", "No churn column is set; choose it on the Data page.")
    churn, cp = churn_sql(cols)
    base = _base_rate(store, cols, table)
    frames = []
    for column in (columns if columns is not None else cols.numeric):
        edges = decile_edges(store, column, table)
        if len(edges) < 2:
            continue
        col = quote_ident(column)
        inner = " ".join(f"WHEN {col} <= ? THEN {i}" for i in range(1, len(edges)))
        bucket = f"(CASE WHEN {col} IS NULL THEN NULL {inner} ELSE NULL END)"
        sql = (
            f"SELECT {bucket} AS decile, COUNT(*) AS customers, AVG({churn}) AS churn_rate "
            f"FROM {quote_ident(table)} WHERE {col} IS NOT NULL GROUP BY decile ORDER BY decile"
        )
        frame = store.query(sql, list(edges[1:]) + cp)
        frame = frame[frame["decile"].notna()].copy()
        frame["decile"] = frame["decile"].astype(int)
        frame.insert(0, "column", column)
        frame["low"] = [edges[i - 1] for i in frame["decile"]]
        frame["high"] = [edges[i] for i in frame["decile"]]
        frames.append(frame[["column", "decile", "low", "high", "customers", "churn_rate"]])
    if not frames:
        return pd.DataFrame(columns=["column", "decile", "low", "high", "customers", "churn_rate", "lift"])
    out = pd.concat(frames, ignore_index=True)
    out["lift"] = out["churn_rate"].astype(float) / base if base else np.nan
    return out


def rank_decile_spread(deciles):
    """Columns ordered by the gap between their highest and lowest decile churn rate."""
    if deciles.empty:
        return pd.DataFrame(columns=["column", "min_rate", "max_rate", "spread"])
    g = deciles.groupby("column", sort=False)["churn_rate"].agg(min_rate="min", max_rate="max").reset_index()
    g["spread"] = g["max_rate"] - g["min_rate"]
    return g.sort_values("spread", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- charts
def build_profile_chart(frame, key, metric="churn_rate", title_x=None, title_y=None, base_rate=None):
    """Bar chart of ``metric`` per group (one bar per row of an aggregated frame)."""
    import altair as alt

    data = frame[[key, metric, "customers"]].copy()
    data[key] = data[key].astype(str)
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X(f"{key}:N", title=title_x or key, sort=None),
        y=alt.Y(f"{metric}:Q", title=title_y or metric, axis=alt.Axis(format=".0%") if "rate" in metric else alt.Axis()),
        tooltip=[alt.Tooltip(f"{key}:N", title=title_x or key), alt.Tooltip(f"{metric}:Q", format=".3f", title=title_y or metric),
                 alt.Tooltip("customers:Q", format=",")],
    )
    if base_rate is not None:
        rule = alt.Chart(pd.DataFrame({"base": [base_rate]})).mark_rule(strokeDash=[4, 4], color="gray").encode(y="base:Q")
        return (bars + rule).properties(height=280)
    return bars.properties(height=280)


def build_decile_chart(deciles, column, title_x=None, title_y=None):
    """Churn rate by decile of one column."""
    import altair as alt

    data = deciles[deciles["column"] == column][["decile", "churn_rate", "customers", "low", "high"]]
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("decile:O", title=title_x or "decile"),
        y=alt.Y("churn_rate:Q", title=title_y or "churn_rate", axis=alt.Axis(format=".0%")),
        tooltip=["decile", "low", "high", alt.Tooltip("customers:Q", format=","), alt.Tooltip("churn_rate:Q", format=".1%")],
    ).properties(height=260)
