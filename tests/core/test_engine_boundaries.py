"""The engine is a plain package: importing it never imports streamlit."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_every_engine_module_does_not_import_streamlit():
    modules = sorted(
        "churn_core." + p.relative_to(ROOT / "churn_core").with_suffix("").as_posix().replace("/", ".")
        for p in (ROOT / "churn_core").rglob("*.py")
        if p.name not in {"__init__.py", "__main__.py"}
    )
    assert len(modules) >= 3
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_engine_file_mentions_streamlit_imports():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "churn_core").rglob("*.py")
        if any(line.lstrip().startswith(("import streamlit", "from streamlit")) for line in p.read_text(encoding="utf-8").splitlines())
    ]
    assert offenders == []


def test_cli_without_subcommand_exits_2_with_usage():
    out = subprocess.run([sys.executable, "-m", "churn_core"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2
    assert "usage: python -m churn_core" in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_unknown_subcommand_is_one_line():
    out = subprocess.run([sys.executable, "-m", "churn_core", "frobnicate"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr
