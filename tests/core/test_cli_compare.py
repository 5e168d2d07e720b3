"""``python -m churn_core compare OLD NEW [--model DIR] [--id COL] [--columns MAP.json] --out DIR``."""

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core.cli import main
from churn_core.modeling.model import ChurnModel

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "customers.csv"
BANK = ROOT.parent / "shared" / "datasets" / "Churn_Modelling.csv"
needs_bank = pytest.mark.skipif(not BANK.exists(), reason="../shared/datasets not available")

CONTRACT = ["customers_old", "customers_new", "retained", "lost", "new", "retention_rate", "churn_rate_old",
            "churn_rate_new", "value_old", "value_new", "tier_migration", "drift"]


def run(capsys, *args):
    code = main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def bank_files(tmp_path_factory):
    """OLD = Churn_Modelling; NEW = 500 removed, 300 added, Balance halved for every 3rd row."""
    d = tmp_path_factory.mktemp("bank")
    old = pd.read_csv(BANK)
    new = old.iloc[500:].copy()
    add = old.iloc[:300].copy()
    add["RowNumber"] = np.arange(30001, 30301)
    add["CustomerId"] = np.arange(80000001, 80000301)
    new = pd.concat([new, add], ignore_index=True)
    new.loc[new.index % 3 == 0, "Balance"] = new.loc[new.index % 3 == 0, "Balance"] / 2
    old.to_csv(d / "old.csv", index=False)
    new.to_csv(d / "new.csv", index=False)
    model = ChurnModel(cv_folds=0, n_estimators=20, n_jobs=1).fit(old)
    model.save(d / "model")
    return d, old, new, model


@needs_bank
def test_compare_two_files_writes_the_contract(capsys, tmp_path, bank_files):
    d, old, new, _ = bank_files
    code, out, err = run(capsys, d / "old.csv", d / "new.csv", "--id", "CustomerId", "--out", tmp_path / "o")
    assert (code, err) == (0, "")
    data = json.loads((tmp_path / "o" / "compare.json").read_text(encoding="utf-8"))
    assert list(data)[:11] == CONTRACT[:11]
    assert set(CONTRACT) <= set(data)
    assert (data["customers_old"], data["customers_new"]) == (10000, 9800)
    assert (data["retained"], data["lost"], data["new"]) == (9500, 500, 300)
    assert data["retention_rate"] == 0.95
    assert data["churn_rate_old"] == old["Exited"].mean()
    assert data["churn_rate_new"] == pytest.approx(new["Exited"].mean(), rel=1e-12)
    value = lambda f: float((f["Balance"] * 0.015 + f["NumOfProducts"] * 60.0 - 40.0).sum())  # noqa: E731
    assert data["value_old"] == pytest.approx(value(old), rel=1e-12)
    assert data["value_new"] == pytest.approx(value(new), rel=1e-12)
    assert data["tier_migration"] is None
    flagged = {r["column"]: r["flag"] for r in data["drift"] if r["flag"] != "stable"}
    assert flagged == {"Balance": "major_shift"}
    assert {r["column"] for r in data["drift"]} == {"CreditScore", "Geography", "Gender", "Age", "Tenure", "Balance",
                                                    "NumOfProducts", "HasCrCard", "IsActiveMember", "EstimatedSalary"}
    summary = json.loads(out)
    assert summary["retained"] == 9500 and summary["drift_flags"]["major_shift"] == 1


