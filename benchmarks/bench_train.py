"""Benchmark (goal 2 of issue 14): `train` with reasons for every customer vs the naive floor (opt-in).

Run from the project root::

    python benchmarks/bench_train.py --file /tmp/big1m/customers.csv [--contrib-rows 100000] [--best]

* **ours**: ``python -m churn_core train FILE --out DIR`` in a child process (the real command: read,
  roles, gate, training, calibration, test figures, baseline, backtest, TreeSHAP of every customer,
  tiers, three reasons in words for every customer, CSV files), wall and CPU time.
* **naive floor**: DuckDB ``read_csv`` of the same file into pandas + XGBoost ``hist`` 200 trees of
  depth 6 on every row (2 threads) + XGBoost's own TreeSHAP (``pred_contribs``) for every row.
  TreeSHAP of the floor's depth-6 model runs about 1,000 rows/s on 2 cores, so it is measured on
  ``--contrib-rows`` rows and extrapolated linearly to all rows (it is linear in rows: one
  independent computation per row), which the output says.
* ``--best``: the best model we can train on the same rows and the same held-out test split
  (depth 6, learning rate 0.05, up to 1,500 trees, early stopping), for the AUC gap.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def naive_floor(path, contrib_rows, label="churned"):
    import duckdb
    import pandas as pd
    import xgboost as xgb

    out = {}
    c0 = time.process_time()
    t = time.perf_counter()
    con = duckdb.connect()
    df = con.execute("SELECT * FROM read_csv(?)", [str(path)]).df()
    out["read_s"] = round(time.perf_counter() - t, 2)
    y = df.pop(label).astype(int).to_numpy()
    for c in df.columns:
        if df[c].dtype == object or str(df[c].dtype).startswith(("string", "str")):
            df[c] = df[c].astype("category")
        elif str(df[c].dtype).startswith("datetime"):
            df[c] = df[c].astype("int64") // 86_400_000_000_000
    df = df.drop(columns=[c for c in df.columns if c.lower().endswith("_id")])
    t = time.perf_counter()
    dtrain = xgb.DMatrix(df, label=y, enable_categorical=True, nthread=2)
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6, "eta": 0.1,
              "nthread": 2, "verbosity": 0}
    bst = xgb.train(params, dtrain, num_boost_round=200)
    out["fit_s"] = round(time.perf_counter() - t, 2)
    n = len(df)
    k = min(int(contrib_rows), n)
    t = time.perf_counter()
    bst.predict(xgb.DMatrix(df.iloc[:k], enable_categorical=True, nthread=2), pred_contribs=True)
    out["contribs_measured_rows"] = k
    out["contribs_measured_s"] = round(time.perf_counter() - t, 2)
    out["contribs_all_rows_s"] = round(out["contribs_measured_s"] * n / k, 1)
    out["contribs_extrapolated"] = k < n
    out["total_s"] = round(out["read_s"] + out["fit_s"] + out["contribs_all_rows_s"], 1)
    # CPU time of the measured steps (the extrapolated TreeSHAP part scaled like its wall time)
    out["cpu_measured_s"] = round(time.process_time() - c0, 1)
    out["rows"] = n
    return out


def ours(path):
    with tempfile.TemporaryDirectory(prefix="train-bench-") as d:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "churn_core", "train", str(path), "--out", d],
                              cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        metrics = json.loads((Path(d) / "metrics.json").read_text(encoding="utf-8"))
        return {
            "wall_s": round(wall, 1),
            "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
            "peak_rss_mb": round(after.ru_maxrss / 1024),
            "roc_auc": round(float(summary["roc_auc"]), 4),
            "n_trees": summary["n_trees"], "max_depth": metrics.get("max_depth"),
            "training_seconds": summary["training_seconds"], "rows_scored": metrics.get("rows_scored"),
        }


def best_model(path):
    """Test AUC of a deeper, longer model on the same rows and the same test split."""
    from churn_core.commands.train import load_with_roles
    from churn_core.modeling.model import ChurnModel

    load, roles = load_with_roles(path)
    t = time.perf_counter()
    m = ChurnModel(max_depth=6, learning_rate=0.05, n_estimators=1500, early_stopping_rounds=50,
                   cv_folds=0).fit(load.df, roles)
    return {"roc_auc": round(float(m.metrics_["roc_auc"]), 4), "n_trees": int(m.n_trees_), "max_depth": 6,
            "learning_rate": 0.05, "fit_s": round(time.perf_counter() - t, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True, help="customers CSV (e.g. generate --rows 1000000)")
    parser.add_argument("--contrib-rows", type=int, default=100_000)
    parser.add_argument("--best", action="store_true", help="also train the best model for the AUC gap")
    parser.add_argument("--parts", default="ours,floor",
                        help="which parts to run (ours, floor, best); results merge into --out, so the "
                             "parts can run as separate processes")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    parts = {p for p in args.parts.split(",") if p} | ({"best"} if args.best else set())
    out = Path(args.out) if args.out else None
    res = json.loads(out.read_text()) if out is not None and out.exists() else {}
    res.update({"file": str(args.file), "csv_mb": round(os.path.getsize(args.file) / 2**20, 1)})

    def save(key, value):
        res[key] = value
        res[f"load_average_after_{key}"] = round(os.getloadavg()[0], 2)
        if "ours" in res and "floor" in res:
            res["ratio"] = round(res["ours"]["wall_s"] / res["floor"]["total_s"], 4)
        if "ours" in res and "best" in res:
            res["auc_gap"] = round(res["best"]["roc_auc"] - res["ours"]["roc_auc"], 4)
        print(json.dumps({key: value}), flush=True)
        if out is not None:  # re-read: another part may have written meanwhile
            current = json.loads(out.read_text()) if out.exists() else {}
            current.update({k: v for k, v in res.items()})
            res.update(current)
            out.write_text(json.dumps(res, indent=1))

    if "ours" in parts:
        save("ours", ours(args.file))
    if "floor" in parts:
        save("floor", naive_floor(args.file, args.contrib_rows))
    if "best" in parts:
        save("best", best_model(args.file))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
