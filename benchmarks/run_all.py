"""Every benchmark in one command; writes the "## Scale" and "## Peers" sections of BENCHMARKS.md.

Run from the project root (opt-in: pytest collects only ``tests/``)::

    python benchmarks/run_all.py                 # everything (about 1.5 hours on 2 cores)
    python benchmarks/run_all.py --only train,simulate
    python benchmarks/run_all.py --render-only   # rewrite BENCHMARKS.md from benchmarks/results/*.json

Each benchmark runs as a child process and leaves its figures in ``benchmarks/results/<name>.json``
(raw output of the ingestion and load benchmarks in ``<name>.txt``); the two sections are then
rendered from those files, with the machine, each figure, its floor and the ratio. The other
sections of BENCHMARKS.md (written by other benchmarks) are kept as they are.

Steps: ``data`` (the 1M-row file, generated once outside the repository), ``ingest``
(``bench_ingest.py`` when present), ``train`` (goal 2), ``simulate`` (goal 3, 1M customers),
``pages`` (goal 3, page reruns through AppTest), ``peers`` (goal 4), ``install`` (goal 5),
``load`` (``benchmarks/load/`` when present).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
DOC = ROOT / "BENCHMARKS.md"
STEPS = ("ingest", "train", "simulate", "pages", "peers", "install", "load")


# ------------------------------------------------------------------ machine
def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    except OSError:
        mem_kb = 0
    versions = {}
    for name in ("xgboost", "duckdb", "pandas", "numpy", "streamlit"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    return {"nproc": os.cpu_count(), "ram_gb": round(mem_kb / 2**20, 1), "cpu": cpu,
            "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "load_average": round(os.getloadavg()[0], 2), "python": platform.python_version(),
            "versions": versions}


# ------------------------------------------------------------------ running
def run(cmd, out_txt=None, timeout=None):
    print("$", " ".join(str(c) for c in cmd), flush=True)
    t = time.perf_counter()
    try:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        proc = subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                              env=env)
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, stdout, stderr = "timeout", exc.stdout or "", exc.stderr or ""
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
        stderr = stderr.decode() if isinstance(stderr, bytes) else stderr
    if out_txt:
        Path(out_txt).write_text(stdout + ("\n--- stderr ---\n" + stderr if stderr else ""))
    print(f"  -> exit {code} in {time.perf_counter() - t:.0f} s", flush=True)
    return code, stdout


def ensure_big(path, rows):
    csv = Path(path) / "customers.csv"
    if not csv.exists():
        run([sys.executable, "-m", "churn_core", "generate", "--rows", rows, "--seed", 1, "--out", path])
    return csv


def run_steps(steps, args):
    RESULTS.mkdir(exist_ok=True)
    py = sys.executable
    csv = ensure_big(args.data, args.rows) if {"ingest", "train", "pages"} & set(steps) else None
    if "ingest" in steps and (BENCH / "bench_ingest.py").exists():
        run([py, BENCH / "bench_ingest.py", "--file", csv, "--out", RESULTS / "ingest.json"],
            out_txt=RESULTS / "ingest.txt", timeout=3600)
    if "train" in steps:
        run([py, BENCH / "bench_train.py", "--file", csv, "--best", "--out", RESULTS / "train.json"])
    if "simulate" in steps:
        code, out = run([py, BENCH / "bench_simulate.py", "--rows", 1_000_000, "--repeat", 7])
        if code == 0:
            (RESULTS / "simulate.json").write_text(out.strip().splitlines()[-1])
    if "pages" in steps:
        run([py, BENCH / "bench_pages.py", "--out", RESULTS / "pages.json"], timeout=3600)
    if "peers" in steps:
        run([py, BENCH / "bench_peers.py", "--rows", "20000,100000", "--timeout", args.peer_timeout,
             "--out", RESULTS / "peers.json"])
    if "install" in steps:
        run([py, BENCH / "bench_install.py", "--git-rev", args.install_before, "--out", RESULTS / "install.json"])
    load_dir = BENCH / "load"
    if "load" in steps and load_dir.is_dir():
        entry = next((p for p in (load_dir / "run_load.py", load_dir / "run.py") if p.exists()), None)
        if entry is not None:
            run([py, entry, "--out", RESULTS / "load.json"], out_txt=RESULTS / "load.txt", timeout=3600)


# ------------------------------------------------------------------ rendering
def _load(name):
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def _s(x, digits=1):
    return "–" if x is None else f"{x:,.{digits}f} s"


def _ratio(a, b, digits=3):
    return "–" if not a or not b else f"{a / b:.{digits}f}"


def render_scale(m):
    lines = ["## Scale", "",
             f"Measured by `python benchmarks/run_all.py` on {m['date_utc']}: {m['nproc']} cores "
             f"({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}, "
             + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
             + f". Load average when rendered: {m['load_average']} (the machine is shared: wall times "
             "are inflated when others run tests; ratios come from one run).", "",
             "| goal | figure | measured | floor | ratio | target | met |", "|---|---|---|---|---|---|---|"]
    notes = []
    ing = _load("ingest")
    if ing:
        lines.append(f"| 1 | 1M-row upload to the typed table ({ing['csv_bytes'] / 2**20:.0f} MB CSV, median of "
                     f"{ing['reps']}) | {_s(ing['upload_s'], 2)} | DuckDB `read_csv` {_s(ing['floor_duckdb_s'], 2)} | "
                     f"{ing['ratio_upload_vs_floor']:.2f}× | ≤ 4× | {'yes' if ing['ratio_upload_vs_floor'] <= 4 else 'no'} |")
        lines.append(f"| 1 | peak memory of `profile` | {ing['profile_peak_rss_bytes'] / 2**20:,.0f} MB | "
                     f"CSV {ing['csv_bytes'] / 2**20:,.0f} MB | {ing['ratio_profile_peak_vs_csv']:.2f}× | ≤ 4× | "
                     f"{'yes' if ing['ratio_profile_peak_vs_csv'] <= 4 else 'no'} |")
    tr = _load("train")
    if tr:
        o, f = tr["ours"], tr.get("floor")
        ratio = o["wall_s"] / f["total_s"] if f else None
        lines.append(
            f"| 2 | `train` with reasons for every customer ({o.get('rows_scored') or tr.get('rows', '')} rows, "
            f"{tr['csv_mb']} MB CSV) | {_s(o['wall_s'])} wall ({_s(o['cpu_s'])} CPU) | "
            f"{_s(f['total_s']) if f else '–'} | {_ratio(o['wall_s'], f['total_s'] if f else None)} | ≤ 0.05 | "
            f"{'–' if ratio is None else ('yes' if ratio <= 0.05 else 'no')} |")
        f_cpu = None
        if f and f.get("cpu_measured_s"):
            # CPU of the measured steps, scaled like the wall time to the extrapolated TreeSHAP of every row
            measured_wall = f["read_s"] + f["fit_s"] + f["contribs_measured_s"]
            f_cpu = f["cpu_measured_s"] * f["total_s"] / measured_wall
        if f_cpu:
            lines.append(f"| 2 | the same in CPU time (load-independent) | {_s(o['cpu_s'])} | {_s(f_cpu)} | "
                         f"{_ratio(o['cpu_s'], f_cpu)} | ≤ 0.05 | {'yes' if o['cpu_s'] / f_cpu <= 0.05 else 'no'} |")
        if tr.get("best"):
            gap = tr["best"]["roc_auc"] - o["roc_auc"]
            lines.append(f"| 2 | held-out AUC: ours (depth {o.get('max_depth')}, {o['n_trees']} trees) vs best "
                         f"(depth 6, {tr['best']['n_trees']} trees) | {o['roc_auc']:.4f} | "
                         f"{tr['best']['roc_auc']:.4f} | gap {gap:+.4f} | gap ≤ 0.005 | "
                         f"{'yes' if gap <= 0.005 else 'no'} |")
        if tr.get("note"):
            notes.append(tr["note"] + ".")
        if f:
            notes.append(
                f"Naive floor of goal 2: DuckDB `read_csv` into pandas {_s(f['read_s'])} + XGBoost hist 200 trees "
                f"depth 6 on all {f['rows']:,} rows {_s(f['fit_s'])} + `pred_contribs` for every row "
                f"{_s(f['contribs_all_rows_s'])}"
                + (f" (measured on {f['contribs_measured_rows']:,} rows: {_s(f['contribs_measured_s'])}, "
                   "extrapolated linearly)" if f.get("contribs_extrapolated") else "") + ".")
    sim = _load("simulate")
    if sim:
        med = sim["resimulate_median_s"]
        cpu = sorted(sim.get("resimulate_cpu_s", []))
        cpu_med = cpu[len(cpu) // 2] if cpu else None
        lines.append(f"| 3 | simulator what-if over {sim['rows']:,} customers (median of "
                     f"{len(sim['resimulate_s'])}) | {_s(med, 2)} wall"
                     + (f", {_s(cpu_med, 2)} CPU" if cpu_med is not None else "")
                     + f" | 1 s (target) | {_ratio(med, 1.0, 2)} | < 1 s | "
                     f"{'yes' if med < 1 else ('wall no, CPU yes' if cpu_med is not None and cpu_med < 1 else 'no')} |")
        if cpu_med is not None and med > 2 * cpu_med:
            notes.append(f"What-if wall {med:.2f} s vs {cpu_med:.2f} s of CPU: the process waited for a core "
                         f"(load average {sim.get('load_average', 'high')} on {m['nproc']} cores), it did not compute "
                         "longer.")
    pages = _load("pages")
    if pages:
        for p in pages["pages"]:
            p95, cpu95 = p.get("rerun_p95_s"), p.get("rerun_cpu_p95_s")
            met = "yes" if p95 is not None and p95 < 0.3 else (
                "wall no, CPU yes" if cpu95 is not None and cpu95 < 0.3 else "no")
            lines.append(f"| 3 | page {p.get('interaction', 'rerun')} on cached results, {p['page']} "
                         f"({pages['rows']:,} rows; p95 of {p.get('reruns', 0)}; load {p.get('load_average', '?')}) | "
                         f"{_s(p95, 3)} wall" + (f", {_s(cpu95, 3)} CPU" if cpu95 is not None else "")
                         + f" | 0.3 s (target) | {_ratio(p95, 0.3, 2)} | < 0.3 s | {met} |")
    inst = _load("install")
    if inst:
        runs = inst["installs"]
        now = runs[-1]
        before = runs[0] if len(runs) > 1 else None
        lines.append(f"| 5 | fresh `pip install -r requirements.txt` venv | {now.get('venv_mb', 0):,.0f} MB "
                     f"(NVIDIA packages: {len(now.get('nvidia_packages', []))}) | "
                     f"{(format(before['venv_mb'], ',.0f') + ' MB before') if before and 'venv_mb' in before else '–'} | "
                     f"{_ratio(now.get('venv_mb'), before.get('venv_mb') if before else None, 2)} | < 1,024 MB | "
                     f"{'yes' if now.get('venv_mb', 1e9) < 1024 else 'no'} |")
        notes.append("Largest packages of the fresh install (MB): "
                     + ", ".join(f"{k} {v}" for k, v in now.get("largest_mb", {}).items()) + ".")
    for name, title in (("ingest", "Ingestion (goal 1)"), ("load", "Load test")):
        if (RESULTS / f"{name}.txt").exists() or (RESULTS / f"{name}.json").exists():
            notes.append(f"{title}: full record in `benchmarks/results/{name}.json` (its own section, if any, "
                         "is written by its owner).")
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    analysis = BENCH / "scale_notes.md"  # profiles and named limits, written by hand from the runs
    if analysis.exists():
        lines += ["", analysis.read_text(encoding="utf-8").strip()]
    return "\n".join(lines) + "\n"


def _load_peers():
    """peers.json and any peers_*.json (sizes run separately), merged by row count."""
    files = sorted(RESULTS.glob("peers*.json"))
    if not files:
        return None
    merged = {}
    sizes = {}
    for f in files:
        data = json.loads(f.read_text())
        merged.setdefault("timeout_s", data["timeout_s"])
        for size in data["sizes"]:
            sizes[size["rows"]] = size
        if data.get("note"):
            merged.setdefault("notes", []).append(data["note"])
    merged["sizes"] = [sizes[k] for k in sorted(sizes)]
    return merged


def render_peers(m):
    pe = _load_peers()
    lines = ["## Peers", ""]
    if not pe:
        return "\n".join(lines + ["Not measured yet: `python benchmarks/run_all.py --only peers`."]) + "\n"
    lines += [
        f"Time from the customer table in memory to a fully explained model, every row explained, same rows "
        f"(`synth.generate(rows=N, seed=7)`) and same features for everyone; machine as above "
        f"({m['nproc']} cores). Peers run in their own venv with an XGBoost classifier of our model's settings "
        f"and tree count; each peer run is bounded by {pe['timeout_s']:.0f} s. "
        "Ours = `ChurnModel.fit` (gate, 5-fold cross-fitting up to 50,000 non-test rows or else a validation "
        "split, calibration, baseline, test figures) + every view of the Drivers page "
        "(explanation of every row, importance, beeswarm, a dependence plot per feature, interaction pairs, "
        "waterfall, top-3 reasons in words for every row, segment drivers).", "",
        "| rows | ours (all views) | ours + interaction values of every row | explainerdashboard with interactions "
        "| explainerdashboard without interactions | shapash | XGBoost `pred_contribs` alone |",
        "|---|---|---|---|---|---|---|"]
    ratios = []
    for size in pe["sizes"]:
        o = size["ours"]
        peers = {p["peer"]: p for p in size["peers"]}

        def cell(name):
            p = peers.get(name)
            if p is None:
                return "–"
            if p.get("timeout"):
                return f"> {pe['timeout_s']:.0f} s (timeout)"
            if p.get("total_s") is None:
                return "failed: " + " ".join(p.get("error", []))[:80]
            return (f"{_s(p['total_s'])} ({p['total_s'] / o['total_s']:.1f}× ours; fit {p['fit_s']:.0f} s + "
                    f"explain {p['explain_s']:.0f} s)")

        lines.append(f"| {size['rows']:,} | {_s(o['total_s'])} | {_s(o.get('total_with_every_row_interactions_s'))} | "
                     f"{cell('explainerdashboard')} | {cell('explainerdashboard_nointer')} | {cell('shapash')} | "
                     f"{_s(o.get('xgboost_pred_contribs_s'))} |")
        ed, sh = peers.get("explainerdashboard"), peers.get("shapash")
        if ed:
            ed_s = pe["timeout_s"] if ed.get("timeout") else ed.get("total_s")
            if ed_s and ed.get("timeout") and ed_s <= o["total_s"]:
                ratios.append(f"{size['rows']:,} rows: explainerdashboard with interactions did not finish in "
                              f"{ed_s:.0f} s, less than ours took in that run: ratio not determined")
            elif ed_s:
                every = o.get("total_with_every_row_interactions_s")
                ratios.append(f"{size['rows']:,} rows: explainerdashboard with interactions / ours = "
                              f"{'>' if ed.get('timeout') else ''}{ed_s / o['total_s']:.1f}× (target ≥ 30×)"
                              + (f", counting our every-row interaction values too: "
                                 f"{'>' if ed.get('timeout') else ''}{ed_s / every:.1f}×" if every else ""))
        if sh and sh.get("total_s"):
            ratios.append(f"{size['rows']:,} rows: shapash / ours = {sh['total_s'] / o['total_s']:.1f}× "
                          "(target > 1×)")
    lines += [""] + [f"- {r}" for r in ratios] + [f"- {n}" for n in pe.get("notes", [])]
    steps = pe["sizes"][-1]["ours"]["steps"]
    lines += ["", f"Our steps at {pe['sizes'][-1]['rows']:,} rows: "
              + "; ".join(f"{k} {v:.2f} s" for k, v in steps.items()) + "."]
    return "\n".join(lines) + "\n"


def replace_section(text, heading, body):
    """``text`` with the section starting at ``heading`` (up to the next ``## ``) replaced by ``body``."""
    pattern = re.compile(rf"^{re.escape(heading)}\s*$.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: body + "\n", text, count=1)
    return text.rstrip("\n") + "\n\n" + body


def render(m=None):
    m = m or machine()
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    text = replace_section(text, "## Scale", render_scale(m))
    text = replace_section(text, "## Peers", render_peers(m))
    DOC.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    print(f"wrote {DOC}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated steps: " + ",".join(STEPS))
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--data", default="/tmp/big1m", help="folder of the 1M-row file (outside the repo)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--peer-timeout", type=float, default=1200.0)
    parser.add_argument("--install-before", default="cde4331", help="git revision with the full xgboost")
    args = parser.parse_args(argv)
    if not args.render_only:
        steps = [s for s in args.only.split(",") if s]
        unknown = set(steps) - set(STEPS)
        if unknown:
            parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
        run_steps(steps, args)
    render()


if __name__ == "__main__":
    main()
