"""SHAP explanations of the churn model: one contract (:class:`Explanation`) for every view.

Contributions come from XGBoost's native, multithreaded TreeSHAP
(``Booster.predict(DMatrix, pred_contribs=True)``); they are in log-odds (the model's margin) and
satisfy ``base_value + contributions.sum(axis=1) == margin`` for every customer. Model columns that
belong to one business feature (``model.feature_map_``) are summed back to that feature, which is
shown under its original name (``model.display_names_``, Chinese or English).

Probability points
------------------
Sentences and waterfalls speak in probability points. A contribution ``c`` of a customer whose
margin is ``m`` is worth ``100 * (P(m) - P(m - c))`` points: how much lower the customer's risk would
be without that driver, everything else kept. ``P`` maps a margin to a probability with the model's
own calibration when it exposes one (``model.proba_from_margin``) and with the logistic function
otherwise. In a waterfall the drivers are added one after the other from the base value, so the steps
add up exactly to the customer's risk minus the base risk.
"""

from __future__ import annotations

import json
import math
import re
import weakref
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError

LANGS = ("en", "zh")
MIN_POINTS = 0.5  # a reason must raise the risk by at least half a probability point
MAX_CHART_POINTS = 5000

__all__ = [
    "Explanation", "SegmentComparison", "MIN_POINTS",
    "compute_explanation", "compute_global_importance", "compute_top_reasons", "iter_top_reasons",
    "compute_reason_codes", "format_reasons", "format_value", "points_from_contributions",
    "stratified_sample_index", "margin_to_proba", "model_key",
    "compute_beeswarm_data", "compute_dependence_data", "pick_interaction_partner",
    "compute_interaction_pairs", "compute_waterfall", "compute_segment_drivers",
    "compute_segment_comparison", "describe_segment_comparison",
    "build_importance_chart", "build_beeswarm_chart", "build_dependence_chart",
    "build_interaction_chart", "build_waterfall_chart", "build_segment_chart",
]


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
        Model margin of each row; equals ``base_value + contributions.sum(axis=1)``.
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
    def base_proba(self):
        """Risk at the base value."""
        return float(self.extra.get("prob_fn", _sigmoid)(np.array([self.base_value]))[0])

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
            extra=self.extra,
        )


# --------------------------------------------------------------------------------------------
# model plumbing
# --------------------------------------------------------------------------------------------
def _sigmoid(m):
    m = np.asarray(m, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-m))


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


def _dmatrix(model, X):
    import xgboost as xgb

    return xgb.DMatrix(X, enable_categorical=True, nthread=-1)


def _raw_contribs(model, X, interactions=False, method="auto"):
    """``(n, m + 1)`` TreeSHAP contributions of the model columns, bias last."""
    if interactions:
        return model.booster_.predict(_dmatrix(model, X), pred_interactions=True)
    if method not in ("auto", "patterns", "native"):
        raise ChurnCoreError("explain.bad_method", "method must be 'auto', 'patterns' or 'native'.")
    if method in ("patterns", "auto"):
        trees = _parsed_trees(model.booster_)
        if trees is not None:
            return _pattern_contribs(model.booster_, trees, X)
        if method == "patterns":
            raise ChurnCoreError(
                "explain.patterns_unsupported",
                "This model's trees are too deep for the pattern method; use method='native'.",
            )
    return model.booster_.predict(_dmatrix(model, X), pred_contribs=True)

# --------------------------------------------------------------------------------------------
# exact TreeSHAP by split-outcome patterns
# --------------------------------------------------------------------------------------------
# Path-dependent TreeSHAP of one tree depends on a row only through the outcome (left/right) of
# every split of that tree, so rows sharing a tree's outcome vector share its SHAP values exactly.
# Per tree we (1) compute every row's outcome bits with vectorised comparisons, (2) factorise the
# bit patterns (a few hundred distinct ones for a depth-4 tree, whatever the number of rows),
# (3) explain each distinct pattern from per-leaf tables computed once per model, and (4) add the
# pattern's values back to its rows. The per-leaf table holds, for every way a row can agree or
# disagree with the leaf's path, the Shapley values of the leaf's game
# ``v(S) = value * prod_{j in S} o_j * prod_{j in P \ S} z_j`` (``o_j``: the row follows the path
# at feature j's splits, ``z_j``: the share of training cover that does), which is exactly what
# TreeSHAP sums, repeated features on a path merged as TreeSHAP's "unwind" does. The result equals
# XGBoost's ``pred_contribs`` up to float rounding (tested) at a cost that grows with rows x splits
# instead of rows x leaves x depth^2.
_TREE_CACHE = weakref.WeakKeyDictionary()
_BIAS_CACHE = weakref.WeakKeyDictionary()
MAX_PATH = 6  # deeper paths make the per-leaf tables (2^depth rows) too big
MAX_TABLE_CELLS = 400_000  # per tree
WORD_BITS = 62


def _leaf_table(directions, zs, feats):
    """Shapley values of one leaf's game for every agree/disagree combination of its path.

    Returns ``(unique_features, table)`` with ``table[combo, i]`` the value (per unit of leaf value)
    of feature ``unique_features[i]`` when bit r of ``combo`` says the row follows path node r.
    """
    p = len(feats)
    combos = np.arange(2**p)
    follow = ((combos[:, None] >> np.arange(p)[None, :]) & 1).astype(np.float64)  # (C, p)
    ufeats = list(dict.fromkeys(feats))
    d = len(ufeats)
    o = np.ones((len(combos), d))
    z = np.ones(d)
    for r, f in enumerate(feats):
        i = ufeats.index(f)
        o[:, i] *= follow[:, r]
        z[i] *= zs[r]
    table = np.zeros((len(combos), d))
    fact = [math.factorial(k) for k in range(d + 1)]
    for i in range(d):
        others = [j for j in range(d) if j != i]
        acc = np.zeros(len(combos))
        for mask in range(2 ** len(others)):
            in_s = [others[b] for b in range(len(others)) if mask >> b & 1]
            out_s = [others[b] for b in range(len(others)) if not mask >> b & 1]
            w = fact[len(in_s)] * fact[d - len(in_s) - 1] / fact[d]
            term = np.full(len(combos), w)
            for j in in_s:
                term = term * o[:, j]
            for j in out_s:
                term = term * z[j]
            acc += term
        table[:, i] = (o[:, i] - z[i]) * acc
    return np.asarray(ufeats, dtype=np.int64), table


