"""Benchmark: top-three reasons for every customer of a 1M-row table (opt-in, not a pytest test).

Run from the project root::

    /tmp/venv/bin/python benchmarks/bench_reasons.py [--rows 1000000] [--train-rows 200000]

What it measures (figures go to benchmarks/README.md):

1. the default ChurnModel and a "best" model (deeper, more trees, smaller steps) trained on the same
   ``--train-rows`` synthetic customers with the same split: their held-out test AUCs;
2. on ``--rows`` fresh customers: the wall and CPU time of each step of the reasons pipeline
   (transform, exact TreeSHAP by split patterns, top-k, sentences) for both languages;
3. XGBoost's native ``pred_contribs`` on a slice, extrapolated to all rows, for both models;
4. agreement of the pattern method with ``pred_contribs`` on that slice.

Wall times depend on what else runs on the machine; the CPU times and the load average are printed
alongside.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from churn_core import explain  # noqa: E402
from churn_core.data import synth  # noqa: E402
from churn_core.modeling.model import ChurnModel  # noqa: E402


class Timer:
    def __init__(self, label, sink):
        self.label, self.sink = label, sink

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        self.sink[self.label] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}
        print(f"{self.label:<42} wall {wall:8.2f} s   cpu {cpu:8.2f} s   load {os.getloadavg()[0]:.1f}",
              flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--train-rows", type=int, default=200_000)
    parser.add_argument("--native-rows", type=int, default=20_000)
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    parser.add_argument("--shapes", default="default,best,shallow",
                        help="comma-separated model shapes to train (default,best,shallow)")
    args = parser.parse_args(argv)

    figures = {"rows": args.rows, "train_rows": args.train_rows, "cores": os.cpu_count()}
    times = figures.setdefault("times", {})

    with Timer("generate training customers", times):
        train = synth.generate(rows=args.train_rows, seed=11)["customers"]
    with Timer(f"generate {args.rows:,} customers to explain", times):
        big = synth.generate(rows=args.rows, seed=12)["customers"]

    shapes = {
        "default": {},
        "best": {"max_depth": 6, "learning_rate": 0.03, "n_estimators": 1500,
                 "early_stopping_rounds": 80},
        "shallow": {"max_depth": 3, "learning_rate": 0.1, "n_estimators": 400},
    }
    models = {}
    wanted = [x.strip() for x in args.shapes.split(",") if x.strip()]
    shapes = {k: v for k, v in shapes.items() if k in wanted}
    for name, params in shapes.items():
        with Timer(f"train {name} model", times):
            models[name] = ChurnModel(cv_folds=0, **params).fit(train)
        m = models[name]
        figures[name] = {
            "params": {"max_depth": m.max_depth, "learning_rate": m.learning_rate_,
                       "n_estimators_cap": m.n_estimators},
            "trees": int(m.booster_.num_boosted_rounds()),
            "test_auc": round(float(m.metrics_["roc_auc"]), 4),
        }
        print(name, figures[name], flush=True)

    # native pred_contribs on a slice, extrapolated
    part = big.iloc[: args.native_rows]
    for name, m in models.items():
        X = m.transform(part)
        t0, c0 = time.perf_counter(), time.process_time()
        native = explain._raw_contribs(m, X, method="native")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        figures[name]["native_rows_per_s"] = round(len(part) / wall)
        figures[name]["native_1m_extrapolated_s"] = round(wall * 1_000_000 / len(part), 1)
        figures[name]["native_cpu_1m_extrapolated_s"] = round(cpu * 1_000_000 / len(part), 1)
        if explain._parsed_trees(m.booster_) is not None:
            patt = explain._raw_contribs(m, X, method="patterns")
            figures[name]["patterns_max_abs_diff_vs_native"] = float(np.abs(patt - native).max())
        print(name, "native", figures[name], flush=True)

    # the whole pipeline on all rows, default model, both languages
    for name in [x for x in ("default", "shallow") if x in models]:
        m = models[name]
        steps = figures[name].setdefault("pipeline", {})
        with Timer(f"[{name}] reasons en, {args.rows:,} rows (all steps)", steps):
            en = explain.compute_top_reasons(m, big, k=3, lang="en")
        with Timer(f"[{name}]   transform", steps):
            X = m.transform(big)
        with Timer(f"[{name}]   TreeSHAP (patterns)", steps):
            explain._raw_contribs(m, X, method="patterns")
        with Timer(f"[{name}]   explanation (transform+SHAP+sum back)", steps):
            expl = explain.compute_explanation(m, big)
        with Timer(f"[{name}]   top-3 codes", steps):
            idx, pts = explain.compute_reason_codes(expl, k=3)
        with Timer(f"[{name}]   sentences en", steps):
            explain.format_reasons(expl, idx, pts, lang="en")
        with Timer(f"[{name}]   sentences zh", steps):
            explain.format_reasons(expl, idx, pts, lang="zh")
        with Timer(f"[{name}] reasons zh, watch-list first, chunks", steps):
            watch = np.argsort(-expl.proba)[:50_000]
            zh = explain.compute_top_reasons(m, big, k=3, lang="zh", priority=watch,
                                             chunk_size=200_000)
        figures[name]["example_en"] = en.iloc[0].tolist()
        figures[name]["example_zh"] = zh.iloc[0].tolist()
        figures[name]["rows_with_3_reasons"] = int((en["reason_3"] != "").sum())
        del X, expl, en, zh

    print(json.dumps(figures, ensure_ascii=False, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
