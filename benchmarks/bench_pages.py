"""Benchmark (goal 3 of issue 14): page interactions on cached results, through Streamlit's AppTest (opt-in).

Run from the project root::

    python benchmarks/bench_pages.py [--file CSV] [--model-dir DIR] [--reruns 20] [--out pages.json]

The data (default: the bundled sample; ``--file /tmp/big1m/customers.csv`` for 1M customers) and a
model (``--model-dir`` saved by ``train``, or trained here) are put in session state as the app keeps
them. Each page is run once cold (it computes and caches its results), then ``--reruns`` times as a
user interaction would rerun it: the simulator moves its take-up slider each time (a new what-if on
cached inputs), the other pages rerun as after a widget change. Reported per page: the cold run, and
the median and p95 of the reruns, wall seconds of ``AppTest.run`` (which adds its own overhead, so
the figures are upper bounds of the server's script time).
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

PAGES = ("pages/5_model.py", "pages/6_early_warning.py", "pages/7_drivers.py", "pages/8_simulator.py")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(ROOT / "sample_data" / "customers.csv"))
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    import logging

    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)

    from churn_core.data.ingest import load_file
    from churn_core.data.roles import detect_roles
    from churn_core.modeling.model import ChurnModel
    from churn_core.workspace import Workspace

    t = time.perf_counter()
    load = load_file(args.file)
    roles = detect_roles(load.df)
    model = ChurnModel.load(args.model_dir) if args.model_dir else ChurnModel().fit(load.df, roles)
    setup_s = time.perf_counter() - t
    out = {"file": args.file, "rows": int(len(load.df)), "setup_s": round(setup_s, 1), "pages": []}
    for page in [p for p in args.pages.split(",") if p]:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=1800)
        at.session_state["lang"] = "en"
        # the session state the app keeps (as tests/app/conftest.py does): one Workspace per session
        ws = Workspace().set_history(load, roles=roles)
        ws.set_model(model)
        at.session_state["workspace"] = ws
        at.session_state["results"] = {}
        at.session_state["segments"] = {}
        at.switch_page(page)
        t = time.perf_counter()
        at.run()
        cold = time.perf_counter() - t
        if at.exception:
            out["pages"].append({"page": page, "error": str(at.exception[0].value)[:200]})
            continue
        times, cpu = [], []
        slider = next((s for s in at.slider if str(s.key).startswith("sim_take")), None)
        for i in range(args.reruns):
            if slider is not None:
                slider.set_value(round(0.5 + 0.05 * (i % 20), 2))
            t, c = time.perf_counter(), time.process_time()
            at.run()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            slider = next((s for s in at.slider if str(s.key).startswith("sim_take")), None)
        charts = len(list(at.get("vega_lite_chart")) + list(at.get("arrow_vega_lite_chart")))
        row = {"page": page, "cold_s": round(cold, 2), "reruns": len(times), "charts": charts,
               "tables": len(at.dataframe), "metrics": len(at.metric),
               "interaction": "take-up slider moved" if slider is not None else "rerun",
               "rerun_median_s": round(float(np.median(times)), 3),
               "rerun_p95_s": round(float(np.percentile(times, 95)), 3),
               "rerun_cpu_median_s": round(float(np.median(cpu)), 3),
               "rerun_cpu_p95_s": round(float(np.percentile(cpu, 95)), 3),
               "load_average": round(os.getloadavg()[0], 2),
               "errors": [str(e.value)[:200] for e in at.exception] + [str(e.value)[:200] for e in at.error]}
        print(json.dumps(row), flush=True)
        out["pages"].append(row)
    out["load_average_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(out, indent=1)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
