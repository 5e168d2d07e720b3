"""Benchmark (goal 5 of issue 14): size of a fresh install of requirements.txt (opt-in).

Run from the project root::

    python benchmarks/bench_install.py [--requirements requirements.txt] [--out install.json]

Creates a scratch venv in a temporary directory, ``pip install -r`` the file, measures the venv
(``du``), lists the biggest packages, says whether any ``nvidia-*`` package came in (it would if
anything pulled the full ``xgboost`` back), then deletes the venv. ``--git-rev REV`` measures the
requirements file as it was at a git revision (e.g. the one before xgboost-cpu) for the
before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dir_bytes(path):
    return int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
               .stdout.split()[0])


def measure(requirements_text, label):
    tmp = Path(tempfile.mkdtemp(prefix="install-bench-"))
    try:
        req = tmp / "requirements.txt"
        req.write_text(requirements_text)
        venv = tmp / "venv"
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        py = venv / "bin" / "python"
        proc = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-cache-dir", "-r", str(req)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            return {"label": label, "error": proc.stderr.strip().splitlines()[-3:]}
        seconds = time.perf_counter() - t
        site = next((venv / "lib").glob("python*/site-packages"))
        sizes = sorted(((p.name, dir_bytes(p)) for p in site.iterdir()), key=lambda kv: -kv[1])
        frozen = subprocess.run([str(py), "-m", "pip", "freeze"], capture_output=True, text=True).stdout.split()
        return {
            "label": label,
            "venv_mb": round(dir_bytes(venv) / 2**20, 1),
            "install_s": round(seconds, 1),
            "nvidia_packages": [p for p in frozen if p.lower().startswith("nvidia")],
            "xgboost": [p for p in frozen if p.lower().startswith("xgboost")],
            "largest_mb": {name: round(b / 2**20, 1) for name, b in sizes[:8]},
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", default=str(ROOT / "requirements.txt"))
    parser.add_argument("--git-rev", default=None, help="also measure requirements.txt at this revision")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    results = []
    if args.git_rev:
        old = subprocess.run(["git", "-C", str(ROOT), "show", f"{args.git_rev}:requirements.txt"],
                             capture_output=True, text=True, check=True).stdout
        results.append(measure(old, f"requirements.txt at {args.git_rev}"))
    results.append(measure(Path(args.requirements).read_text(), "requirements.txt (now)"))
    text = json.dumps({"installs": results}, indent=1)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
