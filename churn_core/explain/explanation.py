"""The explanation contract (:class:`Explanation`) and :func:`compute_explanation`.

Contributions are TreeSHAP values in log-odds (the model's margin) and satisfy
``base_value + contributions.sum(axis=1) == margin`` for every customer up to float32 rounding
(:mod:`churn_core.explain.treeshap` computes them; the margin is the model's own prediction, so an
explanation's risks are the model's probabilities to the last digit). Model columns that belong to one business
feature (``model.feature_map_``) are summed back to that feature, which is shown under its original
name (``model.display_names_``, Chinese or English).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError
from churn_core.explain.treeshap import _raw_contribs


# --------------------------------------------------------------------------------------------
# the contract
# --------------------------------------------------------------------------------------------
@dataclass
class Explanation:
    """SHAP contributions of a set of customers, one column per business feature.

    Attributes
    ----------
    customer_ids : numpy.ndarray
        One id per row (the model's id column, else the frame's index).
    index : pandas.Index
        The index of the explained rows in the input frame.
    columns : tuple of str
        Business column of each feature (``model.feature_map_`` values), matrix order.
    features : tuple of str
        Name shown to users for each feature (its original name).
    contributions : numpy.ndarray
        ``(n_rows, n_features)`` float32 log-odds contributions (the wide form, fast to slice).
    values : pandas.DataFrame
        The customers' values of each business column (original, untransformed), ``columns`` order.
    base_value : float
        Expected margin (log-odds) of the model: the starting point of every waterfall.
    margin : numpy.ndarray
        Model margin of each row (the booster's own prediction); equals
        ``base_value + contributions.sum(axis=1)`` up to float32 rounding.
    proba : numpy.ndarray
        Risk of each row from the margin (see module notes).
    """

    customer_ids: np.ndarray
    index: pd.Index
    columns: tuple
    features: tuple
    contributions: np.ndarray
    values: pd.DataFrame
    base_value: float
    margin: np.ndarray
    proba: np.ndarray
    model_key: str = ""
    extra: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.customer_ids)

    @property
    def n_features(self):
        return len(self.features)

    @property
    def prob_fn(self):
        """The margin-to-risk function (the model's calibration, else the logistic function)."""
        return self.extra.get("prob_fn", _sigmoid)

    @property
    def base_risk(self):
        """Base risk: the calibrated probability at the base value (the start of every waterfall)."""
        return float(self.prob_fn(np.array([self.base_value], dtype=np.float64))[0])

    @property
    def base_proba(self):
        """Same as :attr:`base_risk` (older name)."""
        return self.base_risk

    @cached_property
    def risk_move(self):
        """``100 * (risk - base risk)`` of each row, in percentage points (float64)."""
        return 100.0 * (np.asarray(self.proba, dtype=np.float64) - self.base_risk)

    @cached_property
    def _point_scale(self):
        """Points per log-odds unit of each row, and a per-row correction (see :meth:`points`)."""
        return point_scale(self.contributions, self.margin, self.risk_move, self.prob_fn)

    def points(self, positions=None, features=None):
        """Percentage points of risk of each driver: the one attribution scale of every view.

        Each driver gets the share of the row's whole move from the base risk to its risk that its
        log-odds contribution has of the row's total contribution, so a row's points sum exactly to
        ``100 * (risk - base risk)`` (:attr:`risk_move`) and keep the sign of their contribution:
        ``points[i, j] = risk_move[i] * c[i, j] / sum_j c[i, j]``. A saturated customer (99.8%,
        base 20%) thus gets all of its 79.8 points shared out, not the few points that removing one
        driver would change.

        Parameters
        ----------
        positions : array-like of int, optional
            Row positions (default: every row).
        features : array-like of int, optional
            Per row, one feature position (``(len(positions),)`` or ``(len(positions), k)``): return
            only those points, same shape (used to price the top reasons without the full matrix).

        Returns
        -------
        numpy.ndarray
            float64 ``(rows, features)``, or the shape of ``features``.
        """
        scale, fix_col, fix = self._point_scale
        rows = np.arange(len(self)) if positions is None else np.asarray(positions, dtype=np.int64)
        if features is None:
            out = self.contributions[rows].astype(np.float64) * scale[rows, None]
            out[np.arange(len(rows)), fix_col[rows]] += fix[rows]
            return out
        feats = np.asarray(features, dtype=np.int64)
        r = rows.reshape(-1, *([1] * (feats.ndim - 1)))
        out = self.contributions[r, feats].astype(np.float64) * scale[r]
        out += np.where(feats == fix_col[r], fix[r], 0.0)
        return out

    @cached_property
    def frame(self):
        """Tidy form: ``customer_id, feature, value, contribution`` (+ ``column``), row-major."""
        n, f = self.contributions.shape
        values = np.empty((n, f), dtype=object)
        for j, col in enumerate(self.columns):
            values[:, j] = self.values[col].to_numpy(dtype=object)
        return pd.DataFrame(
            {
                "customer_id": np.repeat(self.customer_ids, f),
                "feature": np.tile(np.array(self.features, dtype=object), n),
                "value": values.reshape(-1),
                "contribution": self.contributions.reshape(-1).astype(np.float64),
                "column": np.tile(np.array(self.columns, dtype=object), n),
            }
        )

    @property
    def matrix(self):
        """Wide form: a DataFrame ``rows x features`` (display names) of contributions."""
        return pd.DataFrame(self.contributions, index=self.index, columns=list(self.features))

    def position(self, customer_id):
        """Row position of a customer id (``ChurnCoreError`` if unknown)."""
        ids = pd.Index(self.customer_ids.astype(str))
        hits = np.flatnonzero(ids == str(customer_id))
        if not len(hits):
            raise ChurnCoreError(
                "explain.unknown_customer",
                f"Customer {customer_id} is not in the explained table. Check the id.",
                customer_id=str(customer_id),
            )
        return int(hits[0])

    def subset(self, positions):
        """A new Explanation with only the given row positions."""
        positions = np.asarray(positions)
        return Explanation(
            customer_ids=self.customer_ids[positions],
            index=self.index[positions],
            columns=self.columns,
            features=self.features,
            contributions=self.contributions[positions],
            values=self.values.iloc[positions].reset_index(drop=True),
            base_value=self.base_value,
            margin=self.margin[positions],
            proba=self.proba[positions],
            model_key=self.model_key,
            # settings carry over; per-row caches (keys starting with "_") belong to these rows only
            extra={k: v for k, v in self.extra.items() if not str(k).startswith("_")},
        )


# --------------------------------------------------------------------------------------------
# model plumbing
# --------------------------------------------------------------------------------------------
def _sigmoid(m):
    m = np.asarray(m, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-m))


def point_scale(contributions, margin, risk_move, prob_fn=_sigmoid):
    """Points per log-odds unit of each row (``risk_move / sum of contributions``) and a correction.

    The sum is taken over the contributions as stored (float32), so ``scale * c`` sums to
    ``risk_move`` up to float64 rounding. Where that sum is nearly zero or disagrees in sign with the
    move (a customer within float noise of the base), the scale is the slope of the risk curve at the
    customer's margin instead, and the tiny remainder goes to the row's largest driver, so the sum
    stays exact.

    Returns
    -------
    scale, fix_col, fix : numpy.ndarray
        ``(n,)`` float64 scale, ``(n,)`` int column of the correction, ``(n,)`` float64 correction
        (0 on ordinary rows).
    """
    c = np.asarray(contributions)
    n = c.shape[0]
    total = c.sum(axis=1, dtype=np.float64)
    move = np.asarray(risk_move, dtype=np.float64)
    ok = move * total >= 0
    # float32 noise of the sum is ~1e-7 of the drivers' absolute sum: only rows whose sum is small
    # can be drowned in it (checked there only; rows with |sum| >= 0.01 pass unless the drivers'
    # absolute sum exceeds 10,000 log-odds)
    small = np.flatnonzero(np.abs(total) < 1e-2)
    if len(small):
        size = np.abs(c[small]).sum(axis=1, dtype=np.float64)
        ok[small] &= np.abs(total[small]) > 1e-6 * (1.0 + size)
    scale = np.zeros(n, dtype=np.float64)
    scale[ok] = move[ok] / total[ok]
    fix_col = np.zeros(n, dtype=np.int64)
    fix = np.zeros(n, dtype=np.float64)
    bad = np.flatnonzero(~ok)
    if len(bad) and c.shape[1]:
        m = np.asarray(margin, dtype=np.float64)[bad]
        h = 1e-4
        scale[bad] = 100.0 * (prob_fn(m + h) - prob_fn(m - h)) / (2 * h)
        fix_col[bad] = np.argmax(np.abs(c[bad]), axis=1)
        fix[bad] = move[bad] - scale[bad] * total[bad]
    return scale, fix_col, fix


def margin_to_proba(model):
    """Function mapping margins to probabilities: the model's calibration if it has one."""
    fn = getattr(model, "proba_from_margin", None)
    if not callable(fn) and getattr(model, "calibrator_", None) is not None:
        fn = getattr(model, "_calibrate", None)  # ChurnModel's calibration of the margin
    if callable(fn):
        return lambda m: np.asarray(fn(np.asarray(m, dtype=np.float64)), dtype=np.float64)
    return _sigmoid


def _check_model(model):
    needed = ["booster_", "feature_names_", "transform"]
    missing = [a for a in needed if getattr(model, a, None) is None]
    if missing:
        raise ChurnCoreError(
            "explain.model_not_fitted",
            "The churn model is not trained yet. Train a model on the Model page first.",
        )


def _check_frame(df):
    if not isinstance(df, pd.DataFrame):
        raise ChurnCoreError("explain.not_a_table", "Pass the customers as a table (DataFrame).")
    if len(df) == 0:
        raise ChurnCoreError("explain.empty", "There are no customers to explain.")


def model_key(model):
    """A short identity of a fitted model, to key cached explanations on."""
    key = getattr(model, "fingerprint_", None) or getattr(model, "model_id_", None)
    if key:
        return str(key)
    return f"model-{id(model):x}-{id(getattr(model, 'booster_', None)):x}"


def _groups(model):
    """Business columns in model order and, for each, the positions of its model columns."""
    names = list(model.feature_names_)
    fmap = dict(getattr(model, "feature_map_", None) or {})
    disp = dict(getattr(model, "display_names_", None) or {})
    columns, positions = [], {}
    for i, safe in enumerate(names):
        col = fmap.get(safe, safe)
        if col not in positions:
            columns.append(col)
            positions[col] = []
        positions[col].append(i)
    features = []
    for col in columns:
        pos = positions[col]
        if len(pos) == 1:
            features.append(str(disp.get(names[pos[0]], col)))
        else:  # several model columns (e.g. one-hot pieces): show the business column
            features.append(str(col))
    return columns, features, [positions[c] for c in columns]


def _sum_back(raw, groups):
    """Sum model-column contributions (n, m) to business features (n, f)."""
    if all(len(g) == 1 for g in groups):
        idx = [g[0] for g in groups]
        if idx == list(range(raw.shape[1])):
            return np.ascontiguousarray(raw, dtype=np.float32)
        return np.ascontiguousarray(raw[:, idx], dtype=np.float32)
    out = np.empty((raw.shape[0], len(groups)), dtype=np.float32)
    for j, g in enumerate(groups):
        out[:, j] = raw[:, g].sum(axis=1)
    return out


def _margin(model, X, raw):
    """The model's own margin of each row when it can give it (then the explanation's risks are
    exactly the model's probabilities), else the TreeSHAP sum (equal up to float32 rounding)."""
    fn = getattr(model, "margin_of_matrix", None)
    if callable(fn):
        return np.asarray(fn(X), dtype=np.float64)
    return raw.sum(axis=1, dtype=np.float64)


def _matrix_columns(model, df, columns, names):
    """Columns of the model's matrix (named ``names``) that :func:`_values_frame` reads (those not in ``df``)."""
    safe_of = {}
    for safe, col in (getattr(model, "feature_map_", None) or {}).items():
        safe_of.setdefault(col, safe)
    names = list(names)
    out = []
    for col in columns:
        if col in df.columns:
            continue
        for cand in (safe_of.get(col), col):
            if cand in names and cand not in out:
                out.append(cand)
                break
    return out


def _values_frame(model, df, X, columns):
    data = {}
    safe_of = {}
    for safe, col in (getattr(model, "feature_map_", None) or {}).items():
        safe_of.setdefault(col, safe)
    for col in columns:
        if col in df.columns:
            data[col] = df[col].to_numpy()
        elif safe_of.get(col) in X.columns:
            data[col] = X[safe_of[col]].to_numpy()
        elif col in X.columns:
            data[col] = X[col].to_numpy()
        else:
            data[col] = np.full(len(df), np.nan)
    return pd.DataFrame(data)


def _customer_ids(model, df):
    id_col = getattr(model, "id_column_", None)
    if id_col and id_col in df.columns:
        return df[id_col].to_numpy()
    return df.index.to_numpy()


def stratified_sample_index(df, n, *, by=None, seed=0):
    """Positions of at most ``n`` rows, stratified on column ``by`` (proportional), sorted.

    Each stratum keeps its share of the rows (at least one row when it is present), so a rare
    class such as churners is not lost in the sample.
    """
    total = len(df)
    if n is None or n >= total:
        return np.arange(total)
    rng = np.random.default_rng(seed)
    if by is None or by not in df.columns:
        return np.sort(rng.choice(total, size=n, replace=False))
    codes, _ = pd.factorize(df[by], use_na_sentinel=False)
    picked = []
    for code in np.unique(codes):
        members = np.flatnonzero(codes == code)
        take = max(1, int(round(n * len(members) / total)))
        take = min(take, len(members))
        picked.append(rng.choice(members, size=take, replace=False))
    out = np.sort(np.concatenate(picked))
    if len(out) > n:
        out = np.sort(rng.choice(out, size=n, replace=False))
    return out


def _label_column(model, df):
    label = getattr(model, "label_", None)
    return label if label is not None and label in df.columns else None


# --------------------------------------------------------------------------------------------
# compute_explanation
# --------------------------------------------------------------------------------------------
def compute_explanation(model, df, *, sample=None, progress=None, chunk_size=250_000, seed=0,
                        method="auto"):
    """Explain every customer of ``df`` (or a stratified sample) with native TreeSHAP.

    Parameters
    ----------
    model : churn_core.modeling.model.ChurnModel
        A fitted churn model (``booster_``, ``transform``, ``feature_names_``, ``feature_map_``,
        ``display_names_``, ``id_column_``).
    df : pandas.DataFrame
        Customers with the model's business columns.
    sample : int, optional
        Explain at most this many rows, stratified on the label when ``df`` has it.
    progress : callable, optional
        ``progress(fraction, code)`` called after each chunk.
    chunk_size : int
        Rows per TreeSHAP call (memory stays ``chunk_size x n_columns``).
    method : {"auto", "patterns", "native"}
        ``"native"`` calls XGBoost's ``pred_contribs``; ``"patterns"`` computes the same exact
        values by split-outcome patterns (see the notes above ``_pattern_contribs``), about 50 times
        faster on large tables; ``"auto"`` uses patterns when the trees allow it.

    Returns
    -------
    Explanation
    """
    _check_model(model)
    _check_frame(df)
    if sample is not None:
        pos = stratified_sample_index(df, int(sample), by=_label_column(model, df), seed=seed)
        df = df.iloc[pos]
    columns, features, groups = _groups(model)
    n = len(df)
    contrib = np.empty((n, len(columns)), dtype=np.float32)
    margin = np.empty(n, dtype=np.float64)
    base = None
    # the shown values come from df, or from the model's matrix for derived columns: keep only those
    # columns of each chunk's matrix rather than transforming the whole table a second time
    needed = None
    X_parts = []
    for start in range(0, n, chunk_size):
        part = df.iloc[start : start + chunk_size]
        X = model.transform(part)
        raw = _raw_contribs(model, X, method=method)
        if base is None:
            base = float(raw[0, -1])
        contrib[start : start + len(part)] = _sum_back(raw[:, :-1], groups)
        margin[start : start + len(part)] = _margin(model, X, raw)
        if needed is None:
            needed = _matrix_columns(model, df, columns, X.columns)
        X_parts.append(X[needed])
        if progress is not None:
            progress(min(1.0, (start + len(part)) / n), "explain.contributions")
    X = pd.concat(X_parts) if len(X_parts) > 1 else (X_parts[0] if X_parts else model.transform(df.iloc[:1]))
    values = _values_frame(model, df, X, columns)
    prob_fn = margin_to_proba(model)
    return Explanation(
        customer_ids=_customer_ids(model, df),
        index=df.index,
        columns=tuple(columns),
        features=tuple(features),
        contributions=contrib,
        values=values,
        base_value=float(base),
        margin=margin,
        proba=prob_fn(margin),
        model_key=model_key(model),
        extra={"prob_fn": prob_fn},
    )
