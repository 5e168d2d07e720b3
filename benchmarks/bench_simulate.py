"""Benchmark: a what-if re-simulation at 1M customers (opt-in, not collected by pytest).

Run: ``python benchmarks/bench_simulate.py [--rows 1000000] [--repeat 5]``

Measures the slider path only: effects, value and baseline orders are prepared once (as the page
does when the catalogue or model changes); each re-simulation = optimiser + both baselines +
Monte Carlo + tornado, for new take-up / effect / cost / budget settings.
"""

import argparse
import json
import os
import time

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from churn_core.retention.offers import default_catalogue
from churn_core.retention.simulate import SimulationSettings, compute_assumed_effects, compute_simulation, prepare_inputs


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--beat-baselines", action="store_true",
                        help="also re-plan to beat the baselines (the page does this up to 200k customers)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    n = args.rows
    cat = default_catalogue()
    t0 = time.perf_counter()
    p = rng.beta(1.5, 8, n)
    value = rng.lognormal(7, 1.2, n)
    elig = rng.random((n, len(cat))) < 0.85
    effects = compute_assumed_effects(p, cat)
    inputs = prepare_inputs(p, effects, value, elig)
    prep = time.perf_counter() - t0
    timings, cpu = [], []  # wall clock, and CPU time of this process (unaffected by other load)
    budgets = [2e5, 1e6, 5e6, 2e7, 5e5]
    for i in range(args.repeat):
        settings = SimulationSettings(budget=budgets[i % len(budgets)], take_up_multiplier=0.8 + 0.1 * i,
                                      effect_multiplier=1.2 - 0.1 * i, cost_multiplier=0.9 + 0.05 * i, seed=i,
                                      beat_baselines=args.beat_baselines)
        t, c = time.perf_counter(), time.process_time()
        res = compute_simulation(inputs, cat, settings)
        timings.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        assert res.summary["cost"] <= settings.budget
    print(json.dumps({
        "rows": n, "offers": len(cat), "beat_baselines": args.beat_baselines, "prepare_s": round(prep, 3),
        "resimulate_s": [round(x, 3) for x in timings],
        "resimulate_median_s": round(float(np.median(timings)), 3),
        "resimulate_cpu_s": [round(x, 3) for x in cpu],
        "last_targeted": res.summary["targeted"], "last_cost": round(res.summary["cost"]),
        "load_average": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
