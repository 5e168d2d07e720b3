"""Benchmark: customers scored per second, local engine vs Spark ``local[2]``, on the same file.

Run from the project root (needs ``requirements-spark.txt`` and Java)::

    python benchmarks/bench_spark_score.py [--rows 200000] [--master local[2]]

Builds a file of ``--rows`` customers by repeating ``../shared/datasets/Churn_Modelling.csv`` (new
customer ids), trains a model through the CLI on its first 4,000 customers, then times
``python -m churn_core score`` with ``--engine local`` and ``--engine spark`` as separate processes
(wall time, start-up included: Python imports, and for Spark the JVM). Both outputs are compared
(probabilities, tiers, reasons). Wall times depend on what else runs on the machine: the load
average is printed alongside. The figures go to the README ("When one machine is not enough").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared" / "datasets" / "Churn_Modelling.csv"


_TICK = os.sysconf("SC_CLK_TCK")


def _tree_cpu(root, seen):
    """Record the CPU seconds (user + system) of ``root`` and all its descendants into ``seen``."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append((int(d), fields))
    stack = [root]
    while stack:
        pid = stack.pop()
        for child, fields in children.get(pid, []):
            seen[child] = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / _TICK
            stack.append(child)
    try:
        with open(f"/proc/{root}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        seen[root] = (int(fields[11]) + int(fields[12])) / _TICK
    except OSError:
        pass


def _cli(*args):
    """Run the CLI; (summary, wall seconds, CPU seconds of the process and all it started, polled)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "churn_core", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = {}
    while proc.poll() is None:
        _tree_cpu(proc.pid, seen)
        time.sleep(0.25)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed: {err.strip()}")
    return json.loads(out.strip().splitlines()[-1]), wall, sum(seen.values())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--spark-only", action="store_true", help="time the Spark run only")
    args = ap.parse_args()
    base = pd.read_csv(DATASET)
    reps = -(-args.rows // len(base))
    big = pd.concat([base] * reps, ignore_index=True).head(args.rows)
    big["RowNumber"] = np.arange(1, len(big) + 1)
    big["CustomerId"] = 10_000_000 + np.arange(len(big))
    with tempfile.TemporaryDirectory(prefix="bench_spark_") as tmp:
        tmp = Path(tmp)
        data = tmp / "customers.csv"
        big.to_csv(data, index=False)
        base.head(4000).to_csv(tmp / "train.csv", index=False)
        _cli("train", str(tmp / "train.csv"), "--out", str(tmp / "model"))
        if args.spark_only:
            spark, t_spark, c_spark = _cli("score", str(data), "--model", str(tmp / "model"), "--out",
                                           str(tmp / "spark.parquet"), "--engine", "spark", "--master", args.master)
            print(f"spark {args.master}: {t_spark:.1f} s wall, {c_spark:.1f} s CPU")
            return
        print(f"rows={len(big)} file={data.stat().st_size / 1e6:.1f} MB cores={os.cpu_count()} "
              f"load={os.getloadavg()[0]:.1f}")
        local, t_local, c_local = _cli("score", str(data), "--model", str(tmp / "model"), "--out",
                                       str(tmp / "local.csv"))
        print(f"local          : {t_local:7.1f} s wall {len(big) / t_local:9,.0f} customers/s; "
              f"{c_local:6.1f} s CPU {len(big) / c_local:9,.0f} customers/CPU-s; load={os.getloadavg()[0]:.1f}")
        spark, t_spark, c_spark = _cli("score", str(data), "--model", str(tmp / "model"), "--out",
                              str(tmp / "spark.parquet"), "--engine", "spark", "--master", args.master)
        print(f"spark {args.master:9s}: {t_spark:7.1f} s wall {len(big) / t_spark:9,.0f} customers/s; "
              f"{c_spark:6.1f} s CPU {len(big) / c_spark:9,.0f} customers/CPU-s; load={os.getloadavg()[0]:.1f}")
        a = pd.read_csv(tmp / "local.csv", encoding="utf-8-sig", keep_default_na=False)
        b = pd.read_parquet(tmp / "spark.parquet")
        same = (len(a) == len(b)
                and float(np.abs(a["churn_probability"] - b["churn_probability"]).max()) <= 1e-6
                and (a["risk_tier"].astype(str) == b["risk_tier"].astype(str)).all()
                and all((a[c].astype(str) == b[c].fillna("").astype(str)).all() for c in ("reason_1", "reason_2", "reason_3")))
        print(f"same output: {same}; summaries equal: "
              f"{ {k: v for k, v in local.items() if k not in ('out', 'engine')} == {k: v for k, v in spark.items() if k not in ('out', 'engine')} }")


if __name__ == "__main__":
    main()
