"""Benchmark (goal 1 of issue 14): upload of a 1M-row CSV to a typed table, against DuckDB (opt-in).

Run from the project root::

    python benchmarks/bench_ingest.py [--file /tmp/big/customers.csv] [--reps 3] [--out ingest.json]

Without ``--file`` the 1M-row sample is generated once into /tmp/big
(``python -m churn_core generate --rows 1000000 --seed 1 --out /tmp/big``).

Each measurement runs in a fresh Python process, alternating floor and ours so that the load of a
shared machine hits both alike; the medians and their ratios are reported:

- ``floor_duckdb_s``: DuckDB's own ``CREATE TABLE t AS SELECT * FROM read_csv(file)``;
- ``load_file_s``: ``churn_core.data.ingest.load_file`` (bytes to the typed pandas frame with every
  row accounted for, bad values listed);
- ``upload_s``: ``load_file`` plus loading the frame into the session's DuckDB store
  (``SessionStore.load_frame``): the typed table the segment pages query;
- ``load_file_peak_rss_bytes``: peak RSS of that process up to the end of ``load_file`` (imports
  included);
- ``profile_peak_rss_bytes``: peak RSS of ``python -m churn_core profile FILE`` (whole CLI,
  imports included), against the CSV's size.

Targets: ``upload_s / floor_duckdb_s <= 4`` and ``profile_peak_rss_bytes / csv_bytes <= 4``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = Path("/tmp/big/customers.csv")

FLOOR = """
import sys, time, duckdb
con = duckdb.connect(config={"threads": 2})
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [sys.argv[1]])
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(time.perf_counter() - t, n)
"""

OURS = """
import resource, sys, tempfile, time
from churn_core.data.ingest import load_file
t = time.perf_counter()
load = load_file(sys.argv[1])
t_load = time.perf_counter() - t
peak_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
from churn_core.data.store import SessionStore  # after the peak above (duckdb's import is not ours)
t_store = time.perf_counter()
with tempfile.TemporaryDirectory() as tmp:
    store = SessionStore(tmp)
    store.load_frame("customers", load.df)
    n = store.query("SELECT count(*) AS n FROM customers")["n"].iloc[0]
    t_upload = t_load + time.perf_counter() - t_store
    store.close()
assert load.rows_in_file == load.rows_loaded + load.rows_rejected
print(t_load, t_upload, load.rows_in_file, load.rows_loaded, load.rows_rejected, int(n), peak_load)
"""


def _run(code, path):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         env=env, cwd=ROOT, check=True)
    return out.stdout.strip().splitlines()[-1].split()


def _profile_peak(path):
    """Peak RSS (bytes) of the ``profile`` CLI, measured with wait4 on that one child."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "churn_core", "profile", str(path), "--no-columns"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    stdout = proc.stdout.read()
    proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("profile failed")
    summary = json.loads(stdout)
    return usage.ru_maxrss * 1024, seconds, summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=None)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    path = args.file or DEFAULT_FILE
    if not path.exists():
        if args.file:
            raise SystemExit(f"no such file: {path}")
        subprocess.run([sys.executable, "-m", "churn_core", "generate", "--rows", "1000000", "--seed", "1",
                        "--out", str(path.parent)], cwd=ROOT, check=True)
    size = path.stat().st_size

    floors, loads, uploads, load_peaks = [], [], [], []
    accounting = None
    for _ in range(max(1, args.reps)):
        seconds, n_duck = _run(FLOOR, path)
        floors.append(float(seconds))
        t_load, t_upload, in_file, loaded, rejected, n_table, peak_load = _run(OURS, path)
        load_peaks.append(int(peak_load))
        loads.append(float(t_load))
        uploads.append(float(t_upload))
        accounting = {"rows_in_file": int(in_file), "rows_loaded": int(loaded),
                      "rows_rejected": int(rejected), "rows_in_table": int(n_table),
                      "rows_duckdb": int(n_duck)}
    peak, profile_s, summary = _profile_peak(path)

    floor = statistics.median(floors)
    result = {
        "benchmark": "ingest",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "load_average": os.getloadavg()},
        "file": str(path),
        "csv_bytes": size,
        "reps": len(floors),
        "floor_duckdb_s": round(floor, 3),
        "floor_duckdb_runs_s": [round(x, 3) for x in floors],
        "load_file_s": round(statistics.median(loads), 3),
        "load_file_runs_s": [round(x, 3) for x in loads],
        "upload_s": round(statistics.median(uploads), 3),
        "upload_runs_s": [round(x, 3) for x in uploads],
        "ratio_load_file_vs_floor": round(statistics.median(loads) / floor, 2),
        "ratio_upload_vs_floor": round(statistics.median(uploads) / floor, 2),
        "ratio_upload_vs_floor_per_pair": [round(u / f, 2) for u, f in zip(uploads, floors)],
        "load_file_peak_rss_bytes": max(load_peaks),
        "ratio_load_file_peak_vs_csv": round(max(load_peaks) / size, 2),
        "profile_s": round(profile_s, 3),
        "profile_peak_rss_bytes": peak,
        "ratio_profile_peak_vs_csv": round(peak / size, 2),
        "accounting": accounting,
        "profile_rows": {k: summary.get(k) for k in ("rows_in_file", "rows_loaded", "rows_rejected")},
        "targets": {"ratio_upload_vs_floor": 4.0, "ratio_profile_peak_vs_csv": 4.0},
    }
    result["meets_targets"] = (result["ratio_upload_vs_floor"] <= 4.0
                               and result["ratio_profile_peak_vs_csv"] <= 4.0)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