def _parse_tree(t):
    left = np.asarray(t["left_children"], dtype=np.int64)
    right = np.asarray(t["right_children"], dtype=np.int64)
    internal = np.flatnonzero(left != -1)
    bit = {int(node): k for k, node in enumerate(internal)}
    cover = np.asarray(t["sum_hessian"], dtype=np.float64)
    value = np.asarray(t["split_conditions"], dtype=np.float64)
    split_index = np.asarray(t["split_indices"], dtype=np.int64)
    split_type = np.asarray(t["split_type"], dtype=np.int64)
    cats = {}
    segs, sizes = t.get("categories_segments", []), t.get("categories_sizes", [])
    for node, seg, size in zip(t.get("categories_nodes", []), segs, sizes):
        cats[int(node)] = np.asarray(t["categories"][seg : seg + size], dtype=np.float32)
    leaves = []
    stack = [(0, [], [], [], [])]  # node, bits, went_left, z, features
    while stack:
        node, bits, lefts, zs, feats = stack.pop()
        if left[node] == -1:
            if len(bits) > MAX_PATH:
                return None
            if bits:
                ufeats, table = _leaf_table(lefts, zs, feats)
                leaves.append(
                    {
                        "bits": np.asarray(bits, dtype=np.int64),
                        "flip": np.asarray([0 if gl else 1 for gl in lefts], dtype=np.int64),
                        "features": ufeats,
                        "table": table * value[node],
                    }
                )
            continue
        total = cover[node] if cover[node] > 0 else 1.0
        for child, went_left in ((left[node], True), (right[node], False)):
            stack.append(
                (
                    int(child),
                    bits + [bit[node]],
                    lefts + [went_left],
                    zs + [cover[child] / total],
                    feats + [int(split_index[node])],
                )
            )
    used = np.unique(split_index[internal])
    # stack the leaves: padded path bits (L, P) and a dense table (L, 2^P, used features)
    P = max((len(leaf["bits"]) for leaf in leaves), default=0)
    L = len(leaves)
    if L * 2**P * max(1, len(used)) > MAX_TABLE_CELLS:
        return None
    bits = np.zeros((L, P), dtype=np.int64)
    flip = np.zeros((L, P), dtype=np.int64)
    table = np.zeros((L, 2**P, len(used)))
    for i, leaf in enumerate(leaves):
        p = len(leaf["bits"])
        bits[i, :p], flip[i, :p] = leaf["bits"], leaf["flip"]
        cols = np.searchsorted(used, leaf["features"])
        table[i][:, cols] = leaf["table"][np.arange(2**P) & ((1 << p) - 1)]
    return {
        "feature": split_index[internal],
        "cond": np.asarray(t["split_conditions"], dtype=np.float32)[internal],
        "default_left": np.asarray(t["default_left"], dtype=bool)[internal],
        "cats": [cats.get(int(node)) if split_type[node] == 1 else None for node in internal],
        "word": bits // WORD_BITS,
        "shift": bits % WORD_BITS,
        "flip": flip,
        "powers": (1 << np.arange(P, dtype=np.int64)),
        "table": table,
        "leaf_index": np.arange(L)[None, :],
        "used": used,
    }


def _parsed_trees(booster):
    """Split and leaf tables of every tree, or None when the pattern method does not apply."""
    try:
        return _TREE_CACHE[booster]
    except KeyError:
        pass
    model = json.loads(bytes(booster.save_raw("json")))
    learner = model["learner"]
    gb = learner["gradient_booster"]
    parsed = None
    if gb.get("name") == "gbtree" and int(learner["learner_model_param"].get("num_class", "0")) <= 1:
        tree_model = gb["model"]
        if int(tree_model["gbtree_model_param"].get("num_parallel_tree", "1")) == 1:
            parsed = []
            for t in tree_model["trees"]:
                tree = _parse_tree(t)
                if tree is None:
                    parsed = None
                    break
                parsed.append(tree)
    _TREE_CACHE[booster] = parsed
    return parsed


def _float_matrix(X):
    """Columns as XGBoost sees them: float32, category codes, NaN for missing (column-major)."""
    out = np.empty((X.shape[1], len(X)), dtype=np.float32)
    types = []
    for j, col in enumerate(X.columns):
        s = X[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            out[j] = np.where(codes < 0, np.nan, codes).astype(np.float32)
            types.append("c")
        else:
            out[j] = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan)
            types.append("float")
    return out, types


def _tree_patterns(tree, cols, nan):
    """Outcome bits of every split for every row, packed in 62-bit words: list of int64 arrays."""
    n = cols.shape[1]
    nodes = len(tree["feature"])
    words = []
    for start in range(0, max(nodes, 1), WORD_BITS):
        stop = min(start + WORD_BITS, nodes)
        width = stop - start
        dtype = np.int16 if width <= 15 else (np.int32 if width <= 31 else np.int64)
        pattern = np.zeros(n, dtype=dtype)
        for k in range(start, stop):
            f = tree["feature"][k]
            x = cols[f]
            if tree["cats"][k] is not None:
                left = ~np.isin(x, tree["cats"][k])  # XGBoost sends the listed categories right
                if nan[f] and not tree["default_left"][k]:
                    left &= ~np.isnan(x)
            elif tree["default_left"][k] and nan[f]:
                left = ~(x >= tree["cond"][k])
            else:
                left = x < tree["cond"][k]
            pattern |= left.astype(dtype) << dtype(k - start)
        words.append(pattern)
    return words


