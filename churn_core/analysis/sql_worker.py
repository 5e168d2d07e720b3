"""Child process that runs ONE user SQL query under OS limits: ``python -m churn_core.analysis.sql_worker``.

Started by :func:`churn_core.analysis.sqlguard.run_user_sql` (``subprocess``, never a fork of the server).
Protocol:

* stdin: one JSON object ``{"tables": {name: parquet_path}, "sql": str, "max_rows": int,
  "max_bytes": int, "memory_limit_mb": int, "address_space_mb": int, "cpu_s": int}``;
* stdout: the result as an Arrow IPC stream (at most ``max_rows`` rows and about ``max_bytes``
  bytes of Arrow data: the rows are read in small batches and reading stops at either cap);
* stderr: one JSON line, ``{"ok": true, "rows": n, "bytes": b, "truncated": bool,
  "truncated_by": null | "rows" | "bytes", "maxrss_kb": k}`` or
  ``{"ok": false, "code": "...", "message": "..."}``.

Limits set before DuckDB is imported: address space (``RLIMIT_AS``, so a huge ``repeat()`` fails
instead of eating the machine), CPU seconds, no core dumps and no file writes
(``RLIMIT_FSIZE=0``). DuckDB itself: private in-memory database, one thread, a memory limit, no
spilling (empty ``temp_directory``), replacement scans, extension loading and external access off,
configuration locked, before the user's SQL runs. The parent adds a wall-clock kill.

This module imports nothing from the rest of ``churn_core`` so that it starts fast.
"""

import json
import resource
import sys

EXIT_OK = 0
EXIT_REFUSED = 3
EXIT_FAILED = 4
EXIT_OOM = 5


def _report(payload):
    sys.stderr.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stderr.flush()


def _limit(kind, value):
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, hard if hard != resource.RLIM_INFINITY else value))


BATCH_ROWS = 256


def _capped_result(relation, max_rows, max_bytes, pa):
    """The first rows of ``relation`` within ``max_rows`` rows and ``max_bytes`` Arrow bytes.

    Reads small batches and stops as soon as a cap is passed, so a huge result is never built.
    Returns ``(table, truncated_by)`` with ``truncated_by`` None, ``"rows"`` or ``"bytes"``.
    """
    reader = relation.to_arrow_reader(max(1, min(max_rows + 1, BATCH_ROWS)))
    batches, rows, size, truncated_by = [], 0, 0, None
    for batch in reader:
        if rows + batch.num_rows > max_rows:
            batch = batch.slice(0, max_rows - rows)
            truncated_by = "rows"
        if size + batch.nbytes > max_bytes:
            keep = _rows_within(batch, max_bytes - size)
            batch = batch.slice(0, keep)
            truncated_by = "bytes"
        if batch.num_rows:
            batches.append(batch)
            rows += batch.num_rows
            size += batch.nbytes
        if truncated_by:
            break
    schema = reader.schema
    table = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    return table, truncated_by


def _rows_within(batch, budget):
    """Largest ``k`` such that the first ``k`` rows of ``batch`` take at most ``budget`` bytes."""
    low, high = 0, batch.num_rows
    while low < high:
        mid = (low + high + 1) // 2
        if batch.slice(0, mid).nbytes <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def main():
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    mb = 2**20
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, 0)
    _limit(resource.RLIMIT_CPU, int(request.get("cpu_s", 30)))
    _limit(resource.RLIMIT_AS, int(request.get("address_space_mb", 2048)) * mb)

    import duckdb  # after the limits: its allocations count against them
    import pyarrow as pa

    from churn_core.data.duckdb_safety import connection_config, lock_down

    con = duckdb.connect(
        database=":memory:",
        config=connection_config(memory_limit=f"{int(request.get('memory_limit_mb', 512))}MB", threads=1,
                                 temp_directory="", max_temp_directory_size="0B"),
    )
    for name, path in request.get("tables", {}).items():
        ident = '"' + str(name).replace('"', '""') + '"'
        con.execute(f"CREATE TABLE {ident} AS SELECT * FROM read_parquet(?)", [str(path)])
    lock_down(con)

    sql = request["sql"]
    statements = duckdb.extract_statements(sql)
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        _report({"ok": False, "code": "sql.not_select", "message": "Only one SELECT statement is allowed."})
        return EXIT_REFUSED

    max_rows = int(request.get("max_rows", 10000))
    max_bytes = int(request.get("max_bytes", 16 * mb))
    try:
        table, truncated_by = _capped_result(con.sql(sql), max_rows, max_bytes, pa)
    except MemoryError:
        _report({"ok": False, "code": "sql.out_of_memory", "message": "The query needs more memory than allowed."})
        return EXIT_OOM
    except duckdb.OutOfMemoryException as exc:
        _report({"ok": False, "code": "sql.out_of_memory", "message": str(exc).splitlines()[0]})
        return EXIT_OOM
    except duckdb.Error as exc:
        _report({"ok": False, "code": "sql.query_failed", "message": str(exc).strip()})
        return EXIT_FAILED
    out = sys.stdout.buffer
    with pa.ipc.new_stream(out, table.schema) as writer:
        writer.write_table(table)
    out.flush()
    _report({
        "ok": True,
        "rows": table.num_rows,
        "bytes": table.nbytes,
        "truncated": truncated_by is not None,
        "truncated_by": truncated_by,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    })
    return EXIT_OK


if __name__ == "__main__":
    try:
        code = main()
    except MemoryError:
        _report({"ok": False, "code": "sql.out_of_memory", "message": "The query needs more memory than allowed."})
        code = EXIT_OOM
    except Exception as exc:  # noqa: BLE001 - report one line to the parent, never a traceback
        name = exc.__class__.__name__
        code_name = "sql.out_of_memory" if "OutOfMemory" in name else "sql.query_failed"
        _report({"ok": False, "code": code_name, "message": str(exc).strip() or name})
        code = EXIT_OOM if code_name == "sql.out_of_memory" else EXIT_FAILED
    sys.exit(code)
