"""Exact TreeSHAP contributions of an XGBoost model: XGBoost's own or by split-outcome patterns.

:func:`_raw_contribs` returns ``(n, m + 1)`` log-odds contributions of the model columns, bias last.
"""

from __future__ import annotations

import json
import math
import weakref

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError


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
