"""Benchmark (goal 4 of issue 14): time to a fully explained model, ours vs explainerdashboard and shapash.

Run from the project root (opt-in, never collected by pytest)::

    python benchmarks/bench_peers.py [--rows 20000,100000] [--timeout 1200] [--out peers.json]

Same rows for everyone: ``churn_core.data.synth.generate(rows=N, seed=7)``.

* **ours**: ``ChurnModel().fit`` (gate, 5-fold cross-fitting, calibration, baseline, test figures)
  then every view of the Drivers page over every row: ``compute_explanation`` (all rows),
  global importance, beeswarm, a dependence plot per feature, interaction pairs (the page's
  300-row sample, and separately over every row), one waterfall, top-3 reasons in words for every
  customer, segment drivers; every chart built (``to_dict``).
* **peers**, in their own venv (``--venv``, created on first use with ``pip install
  explainerdashboard shapash xgboost pyarrow``; never in requirements*): the same rows and the same
  features (our model's columns, categories as integer codes), an ``XGBClassifier`` with our
  model's settings and tree count, then ``ClassifierExplainer`` + ``ExplainerDashboard`` construction
  with and without interactions, and ``SmartExplainer.compile`` + ``init_app``. Each peer run is
  bounded by ``--timeout`` seconds and reported as "> timeout" when it does not finish.
* reference: XGBoost's own ``pred_contribs`` over every row (TreeSHAP alone).
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
sys.path.insert(0, str(ROOT))

PEERS = ("explainerdashboard", "explainerdashboard_nointer", "shapash")
PEER_PACKAGES = ["explainerdashboard", "shapash", "xgboost", "pyarrow"]


def ensure_peers_venv(venv):
    """Path of the peers' python, creating the venv (with the peer packages) when missing."""
    py = Path(venv) / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    ok = subprocess.run([str(py), "-c", "import explainerdashboard, shapash, xgboost"],
                        capture_output=True).returncode == 0
    if not ok:
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return py


def time_ours(df, roles, interactions_all=True):
    """Seconds per step to a fully explained model with every view of ours."""
    from churn_core import explain
    from churn_core.modeling.model import ChurnModel

    steps = {}

    def lap(name, t):
        steps[name] = round(time.perf_counter() - t, 3)
        return time.perf_counter()

    t = t0 = time.perf_counter()
    model = ChurnModel().fit(df, roles)
    t = lap("fit (gate, 5-fold cross-fitting up to 50k rows or a validation split, calibration, baseline, test)", t)
    expl = explain.compute_explanation(model, df)
    t = lap("explanation of every row (TreeSHAP)", t)
    imp = explain.compute_global_importance(model, explanation=expl)
    explain.build_importance_chart(imp).to_dict()
    bees = explain.compute_beeswarm_data(expl, top=10)
    explain.build_beeswarm_chart(bees).to_dict()
    t = lap("importance + beeswarm", t)
    for col in expl.columns:
        explain.build_dependence_chart(explain.compute_dependence_data(expl, col)).to_dict()
    t = lap(f"dependence plot of each of {len(expl.columns)} features", t)
    pairs = explain.compute_interaction_pairs(model, df, sample=300)
    explain.build_interaction_chart(pairs).to_dict()
    t = lap("interaction pairs (page: 300-row sample)", t)
    wf = explain.compute_waterfall(expl, 0, top=8)
    explain.build_waterfall_chart(wf).to_dict()
    reasons = explain.compute_top_reasons(model, df, k=3, lang="en", explanation=expl)
    t = lap("waterfall + top-3 reasons in words for every row", t)
    mask = expl.proba >= np.quantile(expl.proba, 0.9)
    seg = explain.compute_segment_drivers(expl, mask)
    explain.build_segment_chart(seg, value="difference").to_dict()
    t = lap("segment drivers", t)
    total = time.perf_counter() - t0
    out = {"total_s": round(total, 2), "steps": steps, "n_trees": int(model.n_trees_),
           "roc_auc": round(float(model.metrics_["roc_auc"]), 4), "reasons_rows": int(len(reasons))}
    if interactions_all:
        t = time.perf_counter()
        explain.compute_interaction_pairs(model, df, sample=len(df))
        out["interactions_every_row_s"] = round(time.perf_counter() - t, 2)
        out["total_with_every_row_interactions_s"] = round(total + out["interactions_every_row_s"], 2)
    t = time.perf_counter()
    explain._raw_contribs(model, model.transform(df), method="native")
    out["xgboost_pred_contribs_s"] = round(time.perf_counter() - t, 2)
    return model, out


def peer_table(model, df):
    """The peers' input: our model's feature columns as numbers (categories -> codes) + label."""
    from churn_core.modeling.prep import label_to_binary

    X = model.transform(df)
    num = pd.DataFrame(index=range(len(X)))
    for c in X.columns:
        s = X[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.astype("float64")
            num[c] = codes.where(codes >= 0).to_numpy()
        else:
            num[c] = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
    num["__label__"] = label_to_binary(df[model.label_], model.positive_).fillna(0).astype(int).to_numpy()
    return num


def run_peer(py, data, meta, peer, timeout):
    t = time.perf_counter()
    try:
        proc = subprocess.run([str(py), str(ROOT / "benchmarks" / "peers_worker.py"), str(data), str(meta), peer],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"peer": peer, "timeout": True, "total_s": None, "wall_s": round(time.perf_counter() - t, 1)}
    if proc.returncode != 0:
        return {"peer": peer, "error": proc.stderr.strip().splitlines()[-1:] or ["failed"],
                "total_s": None}
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    return json.loads(line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="20000,100000")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per peer run")
    parser.add_argument("--venv", default="/tmp/peers-venv")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--every-row-interactions-max", type=int, default=20_000,
                        help="also time SHAP interaction values of every row up to this many rows (XGBoost's "
                             "pred_interactions: about 450 s for 20k rows on a loaded 2-core machine)")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)

    from churn_core.data.roles import detect_roles
    from churn_core.data.synth import generate

    py = ensure_peers_venv(args.venv)
    results = {"timeout_s": args.timeout, "sizes": []}
    work = Path(tempfile.mkdtemp(prefix="peers-bench-"))
    for n in [int(x) for x in args.rows.split(",") if x]:
        df = generate(rows=n, seed=7)["customers"]
        roles = detect_roles(df)
        model, ours = time_ours(df, roles, interactions_all=n <= args.every_row_interactions_max)
        print(json.dumps({"rows": n, "ours": ours}), flush=True)
        data, meta = work / f"peers_{n}.parquet", work / f"peers_{n}.json"
        peer_table(model, df).to_parquet(data)
        meta.write_text(json.dumps({"max_depth": int(model.max_depth), "learning_rate": float(model.learning_rate_),
                                    "n_trees": int(model.n_trees_)}))
        size = {"rows": n, "features": len(model.feature_names_), "ours": ours, "peers": []}
        results["sizes"].append(size)
        for peer in [p for p in args.peers.split(",") if p]:
            if args.out:  # keep what is measured if a later run is interrupted
                Path(args.out).write_text(json.dumps(results, indent=1))
            r = run_peer(py, data, meta, peer, args.timeout)
            print(json.dumps({"rows": n, **r}), flush=True)
            size["peers"].append(r)
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=1))
    results["load_average_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(results, indent=1)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