def _factorize_words(words):
    """Codes of the distinct rows of several pattern words, and the words of each distinct row."""
    codes, uniques = pd.factorize(words[0])
    if len(words) == 1:
        return codes, np.asarray(uniques, dtype=np.int64)[:, None]
    for w in words[1:]:
        c2, u2 = pd.factorize(w)
        codes, _ = pd.factorize(codes.astype(np.int64) * len(u2) + c2)
    k = int(codes.max()) + 1 if len(codes) else 0
    first = np.empty(k, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    uniques = np.stack([np.asarray(w, dtype=np.int64)[first] for w in words], axis=1)
    return codes, uniques


def _pattern_contribs(booster, trees, X):
    import xgboost as xgb

    cols, types = _float_matrix(X)
    m, n = cols.shape
    nan = [bool(np.isnan(c).any()) for c in cols]
    out = np.zeros((m + 1, n), dtype=np.float64)
    for tree in trees:
        if not len(tree["used"]):
            continue
        codes, uniques = _factorize_words(_tree_patterns(tree, cols, nan))
        follow = ((uniques[:, tree["word"]] >> tree["shift"][None]) & 1) ^ tree["flip"][None]
        combo = follow @ tree["powers"]  # (patterns, leaves)
        phi = tree["table"][tree["leaf_index"], combo].sum(axis=1)  # (patterns, used)
        for i, f in enumerate(tree["used"]):
            out[f] += phi[:, i][codes]
    # bias: the model's expected value, from XGBoost itself on one row (once per booster)
    bias = _BIAS_CACHE.get(booster)
    if bias is None:
        one = xgb.DMatrix(np.ascontiguousarray(cols[:, :1].T), feature_names=list(X.columns),
                          feature_types=types, enable_categorical=True, nthread=1)
        bias = _BIAS_CACHE[booster] = float(booster.predict(one, pred_contribs=True)[0, -1])
    out[m] = bias
    return out.T



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
    X_all = []
    for start in range(0, n, chunk_size):
        part = df.iloc[start : start + chunk_size]
        X = model.transform(part)
        raw = _raw_contribs(model, X, method=method)
        if base is None:
            base = float(raw[0, -1])
        contrib[start : start + len(part)] = _sum_back(raw[:, :-1], groups)
        margin[start : start + len(part)] = raw.sum(axis=1, dtype=np.float64)
        if n <= chunk_size:
            X_all.append(X)
        if progress is not None:
            progress(min(1.0, (start + len(part)) / n), "explain.contributions")
    X = X_all[0] if X_all else model.transform(df.iloc[:1])
    values = _values_frame(model, df, X if n <= chunk_size else model.transform(df), columns)
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


# --------------------------------------------------------------------------------------------
# global importance
# --------------------------------------------------------------------------------------------
def compute_global_importance(model, df=None, *, explanation=None, sample=None, actionable_only=False):
    """Mean absolute SHAP value per business feature, largest first.

    Returns
    -------
    pandas.DataFrame
        ``feature`` (display name), ``mean_abs_shap``, ``mean_shap``, ``column``, ``actionable``.
    """
    from churn_core.retention.actionable import is_actionable

    if explanation is None:
        explanation = compute_explanation(model, df, sample=sample)
    c = explanation.contributions.astype(np.float64)
    out = pd.DataFrame(
        {
            "feature": list(explanation.features),
            "mean_abs_shap": np.abs(c).mean(axis=0),
            "mean_shap": c.mean(axis=0),
            "column": list(explanation.columns),
            "actionable": [is_actionable(col) for col in explanation.columns],
        }
    )
    if actionable_only:
        out = out[out["actionable"]]
    return out.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# reasons: top-k drivers per customer, as sentences
# --------------------------------------------------------------------------------------------
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


def format_reasons(explanation, feature_idx, points, lang="en"):
    """Sentences for reason codes: one list of strings per column of ``feature_idx``.

    Sentences are built once per distinct (feature, shown value) and joined to the wording of the
    distinct point counts, so a million rows cost a few vectorised passes, not a million calls.
    """
    _check_lang(lang)
    n, k = feature_idx.shape
    out = []
    for j in range(k):
        fidx = feature_idx[:, j]
        sentence = np.full(n, "", dtype=object)
        pts_int = _points_bucket(points[:, j])
        for f in np.unique(fidx):
            if f < 0:
                continue
            rows = np.flatnonzero(fidx == f)
            col = explanation.columns[f]
            subjects = _subjects_for(col, explanation.features[f], explanation.values[col].to_numpy()[rows], lang)
            uniq, inv = np.unique(pts_int[rows], return_inverse=True)
            tails = _tail_strings(uniq, lang)
            tail = np.array([tails[p] for p in uniq.tolist()], dtype=object)[inv]
            sentence[rows] = subjects + tail
        out.append(sentence)
    return out


def _check_lang(lang):
    if lang not in LANGS:
        raise ChurnCoreError("explain.bad_lang", "Language must be 'en' or 'zh'.", lang=str(lang))


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


def _isnan(v):
    try:
        return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT
    except TypeError:
        return False


# --------------------------------------------------------------------------------------------
# sentence templates
# --------------------------------------------------------------------------------------------
MINUS = "\u2212"

# products and services named by has_* / Has* flags: (English, Chinese)
_PRODUCT_NAMES = {
    "deposit": ("a deposit", "存款"),
    "wealth": ("a wealth product", "理财产品"),
    "loan": ("a loan", "贷款"),
    "credit_card": ("a credit card", "信用卡"),
    "cr_card": ("a credit card", "信用卡"),
    "mobile_banking": ("mobile banking", "手机银行"),
    "relationship_manager": ("a relationship manager", "客户经理"),
}


def _tokens(name):
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s).lower()
    return [t for t in re.split(r"[^0-9a-z\u4e00-\u9fff]+", s) if t]


def _number(v):
    """``float(v)`` for real numbers (not bools/strings), else None."""
    if isinstance(v, (bool, np.bool_)):
        return float(v)
    if isinstance(v, (int, float, np.integer, np.floating)) and not _isnan(v):
        return float(v)
    return None


