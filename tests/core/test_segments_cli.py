"""``python -m churn_core segments FILE --by COLS``: JSON list with exact numbers."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from churn_core.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_churn_modelling_by_geography(churn_modelling_path, capsys):
    assert main(["segments", str(churn_modelling_path), "--by", "Geography"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["Geography"] for r in rows] == ["France", "Germany", "Spain"]
    assert [r["customers"] for r in rows] == [5014, 2509, 2477]
    assert [round(r["churn_rate"], 6) for r in rows] == [0.161548, 0.324432, 0.166734]
    assert [round(r["lift"], 4) for r in rows] == [0.7931, 1.5927, 0.8185]
    assert [round(r["avg_balance"], 2) for r in rows] == [62092.64, 119730.12, 61818.15]
    assert set(rows[0]) == {"Geography", "customers", "churned", "churn_rate", "lift", "avg_balance"}


def test_two_keys_match_pandas(churn_modelling_path, capsys):
    assert main(["segments", str(churn_modelling_path), "--by", "Gender,NumOfProducts"]) == 0
    rows = json.loads(capsys.readouterr().out)
    df = pd.read_csv(churn_modelling_path)
    g = df.groupby(["Gender", "NumOfProducts"])["Exited"].agg(["size", "mean"]).reset_index()
    assert [(r["Gender"], r["NumOfProducts"], r["customers"]) for r in rows] == list(
        zip(g["Gender"], g["NumOfProducts"], g["size"]))
    assert [r["churn_rate"] for r in rows] == pytest.approx(g["mean"].tolist(), rel=1e-12)


def test_chinese_file_and_keys(root_dir):
    path = root_dir / "sample_data" / "customers_zh_gbk.csv"
    proc = subprocess.run([sys.executable, "-m", "churn_core", "segments", str(path), "--by", "地区"],
                          cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout.decode("utf-8"))
    en = pd.read_csv(root_dir / "sample_data" / "customers.csv")
    assert sum(r["customers"] for r in rows) == 20000
    beijing = next(r for r in rows if r["地区"] == "北京")
    assert beijing["customers"] == int((en["region"] == "Beijing").sum())
    assert beijing["churn_rate"] == pytest.approx(en.loc[en["region"] == "Beijing", "churned"].mean(), rel=1e-12)
    assert beijing["avg_balance"] == pytest.approx(en.loc[en["region"] == "Beijing", "balance"].mean(), rel=1e-9)


def test_unknown_column_exits_2(sample_path, capsys):
    assert main(["segments", str(sample_path), "--by", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Column 'nope' is not in the file")
    assert err.count("\n") == 1


def test_no_balance_column_means_no_avg_balance(telco_path, capsys):
    assert main(["segments", str(telco_path), "--by", "Contract"]) == 0
    rows = json.loads(capsys.readouterr().out)
    df = pd.read_csv(telco_path)
    want = df.groupby("Contract")["Churn"].apply(lambda s: (s == "Yes").mean())
    assert [r["Contract"] for r in rows] == want.index.tolist()
    assert [r["churn_rate"] for r in rows] == pytest.approx(want.tolist(), rel=1e-12)
    assert "avg_balance" not in rows[0]