@needs_bank
def test_compare_with_a_model_writes_the_tier_migration(capsys, tmp_path, bank_files):
    d, old, new, model = bank_files
    code, out, err = run(capsys, d / "old.csv", d / "new.csv", "--model", d / "model", "--id", "CustomerId",
                         "--out", tmp_path / "o")
    assert (code, err) == (0, "")
    data = json.loads((tmp_path / "o" / "compare.json").read_text(encoding="utf-8"))
    mig = data["tier_migration"]
    assert list(mig) == ["High", "Medium", "Low"]
    assert all(list(v) == ["High", "Medium", "Low", "Left"] for v in mig.values())
    assert sum(v["Left"] for v in mig.values()) == 500
    assert sum(sum(v.values()) for v in mig.values()) == 10000
    assert sum(mig["High"].values()) == 1000 and sum(mig["Medium"].values()) == 2000
    with open(tmp_path / "o" / "migration.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["CustomerId", "status", "tier_old", "tier_new"]
    assert len(rows) == 10300
    counts = pd.DataFrame(rows).query("status != 'new'").groupby(["tier_old", "tier_new"]).size()
    assert {f: {t: int(counts.get((f, t), 0)) for t in ("High", "Medium", "Low", "Left")}
            for f in ("High", "Medium", "Low")} == mig
    assert sum(r["status"] == "new" and r["tier_old"] == "New" for r in rows) == 300
    p_old = pd.Series(model.predict_proba(old), index=old["CustomerId"].astype(str))
    top = p_old.sort_values(ascending=False, kind="mergesort").index[:1000]
    high = {r["CustomerId"] for r in rows if r["tier_old"] == "High"}
    assert high == set(top)


def test_compare_one_file_uses_its_two_latest_snapshots(capsys, tmp_path):
    code, out, err = run(capsys, SAMPLE, "--out", tmp_path / "o")
    assert (code, err) == (0, "")
    data = json.loads((tmp_path / "o" / "compare.json").read_text(encoding="utf-8"))
    df = pd.read_csv(SAMPLE)
    old = df[df["snapshot_date"] == "2024-09-30"]
    new = df[df["snapshot_date"] == "2024-12-31"]
    assert (data["customers_old"], data["customers_new"]) == (len(old), len(new)) == (5050, 4959)
    assert data["retained"] == len(set(old["customer_id"]) & set(new["customer_id"])) == 0
    assert data["churn_rate_new"] == pytest.approx(new["churned"].mean(), rel=1e-12)
    assert data["id_column"] == "customer_id"
    assert "snapshot_date" not in {r["column"] for r in data["drift"]}


def test_compare_one_file_with_dates(capsys, tmp_path):
    code, out, err = run(capsys, SAMPLE, "--old-date", "2024-03-31", "--new-date", "2024-06-30",
                         "--out", tmp_path / "o")
    assert code == 0
    data = json.loads((tmp_path / "o" / "compare.json").read_text(encoding="utf-8"))
    assert (data["customers_old"], data["customers_new"]) == (4885, 5106)


def test_compare_with_a_column_mapping(capsys, tmp_path):
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"version": 1, "margins": {"balance": 0.03}}), encoding="utf-8")
    code, out, err = run(capsys, SAMPLE, "--columns", mapping, "--out", tmp_path / "o")
    assert code == 0
    data = json.loads((tmp_path / "o" / "compare.json").read_text(encoding="utf-8"))
    new = pd.read_csv(SAMPLE).query("snapshot_date == '2024-12-31'")
    expected = (new["total_assets"] * 0.004 + new["balance"] * 0.03 + new["fees_paid_12m"]
                + new["num_products"] * 60.0 - 40.0).sum()
    assert data["value_new"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("args, message", [
    (["missing.csv", "--out", "o"], "error: File not found: missing.csv."),
    ([SAMPLE, "--id", "nope", "--out", "o"], "error: OLD has no column 'nope'; name the id column with --id COL."),
    ([SAMPLE, "--old-date", "2020-01-31", "--out", "o"], "error: There is no snapshot 2020-01-31 in 'snapshot_date'; "
     "the file has 2024-03-31, 2024-06-30, 2024-09-30, 2024-12-31."),
    ([SAMPLE, SAMPLE, "--old-date", "2024-03-31", "--out", "o"], "error: --old-date / --new-date pick snapshots of "
     "one file; omit NEW to use them."),
])
def test_compare_errors_exit_2_with_one_line(capsys, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *args)
    assert code == 2
    assert err == message + "\n"
    assert not (tmp_path / "o" / "compare.json").exists()


@needs_bank
def test_compare_a_file_without_snapshot_dates_needs_two_files(capsys, tmp_path):
    code, out, err = run(capsys, BANK, "--out", tmp_path / "o")
    assert code == 2
    assert err == "error: Give two files, or one file with a snapshot date column (map one with --columns).\n"
