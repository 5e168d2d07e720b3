"""One private, locked-down in-memory DuckDB per browser session.

The lock-down happens in the constructor, before any user data or SQL touches the database,
in the order that DuckDB accepts (see ``shared/PITFALLS.md``):

1. connect with replacement scans, extension auto-install/auto-load and community extensions
   off, and a memory limit, thread count and temp-space cap of this session's own;
2. ``SET allowed_directories`` to this session's folder;
3. ``SET enable_external_access=false``;
4. ``SET lock_configuration=true``.

DuckDB has no statement timeout, so :meth:`SessionStore.query` interrupts the same connection
from a timer thread. ``memory_limit`` does not cover every allocation (a huge ``repeat()`` goes
past it), which is why user-typed SQL runs in a child process with OS limits
(``churn_core.analysis.sqlguard``); this store runs the engine's own, known queries.

Memory: :meth:`SessionStore.close` closes the connection (DuckDB frees the database when its last
cursor is gone) and then asks glibc to hand freed heap pages back to the OS (:func:`release_memory`,
``malloc_trim(0)``). Without it a long-running server keeps the high-water mark of every session it
has served in its malloc arenas (see ``BENCHMARKS.md``, "Load test").
"""

import ctypes
import ctypes.util
import gc
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from churn_core.data.duckdb_safety import connection_config, lock_down
from churn_core.errors import ChurnCoreError

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


_LIBC = None


def release_memory():
    """Return memory freed by closed sessions to the OS; True when glibc's heap was trimmed.

    Two allocators keep freed memory for reuse, so a long-running server keeps the high-water mark
    of every session it served (measured: about 130 MB after one 500,000-row frame):

    * pyarrow's default pool (mimalloc), used by DuckDB's ``.df()`` / Arrow results: released with
      ``pyarrow.default_memory_pool().release_unused()`` (only when pyarrow is already imported);
    * glibc's malloc arenas (one per thread that allocated): ``malloc_trim(0)``.
    """
    global _LIBC
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        try:
            arrow.default_memory_pool().release_unused()
        except Exception:  # noqa: BLE001 - best effort, never fails a close
            pass
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
            _LIBC.malloc_trim.restype = ctypes.c_int
        except (OSError, AttributeError):
            _LIBC = False
    if not _LIBC:
        return False
    _LIBC.malloc_trim(0)
    return True


RELEASE_AGAIN_AFTER_S = 5.0
_release_timer = None
_release_timer_lock = threading.Lock()


def _release_later(delay_s=RELEASE_AGAIN_AFTER_S):
    """Collect garbage and release memory once more ``delay_s`` after the last store closed.

    A session's other objects (its frames, model and results in the session state) are freed just
    after its store is closed; closes in a burst (many sessions timing out together) share one
    timer, which restarts at each close.
    """
    global _release_timer
    with _release_timer_lock:
        if _release_timer is not None:
            _release_timer.cancel()
        _release_timer = threading.Timer(delay_s, _collect_and_release)
        _release_timer.daemon = True
        _release_timer.start()


def _collect_and_release():
    gc.collect()
    release_memory()


JANITOR_PERIOD_S = 30.0
_janitor = None
_janitor_lock = threading.Lock()


def start_memory_janitor(period_s=JANITOR_PERIOD_S, before=None):
    """Collect garbage and return freed memory to the OS every ``period_s`` seconds (once per process).

    A server frees a session's state (its frames, model and results) when the session expires,
    ``disconnectedSessionTTL`` after its tab closed, without calling the engine; its store was
    closed (and memory released) at the disconnect, while that state was still alive. With
    Streamlit's per-run full collection switched off for speed (``.streamlit/config.toml``), the
    expired state's cycles and glibc's freed pages stayed until something else collected: the load
    test measured +22 % after the TTL. The janitor's pass costs a full collection (tens of ms)
    every ``period_s``. ``before``: a callable run first in every pass (the app passes the one
    that ends expired sessions). Returns the thread.
    """
    global _janitor
    with _janitor_lock:
        if _janitor is None or not _janitor.is_alive():
            stop = threading.Event()
            snapshots = _snapshot_folder()

            def loop():
                while not stop.wait(period_s):
                    try:
                        if before is not None:
                            before()
                        _collect_and_release()
                        if snapshots is not None:
                            _dump_snapshot(snapshots)
                    except Exception:  # noqa: BLE001 - a failed pass never stops the server
                        pass

            _janitor = threading.Thread(target=loop, name="retention-memory-janitor", daemon=True)
            _janitor.stop = stop
            _janitor.start()
    return _janitor