def format_value(v, *, pct=False, lang="en"):
    """A customer's value as shown in a sentence (thousands separators, true minus sign)."""
    if _isnan(v):
        return "missing" if lang == "en" else "缺失"
    x = _number(v)
    if x is None:
        return str(v)
    if pct:
        text = f"{abs(x):,.0f}%"
    elif x == int(x) or abs(x) >= 100:
        text = f"{abs(x):,.0f}"
    else:
        text = f"{abs(x):.2f}".rstrip("0").rstrip(".")
    return (MINUS + text) if x < 0 and text.strip("0.,%") else text


def _period(tokens):
    """``(number, unit)`` of a period written in a name: 12m -> (12, "m"), 90d -> (90, "d")."""
    for t in tokens:
        m = re.fullmatch(r"(\d+)(m|d|y|mo|months?|days?)", t)
        if m:
            return int(m.group(1)), m.group(2)[0]
        m = re.search(r"(\d+)\s*(个月|月|天|日|年)", t)
        if m:
            return int(m.group(1)), {"个": "m", "月": "m", "天": "d", "日": "d", "年": "y"}[m.group(2)[0]]
    return None


def _period_words(period, lang):
    n, unit = period
    if lang == "en":
        word = {"m": "month", "d": "day", "y": "year"}[unit]
        return f"{n} {word}s" if n != 1 else f"1 {word}"
    return f"{n}{ {'m': '个月', 'd': '天', 'y': '年'}[unit] }".replace(" ", "")


def _count(n, one, many):
    return f"{n} {one if n == 1 else many}"


def _rule_for(column, display):
    """A special wording for well-known features, or None (generic ``name = value``)."""
    tokens = _tokens(column)
    joined = "_".join(tokens)
    raw = str(column) + str(display)
    period = _period(tokens)

    def txn(v, lang):
        x = _number(v)
        if x is None:
            return None
        n = int(round(x))
        if "days" in tokens and ("since" in tokens or "last" in tokens):
            return f"No transactions for {n} days" if lang == "en" else f"近{n}天无交易"
        when_en, when_zh = None, None
        if "this" in tokens or "current" in tokens:
            when_en, when_zh = "this quarter", "本季度"
        elif "last" in tokens or "previous" in tokens or "prev" in tokens:
            when_en, when_zh = "last quarter", "上季度"
        elif period:
            when_en = f"in {_period_words(period, 'en')}"
            when_zh = f"近{_period_words(period, 'zh')}"
        if when_en is None:
            return None
        if n == 0:
            return f"No transactions {when_en}" if lang == "en" else f"{when_zh}无交易"
        return f"{_count(n, 'transaction', 'transactions')} {when_en}" if lang == "en" else f"{when_zh}交易{n}笔"

    def complaints(v, lang):
        x = _number(v)
        if x is None:
            return None
        n = int(round(x))
        if lang == "en":
            when = f" in the last {_period_words(period, 'en')}" if period else ""
            return f"{_count(n, 'complaint', 'complaints')}{when}"
        when = f"近{_period_words(period, 'zh')}" if period else ""
        return f"{when}投诉{n}次"

    def balance_change(v, lang):
        x = _number(v)
        if x is None:
            return None
        amount = format_value(abs(x), pct=True)
        if lang == "en":
            when = f" in {_period_words(period, 'en')}" if period else ""
            if round(x) == 0:
                return f"Balance unchanged{when}"
            return f"Balance {'down' if x < 0 else 'up'} {amount}{when}"
        when = f"近{_period_words(period, 'zh')}" if period else ""
        if round(x) == 0:
            return f"{when}余额基本不变"
        return f"{when}余额{'下降' if x < 0 else '上升'}{amount}"

    def satisfaction(v, lang):
        x = _number(v)
        if x is None:
            return None
        n = format_value(x)
        return f"Satisfaction score {n} of 5" if lang == "en" else f"满意度评分{n}分（满分5分）"

    def num_products(v, lang):
        x = _number(v)
        if x is None:
            return None
        n = int(round(x))
        if lang == "en":
            return "Holds only 1 product" if n == 1 else f"Holds {n} products"
        return "仅持有1个产品" if n == 1 else f"持有{n}个产品"

    def active(v, lang):
        x = _number(v)
        if x is None:
            return None
        if lang == "en":
            return "Inactive member" if x == 0 else "Active member"
        return "非活跃客户" if x == 0 else "活跃客户"

    def has_flag(v, lang):
        x = _number(v)
        if x is None or x not in (0.0, 1.0):
            return None
        key = "_".join(tokens[1:])
        en, zh = _PRODUCT_NAMES.get(key, (key.replace("_", " "), None))
        if lang == "en":
            return f"No {en.removeprefix('a ').removeprefix('an ')}" if x == 0 else f"Has {en}"
        zh = zh or str(display)
        return f"未持有{zh}" if x == 0 else f"持有{zh}"

    def logins(v, lang):
        x = _number(v)
        if x is None:
            return None
        n = int(round(x))
        if lang == "en":
            when = f" in {_period_words(period, 'en')}" if period else ""
            return f"{_count(n, 'digital login', 'digital logins')}{when}"
        when = f"近{_period_words(period, 'zh')}" if period else ""
        return f"{when}数字渠道登录{n}次"

    def age(v, lang):
        x = _number(v)
        if x is None:
            return None
        return f"Age {format_value(x)}" if lang == "en" else f"年龄{format_value(x)}岁"

    def tenure_months(v, lang):
        x = _number(v)
        if x is None:
            return None
        n = int(round(x))
        return f"Customer for {_count(n, 'month', 'months')}" if lang == "en" else f"开户{n}个月"

    def fees(v, lang):
        x = _number(v)
        if x is None:
            return None
        amount = format_value(x)
        if lang == "en":
            when = f" in {_period_words(period, 'en')}" if period else ""
            return f"Fees of {amount} paid{when}"
        when = f"近{_period_words(period, 'zh')}" if period else ""
        return f"{when}缴纳费用{amount}"

    zh_this = "本季" in raw or "本月" in raw
    zh_last = "上季" in raw
    if zh_this:
        tokens = tokens + ["this"]
    if zh_last:
        tokens = tokens + ["last"]
    has_zh = re.match(r"^(持有|开通|配备)(.+)$", str(column))
    if has_zh:
        zh_label = has_zh.group(2)

        def has_flag_zh(v, lang):
            x = _number(v)
            if x is None or x not in (0.0, 1.0):
                return None
            if lang == "en":
                return f"{column} = {format_value(x)}"
            verb = has_zh.group(1)
            return f"未{verb}{zh_label}" if x == 0 else f"{verb}{zh_label}"

        return has_flag_zh
    if ("txn" in tokens or "transactions" in tokens or "transaction" in tokens) or "交易" in raw:
        return txn
    if "complaints" in tokens or "complaint" in tokens or "投诉" in raw:
        return complaints
    if ("balance" in tokens and ("change" in tokens or "pct" in tokens or "chg" in tokens)) or (
        "余额" in raw and "变化" in raw
    ):
        return balance_change
    if tokens[:1] == ["satisfaction"] or str(column).startswith("满意度"):
        return satisfaction
    if joined in ("num_products", "num_of_products", "number_of_products", "n_products", "products") or str(column) == "产品数":
        return num_products
    if joined in ("is_active_member", "is_active", "active_member"):
        return active
    if tokens[:1] == ["has"] and len(tokens) > 1:
        return has_flag
    if "logins" in tokens or "login" in tokens or "登录" in raw:
        return logins
    if joined == "age" or str(column) == "年龄":
        return age
    if joined == "tenure_months" or str(column) == "开户月数":
        return tenure_months
    if "fees" in tokens or "fee" in tokens or "手续费" in raw:
        return fees
    return None


