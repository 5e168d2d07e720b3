"""Safe SQL for analysts: one SELECT over the session's tables, capped in rows, time and memory.

Two layers:

1. :func:`check_sql` reads the query with DuckDB's own parser (``duckdb.extract_statements`` and
   ``json_serialize_sql``) and refuses, before anything runs: more than one statement, anything
   but SELECT (``COPY``, ``EXPORT``, ``ATTACH``, ``INSTALL``/``LOAD``, ``SET``/``RESET``,
   ``PRAGMA``, ``CREATE``...), table functions other than ``range``/``generate_series``/``unnest``
   (``read_csv``, ``read_parquet``, ``glob``, ``read_text``, ``duckdb_settings``...), file paths or
   unknown names used as tables (replacement scans of files or Python variables), other catalogs
   and a few scalar functions that reveal the environment.
2. :func:`run_user_sql` runs what passed in a child process (``python -m churn_core.analysis.sql_worker``)
   with ``RLIMIT_AS``, a CPU limit, no file writes, a wall-clock kill and its own locked-down
   DuckDB loaded from a Parquet snapshot of this session's tables (written once per data
   fingerprint in the session folder). Anything that slipped through layer 1 meets
   ``enable_external_access=false`` and a locked configuration there.

DuckDB's ``memory_limit`` alone does not stop ``repeat('x', 2000000000)`` (see PITFALLS), which is
why the child exists; the server process never runs user SQL.

Limits, all checked before anything recursive runs on the text: at most :data:`MAX_SQL_CHARS`
characters and :data:`MAX_DEPTH` levels of parentheses (a linear scan), then DuckDB's parser with
``max_expression_depth`` set to :data:`MAX_DEPTH` (so ``1 + 1 + ... + 1`` with 500 terms is refused
by the parser instead of reaching Python's recursion limit), then an iterative walk of the parse
tree. Results are capped in rows (:data:`MAX_ROWS`) *and* bytes (:data:`MAX_RESULT_BYTES`) inside
the worker, so the server process only ever receives the capped part.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from churn_core.errors import ChurnCoreError

ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
DENIED_FUNCTIONS = frozenset({"getenv", "current_setting", "current_database", "current_schema",
                              "current_schemas", "version", "which_secret", "read_text", "read_blob"})
DENIED_PREFIXES = ("duckdb_", "pragma_", "read_", "parquet_", "sqlite_", "iceberg_", "delta_")
MAX_ROWS = 10_000
MAX_RESULT_BYTES = 16 * 2**20  # Arrow bytes of the result handed to the server (page + downloads)
MAX_SQL_CHARS = 20_000
MAX_DEPTH = 100  # parentheses and DuckDB max_expression_depth
MAX_TREE_DEPTH = 1_000  # JSON nesting of the parse tree (about 3 per expression level)
TIMEOUT_S = 10.0
MEMORY_LIMIT_MB = 512
ADDRESS_SPACE_MB = 2048
SNAPSHOT_DIR = "sql_snapshot"

_snapshot_lock = threading.Lock()
REPO_ROOT = Path(__file__).resolve().parents[2]


def _refuse(code, message, **params):
    raise ChurnCoreError(code, message, **params)


def _walk(node, visit):
    """Call ``visit`` on every dict of a parse tree, iteratively (no recursion on user input)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            visit(item)
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def _paren_depth(text):
    """Deepest nesting of ``(`` in ``text`` outside string literals, quoted names and comments."""
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in ("'", '"'):
            end = text.find(ch, i + 1)
            while end != -1 and end + 1 < n and text[end + 1] == ch:  # doubled quote inside
                end = text.find(ch, end + 2)
            i = n if end == -1 else end + 1
            continue
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end == -1 else end + 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end == -1 else end + 2
            continue
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
        i += 1
    return deepest


def _json_depth(text):
    """Deepest nesting of ``[``/``{`` in a JSON text, by a linear scan (before ``json.loads``)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif ch in "]}":
            depth -= 1
    return deepest


def _too_deep():
    _refuse("sql.too_deep", f"The query is nested too deeply (more than {MAX_DEPTH} levels); simplify it.",
            limit=MAX_DEPTH)


def _check_connection():
    con = duckdb.connect(config={"enable_external_access": False, "autoload_known_extensions": False,
                                 "autoinstall_known_extensions": False, "python_enable_replacements": False,
                                 "threads": 1, "memory_limit": "64MB"})
    con.execute(f"SET max_expression_depth = {int(MAX_DEPTH)}")
    return con


def check_sql(sql, tables=("customers",)):
    """Validate one user query; return it without a trailing semicolon.

    Parameters
    ----------
    sql : str
        The analyst's query.
    tables : iterable of str
        Tables the query may read.

    Raises
    ------
    ChurnCoreError
        ``sql.empty``, ``sql.too_long`` (with ``chars`` and ``limit``), ``sql.too_deep`` (with
        ``limit``), ``sql.syntax``, ``sql.multiple_statements``, ``sql.not_select`` (with
        ``kind``), ``sql.forbidden_function`` (with ``name``), ``sql.unknown_table`` (with
        ``name`` and ``tables``).
    """
    text = (sql or "").strip()
    if len(text) > MAX_SQL_CHARS:
        _refuse("sql.too_long", f"The query is too long ({len(text):,} characters; at most {MAX_SQL_CHARS:,}).",
                chars=f"{len(text):,}", limit=f"{MAX_SQL_CHARS:,}")
    while text.endswith(";"):
        text = text[:-1].rstrip()
    if not text:
        _refuse("sql.empty", "Type a SELECT query first.")
    if _paren_depth(text) > MAX_DEPTH:
        _too_deep()

    con = _check_connection()
    try:
        try:
            statements = con.extract_statements(text)
        except duckdb.Error as exc:
            if "expression depth" in str(exc):
                _too_deep()
            _refuse("sql.syntax", f"The query could not be read: {_first_line(exc)}", detail=_first_line(exc))
        if not statements:
            _refuse("sql.empty", "Type a SELECT query first.")
        if len(statements) > 1:
            _refuse("sql.multiple_statements", "Run one statement at a time (only SELECT).")
        kind = statements[0].type
        if kind != duckdb.StatementType.SELECT:
            name = str(kind).split(".")[-1]
            _refuse("sql.not_select", f"Only SELECT queries are allowed here, not {name}.", kind=name)
        serialised = con.execute("SELECT json_serialize_sql(?)", [text]).fetchone()[0]
    finally:
        con.close()
    if _json_depth(serialised) > MAX_TREE_DEPTH:
        _too_deep()
    tree = json.loads(serialised)
    if tree.get("error"):
        if "expression depth" in str(tree.get("error_message", "")):
            _too_deep()
        _refuse("sql.syntax", f"The query could not be read: {tree.get('error_message', '')}",
                detail=tree.get("error_message", ""))

    allowed = {str(t).lower() for t in tables}
    ctes = set()

    def collect(node):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for item in cte_map.get("map", []) or []:
                if isinstance(item, dict) and "key" in item:
                    ctes.add(str(item["key"]).lower())

    _walk(tree, collect)
    problems = []

    def visit(node):
        ntype = node.get("type")
        if ntype == "TABLE_FUNCTION":
            name = str((node.get("function") or {}).get("function_name", "")).lower()
            if name not in ALLOWED_TABLE_FUNCTIONS:
                problems.append(("sql.forbidden_function", name))
        elif node.get("class") == "FUNCTION":
            name = str(node.get("function_name", "")).lower()
            if name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES) or node.get("catalog") or node.get("schema"):
                problems.append(("sql.forbidden_function", name))
        elif ntype == "BASE_TABLE":
            name = str(node.get("table_name", ""))
            catalog = str(node.get("catalog_name", "") or "")
            schema = str(node.get("schema_name", "") or "")
            if catalog or schema not in ("", "main") or (name.lower() not in allowed and name.lower() not in ctes):
                problems.append(("sql.unknown_table", ".".join(p for p in (catalog, schema, name) if p)))

    _walk(tree, visit)
    if problems:
        code, name = problems[0]
        if code == "sql.forbidden_function":
            _refuse(code, f"The function {name}() is not allowed here: queries may only read the loaded tables.", name=name)
        listed = ", ".join(sorted(tables)) or "-"
        _refuse(code, f"Unknown table {name!r}: you can query {listed}.", name=name, tables=listed)
    return text


def _first_line(exc):
    return " ".join(str(exc).strip().splitlines()[:1])[:300]


# --------------------------------------------------------------------------- snapshot
def store_fingerprint(store):
    """Fingerprint of every table of ``store`` (names, schema, row count and a content hash)."""
    parts = []
    for name in store.tables():
        ident = '"' + name.replace('"', '""') + '"'
        schema = store.query(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [name]
        )
        row = store.query(f"SELECT COUNT(*) AS n, CAST(COALESCE(SUM(hash(t)), 0) AS VARCHAR) AS h FROM {ident} AS t").iloc[0]
        parts.append([name, schema.values.tolist(), int(row["n"]), str(row["h"])])
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:20]


def ensure_snapshot(store):
    """Parquet copy of the session's tables for the SQL worker, rewritten when the data changes.

    Returns
    -------
    dict
        ``{table name: absolute parquet path}`` inside ``store.root_dir/sql_snapshot/<fingerprint>/``.
    """
    with _snapshot_lock:
        fingerprint = store_fingerprint(store)
        base = Path(store.root_dir) / SNAPSHOT_DIR
        folder = base / fingerprint
        done = folder / "_done"
        tables = store.tables()
        paths = {name: str(folder / f"t{i}.parquet") for i, name in enumerate(tables)}
        if done.exists():
            return paths
        if base.exists():
            for old in base.iterdir():
                shutil.rmtree(old, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        cur = store.cursor()
        try:
            for name, path in paths.items():
                ident = '"' + name.replace('"', '""') + '"'
                target = path.replace("'", "''")
                cur.execute(f"COPY {ident} TO '{target}' (FORMAT parquet)")
        finally:
            cur.close()
        done.write_text(fingerprint)
        return paths


# --------------------------------------------------------------------------- running
@dataclass(frozen=True)
class SqlResult:
    """A capped query result with what it cost.

    ``truncated`` is True when more rows existed; ``truncated_by`` says which cap stopped the
    result (``"rows"`` or ``"bytes"``, None when complete); ``result_bytes`` is the Arrow size of
    what was kept. :attr:`truncation` gives the message code and values a page shows.
    """

    frame: pd.DataFrame
    truncated: bool
    elapsed_s: float
    peak_rss_mb: float
    max_rows: int
    truncated_by: str | None = None
    result_bytes: int = 0
    max_bytes: int = MAX_RESULT_BYTES

    @property
    def truncation(self):
        """``(code, params)`` of the truncation message, or None when the result is complete.

        ``sql.truncated`` (``rows``) or ``sql.truncated_bytes`` (``rows``, ``mb``, ``max_mb``):
        "first N rows / X MB shown".
        """
        if not self.truncated:
            return None
        rows = f"{len(self.frame):,}"
        if self.truncated_by == "bytes":
            return "sql.truncated_bytes", {"rows": rows, "mb": f"{self.result_bytes / 2**20:.1f}",
                                           "max_mb": f"{self.max_bytes / 2**20:g}"}
        return "sql.truncated", {"rows": rows}

    @property
    def truncation_message(self):
        """English truncation message (the CLI prints it), or None."""
        found = self.truncation
        if found is None:
            return None
        code, params = found
        if code == "sql.truncated_bytes":
            return (f"Only the first {params['rows']} rows ({params['mb']} MB) are shown: results are capped at "
                    f"{params['max_mb']} MB; select fewer or shorter columns.")
        return f"Only the first {params['rows']} rows are shown: add filters or aggregates to see everything."


def _worker_env(cwd=None):
    env = {
        "TMPDIR": str(cwd or REPO_ROOT),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "LANG": "C.UTF-8",
    }
    return env


def run_worker(request, timeout_s=TIMEOUT_S, cwd=None):
    """Run the SQL worker on ``request`` (dict); return ``(status, stdout bytes, rusage, elapsed)``.

    ``status`` is the decoded JSON report, or ``{"ok": False, "code": "sql.timeout"}`` when the
    wall-clock limit killed the child, ``"sql.out_of_memory"`` when the OS did,
    ``"sql.result_too_large"`` when the child wrote far more than its byte cap (a backstop: the
    worker truncates at ``max_bytes`` itself).
    """
    max_output = 2 * int(request.get("max_bytes", MAX_RESULT_BYTES)) + 4 * 2**20
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-B", "-m", "churn_core.analysis.sql_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=str(cwd or REPO_ROOT),
        env=_worker_env(cwd),
        close_fds=True,
        start_new_session=True,
    )
    out_chunks, err_chunks, too_big = [], [], threading.Event()

    def pump(stream, sink, cap):
        total = 0
        while True:
            chunk = stream.read(65536)
            if not chunk:
                break
            total += len(chunk)
            if total > cap:
                too_big.set()
                break
            sink.append(chunk)

    readers = [
        threading.Thread(target=pump, args=(proc.stdout, out_chunks, max_output), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, err_chunks, 1 << 20), daemon=True),
    ]
    for r in readers:
        r.start()
    try:
        proc.stdin.write(json.dumps(request).encode("utf-8"))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    killed = None
    rusage = None
    status_code = None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            rusage, status_code = usage, status
            break
        if time.monotonic() - started > timeout_s:
            killed = "sql.timeout"
        elif too_big.is_set():
            killed = "sql.result_too_large"
        if killed:
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
            _, status_code, rusage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.01)
    proc.returncode = os.waitstatus_to_exitcode(status_code)
    for r in readers:
        r.join(timeout=2)
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    elapsed = time.monotonic() - started
    if killed:
        return {"ok": False, "code": killed}, b"", rusage, elapsed
    report = None
    for line in reversed(b"".join(err_chunks).decode("utf-8", "replace").splitlines()):
        try:
            report = json.loads(line)
            break
        except ValueError:
            continue
    if report is None:
        if proc.returncode < 0:
            report = {"ok": False, "code": "sql.out_of_memory" if proc.returncode in (-9, -6, -11) else "sql.killed",
                      "message": f"signal {-proc.returncode}"}
        else:
            report = {"ok": False, "code": "sql.query_failed", "message": "the query worker stopped unexpectedly"}
    return report, b"".join(out_chunks), rusage, elapsed


def run_user_sql(store, sql, max_rows=MAX_ROWS, timeout_s=TIMEOUT_S, memory_limit_mb=MEMORY_LIMIT_MB,
                 address_space_mb=ADDRESS_SPACE_MB, max_bytes=MAX_RESULT_BYTES):
    """Check and run an analyst's query on the session's tables in a capped child process.

    Parameters
    ----------
    store : churn_core.data.store.SessionStore
        The session store (its tables are what the query sees, as of now).
    sql : str
    max_rows : int, default 10,000
    max_bytes : int, default 16 MiB
        Cap on the Arrow size of the result; the worker stops reading rows when it is reached,
        so the server never holds more (``truncated_by == "bytes"``).
    timeout_s : float, default 10
        Wall-clock limit; the child is killed when it is reached.
    memory_limit_mb, address_space_mb : int
        DuckDB's memory limit and the OS address-space cap of the child.

    Returns
    -------
    SqlResult

    Raises
    ------
    ChurnCoreError
        The codes of :func:`check_sql`, and ``sql.timeout``, ``sql.out_of_memory``,
        ``sql.result_too_large``, ``sql.query_failed`` (with ``detail``).
    """
    if int(max_rows) < 1:
        raise ChurnCoreError("sql.bad_max_rows", "max_rows must be at least 1.")
    if int(max_bytes) < 1:
        raise ChurnCoreError("sql.bad_max_bytes", "max_bytes must be at least 1.")
    tables = store.tables()
    text = check_sql(sql, tables)
    paths = ensure_snapshot(store)
    request = {
        "tables": paths,
        "sql": text,
        "max_rows": int(max_rows),
        "max_bytes": int(max_bytes),
        "memory_limit_mb": int(memory_limit_mb),
        "address_space_mb": int(address_space_mb),
        "cpu_s": int(timeout_s) + 2,
    }
    folder = Path(next(iter(paths.values()))).parent if paths else Path(store.root_dir)
    report, payload, rusage, elapsed = run_worker(request, timeout_s=timeout_s, cwd=folder)
    peak = (rusage.ru_maxrss / 1024.0) if rusage else float("nan")
    if not report.get("ok"):
        code = report.get("code", "sql.query_failed")
        if code == "sql.timeout":
            raise ChurnCoreError(code, f"The query took longer than {timeout_s:g} s and was stopped.",
                                 seconds=f"{timeout_s:g}", elapsed=round(elapsed, 2), peak_mb=round(peak, 1))
        if code == "sql.out_of_memory":
            raise ChurnCoreError(code, f"The query needs more memory than the {address_space_mb} MB allowed and was stopped.",
                                 mb=address_space_mb, elapsed=round(elapsed, 2), peak_mb=round(peak, 1))
        if code == "sql.result_too_large":
            raise ChurnCoreError(code, "The result is too large; select fewer or shorter columns.",
                                 elapsed=round(elapsed, 2))
        if code == "sql.not_select":
            raise ChurnCoreError(code, "Only SELECT queries are allowed here.", kind="?")
        detail = report.get("message", "")
        raise ChurnCoreError("sql.query_failed", f"The query failed: {_first_line(detail)}", detail=_first_line(detail),
                             elapsed=round(elapsed, 2))
    import pyarrow as pa

    table = pa.ipc.open_stream(payload).read_all()
    del payload
    frame = table.to_pandas()
    return SqlResult(frame=frame, truncated=bool(report.get("truncated")), elapsed_s=elapsed,
                     peak_rss_mb=peak, max_rows=int(max_rows), truncated_by=report.get("truncated_by"),
                     result_bytes=int(report.get("bytes", table.nbytes)), max_bytes=int(max_bytes))


def _ident(name):
    return '"' + str(name).replace('"', '""') + '"'


def _literal(value):
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def example_queries(columns, label=None, positive=None, group=None, balance=None):
    """Example queries (code -> SQL text) adapted to the loaded table's column names."""
    out = {"first_rows": "SELECT *\nFROM customers\nLIMIT 20", "describe": "DESCRIBE customers"}
    if label is not None and group:
        churn = f"CASE WHEN {_ident(label)} = {_literal(positive)} THEN 1.0 ELSE 0.0 END"
        out["churn_by_group"] = (
            f"SELECT {_ident(group)}, COUNT(*) AS customers,\n       AVG({churn}) AS churn_rate\n"
            f"FROM customers\nGROUP BY 1\nORDER BY churn_rate DESC"
        )
    if balance:
        out["top_balances"] = f"SELECT *\nFROM customers\nORDER BY {_ident(balance)} DESC\nLIMIT 20"
    out["summary"] = "SUMMARIZE customers"
    return out