def _snapshot_folder():
    """Diagnosis only: with ``RS_MEMORY_SNAPSHOTS=DIR`` in the server's environment, Python's
    allocations are traced (``tracemalloc``, 4 frames) and every janitor pass dumps a snapshot into
    DIR (``benchmarks/load`` compares them). Off by default: tracing slows the server."""
    folder = os.environ.get("RS_MEMORY_SNAPSHOTS")
    if not folder:
        return None
    import tracemalloc

    Path(folder).mkdir(parents=True, exist_ok=True)
    if os.environ.get("RS_MEMORY_TRACE", "1") != "0" and not tracemalloc.is_tracing():
        tracemalloc.start(4)
    return Path(folder)


def _dump_snapshot(folder):
    import json
    import tracemalloc

    stamp = f"{time.time():.0f}"
    if os.environ.get("RS_MEMORY_TRACE", "1") != "0":
        tracemalloc.take_snapshot().dump(str(folder / f"snapshot_{stamp}.pickle"))
    live = [o for o in gc.get_objects() if type(o).__name__ == "Workspace"]
    report = {"live_workspaces": len(live), "holders": []}
    for ws in live[:3]:
        report["holders"].append(_holder_chain(ws))
    (folder / f"holders_{stamp}.json").write_text(json.dumps(report, indent=1, default=str))


def _holder_chain(obj, depth=6):
    """Types of the objects holding ``obj``, a few levels up (diagnosis of what keeps a session alive)."""
    import inspect

    chain, current, seen = [], obj, {id(obj)}
    for _ in range(depth):
        refs = [r for r in gc.get_referrers(current)
                if id(r) not in seen and not inspect.isframe(r) and r is not chain]
        if not refs:
            break
        described = []
        for r in refs[:5]:
            d = type(r).__module__ + "." + type(r).__qualname__
            if isinstance(r, dict):
                d += " keys=" + ",".join(str(k) for k in list(r)[:8])
            described.append(d)
        chain.append(described)
        current = refs[0]
        seen.add(id(current))
    return chain


def stop_memory_janitor():
    """Stop the janitor thread (tests; a server simply exits)."""
    global _janitor
    with _janitor_lock:
        if _janitor is not None:
            _janitor.stop.set()
            _janitor.join(timeout=5)
            _janitor = None


def quote_identifier(name):
    """Quote a DuckDB identifier (table or column name), escaping embedded quotes."""
    return '"' + str(name).replace('"', '""') + '"'


class SessionStore:
    """A locked-down in-memory DuckDB database owned by one browser session.

    Parameters
    ----------
    root_dir : str or Path, optional
        The session's own folder, the only place DuckDB may read or write files. A fresh
        temporary folder is created when omitted and removed by :meth:`close`.
    memory_limit : str, default "1GB"
        DuckDB buffer-manager limit for this session.
    threads : int, default 1
        Worker threads for this session's queries.
    max_temp : str, default "1GB"
        Cap on the spill-to-disk space (``max_temp_directory_size``).
    timeout_s : float, default 10.0
        Default time limit of :meth:`query`; the query is interrupted when it is reached.

    Attributes
    ----------
    root_dir : Path
        The session folder.
    session_id : str
        Random identifier of this store.
    """

    def __init__(self, root_dir=None, memory_limit="1GB", threads=1, max_temp="1GB", timeout_s=10.0):
        if timeout_s is not None and timeout_s <= 0:
            raise ChurnCoreError("store.bad_timeout", "timeout_s must be positive.")
        self.session_id = uuid.uuid4().hex
        self._owns_dir = root_dir is None
        if root_dir is None:
            root_dir = tempfile.mkdtemp(prefix=f"retention_{self.session_id[:8]}_")
        self.root_dir = Path(root_dir).resolve()
        self.root_dir.mkdir(parents=True, exist_ok=True)
        self.timeout_s = timeout_s
        self.memory_limit = memory_limit
        self.threads = int(threads)
        self.max_temp = max_temp
        self._lock = threading.RLock()
        temp_dir = self.root_dir / "duckdb_tmp"
        temp_dir.mkdir(exist_ok=True)
        self._con = duckdb.connect(
            database=":memory:",
            config=connection_config(memory_limit=memory_limit, threads=self.threads,
                                     max_temp_directory_size=max_temp, temp_directory=str(temp_dir)),
        )
        lock_down(self._con, allowed_directory=self.root_dir)
        self._closed = False

    # ------------------------------------------------------------------ data
    def load_frame(self, name, df):
        """Create (or replace) table ``name`` from a pandas DataFrame.

        Uses ``CREATE TABLE ... AS`` so the data is materialised and visible to every cursor.
        """
        self._check_open()
        if not _NAME_RE.match(str(name)):
            raise ChurnCoreError("store.bad_table_name", f"Invalid table name {name!r}.", name=name)
        if not isinstance(df, pd.DataFrame):
            raise ChurnCoreError("store.not_a_frame", "load_frame expects a pandas DataFrame.")
        with self._lock:
            cur = self._con.cursor()
            try:
                cur.register("__incoming", df)
                cur.execute(f"CREATE OR REPLACE TABLE {quote_identifier(name)} AS SELECT * FROM __incoming")
                cur.unregister("__incoming")
            finally:
                cur.close()
        return self

    def drop(self, name):
        """Drop table ``name`` if it exists."""
        self._check_open()
        with self._lock:
            self._con.execute(f"DROP TABLE IF EXISTS {quote_identifier(name)}")

    def tables(self):
        """Names of the tables in this session, sorted."""
        self._check_open()
        with self._lock:
            rows = self._con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT internal ORDER BY table_name"
            ).fetchall()
        return [r[0] for r in rows]

    def columns(self, name):
        """Column names of table ``name`` in order."""
        self._check_open()
        with self._lock:
            rows = self._con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
                [name],
            ).fetchall()
        return [r[0] for r in rows]

    # --------------------------------------------------------------- queries
    def cursor(self):
        """A new cursor on this session's database (one per script run or thread)."""
        self._check_open()
        return self._con.cursor()

    def query(self, sql, params=None, max_rows=None, timeout_s=None):
        """Run one query and return a DataFrame, interrupting it after ``timeout_s`` seconds.

        Parameters
        ----------
        sql : str
            The SQL text; values belong in ``params``, never pasted into ``sql``.
        params : list or dict, optional
            Query parameters.
        max_rows : int, optional
            Keep at most this many rows of the result.
        timeout_s : float, optional
            Overrides the store's default time limit.

        Raises
        ------
        ChurnCoreError
            ``store.timeout`` when the limit was reached, ``store.query_failed`` on SQL errors.
        """
        self._check_open()
        limit = self.timeout_s if timeout_s is None else timeout_s
        with self._lock:
            cur = self._con.cursor()
            timed_out = threading.Event()

            def _interrupt():
                timed_out.set()
                cur.interrupt()

            timer = threading.Timer(limit, _interrupt) if limit else None
            try:
                if timer:
                    timer.start()
                rel = cur.execute(sql, params) if params is not None else cur.execute(sql)
                if max_rows is not None:
                    rows = rel.fetchmany(int(max_rows))
                    cols = [d[0] for d in rel.description] if rel.description else []
                    result = pd.DataFrame.from_records(rows, columns=cols)
                else:
                    result = rel.df()
            except duckdb.InterruptException as exc:
                raise ChurnCoreError(
                    "store.timeout",
                    f"The query took longer than {limit:g} s and was stopped.",
                    seconds=limit,
                ) from exc
            except duckdb.Error as exc:
                if timed_out.is_set():
                    raise ChurnCoreError(
                        "store.timeout",
                        f"The query took longer than {limit:g} s and was stopped.",
                        seconds=limit,
                    ) from exc
                raise ChurnCoreError(
                    "store.query_failed", f"The query failed: {exc}", detail=str(exc)
                ) from exc
            finally:
                if timer:
                    timer.cancel()
                cur.close()
        return result

    # ------------------------------------------------------------- lifecycle
    def _check_open(self):
        if self._closed:
            raise ChurnCoreError("store.closed", "This session's database was closed; reload the page.")

    @property
    def closed(self):
        """True once :meth:`close` ran."""
        return self._closed

    def close(self, trim=True):
        """Close the database, remove the session folder when the store created it, and (``trim``)
        return the freed memory to the OS with :func:`release_memory`, now and again a few seconds
        later (after the session's other objects are gone)."""
        if self._closed:
            return
        self._closed = True
        try:
            with self._lock:
                self._con.close()
        finally:
            if self._owns_dir:
                shutil.rmtree(self.root_dir, ignore_errors=True)
            if trim:
                release_memory()
                _release_later()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):  # best effort: sessions end without telling us
        try:
            self.close(trim=False)
        except Exception:  # noqa: BLE001
            pass
