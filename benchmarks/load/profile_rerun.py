"""Server-side time of a cached page rerun, one session, no browser (opt-in).

Run from the project root: ``python benchmarks/load/profile_rerun.py [--rows 2000] [--repeat 5]``.
Loads the first ``--rows`` customers of the sample as a session would, trains the model, runs each
page once to fill the caches, then times ``--repeat`` more runs of each page with AppTest (the
script runs in Streamlit's own thread, in this process) and prints the median, the page title
(proof it rendered) and any exception. Compare with the load test's browser-side rerun times to
see how much of those is the script itself and how much is waiting for the CPU.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PAGES = ["pages/2_segments.py", "pages/5_model.py"]


def main(argv=None):
    from streamlit.testing.v1 import AppTest

    from churn_core.data.ingest import load_file
    from churn_core.data.roles import detect_roles
    from churn_core.modeling.model import ChurnModel

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    import tempfile
    with open(ROOT / "sample_data" / "customers.csv", encoding="utf-8") as src:
        lines = [next(src) for _ in range(args.rows + 1)]
    path = Path(tempfile.mkdtemp()) / "customers.csv"
    path.write_text("".join(lines), encoding="utf-8")
    load = load_file(path)
    roles = detect_roles(load.df)
    model = ChurnModel(random_state=0).fit(load.df, roles)
    try:
        from churn_core.workspace import Workspace
    except ImportError:
        Workspace = None
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["lang"] = "en"
        if Workspace is not None:
            ws = Workspace().set_history(load, roles=roles)
            ws.set_model(model)
            at.session_state["workspace"] = ws
        at.session_state["results"] = {}
        at.session_state["segments"] = {}
        at.switch_page(page)
        at.run()
        walls = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            at.run()
            walls.append(time.perf_counter() - started)
        walls.sort()
        titles = [t.value for t in at.title]
        print(f"{page}: cached rerun median {walls[len(walls) // 2]:.3f} s, max {walls[-1]:.3f} s "
              f"over {len(walls)} runs; title {titles}; exceptions {[e.value for e in at.exception]}")


if __name__ == "__main__":
    main()
