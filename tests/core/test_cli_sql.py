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


@pytest.fixture
def formula_csv(tmp_path):
    path = tmp_path / "formulas.csv"
    path.write_text(
        'id,name,delta,note,=total\n'
        '1,"=HYPERLINK(""http://evil.example"",""click"")",-1,-2,5\n'
        '2,Alice,3,+7,6\n'
        '3,@SUM(A1),-4.5,ok,7\n',
        encoding="utf-8",
    )
    return path


def test_sql_output_neutralises_formula_cells_and_keeps_numbers(formula_csv, capsys):
    code = main(["sql", str(formula_csv), "SELECT * FROM customers ORDER BY id"])
    assert code == 0
    assert capsys.readouterr().out == (
        "id,name,delta,note,'=total\n"
        "1,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",-1.0,'-2,5\n"
        "2,Alice,3.0,'+7,6\n"
        "3,'@SUM(A1),-4.5,ok,7\n"
    )


def test_sql_negative_integer_column_stays_a_number(formula_csv, capsys):
    code = main(["sql", str(formula_csv), "SELECT id, -id AS neg, CAST(-id AS VARCHAR) AS neg_text FROM customers ORDER BY id LIMIT 1"])
    assert code == 0
    assert capsys.readouterr().out == "id,neg,neg_text\n1,-1,'-1\n"


def test_sql_truncation_note_names_the_cap(formula_csv, capsys):
    code = main(["sql", str(formula_csv), "SELECT id, repeat('x', 400000) AS blob FROM customers ORDER BY id",
                 "--max-mb", "1"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.count("\n") == 3  # header + 2 rows of 0.4 MB
    assert captured.err == ("note: Only the first 2 rows (0.8 MB) are shown: results are capped at 1 MB; "
                            "select fewer or shorter columns.\n")


def test_sql_too_deep_exits_2_with_one_line(formula_csv):
    query = "SELECT " + " + ".join(["1"] * 500) + " FROM customers"
    proc = subprocess.run([sys.executable, "-m", "churn_core", "sql", str(formula_csv), query],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "error: The query is nested too deeply (more than 100 levels); simplify it.\n"