def _generic_subject(display, value_text, lang):
    return f"{display} = {value_text}" if lang == "en" else f"{display}为{value_text}"


def _subjects_for(column, display, values, lang):
    """Subject of the sentence for each value (formatted once per distinct value)."""
    rule = _rule_for(column, display)
    pct = any(t in ("pct", "percent", "rate") for t in _tokens(column)) and "change" in _tokens(column)
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    texts = []
    for v in uniques:
        text = rule(v, lang) if rule is not None else None
        if text is None:
            text = _generic_subject(display, format_value(v, pct=pct, lang=lang), lang)
        texts.append(text)
    return np.array(texts, dtype=object)[codes]


def _points_bucket(points):
    """Whole probability points; 0 means 'less than 1 point' (the driver still raises risk)."""
    return np.rint(np.asarray(points, dtype=np.float64)).astype(np.int64)


def _tail_strings(point_values, lang):
    out = {}
    for p in np.asarray(point_values).tolist():
        if lang == "en":
            if p <= 0:
                out[p] = " raises the risk by less than 1 point"
            else:
                out[p] = f" raises the risk by {p} point{'s' if p != 1 else ''}"
        else:
            out[p] = "，流失风险上升不到1个百分点" if p <= 0 else f"，流失风险上升{p}个百分点"
    return out


# --------------------------------------------------------------------------------------------
# global views: data + Altair charts (labels passed in, so the app translates them)
# --------------------------------------------------------------------------------------------
def _labels(labels, **defaults):
    out = dict(defaults)
    out.update(labels or {})
    return out


def _value_codes(values):
    """Values as numbers for colouring: numbers as is, categories as their sorted codes."""
    s = pd.Series(values)
    num = pd.to_numeric(s, errors="coerce")
    if num.notna().sum() >= max(1, int(0.9 * s.notna().sum())):
        return num.to_numpy(dtype=np.float64)
    codes, _ = pd.factorize(s.astype(str), sort=True)
    return np.where(s.isna(), np.nan, codes).astype(np.float64)


def _scaled_rank(x):
    """Values scaled to 0..1 by rank (colour scale robust to outliers); NaN stays NaN."""
    s = pd.Series(x)
    r = s.rank(pct=True)
    return r.to_numpy(dtype=np.float64)


def _sample_positions(explanation, n, seed=0):
    """Up to ``n`` row positions, stratified on risk deciles (keeps the high-risk tail)."""
    total = len(explanation)
    if total <= n:
        return np.arange(total)
    deciles = pd.qcut(pd.Series(explanation.proba).rank(method="first"), 10, labels=False)
    return stratified_sample_index(pd.DataFrame({"d": deciles.to_numpy()}), n, by="d", seed=seed)


