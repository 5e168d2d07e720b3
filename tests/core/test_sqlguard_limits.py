"""SQL guard limits: query size and depth refused before any recursion; results capped in rows and bytes."""

import time

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from churn_core.analysis import sqlguard
from churn_core.analysis.sql_worker import _capped_result
from churn_core.analysis.sqlguard import MAX_DEPTH, MAX_SQL_CHARS, check_sql, run_user_sql
from churn_core.data.store import SessionStore
from churn_core.errors import ChurnCoreError

TOO_DEEP = "The query is nested too deeply (more than 100 levels); simplify it."


def _refusal(sql):
    with pytest.raises(ChurnCoreError) as info:
        check_sql(sql, ["customers"])
    return info.value


def test_limits_are_the_documented_ones():
    assert (MAX_SQL_CHARS, MAX_DEPTH, sqlguard.MAX_RESULT_BYTES) == (20_000, 100, 16 * 2**20)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT " + " + ".join(["1"] * 500) + " FROM customers",  # the reported RecursionError
        "SELECT " + " || ".join(["'a'"] * 500) + " FROM customers",
        "SELECT " + "(" * 500 + "1" + ")" * 500 + " FROM customers",
        "SELECT " + "abs(" * 500 + "1" + ")" * 500 + " FROM customers",
        "SELECT * FROM " + "(SELECT * FROM " * 150 + "customers" + ")" * 150,
        "SELECT " + " + ".join(["1"] * 150) + " FROM customers",
    ],
    ids=["plus_500", "concat_500", "parens_500", "calls_500", "subqueries_150", "plus_150"],
)
def test_deep_expression_refused_quickly_with_one_message(sql):
    started = time.monotonic()
    err = _refusal(sql)
    assert time.monotonic() - started < 2.0  # ~0.05 s idle; generous for a loaded 2-core machine
    assert err.code == "sql.too_deep"
    assert str(err) == TOO_DEEP
    assert err.params == {"limit": 100}


def test_deep_expression_in_the_worker_path_is_the_same_refusal(tmp_path):
    with SessionStore(root_dir=tmp_path / "s") as store:
        store.load_frame("customers", pd.DataFrame({"x": [1]}))
        with pytest.raises(ChurnCoreError, match=r"^The query is nested too deeply \(more than 100 levels\); simplify it\.$"):
            run_user_sql(store, "SELECT " + " + ".join(["x"] * 500) + " FROM customers")


@pytest.mark.parametrize(
    "sql,value",
    [
        ("SELECT " + " + ".join(["1"] * 90), 90),
        ("SELECT " + "(" * 99 + "1" + ")" * 99, 1),
        ("SELECT " + " AND ".join(["1 = 1"] * 1500), True),  # long but flat
        ("SELECT '" + "(" * 300 + "' IS NOT NULL", True),  # parentheses inside a string literal
        ("SELECT 1 IS NOT NULL -- " + "(" * 300 + "\n", True),  # ... and inside a comment
    ],
    ids=["plus_90", "parens_99", "and_1500", "string", "comment"],
)
def test_reasonable_queries_still_pass(sql, value):
    assert check_sql(sql, ["customers"]) == sql.strip()
    assert duckdb.connect().execute(sql).fetchone()[0] == value


def test_too_long_refused_before_parsing():
    sql = "SELECT 1 AS a" + ", 1" * 10_000  # 30,013 characters
    err = _refusal(sql)
    assert err.code == "sql.too_long"
    assert str(err) == "The query is too long (30,013 characters; at most 20,000)."
    assert err.params == {"chars": "30,013", "limit": "20,000"}


def test_exactly_the_length_limit_is_allowed():
    sql = "SELECT 1" + " " * (MAX_SQL_CHARS - 10) + "+1"
    assert len(sql) == MAX_SQL_CHARS
    assert check_sql(sql, ["customers"]) == sql


# ------------------------------------------------------------------ result caps inside the worker
def _cap(sql, max_rows, max_bytes):
    table, by = _capped_result(duckdb.connect().sql(sql), max_rows, max_bytes, pa)
    assert table.nbytes <= max_bytes
    return table.num_rows, by, table.column(0).to_pylist()[-1:] if table.num_rows else []


