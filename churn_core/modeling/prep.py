"""Pre-training gate and feature preparation for the churn model.

The gate *reports* before it fails: which value of the label counts as churn, how many rows had no
label, which columns were left out and why (identifiers, leakage, free text, constants...), which
columns look suspicious but were kept. :class:`Preprocessor` then turns a business table into the
matrix XGBoost sees: XGBoost-safe column names (the original, possibly Chinese, names are kept for
display), ``±inf`` as missing, text as pandas ``category`` with a fixed category list learnt at
training (rare values grouped as ``"__other__"``, values never seen at training become missing, so
scoring never crashes), dates as a number of days.

Reason codes (values of ``excluded`` / ``flagged``): ``label``, ``id_role``, ``id_name``,
``id_unique``, ``personal_name``, ``leakage``, ``post_outcome``, ``strong_predictor``,
``free_text``, ``constant``, ``all_missing``, ``snapshot_date``, ``date_unparsed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from churn_core.data.roles import detect_label, detect_positive, id_name_strength, label_to_binary
from churn_core.errors import ChurnCoreError

__all__ = [
    "PrepConfig",
    "GateReport",
    "Preprocessor",
    "compute_gate",
    "detect_snapshot_column",
    "safe_feature_names",
    "OTHER",
]

OTHER = "__other__"
RARE_LIMIT = 20_000

_PERSONAL_TOKENS = {"name", "surname", "lastname", "firstname", "fullname", "customername", "email",
                    "mail", "phone", "mobile", "telephone", "address", "street", "zip", "postcode"}
_PERSONAL_ZH = ["姓名", "名字", "姓氏", "电话", "手机", "地址", "邮箱"]
_POST_OUTCOME = ["closed", "closure", "close_date", "closedate", "attrition", "churn", "exit_date",
                 "exited_on", "terminat", "cancel", "deactivat", "注销", "销户", "流失", "离网",
                 "退出", "关户", "销卡"]
_SNAPSHOT_NAMES = ["snapshot", "as_of", "asof", "period", "quarter_end", "month_end", "obs_date",
                   "observation", "reference_date", "report_date", "快照", "统计日期", "数据日期",
                   "观察日期", "报告期"]


@dataclass(frozen=True)
class PrepConfig:
    """Settings of the pre-training gate.

    Parameters
    ----------
    min_churners : int
        Fewest churners (positive labels) needed to train.
    leak_exclude_auc : float
        A column whose out-of-fold AUC on its own reaches this is excluded as leakage.
    leak_flag_auc : float
        A column at or above this is flagged as a suspiciously strong predictor (kept, unless its
        name also says it is recorded after the outcome, then it is excluded).
    max_categories : int
        Most frequent values kept per text column; the rest become ``"__other__"``.
    id_unique_ratio : float
        Share of distinct values above which a text/integer column is treated as an identifier.
    free_text_min_length : float
        Mean length above which a high-cardinality text column is free text.
    leak_folds : int
        Folds of the out-of-fold leakage scan.
    leak_max_rows : int
        The leakage scan uses at most this many rows (a random sample).
    random_state : int
        Seed of the sampling in the leakage scan.
    """

    min_churners: int = 20
    leak_exclude_auc: float = 0.98
    leak_flag_auc: float = 0.90
    max_categories: int = 30
    id_unique_ratio: float = 0.95
    free_text_min_length: float = 30.0
    leak_folds: int = 3
    leak_max_rows: int = 200_000
    random_state: int = 0

    def __post_init__(self):
        if self.min_churners < 1:
            raise ValueError("min_churners must be at least 1")
        if not 0.5 < self.leak_flag_auc <= self.leak_exclude_auc <= 1.0:
            raise ValueError("need 0.5 < leak_flag_auc <= leak_exclude_auc <= 1")
        if self.max_categories < 2:
            raise ValueError("max_categories must be at least 2")
        if not 0.5 <= self.id_unique_ratio <= 1.0:
            raise ValueError("id_unique_ratio must be in [0.5, 1]")
        if self.leak_folds < 2:
            raise ValueError("leak_folds must be at least 2")


@dataclass
class GateReport:
    """What the gate found, shown to the user before training.

    Attributes
    ----------
    label, positive : the label column and the value that counts as churn.
    label_values : dict mapping each label value (as text) to its row count.
    n_rows, n_missing_label, n_used, n_churners : row counts.
    churn_rate : share of churners among the rows used.
    features : list of business columns used, in order.
    kinds : dict column -> "numeric" | "categorical" | "date".
    excluded : dict column -> reason code.
    flagged : dict column -> reason code (kept but worth a look).
    leak_auc : dict column -> out-of-fold AUC of the column on its own.
    snapshot_column : name of the snapshot date column or None.
    id_column : the customer identifier column or None.
    """

    label: str
    positive: object
    label_values: dict
    n_rows: int
    n_missing_label: int
    n_used: int
    n_churners: int
    churn_rate: float
    features: list
    kinds: dict
    excluded: dict
    flagged: dict
    leak_auc: dict = field(default_factory=dict)
    snapshot_column: str | None = None
    id_column: str | None = None

    def to_dict(self):
        """JSON-friendly dict."""
        return {
            "label": self.label,
            "positive": _jsonable(self.positive),
            "label_values": self.label_values,
            "n_rows": self.n_rows,
            "n_missing_label": self.n_missing_label,
            "n_used": self.n_used,
            "n_churners": self.n_churners,
            "churn_rate": self.churn_rate,
            "features": list(self.features),
            "kinds": dict(self.kinds),
            "excluded": dict(self.excluded),
            "flagged": dict(self.flagged),
            "leak_auc": {k: round(float(v), 4) for k, v in self.leak_auc.items()},
            "snapshot_column": self.snapshot_column,
            "id_column": self.id_column,
        }


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------- names

def _tokens(name):
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return [t for t in re.split(r"[^0-9A-Za-z]+", text.lower()) if t]


def _norm(name):
    return re.sub(r"[\s_\-]+", "", str(name).lower())


def _is_id_name(name):
    """An identifier by its name alone (the one rule: :func:`churn_core.data.roles.id_name_strength`)."""
    return id_name_strength(name) == "strong"


def _is_id_suffix_name(name):
    """A name that is an identifier when its values are unique (``account_no``, ``卡号``...)."""
    return id_name_strength(name) is not None


def _is_personal_name(name):
    low = _norm(name)
    if low in _PERSONAL_TOKENS:
        return True
    toks = _tokens(name)
    if toks and toks[-1] in {"name", "surname", "email", "phone", "address"} and len(toks) <= 3:
        return True
    return any(z in str(name) for z in _PERSONAL_ZH)


def _is_post_outcome_name(name):
    low = str(name).lower()
    return any(p in low for p in _POST_OUTCOME)


def safe_feature_names(names):
    """XGBoost-safe, unique, ASCII names for ``names`` (same order).

    Characters other than letters, digits and ``_`` become ``_`` (XGBoost rejects ``[ ] <``);
    a name left empty (e.g. a Chinese header) becomes ``f<i>``; duplicates get ``_2``, ``_3``...

    Examples
    --------
    >>> safe_feature_names(["age", "bal[1]", "年龄", "age"])
    ['age', 'bal_1', 'f2', 'age_2']
    """
    out, seen = [], set()
    for i, name in enumerate(names):
        safe = re.sub(r"[^0-9A-Za-z_]+", "_", str(name)).strip("_")
        if not safe:
            safe = f"f{i}"
        elif safe[0].isdigit():
            safe = f"f_{safe}"
        base, k = safe, 2
        while safe.lower() in seen:
            safe = f"{base}_{k}"
            k += 1
        seen.add(safe.lower())
        out.append(safe)
    return out


# ---------------------------------------------------------------- label
# One label detector and one label-to-0/1 for the whole app: churn_core.data.roles
# (``detect_positive`` and ``label_to_binary`` are re-exported here for existing imports).


# ---------------------------------------------------------------- column kinds

def _is_text(s):
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype)


# What ``pd.to_numeric`` can read once commas are removed: ASCII digits with signs, points, exponents
# and spaces, or the words inf / infinity / nan. A superset test, so a column with fewer candidates
# than the share cannot be numeric, found in one vectorised pass over the whole column (the parse
# itself took 0.55 s per text column on 1M rows, for the seven text columns of every table).
# (no inline flags: pandas then hands the match to pyarrow's RE2 instead of Python's re, 10x faster)
_NUMERIC_CANDIDATE = (r"[-+]?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])"
                      r"|[0-9.,+\-eE\s]*[0-9][0-9.,+\-eE\s]*")


def _candidate_share(text):
    """Share of the strings of ``text`` that match :data:`_NUMERIC_CANDIDATE` (pyarrow's RE2:
    0.03 s per million values, where pandas falls back to Python's ``re`` for ``\\s``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(text.array, type=pa.string()) if len(text) else pa.array([], type=pa.string())
    hits = pc.match_substring_regex(arr, f"^(?:{_NUMERIC_CANDIDATE})$")
    return float(pc.sum(hits).as_py() or 0) / max(len(text), 1)


def _to_numeric_if_mostly(s, share=0.95):
    """Text like ``TotalCharges`` (numbers with a few blanks) as float, else None."""
    txt = s.astype("string").str.strip()
    nonblank = txt[txt.fillna("").ne("")]
    if len(nonblank) == 0:
        return None
    if share > 0 and _candidate_share(nonblank) < share:
        return None
    num = pd.to_numeric(nonblank.str.replace(",", "", regex=False), errors="coerce")
    if num.notna().mean() >= share:
        return pd.to_numeric(txt.str.replace(",", "", regex=False), errors="coerce").astype("float64")
    return None


def _to_datetime_if_mostly(s, share=0.95):
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    if not _is_text(s) or isinstance(s.dtype, pd.CategoricalDtype):
        return None
    txt = s.dropna().astype("string").str.strip()
    txt = txt[txt.ne("")]
    if len(txt) == 0:
        return None
    sample = txt.iloc[:500]
    if not sample.str.match(r"^\d{4}[-/.年]\d{1,2}([-/.月]\d{1,2}日?)?([ T].*)?$").mean() >= share:
        return None
    parsed = pd.to_datetime(s.astype("string").str.replace("年", "-").str.replace("月", "-")
                            .str.replace("日", ""), errors="coerce", format="mixed")
    if parsed.notna().sum() >= share * len(txt):
        return parsed
    return None


def detect_snapshot_column(df, roles=None):
    """The snapshot-date column (a date with a few distinct values named like a period), or None."""
    for col in df.columns:
        low = str(col).lower()
        if not any(p in low for p in _SNAPSHOT_NAMES):
            continue
        dt = _to_datetime_if_mostly(df[col])
        if dt is None:
            continue
        n = dt.nunique(dropna=True)
        if 2 <= n <= 120:
            return col
    return None


# ---------------------------------------------------------------- leakage scan

def _binned_codes(s, kind, n_bins=20):
    """Integer codes of ``s`` (quantile bins for numbers, values for text), missing = its own code."""
    if kind == "categorical":
        codes = pd.Series(pd.Categorical(s.astype("string")).codes, index=s.index)
        return codes.to_numpy()
    x = pd.to_numeric(s, errors="coerce").astype("float64")
    x = x.where(np.isfinite(x))
    out = np.full(len(x), -1, dtype=np.int64)
    ok = x.notna().to_numpy()
    if ok.any():
        vals = x.to_numpy()[ok]
        if len(np.unique(vals)) <= n_bins:
            _, inv = np.unique(vals, return_inverse=True)
            out[ok] = inv
        else:
            edges = np.unique(np.quantile(vals, np.linspace(0, 1, n_bins + 1)[1:-1]))
            out[ok] = np.searchsorted(edges, vals, side="right")
    return out


def _fast_auc(y, score):
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties averaged."""
    ranks = pd.Series(score).rank(method="average").to_numpy()
    pos = y == 1
    n_pos = pos.sum()
    n_neg = len(y) - n_pos
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _oof_auc(codes, y, folds, rng):
    """Out-of-fold AUC of the per-code churn rate learnt on the other folds."""
    n = len(y)
    fold = rng.integers(0, folds, size=n)
    pred = np.empty(n, dtype=float)
    prior = y.mean()
    for k in range(folds):
        tr = fold != k
        te = ~tr
        frame = pd.DataFrame({"c": codes[tr], "y": y[tr]})
        stats = frame.groupby("c")["y"].agg(["sum", "count"])
        # light smoothing so a value seen once does not look perfect
        rate = (stats["sum"] + prior * 2) / (stats["count"] + 2)
        pred[te] = pd.Series(codes[te]).map(rate).fillna(prior).to_numpy()
    if len(np.unique(y)) < 2:
        return 0.5
    auc = _fast_auc(y, pred)
    return float(max(auc, 1 - auc))


# ---------------------------------------------------------------- gate

def compute_gate(df, label=None, positive=None, roles=None, config=None):
    """Check a table before training and decide which columns become features.

    Parameters
    ----------
    df : pandas.DataFrame
        The customer table, one row per customer (or per customer and snapshot).
    label : str, optional
        Label column; detected from ``roles`` or by name when omitted.
    positive : object, optional
        Label value meaning "churned"; detected when omitted.
    roles : churn_core.data.roles.Roles, optional
        Column roles from the Data page (id columns, label, text...).
    config : PrepConfig, optional

    Returns
    -------
    GateReport

    Raises
    ------
    ChurnCoreError
        ``model.no_label``, ``model.label_missing``, ``model.one_class``, ``model.too_few_churners``,
        ``model.no_features``.
    """
    config = config or PrepConfig()
    if not isinstance(df, pd.DataFrame) or len(df) == 0:
        raise ChurnCoreError("model.empty", "The table is empty: load a file with customers first.")
    role_map = dict(getattr(roles, "roles", {}) or {})
    if label is None and roles is not None:
        label = getattr(roles, "label", None)
        if positive is None:
            positive = getattr(roles, "positive", None)
    if label is None:
        label, detected = detect_label(df)
        if positive is None:
            positive = detected
    if label is None:
        raise ChurnCoreError("model.no_label", "No churn label column was found: choose the column "
                             "that says whether a customer left.")
    if label not in df.columns:
        raise ChurnCoreError("model.label_missing", f"The label column '{label}' is not in the table.",
                             column=str(label))
    raw = df[label]
    if positive is None:
        positive = detect_positive(raw)
    try:
        y = label_to_binary(raw, positive).astype("Float64").astype(float)
    except ChurnCoreError as exc:
        if exc.code != "roles.positive_not_found":
            raise
        # the churned value never occurs: every labelled row is a stayer (one class, refused below)
        y = label_to_binary(raw, raw.dropna().iloc[0]).astype("Float64").astype(float) * 0.0 if raw.notna().any() \
            else pd.Series(np.nan, index=raw.index)
    n_rows = len(df)
    n_missing = int(y.isna().sum())
    label_values = {str(k): int(v) for k, v in raw.value_counts(dropna=True).items()}
    n_classes = raw.dropna().nunique()
    used = y.notna()
    yv = y[used].to_numpy()
    n_churners = int(yv.sum())
    if n_classes < 2 or n_churners == 0 or n_churners == len(yv):
        raise ChurnCoreError("model.one_class", f"The label '{label}' has only one class among the "
                             f"labelled rows: training needs both churners and stayers.",
                             column=str(label))
    if n_churners < config.min_churners:
        raise ChurnCoreError("model.too_few_churners", f"Only {n_churners} churners "
                             f"('{label}' = {positive}); at least {config.min_churners} are needed "
                             f"to train a model.", churners=n_churners, minimum=config.min_churners)

    dfu = df.loc[used]
    snapshot = detect_snapshot_column(df, roles)
    id_cols = list(getattr(roles, "id_columns", []) or [])
    excluded, flagged, kinds, leak = {}, {}, {}, {}
    n = len(dfu)
    candidates = []
    for col in df.columns:
        if col == label:
            continue
        s = dfu[col]
        if col == snapshot:
            excluded[col] = "snapshot_date"
            continue
        if col in id_cols or role_map.get(col) == "id":
            excluded[col] = "id_role"
            continue
        if _is_id_name(col):
            excluded[col] = "id_name"
            continue
        nonnull = s.dropna()
        if len(nonnull) == 0:
            excluded[col] = "all_missing"
            continue
        nuniq = nonnull.nunique()
        if nuniq <= 1 and len(nonnull) == len(s):
            # one value and no gaps; one value WITH gaps still carries information (e.g. a
            # closure date filled only for churners) and goes to the leakage scan
            excluded[col] = "constant"
            continue
        ratio = nuniq / max(len(nonnull), 1)
        if _is_personal_name(col) and _is_text(s):
            excluded[col] = "personal_name"
            continue
        kind = None
        if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
            kind = "numeric"
            is_int = pd.api.types.is_integer_dtype(s.dtype) or (
                pd.api.types.is_float_dtype(s.dtype) and np.all(np.mod(nonnull.to_numpy(dtype=float), 1) == 0))
            if is_int and ratio >= config.id_unique_ratio and len(nonnull) >= 50:
                vals = np.sort(nonnull.to_numpy(dtype=float))
                sequential = np.mean(np.diff(vals) == 1) >= 0.9
                if sequential or _is_id_suffix_name(col):
                    excluded[col] = "id_unique"
                    continue
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            kind = "date"
        elif _is_text(s):
            if isinstance(s.dtype, pd.CategoricalDtype):
                kind = "categorical"
            elif _to_datetime_if_mostly(s) is not None:
                kind = "date"
            elif _to_numeric_if_mostly(s) is not None:
                kind = "numeric"
            else:
                kind = "categorical"
                if role_map.get(col) == "text":
                    excluded[col] = "free_text"
                    continue
                if ratio >= config.id_unique_ratio and len(nonnull) >= 50:
                    excluded[col] = "id_unique"
                    continue
                mean_len = nonnull.astype("string").str.len().mean()
                if nuniq > max(config.max_categories * 5, 100) and (ratio > 0.5 or mean_len >= config.free_text_min_length):
                    excluded[col] = "free_text"
                    continue
        else:
            excluded[col] = "free_text"
            continue
        if kind == "date" and not pd.api.types.is_datetime64_any_dtype(s.dtype):
            if _to_datetime_if_mostly(df[col]) is None:
                excluded[col] = "date_unparsed"
                continue
        kinds[col] = kind
        candidates.append(col)

    # leakage scan: each candidate alone, out of fold
    rng = np.random.default_rng(config.random_state)
    idx = np.arange(n)
    if n > config.leak_max_rows:
        idx = np.sort(rng.choice(n, size=config.leak_max_rows, replace=False))
    ys = yv[idx]
    features = []
    for col in candidates:
        s = dfu[col].iloc[idx]
        kind = kinds[col]
        if kind == "date":
            s = _to_datetime_if_mostly(s)
            s = pd.Series(s.to_numpy().astype("datetime64[ns]").astype("int64"), index=s.index).where(s.notna())
            kind_scan = "numeric"
        elif kind == "numeric" and _is_text(s):
            s = _to_numeric_if_mostly(s)
            kind_scan = "numeric"
        else:
            kind_scan = kind
        if kind_scan == "categorical":
            s = s.astype("string")
        auc = _oof_auc(_binned_codes(s, kind_scan), ys, config.leak_folds,
                       np.random.default_rng(config.random_state + 1))
        leak[col] = auc
        post = _is_post_outcome_name(col)
        if auc >= config.leak_exclude_auc:
            excluded[col] = "leakage"
        elif auc >= config.leak_flag_auc and post:
            excluded[col] = "post_outcome"
        else:
            if auc >= config.leak_flag_auc:
                flagged[col] = "strong_predictor"
            elif post:
                flagged[col] = "post_outcome"
            features.append(col)
    if not features:
        raise ChurnCoreError("model.no_features", "No usable feature columns are left after the checks: "
                             "every column is an identifier, the label, a leak or empty.")
    kinds = {c: kinds[c] for c in features}
    id_column = None
    for code in ("id_role", "id_name", "id_unique"):
        ids = [c for c, r in excluded.items() if r == code]
        if code == "id_role" and id_cols:
            ids = [c for c in id_cols if c in df.columns] or ids
        # a customer number beats a row number: CustomerId before RowNumber
        ids = sorted(ids, key=lambda c: (0 if re.search(r"cust|client|member|user|account|客户|用户",
                                                         str(c).lower()) else 1 if _is_id_name(c) else 2))
        if ids:
            id_column = ids[0]
            break
    return GateReport(
        label=label, positive=_jsonable(positive), label_values=label_values, n_rows=n_rows,
        n_missing_label=n_missing, n_used=int(used.sum()), n_churners=n_churners,
        churn_rate=float(n_churners / max(int(used.sum()), 1)), features=features, kinds=kinds,
        excluded=excluded, flagged=flagged, leak_auc=leak, snapshot_column=snapshot,
        id_column=id_column,
    )


# ---------------------------------------------------------------- preprocessor

class Preprocessor:
    """Turns business columns into the matrix the booster sees.

    Parameters
    ----------
    features : list of str
        Business columns, in model order.
    kinds : dict
        Column -> "numeric" | "categorical" | "date".
    max_categories : int
        Most frequent values kept per text column; the rest become ``"__other__"``.

    Attributes
    ----------
    feature_names_ : list of str
        XGBoost-safe names, same order as ``features``.
    display_names_ : dict
        Safe name -> original column name.
    categories_ : dict
        Business column -> list of category values learnt at fit.
    date_reference_ : dict
        Date column -> reference date (ISO text); the feature is days before it.
    """

    def __init__(self, features, kinds, max_categories=30, snapshot_column=None):
        self.features = list(features)
        self.kinds = dict(kinds)
        self.max_categories = max_categories
        self.snapshot_column = snapshot_column

    def fit(self, df):
        """Learn category lists and date references from the training rows; returns self."""
        missing = [c for c in self.features if c not in df.columns]
        if missing:
            raise ChurnCoreError("model.missing_columns", "Columns used by the model are missing: "
                                 + ", ".join(map(str, missing)), columns=", ".join(map(str, missing)))
        self.feature_names_ = safe_feature_names(self.features)
        self.display_names_ = dict(zip(self.feature_names_, self.features))
        self.categories_ = {}
        self.rare_ = {}
        self.date_reference_ = {}
        for col in self.features:
            kind = self.kinds[col]
            if kind == "categorical":
                s = self._as_text(df[col])
                counts = s.value_counts(dropna=True)
                # most frequent first, ties by value: the same data always gives the same list
                ordered = sorted(counts.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
                keep = [str(v) for v, _ in ordered[: self.max_categories]]
                if len(counts) > self.max_categories:
                    keep.append(OTHER)
                    rare = [str(v) for v, _ in ordered[self.max_categories:]]
                    # the rare values seen at training, so scoring groups them the same way; a
                    # list longer than RARE_LIMIT is not kept (None): then any value not in the
                    # kept categories is grouped as "other"
                    self.rare_[col] = rare if len(rare) <= RARE_LIMIT else None
                self.categories_[col] = keep
            elif kind == "date":
                d = _to_datetime_if_mostly(df[col])
                ref = d.max() if d is not None else pd.NaT
                self.date_reference_[col] = None if pd.isna(ref) else pd.Timestamp(ref).isoformat()
        return self

    @staticmethod
    def _as_text(s):
        return s.astype("string").str.strip().replace("", pd.NA)

    def transform(self, df):
        """The feature matrix: safe names, float / category columns, never raises on new values."""
        if not hasattr(self, "feature_names_"):
            raise ChurnCoreError("model.not_fitted", "Train the model first.")
        missing = [c for c in self.features if c not in df.columns]
        if missing:
            raise ChurnCoreError("model.missing_columns", "Columns used by the model are missing from "
                                 "the data: " + ", ".join(map(str, missing)),
                                 columns=", ".join(map(str, missing)))
        cols = {}
        snap = None
        if self.snapshot_column is not None and self.snapshot_column in df.columns:
            snap = _to_datetime_if_mostly(df[self.snapshot_column])
        for col, safe in zip(self.features, self.feature_names_):
            kind = self.kinds[col]
            s = df[col]
            if kind == "categorical":
                cats = self.categories_[col]
                txt = self._as_text(s)
                known = set(cats)
                if OTHER in known:
                    # rare values seen at training -> "other" (as in training); values never seen
                    # at training -> missing, unless the rare list was too long to keep
                    rare = self.rare_.get(col)
                    to_other = ~txt.isin(known) & txt.notna()
                    if rare is not None:
                        to_other &= txt.isin(set(rare))
                    txt = txt.where(~to_other, OTHER)
                vals = pd.Categorical(txt.where(txt.isin(known)), categories=cats)
                cols[safe] = pd.Series(vals, index=df.index)
            elif kind == "date":
                d = _to_datetime_if_mostly(s)
                if d is None:
                    d = pd.to_datetime(s, errors="coerce", format="mixed")
                ref = self.date_reference_.get(col)
                if snap is not None:
                    days = (snap - d).dt.total_seconds() / 86400.0
                elif ref is not None:
                    days = (pd.Timestamp(ref) - d).dt.total_seconds() / 86400.0
                else:
                    days = pd.Series(np.nan, index=df.index)
                cols[safe] = days.astype("float64")
            else:
                if _is_text(s):
                    x = _to_numeric_if_mostly(s, share=0.0)
                    if x is None:
                        x = pd.Series(np.nan, index=df.index)
                else:
                    x = pd.to_numeric(s, errors="coerce")
                x = x.astype("float64")
                cols[safe] = x.where(np.isfinite(x))
        return pd.DataFrame(cols, index=df.index)

    def to_dict(self):
        """JSON-friendly state."""
        return {
            "features": self.features,
            "kinds": self.kinds,
            "max_categories": self.max_categories,
            "snapshot_column": self.snapshot_column,
            "feature_names": self.feature_names_,
            "categories": self.categories_,
            "rare": self.rare_,
            "date_reference": self.date_reference_,
        }

    @classmethod
    def from_dict(cls, data):
        """Rebuild from :meth:`to_dict` output."""
        self = cls(data["features"], data["kinds"], data["max_categories"], data.get("snapshot_column"))
        self.feature_names_ = list(data["feature_names"])
        self.display_names_ = dict(zip(self.feature_names_, self.features))
        self.categories_ = {k: list(v) for k, v in data["categories"].items()}
        self.rare_ = {k: (None if v is None else list(v)) for k, v in data.get("rare", {}).items()}
        self.date_reference_ = dict(data["date_reference"])
        return self
