"""Column roles (id, label, numeric, categorical, boolean, date, text) and churn-label detection.

``detect_roles(df)`` finds the churn label and its positive value across naming styles
(``Exited`` = 1, ``Churn`` = ``Yes``, ``Attrition_Flag`` = ``Attrited Customer``, ``是否流失`` = ``是``,
``status`` = ``closed``...), the identifier columns (by name and by near-uniqueness) and a role for
every other column. The user corrects any of it with :meth:`Roles.with_role` /
:meth:`Roles.with_label`; :func:`label_to_binary` turns the label into 1/0/NA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from churn_core.data.colstats import all_integral, distinct_count, first_distinct, release_memory
from churn_core.errors import ChurnCoreError
from churn_core.jsonutil import to_jsonable

__all__ = [
    "ROLES",
    "Roles",
    "detect_roles",
    "detect_label",
    "detect_positive",
    "coerce_positive",
    "label_to_binary",
    "id_name_strength",
    "normalize_name",
]

ROLES = ("id", "label", "numeric", "categorical", "boolean", "date", "text")

# ---- label names, scored (higher wins) ------------------------------------------------------
_LABEL_EXACT = {
    # 100: unmistakable churn labels
    **{name: 100 for name in [
        "churn", "churned", "churner", "is_churn", "is_churned", "churn_flag", "churn_label",
        "churn_value", "churn_status", "churn_yn", "churn_ind", "churn_indicator", "has_churned",
        "will_churn", "churn_next_quarter", "churned_next_quarter", "exited", "exit", "exit_flag",
        "attrition", "attrition_flag", "attrited", "is_attrited", "attrition_status",
        "流失", "是否流失", "流失标志", "流失标识", "流失状态", "是否已流失", "流失客户", "客户流失",
        "是否流失客户", "流失与否", "离网", "是否离网", "销户", "是否销户", "流失标签",
    ]},
    # 80: strong words for leaving
    **{name: 80 for name in [
        "left", "has_left", "is_left", "leave", "lost", "is_lost", "closed", "account_closed",
        "is_closed", "cancelled", "canceled", "terminated", "defected", "departed", "stopped",
        "退出", "是否退出", "已销户", "是否离开", "离开",
    ]},
    # 50: generic target names (need churn-like values or a binary 0/1 / yes/no column)
    **{name: 50 for name in [
        "label", "target", "y", "class", "outcome", "status", "customer_status", "account_status",
        "客户状态", "状态", "标签", "目标",
    ]},
}
_LABEL_SUBSTRINGS = [("churn", 90), ("attrit", 90), ("流失", 90), ("离网", 85), ("销户", 85),
                     ("exited", 85)]
# names that contain a churn word but are not the label
_NOT_LABEL = re.compile(r"(score|prob|probability|reason|category|risk|predict|date|time|month|"
                        r"reason|原因|概率|日期|时间|评分|风险)")

# ---- positive / negative values -------------------------------------------------------------
_POSITIVE_TOKENS = {
    "1", "1.0", "yes", "y", "true", "t", "churn", "churned", "churner", "attrited",
    "attrited customer", "exited", "exit", "left", "leave", "lost", "closed", "cancelled",
    "canceled", "terminated", "gone", "inactive", "defected", "departed", "former", "stopped",
    "是", "流失", "已流失", "流失客户", "是流失", "离网", "已离网", "销户", "已销户", "退出", "已退出",
    "离开", "已离开", "关闭", "已关闭", "y(是)",
}
_NEGATIVE_TOKENS = {
    "0", "0.0", "no", "n", "false", "f", "stay", "stayed", "retained", "active", "existing",
    "existing customer", "current", "open", "remain", "remained", "not churned", "no churn",
    "否", "未流失", "非流失", "不流失", "在网", "正常", "留存", "存续", "保留", "活跃", "未销户", "在用",
}
_POSITIVE_WORDS = re.compile(r"(churn|attrit|exit|left|lost|closed|cancel|terminat|defect|流失|离网|销户|"
                             r"退出|离开)")
_NEGATION = re.compile(r"(\bnot\b|\bnon|\bno\b|\bnever\b|未|不|非|无|existing|retain|stay|active)")

# ---- identifier names -----------------------------------------------------------------------
_ID_NAMES = {
    "id", "customer_id", "customerid", "cust_id", "custid", "customer_no", "customer_number",
    "customer_code", "client_id", "clientid", "clientnum", "client_num", "client_no",
    "client_number", "account_id", "accountid", "account_no", "account_number", "acct_id",
    "acct_no", "member_id", "member_no", "user_id", "userid", "subscriber_id", "contract_id",
    "row_number", "rownumber", "row_id", "rowid", "row", "index", "idx", "no", "num", "sn",
    "serial", "serial_no", "record_id", "customer_key", "cif", "cif_no", "uuid", "guid",
    "客户号", "客户编号", "客户id", "客户代码", "客户编码", "客户账号", "编号", "序号", "账号", "账户",
    "账户号", "卡号", "用户id", "用户编号", "用户号", "会员号", "会员编号", "身份证号", "证件号",
    "合同号", "行号", "记录号",
}
_ID_SUFFIX = re.compile(r"(_id|_no|_num|_number|_key|_code|编号|号)$")
_ID_COMPACT = {n.replace("_", "") for n in _ID_NAMES}
_ID_TOKENS = {"id", "uuid", "guid", "rowid"}
_ID_SUFFIX_TOKENS = {"no", "number", "num", "code", "key", "nr", "index", "idx"}
_ID_ZH = ["客户号", "编号", "客户编号", "序号", "账号", "帐号", "卡号", "证件号", "身份证", "客户id", "用户id"]

_BOOL_PAIRS = [
    {"0", "1"}, {"yes", "no"}, {"y", "n"}, {"true", "false"}, {"t", "f"}, {"是", "否"},
    {"有", "无"}, {"1.0", "0.0"},
]


def normalize_name(name):
    """``"CustomerId"`` -> ``"customer_id"``, ``"Attrition Flag"`` -> ``"attrition_flag"``."""
    text = str(name).strip()
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = text.lower()
    text = re.sub(r"[\s\-./()\[\]]+", "_", text)
    text = re.sub(r"_+", "_", text).strip("_")
    return text


def _compact(name):
    return normalize_name(name).replace("_", "")


@dataclass(frozen=True)
class Roles:
    """Column roles of a table plus its churn label.

    Attributes
    ----------
    roles : dict
        ``{column: role}`` with role in :data:`ROLES`.
    label : str or None
        The churn label column.
    positive : object or None
        The label value that means "churned", as it appears in the frame (``1``, ``"Yes"``,
        ``"Attrited Customer"``, ``"是"``...).
    id_columns : list of str
        Identifier columns (excluded from models), in column order.
    fallback : dict
        Role each column would have if it were not the label or an id (used when the user changes
        the label or an id back).
    """

    roles: dict
    label: str | None = None
    positive: object = None
    id_columns: list = field(default_factory=list)
    fallback: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        for col, role in self.roles.items():
            if role not in ROLES:
                raise ChurnCoreError("roles.unknown_role", f"Unknown role {role!r} for column {col!r}.",
                                     role=role, column=col)
        if self.label is not None and self.roles.get(self.label) != "label":
            raise ChurnCoreError("roles.unknown_column", f"Label column {self.label!r} is not in the table.",
                                 column=self.label)

    @property
    def columns(self):
        return list(self.roles)

    def columns_with(self, *roles):
        """Columns whose role is one of ``roles``, in table order."""
        return [c for c, r in self.roles.items() if r in roles]

    @property
    def features(self):
        """Columns a model may use: everything except ids, the label and free text."""
        return self.columns_with("numeric", "categorical", "boolean", "date")

    def _check_column(self, column):
        if column not in self.roles:
            raise ChurnCoreError("roles.unknown_column", f"There is no column {column!r}.", column=column)

    def with_role(self, column, role, positive=None):
        """A copy with ``column`` given ``role`` (``"label"`` makes it the churn label)."""
        self._check_column(column)
        if role not in ROLES:
            raise ChurnCoreError("roles.unknown_role", f"Unknown role {role!r}.", role=role, column=column)
        if role == "label":
            return self.with_label(column, positive)
        roles = dict(self.roles)
        roles[column] = role
        label, pos = self.label, self.positive
        if column == self.label:
            label, pos = None, None
        ids = [c for c in roles if roles[c] == "id"]
        return replace(self, roles=roles, label=label, positive=pos, id_columns=ids)

    def with_label(self, column, positive=None):
        """A copy with ``column`` as the churn label and ``positive`` as its churned value.

        ``column=None`` removes the label (the old label column gets back its fallback role).
        """
        roles = dict(self.roles)
        if self.label is not None and self.label != column:
            roles[self.label] = self.fallback.get(self.label, "categorical")
        if column is None:
            ids = [c for c in roles if roles[c] == "id"]
            return replace(self, roles=roles, label=None, positive=None, id_columns=ids)
        self._check_column(column)
        roles[column] = "label"
        ids = [c for c in roles if roles[c] == "id"]
        return replace(self, roles=roles, label=column, positive=positive, id_columns=ids)

    def to_dict(self):
        return {
            "roles": dict(self.roles),
            "label": self.label,
            "positive": to_jsonable(self.positive),
            "id_columns": list(self.id_columns),
        }



# ---- detection --------------------------------------------------------------------------------


def _distinct(series, limit=None):
    if limit is not None:
        # the first limit + 1 values: reads a head of the column when it already has that many
        return first_distinct(series, limit)
    return list(series.dropna().unique())


def _token(value):
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip().strip(".!?").strip().lower()


def _value_kind(value):
    """+1 churned-like, -1 stayed-like, 0 unknown."""
    tok = _token(value)
    if tok in _POSITIVE_TOKENS:
        return 1
    if tok in _NEGATIVE_TOKENS:
        return -1
    if _POSITIVE_WORDS.search(tok):
        return -1 if _NEGATION.search(tok) else 1
    if _NEGATION.search(tok):
        return -1
    return 0


def detect_positive(series):
    """The value of ``series`` that means churned, as a plain Python value (or None).

    See :func:`_detect_positive` for the rules.
    """
    return to_jsonable(_detect_positive(series))


def _detect_positive(series):
    """The value of ``series`` that means churned (None if the column is not label-like).

    Rules: the one churn-like value (``1``, ``Yes``, ``True``, ``Attrited Customer``, ``是``,
    ``closed``...) among at most a few distinct values; for two values that are not recognised, the
    rarer one (churn is the minority in practice).
    """
    values = _distinct(series, limit=10)
    if len(values) < 2 or len(values) > 10:
        return None
    kinds = {_value_key(v): _value_kind(v) for v in values}
    positives = [v for v in values if kinds[_value_key(v)] == 1]
    negatives = [v for v in values if kinds[_value_key(v)] == -1]
    if len(values) == 2:
        if len(positives) == 1:
            return positives[0]
        if len(negatives) == 1:
            return next(v for v in values if kinds[_value_key(v)] != -1)
        if len(positives) == 2 or len(negatives) == 2:
            return None
        counts = series.value_counts()
        return counts.index[-1] if counts.iloc[-1] < counts.iloc[0] else None
    if len(positives) >= 1 and negatives:
        # several statuses: the most common churn-like one is "churned"
        counts = series.value_counts()
        return max(positives, key=lambda v: counts.get(v, 0))
    return None


def _value_key(value):
    return (type(value).__name__, str(value))


def _label_name_score(name):
    norm = normalize_name(name)
    if _NOT_LABEL.search(norm) and not norm.endswith(("flag", "label", "status")):
        return 0
    score = _LABEL_EXACT.get(norm, 0) or _LABEL_EXACT.get(_compact(name), 0)
    for word, value in _LABEL_SUBSTRINGS:
        if word in norm:
            score = max(score, value)
    # "churn" inside camel or compact names, e.g. "ChurnFlag", "IsChurn"
    compact = _compact(name)
    if score == 0 and compact.startswith(("is", "has")) and compact[2:] in {"churn", "churned", "left",
                                                                            "exited", "lost"}:
        score = 95
    return score


def detect_label(df):
    """``(column, positive)`` of the churn label, or ``(None, None)``.

    Name evidence first (scored), then values: the label must have 2 (or a few) distinct values
    with a recognisable churned value. Without a matching name, a two-valued column whose values
    themselves say churned/stayed (``Attrited Customer`` / ``Existing Customer``) is taken.
    """
    candidates = []
    for order, col in enumerate(df.columns):
        score = _label_name_score(col)
        if not score:
            continue
        series = df[col]
        nunique = series.nunique(dropna=True)
        if nunique < 2 or nunique > 10:
            continue
        positive = detect_positive(series)
        if positive is None:
            continue
        kind = _value_kind(positive)
        if score <= 50 and kind != 1:
            # generic names (status, target) need an explicit churned value, or 0/1, yes/no
            if not _is_boolean_values(series):
                continue
        if nunique > 2 and kind != 1:
            continue
        candidates.append((score, nunique == 2, -order, col, positive))
    if candidates:
        candidates.sort(reverse=True)
        _, _, _, col, positive = candidates[0]
        return col, to_jsonable(positive)
    # values only: "Attrited Customer" / "Existing Customer", "流失" / "未流失"
    for col in df.columns:
        series = df[col]
        if series.dtype.kind in "biufcM":
            continue
        values = _distinct(series, limit=2)
        if len(values) != 2:
            continue
        kinds = [_value_kind(v) for v in values]
        if sorted(kinds) == [-1, 1] and any(_POSITIVE_WORDS.search(_token(v)) for v in values):
            return col, to_jsonable(values[kinds.index(1)])
    return None, None


def _is_boolean_values(series):
    if series.dtype == bool or str(series.dtype) == "boolean":
        return True
    values = {_token(v) for v in _distinct(series, limit=3)}
    return len(values) == 2 and any(values == pair for pair in _BOOL_PAIRS)


def id_name_strength(name):
    """How surely a column *name* is an identifier: ``"strong"`` (``CustomerId``, ``client_num``,
    a token ``id``/``uuid``, ``客户编号``...), ``"weak"`` (a suffix such as ``_no``, ``_code``,
    ``号``: an id only if its values are nearly unique) or None.

    The one id-name rule of the app: roles and the model's pre-training gate both ask it.
    """
    norm = normalize_name(name)
    compact = _compact(name)
    tokens = [t for t in re.split(r"[^0-9a-z]+", norm) if t]
    if norm in _ID_NAMES or compact in _ID_COMPACT or any(t in _ID_TOKENS for t in tokens) \
            or any(z in compact for z in _ID_ZH):
        return "strong"
    if _ID_SUFFIX.search(norm) or (tokens and tokens[-1] in _ID_SUFFIX_TOKENS) or "号" in str(name):
        return "weak"
    return None


_is_id_name = id_name_strength


def _column_role(series, name, n_rows):
    """Role of a non-label column (id/boolean/numeric/date/categorical/text)."""
    values = series.dropna() if series.hasnans else series  # no copy of a complete column
    n = len(values)
    kind = series.dtype.kind
    if n == 0:
        return "categorical" if kind in "OUT" or str(series.dtype) == "str" else "numeric", False
    id_name = _is_id_name(name)
    integral = kind in "iu" or (kind == "f" and all_integral(values.to_numpy()))
    is_text = kind in "OUST" or str(series.dtype) in ("str", "string")
    if id_name == "strong" and (integral or is_text) and n >= 1000 \
            and distinct_count(values.iloc[:2000]) >= 1000:
        # 1,000 distinct among the first 2,000 values decides it without counting a million ids
        return "id", True
    nunique = distinct_count(values)  # exact, by sorting (no hash table over a million values)
    unique_ratio = nunique / n
    if id_name == "strong" and (integral or is_text) and (unique_ratio >= 0.5 or nunique >= 1000):
        return "id", True
    if id_name == "weak" and (integral or is_text) and unique_ratio >= 0.95 and n >= 20:
        return "id", True
    if kind == "M":
        return "date", False
    if kind == "b" or str(series.dtype) == "boolean":
        return "boolean", False
    if _is_boolean_values(series):
        return "boolean", False
    if kind in "iuf":
        if integral and nunique == n and n >= 100 and not _looks_measure(values):
            return "id", True
        return "numeric", False
    # text-like
    longest, mean_length = _text_lengths(values)
    if nunique == n and n >= 20 and longest <= 40 and not values.astype(str).str.contains(" ").any():
        return "id", True
    if mean_length > 40 and nunique > 20:
        return "text", False
    if nunique > 100 and unique_ratio > 0.1:
        return "text", False
    return "categorical", False


def _text_lengths(values):
    """Longest and mean length in characters of the (non-null) values as text."""
    pa_array = getattr(values.array, "_pa_array", None)
    if pa_array is not None and len(values):
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_string(pa_array.type) or pa.types.is_large_string(pa_array.type):
            lengths = pc.utf8_length(pa_array)  # 4 bytes a row, no text copy
            return pc.max(lengths).as_py(), pc.sum(lengths).as_py() / len(values)
    lengths = values.astype(str).str.len()
    return lengths.max(), lengths.mean()


def _looks_measure(values):
    """Unique integers that are amounts (a sum of money in cents) rather than an index/code."""
    arr = values.to_numpy()
    # ids are usually consecutive, or large codes of one width; amounts vary in width and sign
    if arr.min() < 0:
        return True
    consecutive = (arr.max() - arr.min() + 1) == len(arr)
    if consecutive:
        return False
    # number of digits of each value (all >= 0), without a text copy of the column
    widths = np.searchsorted(_POWERS_OF_TEN, arr.astype("int64"), side="right")
    return len(np.unique(widths)) > 2


_POWERS_OF_TEN = np.array([10 ** k for k in range(1, 19)], dtype="int64")


def detect_roles(df):
    """Detect the role of every column, the churn label and its positive value.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    Roles
    """
    if not isinstance(df, pd.DataFrame):
        raise ChurnCoreError("roles.bad_input", "detect_roles needs a pandas DataFrame.")
    label, positive = detect_label(df)
    roles, fallback = {}, {}
    n_rows = len(df)
    for col in df.columns:
        role, _ = _column_role(df[col], col, n_rows)
        fallback[col] = role
        roles[col] = role
    if label is not None:
        fallback[label] = "boolean" if _is_boolean_values(df[label]) else (
            "numeric" if df[label].dtype.kind in "iuf" else "categorical")
        roles[label] = "label"
    ids = [c for c in df.columns if roles[c] == "id"]
    if n_rows > 100_000:
        release_memory()  # the checks' column-sized temporaries go back to the system
    return Roles(roles=roles, label=label, positive=to_jsonable(positive), id_columns=ids,
                 fallback=fallback)


def coerce_positive(series, value):
    """The value of ``series`` that matches ``value`` (e.g. the CLI's ``"1"`` -> ``1``)."""
    if value is None:
        return None
    values = _distinct(series)
    for v in values:
        if v == value and type(v) is type(value):
            return to_jsonable(v)
    wanted = _token(value)
    for v in values:
        if _token(v) == wanted:
            return to_jsonable(v)
    raise ChurnCoreError(
        "roles.positive_not_found",
        f"The value {value!r} does not occur in column {series.name!r}.",
        value=str(value), column=str(series.name),
    )


def label_to_binary(series, positive):
    """1 where ``series`` equals ``positive``, 0 for other values, NA where missing or blank (Int8).

    The one label-to-0/1 of the app (the model, profiles, value and the workspace use it).
    """
    if positive is None:
        raise ChurnCoreError("roles.no_positive", "Choose which label value means 'churned'.",
                             column=str(series.name))
    positive = coerce_positive(series, positive)
    missing = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        missing = missing | series.astype("string").str.strip().fillna("").eq("").to_numpy(dtype=bool)
    if isinstance(positive, (bool, np.bool_)) or series.dtype == bool or str(series.dtype) == "boolean":
        hit = series.fillna(False).astype(bool).to_numpy() == bool(positive)
    elif series.dtype.kind in "iuf":
        hit = (series.to_numpy(dtype="float64", na_value=np.nan) == float(positive))
    else:
        hit = (series.astype(str).to_numpy() == str(positive))
    out = pd.array(np.where(hit, 1, 0).astype("int8"), dtype="Int8")
    out[missing] = pd.NA
    return pd.Series(out, index=series.index, name=series.name)


_CUSTOMER_WORDS = re.compile(r"cust|client|member|user|account|acct|cif|客户|用户|会员|账")


def preferred_id_column(id_columns):
    """The id column to show and join on: a customer number before a row number (``CustomerId``
    before ``RowNumber``), else the first id column; None when there is none."""
    ids = list(id_columns or [])
    for col in ids:
        if _CUSTOMER_WORDS.search(str(col).lower()):
            return col
    return ids[0] if ids else None


MAX_LABEL_VALUES = 20


def validate_label(series, column):
    """Check that ``series`` can be a churn label; raise an error that names the problem.

    A label needs two to :data:`MAX_LABEL_VALUES` distinct values (customers who left and who
    stayed); one value is named with the column, too many values means it is not a yes/no column.
    """
    values = pd.unique(series.dropna())
    if len(values) == 0:
        raise ChurnCoreError("roles.label_empty", f"The churn column {column!r} is empty.", column=str(column))
    if len(values) == 1:
        only = values[0].item() if hasattr(values[0], "item") else values[0]
        raise ChurnCoreError("roles.label_one_class",
                             f"The churn column {column!r} has only one value ({only!r}): the model needs "
                             "customers who left and customers who stayed.", column=str(column), value=str(only))
    if len(values) > MAX_LABEL_VALUES:
        raise ChurnCoreError("roles.label_too_many_values",
                             f"The churn column {column!r} has {len(values)} different values; a churn column "
                             f"has two (left / stayed), at most {MAX_LABEL_VALUES}. Choose another column.",
                             column=str(column), values=len(values))