@pytest.mark.parametrize(
    "sql,max_rows,max_bytes,expected",
    [
        # 1,000 characters + 8-byte id + 4-byte offset per row: 10 rows would be 10,124 bytes
        ("SELECT i, repeat('x', 1000) AS s FROM range(100) t(i)", 1_000, 10_000, (9, "bytes", [8])),
        ("SELECT i, repeat('x', 1000) AS s FROM range(100) t(i)", 5, 10_000, (5, "rows", [4])),
        ("SELECT i, repeat('x', 1000) AS s FROM range(100) t(i)", 100, 10**9, (100, None, [99])),
        ("SELECT i FROM range(1000) t(i)", 300, 10**9, (300, "rows", [299])),
        ("SELECT i FROM range(300) t(i)", 300, 10**9, (300, None, [299])),
        ("SELECT repeat('x', 5000) AS s", 10, 1_000, (0, "bytes", [])),
    ],
    ids=["bytes", "rows_first", "complete", "rows_over_batches", "exactly_max_rows", "one_huge_row"],
)
def test_worker_caps_rows_and_bytes(sql, max_rows, max_bytes, expected):
    assert _cap(sql, max_rows, max_bytes) == expected


def test_byte_cap_counts_arrow_bytes_exactly():
    table, by = _capped_result(duckdb.connect().sql("SELECT i, repeat('x', 1000) AS s FROM range(100) t(i)"),
                               1_000, 10_000, pa)
    assert (table.num_rows, by, table.nbytes) == (9, "bytes", 9 * 1000 + 9 * 8 + 10 * 4)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = SessionStore(root_dir=tmp_path_factory.mktemp("sqllimits"))
    s.load_frame("customers", pd.DataFrame({"id": range(100), "name": ["n"] * 100}))
    yield s
    s.close()


def test_result_over_the_byte_cap_is_truncated_with_flag_and_message(store):
    res = run_user_sql(store, "SELECT id, repeat('x', 100000) AS blob FROM customers ORDER BY id", max_bytes=2**20)
    assert len(res.frame) == 10
    assert res.frame["id"].tolist() == list(range(10))
    assert res.truncated is True
    assert res.truncated_by == "bytes"
    assert res.result_bytes == 10 * 100_000 + 10 * 8 + 11 * 4
    assert res.truncation == ("sql.truncated_bytes", {"rows": "10", "mb": "1.0", "max_mb": "1"})
    assert res.truncation_message == (
        "Only the first 10 rows (1.0 MB) are shown: results are capped at 1 MB; select fewer or shorter columns."
    )


def test_default_byte_cap_keeps_a_200_mb_result_out_of_the_server(store):
    res = run_user_sql(store, "SELECT c.id, repeat('x', 2000000) AS blob FROM customers c ORDER BY id")
    assert res.truncated_by == "bytes"
    assert len(res.frame) == 8  # 8 x 2 MB fit in 16 MiB with their ids and offsets
    assert res.result_bytes <= 16 * 2**20


def test_row_cap_message(store):
    res = run_user_sql(store, "SELECT id FROM customers", max_rows=40)
    assert (len(res.frame), res.truncated, res.truncated_by) == (40, True, "rows")
    assert res.truncation == ("sql.truncated", {"rows": "40"})
    assert res.truncation_message == "Only the first 40 rows are shown: add filters or aggregates to see everything."


def test_complete_result_has_no_truncation(store):
    res = run_user_sql(store, "SELECT COUNT(*) AS n FROM customers")
    assert res.frame["n"].tolist() == [100]
    assert (res.truncated, res.truncated_by, res.truncation, res.truncation_message) == (False, None, None, None)
    assert 0 < res.result_bytes < 100


def test_bad_byte_cap(store):
    with pytest.raises(ChurnCoreError, match=r"^max_bytes must be at least 1\.$"):
        run_user_sql(store, "SELECT 1", max_bytes=0)
