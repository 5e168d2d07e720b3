"""``python -m churn_core sql FILE QUERY``: CSV out, refusals exit 2 with one line."""

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from churn_core.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_sql_prints_csv(churn_modelling_path, capsys):
    code = main(["sql", str(churn_modelling_path),
                 "SELECT Geography, COUNT(*) AS n, SUM(Exited) AS churned FROM customers GROUP BY 1 ORDER BY 1"])
    out = capsys.readouterr().out
    assert code == 0
    assert out == "Geography,n,churned\nFrance,5014,810\nGermany,2509,814\nSpain,2477,413\n"


def test_sql_on_the_sample_equals_pandas(sample_path, capsys):
    code = main(["sql", str(sample_path), "SELECT region, AVG(churned) AS rate FROM customers GROUP BY 1 ORDER BY 1"])
    got = pd.read_csv(io.StringIO(capsys.readouterr().out))
    want = pd.read_csv(sample_path).groupby("region")["churned"].mean()
    assert code == 0
    assert got["region"].tolist() == want.index.tolist()
    assert got["rate"].round(12).tolist() == want.round(12).tolist()


@pytest.mark.parametrize(
    "query,message",
    [
        ("COPY customers TO '/tmp/out.csv'", "error: Only SELECT queries are allowed here, not COPY.\n"),
        ("SELECT * FROM read_csv('/etc/passwd')", "error: The function read_csv() is not allowed here: queries may only read the loaded tables.\n"),
        ("ATTACH 'x.db'", "error: Only SELECT queries are allowed here, not ATTACH.\n"),
        ("SELECT 1; SELECT 2", "error: Run one statement at a time (only SELECT).\n"),
    ],
)
def test_refused_sql_exits_2_with_one_line(churn_modelling_path, query, message):
    proc = subprocess.run([sys.executable, "-m", "churn_core", "sql", str(churn_modelling_path), query],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == message


def test_invalid_sql_exits_2(churn_modelling_path, capsys):
    code = main(["sql", str(churn_modelling_path), "SELECT nope FROM customers"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: The query failed: Binder Error: Referenced column \"nope\" not found")
    assert err.count("\n") == 1
