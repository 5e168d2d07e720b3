"""``python -m churn_core train`` and ``score``: files written, JSON keys, errors in one line."""

import json
from pathlib import Path

import pandas as pd
import pytest

from churn_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "customers.csv"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train once through the CLI on the first 6,000 sample customers."""
    tmp = tmp_path_factory.mktemp("cli_train")
    df = pd.read_csv(SAMPLE)
    train = tmp / "train.csv"
    df.head(6000).to_csv(train, index=False)
    out = tmp / "model"
    code = main(["train", str(train), "--out", str(out)])
    assert code == 0
    return tmp, out, df


def test_train_writes_all_files(trained):
    _, out, _ = trained
    names = sorted(p.name for p in out.iterdir())
    assert names == ["booster.ubj", "columns.json", "drivers.csv", "evaluation.npz", "metrics.json", "model.json",
                     "scores.csv", "watchlist.csv", "winback.csv"]


def test_metrics_json_keys_and_values(trained):
    _, out, _ = trained
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    for key in ["roc_auc", "pr_auc", "brier", "ece", "top_decile_lift", "baseline_roc_auc", "grade",
                "n_train", "n_test", "label", "positive", "features", "excluded_columns", "cv",
                "backtest", "flagged", "calibration"]:
        assert key in m, key
    assert m["label"] == "churned" and m["positive"] == 1
    assert m["n_train"] == 4800 and m["n_test"] == 1200
    assert m["excluded_columns"] == {"customer_id": "id_role", "snapshot_date": "snapshot_date"}
    assert len(m["features"]) == 24
    assert m["roc_auc"] > 0.8 and m["ece"] < 0.05
    assert m["grade"] in ("A", "B")


def test_scores_csv(trained):
    _, out, df = trained
    raw = (out / "scores.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    s = pd.read_csv(out / "scores.csv")
    assert list(s.columns) == ["customer_id", "churn_probability", "status", "risk_tier", "reason_1",
                               "reason_2", "reason_3", "points_1", "points_2", "points_3", "signals"]
    assert len(s) == 6000
    churned = int(df["churned"].head(6000).sum())
    active = 6000 - churned
    assert (s["status"] == "churned").sum() == churned
    assert (s.loc[s["status"] == "churned", "risk_tier"] == "Left").all()
    assert s["risk_tier"].value_counts().to_dict() == {
        "Low": active - round(0.1 * active) - round(0.2 * active), "Medium": round(0.2 * active),
        "High": round(0.1 * active), "Left": churned}
    assert s["churn_probability"].between(0, 1).all()
    high = s[s["risk_tier"] == "High"]
    assert high["reason_1"].str.contains("raises the risk").all()


def test_drivers_csv_sorted(trained):
    _, out, _ = trained
    d = pd.read_csv(out / "drivers.csv")
    assert list(d.columns) == ["feature", "mean_abs_shap"]
    assert d["mean_abs_shap"].is_monotonic_decreasing
    assert d["feature"].iloc[0] in ("balance_change_3m_pct", "txn_this_quarter", "complaints_12m")


def test_score_new_customers_with_unseen_values(trained, capsys):
    tmp, out, df = trained
    new = df.iloc[6000:6100].copy()
    new.loc[new.index[:5], "region"] = "西藏自治区"
    path = tmp / "new.csv"
    new.to_csv(path, index=False)
    dest = tmp / "scored.csv"
    capsys.readouterr()
    assert main(["score", str(path), "--model", str(out), "--out", str(dest)]) == 0
    summary = json.loads(capsys.readouterr().out)
    churned = int(new["churned"].sum())
    active = 100 - churned
    expected = {"High": round(0.1 * active), "Medium": round(0.2 * active)}
    expected["Low"] = active - expected["High"] - expected["Medium"]
    if churned:
        expected["Left"] = churned
    assert summary["rows"] == 100 and summary["tiers"] == expected
    s = pd.read_csv(dest)
    assert s["customer_id"].tolist() == new["customer_id"].tolist()


def test_score_missing_column_exits_2(trained, capsys):
    tmp, out, df = trained
    path = tmp / "bad.csv"
    df.iloc[:20].drop(columns=["complaints_12m"]).to_csv(path, index=False)
    capsys.readouterr()
    assert main(["score", str(path), "--model", str(out), "--out", str(tmp / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "complaints_12m" in err


def test_score_spark_engine_without_pyspark_is_a_clear_error(trained, capsys, monkeypatch):
    # --engine spark works when pyspark and Java are installed (tests/core/test_spark_score.py);
    # without pyspark it says what to install, in one line
    import sys

    tmp, out, df = trained
    path = tmp / "new.csv"
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` now fails
    capsys.readouterr()
    assert main(["score", str(path), "--model", str(out), "--out", str(tmp / "y.csv"), "--engine", "spark"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: Spark is not installed (no pyspark): run `pip install -r "
                   "requirements-spark.txt` or use --engine local.\n")


def test_train_one_class_exits_2(tmp_path, capsys):
    path = tmp_path / "one.csv"
    pd.DataFrame({"id": range(50), "x": range(50), "churned": [0] * 50}).to_csv(path, index=False)
    assert main(["train", str(path), "--label", "churned", "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err == ("error: The churn column 'churned' has only one value (0): the model needs customers who left "
                   "and customers who stayed.\n")


def test_train_unknown_label_exits_2(tmp_path, capsys):
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": range(50), "churned": [0, 1] * 25}).to_csv(path, index=False)
    assert main(["train", str(path), "--label", "nope", "--out", str(tmp_path / "m")]) == 2
    assert "nope" in capsys.readouterr().err