def compute_beeswarm_data(explanation, top=10, max_points=MAX_CHART_POINTS, seed=0,
                          actionable_only=False):
    """Points of a beeswarm: at most ``max_points`` (customer, feature) pairs in total.

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``contribution``, ``value`` (as text), ``value_rank`` (0..1 within the
        feature, for colour), ``customer_id``, ``order`` (feature rank by mean |SHAP|).
    """
    imp = compute_global_importance(None, explanation=explanation, actionable_only=actionable_only)
    feats = imp["column"].head(top).tolist()
    if not feats:
        return pd.DataFrame(columns=["feature", "contribution", "value", "value_rank",
                                     "customer_id", "order"])
    rows = _sample_positions(explanation, max(1, max_points // len(feats)), seed=seed)
    parts = []
    for order, col in enumerate(feats):
        j = explanation.columns.index(col)
        vals = explanation.values[col].to_numpy()[rows]
        parts.append(pd.DataFrame({
            "feature": explanation.features[j],
            "contribution": explanation.contributions[rows, j].astype(np.float64),
            "value": pd.Series(vals, dtype=object).map(lambda v: format_value(v)).to_numpy(),
            "value_rank": _scaled_rank(_value_codes(vals)),
            "customer_id": explanation.customer_ids[rows].astype(str),
            "order": order,
        }))
    return pd.concat(parts, ignore_index=True)


def build_importance_chart(importance, labels=None, top=15):
    """Horizontal bars of mean |SHAP| per feature (actionable ones coloured)."""
    import altair as alt

    lab = _labels(labels, x="Mean |SHAP| (log-odds)", y="Driver", kind="Kind",
                  actionable="Actionable", fixed="Fixed", title="")
    data = importance.head(top).copy()
    data["kind"] = np.where(data["actionable"], lab["actionable"], lab["fixed"])
    data = data[["feature", "mean_abs_shap", "kind"]]
    return (
        alt.Chart(data, title=lab["title"])
        .mark_bar()
        .encode(
            x=alt.X("mean_abs_shap:Q", title=lab["x"]),
            y=alt.Y("feature:N", sort="-x", title=lab["y"]),
            color=alt.Color("kind:N", title=lab["kind"],
                            scale=alt.Scale(domain=[lab["actionable"], lab["fixed"]],
                                            range=["#d62728", "#7f7f7f"])),
            tooltip=[alt.Tooltip("feature:N", title=lab["y"]),
                     alt.Tooltip("mean_abs_shap:Q", title=lab["x"], format=".3f")],
        )
    )


def build_beeswarm_chart(data, labels=None):
    """SHAP beeswarm: one dot per customer and driver, coloured by the customer's value."""
    import altair as alt

    lab = _labels(labels, x="SHAP value (log-odds)", y="Driver", color="Value (low → high)",
                  value="Value", title="")
    data = data.head(MAX_CHART_POINTS)
    order = data.drop_duplicates("feature").sort_values("order")["feature"].tolist()
    return (
        alt.Chart(data, title=lab["title"])
        .mark_circle(size=14, opacity=0.6)
        .encode(
            x=alt.X("contribution:Q", title=lab["x"]),
            y=alt.Y("feature:N", sort=order, title=lab["y"]),
            yOffset="jitter:Q",
            color=alt.Color("value_rank:Q", title=lab["color"],
                            scale=alt.Scale(scheme="redblue", reverse=True)),
            tooltip=[alt.Tooltip("customer_id:N"), alt.Tooltip("feature:N", title=lab["y"]),
                     alt.Tooltip("value:N", title=lab["value"]),
                     alt.Tooltip("contribution:Q", title=lab["x"], format=".3f")],
        )
        .transform_calculate(jitter="random()")
        .properties(height=max(200, 32 * len(order)))
    )


def pick_interaction_partner(explanation, column, max_rows=2000):
    """The feature whose value best explains the spread of ``column``'s SHAP values.

    Same idea as ``shap.utils.approximate_interactions``: sort rows by the feature's value, cut
    them in bins, and sum per bin the absolute correlation between the feature's SHAP values and
    each other feature's value.
    """
    j = explanation.columns.index(column)
    rows = _sample_positions(explanation, max_rows)
    x = _value_codes(explanation.values[column].to_numpy()[rows])
    order = np.argsort(np.nan_to_num(x, nan=np.inf), kind="stable")
    shap_f = explanation.contributions[rows, j].astype(np.float64)[order]
    bins = np.array_split(np.arange(len(order)), max(1, len(order) // 50))
    best, best_score = None, -1.0
    for g, col in enumerate(explanation.columns):
        if g == j:
            continue
        v = _value_codes(explanation.values[col].to_numpy()[rows])[order]
        score = 0.0
        for b in bins:
            vb, sb = v[b], shap_f[b]
            ok = ~np.isnan(vb)
            if ok.sum() > 2 and np.std(vb[ok]) > 0 and np.std(sb[ok]) > 0:
                score += abs(np.corrcoef(vb[ok], sb[ok])[0, 1])
        if score > best_score:
            best, best_score = col, score
    return best


def compute_dependence_data(explanation, column, color_column=None, max_points=2000, seed=0):
    """Points of a dependence plot: the feature's value against its SHAP value, coloured by a
    second feature (the strongest interaction partner unless given)."""
    if column not in explanation.columns:
        raise ChurnCoreError("explain.unknown_feature", f"Unknown driver: {column}.", feature=column)
    if color_column is None:
        color_column = pick_interaction_partner(explanation, column)
    j = explanation.columns.index(column)
    rows = _sample_positions(explanation, max_points, seed=seed)
    vals = explanation.values[column].to_numpy()[rows]
    num = pd.to_numeric(pd.Series(vals), errors="coerce")
    is_num = num.notna().sum() >= max(1, int(0.9 * pd.Series(vals).notna().sum()))
    out = pd.DataFrame({
        "value": num.to_numpy() if is_num else pd.Series(vals, dtype=object).astype(str).to_numpy(),
        "contribution": explanation.contributions[rows, j].astype(np.float64),
        "customer_id": explanation.customer_ids[rows].astype(str),
    })
    if color_column is not None:
        cv = explanation.values[color_column].to_numpy()[rows]
        out["color_value"] = pd.Series(cv, dtype=object).map(lambda v: format_value(v)).to_numpy()
        out["color_rank"] = _scaled_rank(_value_codes(cv))
    out.attrs.update(
        feature=explanation.features[j],
        color_feature=(explanation.features[explanation.columns.index(color_column)]
                       if color_column is not None else None),
        numeric=bool(is_num),
    )
    return out


def build_dependence_chart(data, labels=None):
    """Scatter of a driver's value against its SHAP value, coloured by the partner feature."""
    import altair as alt

    lab = _labels(labels, x=data.attrs.get("feature", "value"), y="SHAP value (log-odds)",
                  color=data.attrs.get("color_feature") or "", title="")
    data = data.head(MAX_CHART_POINTS)
    xtype = "value:Q" if data.attrs.get("numeric", True) else "value:N"
    enc = {
        "x": alt.X(xtype, title=lab["x"]),
        "y": alt.Y("contribution:Q", title=lab["y"]),
        "tooltip": [alt.Tooltip("customer_id:N"), alt.Tooltip(xtype, title=lab["x"]),
                    alt.Tooltip("contribution:Q", title=lab["y"], format=".3f")],
    }
    if "color_rank" in data.columns:
        enc["color"] = alt.Color("color_rank:Q", title=lab["color"],
                                 scale=alt.Scale(scheme="redblue", reverse=True))
        enc["tooltip"].append(alt.Tooltip("color_value:N", title=lab["color"]))
    return alt.Chart(pd.DataFrame(data), title=lab["title"]).mark_circle(size=16, opacity=0.6).encode(**enc)


def compute_interaction_pairs(model, df, sample=300, top=10, seed=0):
    """Strongest pairwise interactions from SHAP interaction values on a stratified sample.

    Returns
    -------
    pandas.DataFrame
        ``feature_a``, ``feature_b`` (display names), ``column_a``, ``column_b``,
        ``mean_abs_interaction`` (mean |phi_ab + phi_ba| in log-odds), largest first.
    """
    _check_model(model)
    _check_frame(df)
    pos = stratified_sample_index(df, int(sample), by=_label_column(model, df), seed=seed)
    X = model.transform(df.iloc[pos])
    raw = _raw_contribs(model, X, interactions=True)[:, :-1, :-1]  # (n, m, m), bias dropped
    columns, features, groups = _groups(model)
    f = len(columns)
    agg = np.zeros((raw.shape[0], f, f))
    for a, ga in enumerate(groups):
        for b, gb in enumerate(groups):
            agg[:, a, b] = raw[:, ga][:, :, gb].sum(axis=(1, 2))
    strength = np.abs(agg + agg.transpose(0, 2, 1)).mean(axis=0)
    rows = [
        (features[a], features[b], columns[a], columns[b], float(strength[a, b]))
        for a in range(f) for b in range(a + 1, f)
    ]
    out = pd.DataFrame(rows, columns=["feature_a", "feature_b", "column_a", "column_b",
                                      "mean_abs_interaction"])
    return out.sort_values("mean_abs_interaction", ascending=False, kind="stable").head(top).reset_index(drop=True)


def build_interaction_chart(pairs, labels=None):
    """Bars of the strongest interaction pairs."""
    import altair as alt

    lab = _labels(labels, x="Mean |interaction| (log-odds)", y="Pair", title="")
    data = pairs.assign(pair=pairs["feature_a"] + " × " + pairs["feature_b"])
    data = data[["pair", "mean_abs_interaction"]]
    return (
        alt.Chart(data, title=lab["title"]).mark_bar(color="#9467bd")
        .encode(x=alt.X("mean_abs_interaction:Q", title=lab["x"]),
                y=alt.Y("pair:N", sort="-x", title=lab["y"]),
                tooltip=[alt.Tooltip("pair:N", title=lab["y"]),
                         alt.Tooltip("mean_abs_interaction:Q", title=lab["x"], format=".3f")])
    )


# --------------------------------------------------------------------------------------------
# one customer
# --------------------------------------------------------------------------------------------
def compute_waterfall(explanation, position, top=8, other_label="other"):
    """Steps from the base risk to one customer's risk, in probability points.

    Drivers are added from the base value in order of decreasing |contribution|; the rest are one
    ``other_label`` step. Each step is ``P(cumulative margin after) - P(before)``, so the steps add
    up exactly to the customer's risk minus the base risk.

    Returns
    -------
    pandas.DataFrame
        ``step`` (0..), ``label`` (driver name with the customer's value), ``feature``, ``value``,
        ``contribution`` (log-odds), ``start``, ``end`` (risk in %), ``points`` (end - start),
        ``kind`` in {"base", "driver", "other", "total"}.
    """
    prob_fn = explanation.extra.get("prob_fn", _sigmoid)
    c = explanation.contributions[position].astype(np.float64)
    order = np.argsort(-np.abs(c), kind="stable")
    shown, rest = order[:top], order[top:]
    rows = []
    base_p = 100 * float(prob_fn(np.array([explanation.base_value]))[0])
    rows.append(dict(label="base", feature="", value="", contribution=0.0, start=0.0, end=base_p,
                     kind="base"))
    cum = explanation.base_value
    for j in shown:
        before = 100 * float(prob_fn(np.array([cum]))[0])
        cum += c[j]
        after = 100 * float(prob_fn(np.array([cum]))[0])
        col = explanation.columns[j]
        value = format_value(explanation.values[col].iloc[position])
        rows.append(dict(label=f"{explanation.features[j]} = {value}", feature=explanation.features[j],
                         value=value, contribution=float(c[j]), start=before, end=after,
                         kind="driver"))
    if len(rest):
        before = 100 * float(prob_fn(np.array([cum]))[0])
        cum += c[rest].sum()
        after = 100 * float(prob_fn(np.array([cum]))[0])
        rows.append(dict(label=other_label, feature="", value="", contribution=float(c[rest].sum()),
                         start=before, end=after, kind="other"))
    final = 100 * float(prob_fn(np.array([explanation.margin[position]]))[0])
    rows.append(dict(label="risk", feature="", value="", contribution=0.0, start=0.0, end=final,
                     kind="total"))
    out = pd.DataFrame(rows)
    out.insert(0, "step", np.arange(len(out)))
    out["points"] = out["end"] - out["start"]
    return out


def build_waterfall_chart(waterfall, labels=None):
    """Waterfall bars from the base risk to the customer's risk (red raises, green lowers)."""
    import altair as alt

    lab = _labels(labels, x="Churn risk (%)", y="", base="Base risk", total="This customer",
                  raises="Raises", lowers="Lowers", title="")
    data = waterfall.copy()
    data.loc[data["kind"] == "base", "label"] = lab["base"]
    data.loc[data["kind"] == "total", "label"] = lab["total"]
    data["effect"] = np.where(data["kind"].isin(["base", "total"]), lab["total"],
                              np.where(data["points"] >= 0, lab["raises"], lab["lowers"]))
    data["label"] = [f"{i:02d} {t}" for i, t in zip(data["step"], data["label"])]
    data = data[["label", "start", "end", "points", "effect"]]
    return (
        alt.Chart(data, title=lab["title"]).mark_bar()
        .encode(
            y=alt.Y("label:N", sort=None, title=lab["y"]),
            x=alt.X("start:Q", title=lab["x"]),
            x2="end:Q",
            color=alt.Color("effect:N", title="",
                            scale=alt.Scale(domain=[lab["raises"], lab["lowers"], lab["total"]],
                                            range=["#d62728", "#2ca02c", "#1f77b4"])),
            tooltip=[alt.Tooltip("label:N", title=lab["y"] or " "),
                     alt.Tooltip("points:Q", format="+.1f"), alt.Tooltip("end:Q", format=".1f")],
        )
    )


# --------------------------------------------------------------------------------------------
# segments
# --------------------------------------------------------------------------------------------
def _mask(explanation, mask):
    m = np.asarray(mask, dtype=bool)
    if m.shape != (len(explanation),):
        raise ChurnCoreError("explain.bad_mask", "The segment must select rows of the explained table.")
    if not m.any():
        raise ChurnCoreError("explain.empty_segment", "The segment has no customers.")
    return m


def compute_segment_drivers(explanation, mask, actionable_only=False):
    """Mean contribution of each driver inside a segment, next to the whole base.

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``column``, ``mean_contribution`` (segment), ``mean_contribution_all``,
        ``difference``, ``mean_abs``, ``points`` (mean probability points inside the segment),
        sorted by ``mean_contribution`` (largest risk raisers first).
    """
    from churn_core.retention.actionable import is_actionable

    m = _mask(explanation, mask)
    c = explanation.contributions.astype(np.float64)
    prob_fn = explanation.extra.get("prob_fn", _sigmoid)
    pts = points_from_contributions(explanation.margin[m], c[m], prob_fn)
    out = pd.DataFrame({
        "feature": list(explanation.features),
        "column": list(explanation.columns),
        "mean_contribution": c[m].mean(axis=0),
        "mean_contribution_all": c.mean(axis=0),
        "mean_abs": np.abs(c[m]).mean(axis=0),
        "points": pts.mean(axis=0),
        "actionable": [is_actionable(col) for col in explanation.columns],
    })
    out["difference"] = out["mean_contribution"] - out["mean_contribution_all"]
    if actionable_only:
        out = out[out["actionable"]]
    return out.sort_values("mean_contribution", ascending=False, kind="stable").reset_index(drop=True)


@dataclass
class SegmentComparison:
    """Which drivers explain the difference in mean risk between segments A and B.

    ``table``: ``feature``, ``column``, ``mean_a``, ``mean_b``, ``margin_difference`` (log-odds,
    sums to the difference of mean margins), ``points`` (share of the risk difference, in points),
    sorted by ``points`` in the direction of the difference.
    """

    table: pd.DataFrame
    risk_a: float
    risk_b: float
    n_a: int
    n_b: int

    @property
    def difference_points(self):
        return 100 * (self.risk_a - self.risk_b)


def compute_segment_comparison(explanation, mask_a, mask_b):
    """Split the difference in mean risk between two segments over the drivers.

    Mean margins are additive (``mean margin = base + sum of mean contributions``), so the
    difference of mean margins splits exactly over drivers. The difference in mean risk (points)
    is shared out in proportion to those margin differences.
    """
    a, b = _mask(explanation, mask_a), _mask(explanation, mask_b)
    c = explanation.contributions.astype(np.float64)
    mean_a, mean_b = c[a].mean(axis=0), c[b].mean(axis=0)
    diff = mean_a - mean_b
    risk_a, risk_b = float(explanation.proba[a].mean()), float(explanation.proba[b].mean())
    total = diff.sum()
    share = diff / total if abs(total) > 1e-12 else np.zeros_like(diff)
    table = pd.DataFrame({
        "feature": list(explanation.features),
        "column": list(explanation.columns),
        "mean_a": mean_a,
        "mean_b": mean_b,
        "margin_difference": diff,
        "points": 100 * (risk_a - risk_b) * share,
    })
    sign = 1.0 if risk_a >= risk_b else -1.0
    table = table.iloc[np.argsort(-sign * table["points"].to_numpy(), kind="stable")].reset_index(drop=True)
    return SegmentComparison(table=table, risk_a=risk_a, risk_b=risk_b, n_a=int(a.sum()), n_b=int(b.sum()))


def describe_segment_comparison(comparison, name_a, name_b, lang="en", top=3):
    """The comparison in words, e.g. ``"Dormant: mean churn risk 31.2% vs Active: 9.8% (21.4
    points higher). Most of the difference comes from txn_this_quarter (+12.0 points), ..."``."""
    _check_lang(lang)
    diff = comparison.difference_points
    sign = 1.0 if diff >= 0 else -1.0
    drivers = comparison.table[sign * comparison.table["points"] > 0].head(top)
    ra, rb = 100 * comparison.risk_a, 100 * comparison.risk_b

    def pts(p):
        return f"{'+' if p >= 0 else MINUS}{abs(p):.1f}"

    if lang == "en":
        direction = "higher" if diff >= 0 else "lower"
        text = (f"{name_a}: mean churn risk {ra:.1f}% vs {name_b}: {rb:.1f}% "
                f"({abs(diff):.1f} points {direction}).")
        if len(drivers):
            items = ", ".join(f"{r.feature} ({pts(r.points)} points)" for r in drivers.itertuples())
            text += f" Most of the difference comes from {items}."
        return text
    direction = "高" if diff >= 0 else "低"
    text = (f"{name_a}的平均流失风险为{ra:.1f}%，{name_b}为{rb:.1f}%，"
            f"{name_a}{direction}{abs(diff):.1f}个百分点。")
    if len(drivers):
        items = "、".join(f"{r.feature}（{pts(r.points)}个百分点）" for r in drivers.itertuples())
        text += f"差异主要来自{items}。"
    return text


def build_segment_chart(table, value="points", labels=None, top=12):
    """Diverging bars of a per-driver figure (segment drivers or a segment comparison)."""
    import altair as alt

    lab = _labels(labels, x="Points", y="Driver", title="")
    data = table.reindex(table[value].abs().sort_values(ascending=False).index).head(top)
    data = data[["feature", value]].rename(columns={value: "v"})
    return (
        alt.Chart(data, title=lab["title"]).mark_bar()
        .encode(x=alt.X("v:Q", title=lab["x"]), y=alt.Y("feature:N", sort="-x", title=lab["y"]),
                color=alt.condition("datum.v >= 0", alt.value("#d62728"), alt.value("#2ca02c")),
                tooltip=[alt.Tooltip("feature:N", title=lab["y"]),
                         alt.Tooltip("v:Q", title=lab["x"], format="+.2f")])
    )
