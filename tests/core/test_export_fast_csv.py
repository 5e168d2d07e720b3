"""The DuckDB CSV writer of big downloads writes exactly pandas' bytes (and leaves other frames to pandas)."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from churn_core.sharing import export
from churn_core.sharing.export import csv_bytes_fast, to_safe_csv_bytes

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)

TEXT = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list('ab ,"\r\n\'=-+é王伟\t;x0.')), max_size=8))
FLOAT = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                  st.floats(min_value=0, max_value=1).map(lambda v: round(v, 6)))


def _pandas(df):
    return df.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


@PROPERTY
@given(rows=st.lists(st.tuples(TEXT, FLOAT, st.integers(-10**15, 10**15), st.booleans()), min_size=1, max_size=30),
       string_dtype=st.booleans())
def test_duckdb_writes_the_same_bytes_as_pandas(rows, string_dtype):
    df = pd.DataFrame(rows, columns=["text", "amount", "count", "flag"])
    df["amount"] = df["amount"].astype(np.float64)
    df["text"] = df["text"].astype("str" if string_dtype else object)
    df["tier"] = pd.Categorical(["High", "Low", None][i % 3] for i in range(len(df)))
    assert csv_bytes_fast(df) == _pandas(df)


def test_text_with_quotes_commas_and_line_breaks():
    df = pd.DataFrame({"a, b": ['say "hi"', "x,y", "line\nbreak", "", None, "王伟"], "n": range(6)})
    assert csv_bytes_fast(df) == _pandas(df)
    assert csv_bytes_fast(df) == ('"a, b",n\r\n"say ""hi""",0\r\n"x,y",1\r\n"line\nbreak",2\r\n,3\r\n,4\r\n'
                                  '王伟,5\r\n').encode("utf-8")


def test_floats_print_as_python_repr():
    df = pd.DataFrame({"v": [0.5, 5.0, 1e-05, 1e16, 1500000000000000.0, -0.0, float("inf"), float("nan")],
                       "k": [1] * 8})
    assert csv_bytes_fast(df) == (b"v,k\r\n0.5,1\r\n5.0,1\r\n1e-05,1\r\n1e+16,1\r\n1500000000000000.0,1\r\n"
                                  b"-0.0,1\r\ninf,1\r\n,1\r\n")


def test_other_column_kinds_are_left_to_pandas():
    assert csv_bytes_fast(pd.DataFrame({"d": pd.to_datetime(["2024-01-31"]), "k": [1]})) is None
    assert csv_bytes_fast(pd.DataFrame({"mixed": ["a", 1], "k": [1, 2]})) is None
    assert csv_bytes_fast(pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "k": [1, 2]})) is None
    assert csv_bytes_fast(pd.DataFrame([[1, 2]], columns=["x", "x"])) is None
    assert csv_bytes_fast(pd.DataFrame({"only": ["", "a"]})) is None


def test_big_safe_download_is_the_same_through_either_writer(monkeypatch):
    n = 25_000
    df = pd.DataFrame({"id": [f"C{i:06d}" for i in range(n)], "p": np.round(np.linspace(0, 1, n), 6),
                       "reason": ["=cmd" if i % 7 == 0 else "Balance down 3%, 2 products" for i in range(n)]})
    fast = to_safe_csv_bytes(df)
    monkeypatch.setattr(export, "FAST_CSV_MIN_ROWS", 10**9)
    assert fast == to_safe_csv_bytes(df)
    assert fast.count(b"'=cmd") == 3572
