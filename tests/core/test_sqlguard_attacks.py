"""Every attack on the SQL page is refused or interrupted, creates no file, and other sessions keep answering."""

import os
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from churn_core.errors import ChurnCoreError
from churn_core.analysis.sqlguard import ensure_snapshot, run_user_sql, run_worker
from churn_core.data.store import SessionStore

TOKEN = "attack_" + uuid.uuid4().hex[:8]
TMP = Path(tempfile.gettempdir())


@pytest.fixture(scope="module")
def stores(tmp_path_factory, sample_path):
    df = pd.read_csv(sample_path)
    a = SessionStore(root_dir=tmp_path_factory.mktemp("session_a"))
    b = SessionStore(root_dir=tmp_path_factory.mktemp("session_b"))
    a.load_frame("customers", df)
    b.load_frame("customers", df.head(1000))
    ensure_snapshot(a)
    b_paths = ensure_snapshot(b)
    yield a, b, b_paths["customers"]
    a.close()
    b.close()


@pytest.fixture
def clean_cwd(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def _files(root):
    return {str(p) for p in Path(root).rglob("*")}


def _state(stores, cwd):
    a, b, _ = stores
    return {
        "a": _files(a.root_dir),
        "b": _files(b.root_dir),
        "cwd": _files(cwd),
        "tmp_token": sorted(p.name for p in TMP.iterdir() if TOKEN in p.name),
        "repo_tmp": sorted(p.name for p in Path(__file__).resolve().parents[2].iterdir() if p.name.startswith(".tmp")),
    }


def _other_sessions_answer(stores):
    a, b, _ = stores
    assert b.query("SELECT COUNT(*) AS n FROM customers")["n"].tolist() == [1000]
    assert a.query("SELECT COUNT(*) AS n FROM customers")["n"].tolist() == [20000]


def _attack(stores, cwd, sql, **kw):
    a = stores[0]
    before = _state(stores, cwd)
    started = time.monotonic()
    with pytest.raises(ChurnCoreError) as info:
        run_user_sql(a, sql, **kw)
    elapsed = time.monotonic() - started
    assert _state(stores, cwd) == before, "the attack created a file"
    _other_sessions_answer(stores)
    return info.value, elapsed


REFUSED = [
    ("SELECT * FROM read_csv('/etc/passwd')", "sql.forbidden_function"),
    ("SELECT * FROM read_csv_auto('/etc/passwd', header=false)", "sql.forbidden_function"),
    (f"COPY customers TO '{TMP}/{TOKEN}.csv'", "sql.not_select"),
    (f"COPY (SELECT * FROM customers) TO '{TOKEN}.parquet' (FORMAT parquet)", "sql.not_select"),
    (f"EXPORT DATABASE '{TMP}/{TOKEN}_dump'", "sql.not_select"),
    ("SELECT * FROM glob('/*')", "sql.forbidden_function"),
    (f"ATTACH '{TMP}/{TOKEN}.duckdb' AS evil", "sql.not_select"),
    ("INSTALL httpfs", "sql.not_select"),
    ("LOAD httpfs", "sql.not_select"),
    ("SET enable_external_access = true", "sql.not_select"),
    ("RESET lock_configuration", "sql.not_select"),
    ("PRAGMA database_list", "sql.not_select"),
    ("SELECT * FROM stores", "sql.unknown_table"),  # a Python variable in this test's scope
    ("SELECT * FROM pd", "sql.unknown_table"),
]


@pytest.mark.parametrize("sql,code", REFUSED)
def test_attack_refused_without_files(stores, clean_cwd, sql, code):
    err, elapsed = _attack(stores, clean_cwd, sql)
    assert err.code == code
    assert elapsed < 3.0  # refused by the parser: no worker is started


def test_other_sessions_folder_is_refused(stores, clean_cwd):
    other = stores[2]
    err, _ = _attack(stores, clean_cwd, f"SELECT * FROM read_parquet('{other}')")
    assert err.code == "sql.forbidden_function"
    err, _ = _attack(stores, clean_cwd, f"SELECT * FROM '{other}'")
    assert err.code == "sql.unknown_table"


def test_repeat_bomb_stopped_by_address_space_cap(stores, clean_cwd):
    err, elapsed = _attack(stores, clean_cwd, "SELECT length(repeat('x', 2000000000)) AS n", timeout_s=10)
    assert err.code == "sql.out_of_memory"
    assert elapsed < 5
    assert err.params["peak_mb"] < 2048


def test_growing_list_bomb_stopped(stores, clean_cwd):
    err, elapsed = _attack(stores, clean_cwd, "SELECT list(repeat('x', 1000000)) FROM range(5000)", timeout_s=10)
    assert err.code in ("sql.out_of_memory", "sql.timeout")
    assert elapsed < 11
    assert err.params["peak_mb"] < 2048


def test_cross_join_order_by_interrupted_within_timeout(stores, clean_cwd):
    sql = "SELECT a.balance + b.balance AS s FROM customers a, customers b ORDER BY s DESC"
    err, elapsed = _attack(stores, clean_cwd, sql, timeout_s=3)
    assert err.code in ("sql.timeout", "sql.out_of_memory")
    assert elapsed < 4.5
    assert err.params["peak_mb"] < 2048


# ------------------------------------------------------------ what slips past the parser still fails
def _direct(stores, sql):
    a = stores[0]
    paths = ensure_snapshot(a)
    folder = Path(paths["customers"]).parent
    before = _files(a.root_dir)
    report, payload, _, _ = run_worker({"tables": paths, "sql": sql, "max_rows": 10}, timeout_s=10, cwd=folder)
    assert _files(a.root_dir) == before
    assert payload == b""
    return report


@pytest.mark.parametrize(
    "sql,fragment",
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "disabled"),
        ("SELECT * FROM glob('/*')", "disabled"),
        ("SELECT * FROM request", "does not exist"),  # the worker's own Python variable: no replacement scan
        ("SELECT current_setting('temp_directory') AS t, 1/0 AS boom FROM read_text('/etc/hostname')", "disabled"),
    ],
)
def test_worker_lockdown_when_the_parser_is_bypassed(stores, sql, fragment):
    report = _direct(stores, sql)
    assert report["ok"] is False
    assert report["code"] == "sql.query_failed"
    assert fragment in report["message"]


@pytest.mark.parametrize("sql", ["COPY customers TO 'x.csv'", "SET threads = 8", "ATTACH 'x.duckdb'", "SELECT 1; SELECT 2"])
def test_worker_refuses_non_select_when_bypassed(stores, sql):
    report = _direct(stores, sql)
    assert report == {"ok": False, "code": "sql.not_select", "message": "Only one SELECT statement is allowed."}


def test_other_session_file_unreadable_when_bypassed(stores):
    report = _direct(stores, f"SELECT COUNT(*) FROM read_parquet('{stores[2]}')")
    assert report["ok"] is False
    assert "disabled" in report["message"]
