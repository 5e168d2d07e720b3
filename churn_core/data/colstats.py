"""Exact distinct counts and most frequent values of one column, by sorting instead of hashing.

A hash table over a million distinct values (pandas ``nunique``/``value_counts``, Arrow's
``count_distinct``) costs 40-70 MB; the sort used here costs a sorted copy of numbers, or for
text the values' dense ranks (8 bytes a row, Arrow sorts the chunks without concatenating). Columns with at most
:data:`FEW` distinct values are counted directly (their hash table is small). Results are the
same as pandas': ``distinct_count(s) == s.nunique()`` and ``top_value(s)`` is
``s.value_counts()``'s first row (ties: the value seen first).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["distinct_count", "top_value", "distinct_and_top", "first_distinct", "all_integral", "release_memory", "FEW"]

#: up to this many distinct values a hash table is small: count them directly
FEW = 1000


def first_distinct(series, limit):
    """The first ``limit + 1`` distinct non-null values in order of appearance (all if fewer).

    Same as ``list(series.dropna().unique()[:limit + 1])`` but reads only as many rows as needed.
    """
    n = len(series)
    size = 1000
    while True:
        uniq = (series.iloc[:size] if size < n else series).unique()
        missing = pd.isna(uniq)  # the missing value, once, among the distinct ones (no copy of the column)
        if missing.any():
            uniq = uniq[~missing]
        if len(uniq) > limit or size >= n:
            return list(uniq[: limit + 1])
        size *= 100


def all_integral(arr, window=65536):
    """``np.all(np.mod(arr, 1) == 0)`` one window at a time (no temporary the size of the column;
    stops at the first fraction)."""
    for start in range(0, len(arr), window):
        if not np.all(np.mod(arr[start:start + window], 1) == 0):
            return False
    return True


def distinct_count(series):
    """``series.nunique()`` (missing values not counted), without a hash table for large columns."""
    few = first_distinct(series, FEW)
    if len(few) <= FEW:
        return len(few)
    return distinct_and_top(series, top=False)[0]


def top_value(series):
    """``(value, count)`` of ``series.value_counts()``'s first row (``(None, 0)`` when all missing).

    The most frequent value; among equally frequent values, the one that occurs first.
    """
    return distinct_and_top(series)[1:]


def distinct_and_top(series, top=True):
    """``(distinct, top value, its count)``: :func:`distinct_count` and :func:`top_value` with one sort."""
    few = first_distinct(series, FEW)
    if len(few) <= FEW:
        if not top:
            return len(few), None, 0
        return (len(few),) + _value_counts_top(series)
    arr = _numpy_values(series)
    if arr is not None:
        return _numpy_distinct_top(arr, series.dtype, top)
    chunked = _arrow_values(series)
    if chunked is not None:
        return _arrow_distinct_top(chunked, top)
    distinct = int(series.nunique())
    return (distinct,) + (_value_counts_top(series) if top else (None, 0))


def _value_counts_top(series):
    counts = series.value_counts(dropna=True)
    if len(counts) == 0:
        return None, 0
    return counts.index[0], int(counts.iloc[0])


def _numpy_values(values):
    """The non-null values as a plain numpy array, or None when the dtype is not plain numpy."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iufM":
        arr = values.to_numpy()
        if dtype.kind == "f" and np.isnan(arr).any():
            arr = arr[~np.isnan(arr)]
        elif dtype.kind == "M" and np.isnat(arr).any():
            arr = arr[~np.isnat(arr)]
        return arr
    return None


def _arrow_values(values):
    """The non-null values of an Arrow-backed string column (a ChunkedArray, no copy), or None."""
    pa_array = getattr(values.array, "_pa_array", None)
    if pa_array is None:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(pa_array.type) or pa.types.is_large_string(pa_array.type)):
        return None
    if pa_array.null_count:
        pa_array = pc.drop_null(pa_array)
    return pa_array


def _numpy_distinct_top(arr, dtype, top):
    ordered = np.sort(arr)
    differs = ordered[1:] != ordered[:-1]
    distinct = int(np.count_nonzero(differs)) + 1
    if not top:
        return distinct, None, 0
    if distinct == len(ordered):  # all different: value_counts' first is the first row
        return distinct, _scalar(arr[0], dtype), 1
    starts, lengths = _runs(differs)
    del differs
    best = int(lengths.max())
    candidates = ordered[starts[lengths == best]]
    del ordered, starts, lengths
    if len(candidates) <= FEW:
        position = int(np.argmax(np.isin(arr, candidates)))
    else:  # many values tie: the first of them in the table, through a stable order
        order = np.argsort(arr, kind="stable")
        ordered = arr[order]
        starts, lengths = _runs(ordered[1:] != ordered[:-1])
        position = int(order[starts[lengths == best]].min())
    return distinct, _scalar(arr[position], dtype), best


def _scalar(value, dtype):
    return pd.Timestamp(value) if dtype.kind == "M" else dtype.type(value)


def _runs(differs):
    """``(starts, lengths)`` of the runs of equal values, from "sorted value i+1 differs from i"."""
    edges = np.flatnonzero(np.concatenate(([True], differs, [True])))
    return edges[:-1], np.diff(edges)


def _arrow_distinct_top(chunked, top):
    import pyarrow.compute as pc

    # dense ranks (1..distinct, equal strings equal ranks): Arrow sorts the chunks in place of a
    # hash table, and nothing is concatenated (a take from a chunked array would copy it whole)
    ranks = pc.rank(chunked, sort_keys="ascending", tiebreaker="dense")
    distinct = int(pc.max(ranks).as_py() or 0)
    if not top:
        return distinct, None, 0
    if distinct == len(chunked):  # all different: value_counts' first is the first row
        return distinct, chunked[0].as_py(), 1
    ranks = ranks.to_numpy()
    counts = np.bincount(ranks)
    best = int(counts.max())
    # the first row whose value is among the most frequent: value_counts' tie order
    position = int(np.argmax(counts[ranks] == best))
    return distinct, chunked[position].as_py(), best


def release_memory():
    """Give freed memory back to the system: Arrow's pool keeps freed pages for reuse, and glibc keeps
    up to 64 MB of freed column-sized blocks (its trim threshold doubles with the first big free),
    which would otherwise add up, column after column, in one long profile."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # pragma: no cover - an Arrow without the call
        pass
    global _TRIM
    if _TRIM is None:
        try:
            import ctypes

            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc (macOS, musl, Windows): nothing to trim
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM = None
