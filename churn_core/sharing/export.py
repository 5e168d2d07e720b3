"""Downloads that are safe to open in Excel.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel
(or LibreOffice) as a formula: ``=HYPERLINK("http://evil","click")`` in a customer name becomes a
live link. Such TEXT cells, and such column headers, are prefixed with a single quote ``'``, which
shows the text as typed. Numeric columns are never touched: ``-3`` stored as a number stays the
number -3 (and the text ``"-3"`` becomes ``"'-3"``).

CSV is written as UTF-8 with a byte-order mark so Excel shows Chinese correctly.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

__all__ = ["neutralise_text", "to_safe_frame", "to_safe_csv_bytes", "to_safe_excel_bytes", "csv_bytes_fast"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value):
    """``value`` with a leading ``'`` when it is text starting with a formula trigger.

    Examples
    --------
    >>> neutralise_text("=1+1")
    "'=1+1"
    >>> neutralise_text(-3)
    -3
    """
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def to_safe_frame(df):
    """A copy of ``df`` whose text cells and headers are neutralised; numbers untouched."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError("to_safe_frame expects a pandas DataFrame")
    named_index = isinstance(df.index, pd.MultiIndex) or df.index.name is not None
    out = df.reset_index() if named_index else df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype) \
                or pd.api.types.is_datetime64_any_dtype(s.dtype):
            continue
        if isinstance(s.dtype, pd.StringDtype):
            # a text column (every value a string or missing): one vectorised test, the column kept
            hit = s.str.startswith(_TRIGGERS).fillna(False).to_numpy(dtype=bool)
            if hit.any():
                s = s.copy()
                s[hit] = "'" + s[hit]
                out[col] = s
            continue
        obj = s.astype(object)
        is_text = obj.map(type).isin([str, np.str_]).to_numpy()  # one pass per column
        if not is_text.any():
            continue
        text = obj[is_text].astype(str)
        hit = text.str.startswith(_TRIGGERS).to_numpy()
        if hit.any():
            obj = obj.copy()
            idx = obj.index[is_text][hit]
            obj.loc[idx] = "'" + text[hit]
        out[col] = obj
    out.columns = [neutralise_text(c) for c in out.columns]
    return out


def to_safe_csv_bytes(df, index=False):
    """CSV bytes (UTF-8 with BOM) of ``df``, safe against formula injection."""
    safe = to_safe_frame(df)
    if not index and len(safe) >= FAST_CSV_MIN_ROWS:
        fast = csv_bytes_fast(safe)
        if fast is not None:
            return b"\xef\xbb\xbf" + fast
    return safe.to_csv(index=index, lineterminator="\r\n").encode("utf-8-sig")


# pandas writes CSV through Python's csv module, row by row: 4.2 s of the 39 s that `train` takes on
# 1M customers. DuckDB's writer gives the same bytes (tested against pandas on generated frames:
# its doubles print as Python's repr does, minimal quoting, quotes doubled) once text is text,
# empty text is missing and True/False are words; it runs in C++ on both cores.
FAST_CSV_MIN_ROWS = 20_000


def _csv_column(s):
    """``s`` as a pyarrow array that DuckDB writes as pandas would, or None."""
    import pyarrow as pa

    dtype = s.dtype
    if isinstance(dtype, np.dtype) and dtype == np.bool_:
        return pa.array(np.where(s.to_numpy(), "True", "False"), type=pa.string())
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return pa.array(s.to_numpy())
    if isinstance(dtype, np.dtype) and dtype == np.float64:
        return pa.array(s.to_numpy(), from_pandas=True)  # NaN -> missing (an empty field)
    if isinstance(dtype, pd.CategoricalDtype):
        if not all(isinstance(c, str) for c in dtype.categories):
            return None
    elif not (dtype == object or pd.api.types.is_string_dtype(dtype)):
        return None
    import pyarrow.compute as pc

    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        arr = pc.cast(pa.chunked_array(s.array._pa_array), pa.string())  # already Arrow text
    else:
        try:  # anything but text (a number or a date in a text column) is left to pandas
            arr = pa.array(s.astype(object).to_numpy(), type=pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            return None

    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)  # pandas writes "" as nothing


def csv_bytes_fast(df):
    """``df.to_csv(index=False, lineterminator="\\r\\n")`` as UTF-8 bytes written by DuckDB, or
    None when ``df`` has a column kind this does not cover (then use pandas)."""
    import shutil
    import tempfile

    import duckdb
    import pyarrow as pa

    names = [str(c) for c in df.columns]
    if len(names) < 2 or len(set(names)) != len(names):
        return None  # (one column: pandas writes an empty field as "" so the line is not blank)
    arrays = []
    for col in df.columns:
        arr = _csv_column(df[col])
        if arr is None:
            return None
        arrays.append(arr)
    table = pa.Table.from_arrays(arrays, names=names)
    folder = tempfile.mkdtemp(prefix="csv-")
    try:
        path = f"{folder}/out.csv"
        from churn_core.data.duckdb_safety import connection_config

        con = duckdb.connect(config=connection_config(threads=2))
        try:
            con.register("t", table)
            con.execute(f"COPY t TO '{path}' (HEADER, DELIMITER ',', QUOTE '\"', ESCAPE '\"', "
                        "NULLSTR '', NEW_LINE '\\r\\n')")
        finally:
            con.close()
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def to_safe_excel_bytes(df, sheet_name="data", index=False):
    """``.xlsx`` bytes of ``df``: text stored as text (never a formula or a link), numbers as
    numbers."""
    safe = to_safe_frame(df)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter",
                        engine_kwargs={"options": {"strings_to_formulas": False,
                                                   "strings_to_urls": False,
                                                   "strings_to_numbers": False}}) as writer:
        safe.to_excel(writer, sheet_name=str(sheet_name)[:31], index=index)
    return buf.getvalue()
