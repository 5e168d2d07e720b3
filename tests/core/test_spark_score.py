"""``score --engine spark`` gives what ``score`` (local) gives: same rows, probabilities, tiers,
reasons, points and signals, on the shared Churn_Modelling dataset with Spark ``local[2]``.

The local side is the local CLI run in the same test session (never stored numbers), so a change to
the local scoring is a change the Spark engine must follow. The Spark tests skip only when pyspark
is not installed and ``RS_REQUIRE_SPARK`` is not set (CI sets it: there they fail instead).
"""

import contextlib
import importlib.util
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core.cli import main
from churn_core.errors import ChurnCoreError
from churn_core.modeling.warning import TierConfig, compute_tiers
from churn_core.scale.spark import compute_tier_cutoffs, detect_input_format, detect_output_format

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT.parent / "shared" / "datasets" / "Churn_Modelling.csv"
SCORE_COLUMNS = ["CustomerId", "churn_probability", "status", "risk_tier", "reason_1", "reason_2",
                 "reason_3", "points_1", "points_2", "points_3", "signals"]

HAVE_PYSPARK = importlib.util.find_spec("pyspark") is not None
needs_spark = pytest.mark.skipif(not HAVE_PYSPARK and not os.environ.get("RS_REQUIRE_SPARK"),
                                 reason="pyspark not installed (pip install -r requirements-spark.txt)")


# ---------------------------------------------------------------- pure parts (no Spark)

@pytest.mark.parametrize("n", [1, 4, 5, 15, 25, 35, 997, 7963])
@pytest.mark.parametrize("high,medium", [(None, None), (3, None), (None, 7), (0, 0), (12, 2000)])
def test_tier_cutoffs_match_compute_tiers(n, high, medium):
    config = TierConfig(high_capacity=high, medium_capacity=medium)
    local = compute_tiers(np.linspace(1, 0, n), config).astype(str).to_numpy()
    hi, me = compute_tier_cutoffs(n, config)
    rank = np.arange(n)
    spark_rule = np.where(rank < hi, "High", np.where(rank < hi + me, "Medium", "Low"))
    assert spark_rule.tolist() == local.tolist()


def test_tier_cutoffs_refuse_the_profit_method():
    with pytest.raises(ChurnCoreError, match="capacity only"):
        compute_tier_cutoffs(10, TierConfig(method="profit"))


@pytest.mark.parametrize("out,fmt,expected", [
    ("scores.parquet", None, "parquet"), ("scores.csv", None, "csv"), ("scores", None, "parquet"),
    ("hdfs://nn/scores/", None, "parquet"), ("scores.csv", "parquet", "parquet"), ("x", "csv", "csv"),
])
def test_output_format(out, fmt, expected):
    assert detect_output_format(out, fmt) == expected


def test_input_format_from_files_folders_and_globs(tmp_path):
    (tmp_path / "pq").mkdir()
    (tmp_path / "pq" / "part-0.parquet").write_bytes(b"x")
    (tmp_path / "pq" / "_SUCCESS").write_bytes(b"")
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "a.csv").write_text("a\n1\n")
    assert detect_input_format(tmp_path / "pq") == "parquet"
    assert detect_input_format(tmp_path / "csv") == "csv"
    assert detect_input_format(str(tmp_path / "csv" / "*.csv")) == "csv"
    assert detect_input_format("s3a://bucket/customers/") == "parquet"
    with pytest.raises(ChurnCoreError, match="No input file matches"):
        detect_input_format(tmp_path / "nothing")


def test_spark_engine_without_java_is_one_line(tmp_path, monkeypatch, capsys):
    if not HAVE_PYSPARK:
        pytest.skip("pyspark not installed: the missing-pyspark message is tested in test_cli_train")
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is not None:
        pytest.skip("a Spark session is already running in this process")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    code = main(["score", str(tmp_path / "x.csv"), "--model", str(tmp_path), "--out",
                 str(tmp_path / "o.parquet"), "--engine", "spark"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == ("error: Spark needs Java, which is not installed: run `apt-get install "
                   "openjdk-17-jre-headless` (or set JAVA_HOME) or use --engine local.\n")


# ---------------------------------------------------------------- Spark against local

@pytest.fixture(scope="module")
def spark():
    from churn_core.scale.spark import start_session

    session, created = start_session("local[2]")
    yield session
    if created:
        session.stop()


@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    """A model trained through the CLI on 2,500 customers; a scoring file of 6,000 others with a
    complaints column (so signals fire) and 500 repeated customers (so probabilities tie)."""
    if not DATASET.exists():
        pytest.fail(f"shared dataset missing: {DATASET}")
    tmp = tmp_path_factory.mktemp("spark_score")
    df = pd.read_csv(DATASET)
    train = tmp / "train.csv"
    df.head(2500).to_csv(train, index=False)
    model = tmp / "model"
    assert main(["train", str(train), "--out", str(model)]) == 0
    new = df.iloc[3000:9000].copy()
    new["complaints_12m"] = (new["RowNumber"] * 7) % 5 // 3     # 0 or 1
    new = pd.concat([new, new.iloc[:500]], ignore_index=True)  # ties in probability
    path = tmp / "new.csv"
    new.to_csv(path, index=False)
    return tmp, model, new, path


def _score(args):
    """Run the CLI; its JSON summary (it must succeed with nothing on stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    assert code == 0, err.getvalue()
    assert err.getvalue() == ""
    return json.loads(out.getvalue())


def _local(churn, path=None, extra=()):
    tmp, model, _, default = churn
    out = tmp / f"local_{len(list(tmp.iterdir()))}.csv"
    summary = _score(["score", str(path or default), "--model", str(model), "--out", str(out), *extra])
    return summary, pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def local_default(churn):
    """``score`` (local, default options) of the scoring file: computed once, in this run."""
    return _local(churn)


def _spark(churn, out_name, path=None, extra=()):
    tmp, model, _, default = churn
    out = tmp / out_name
    summary = _score(["score", str(path or default), "--model", str(model), "--out", str(out),
                      "--engine", "spark", *extra])
    if out_name.endswith(".csv"):
        parts = sorted(out.glob("part-*.csv"))
        frame = pd.concat([pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in parts],
                          ignore_index=True)
    else:
        frame = pd.read_parquet(out)
    return summary, frame


def _assert_same_scores(local, spark):
    assert list(spark.columns) == SCORE_COLUMNS == list(local.columns)
    assert len(spark) == len(local)
    assert spark["CustomerId"].tolist() == local["CustomerId"].tolist()
    diff = np.abs(spark["churn_probability"].to_numpy() - local["churn_probability"].to_numpy())
    assert diff.max() <= 1e-6
    for col in ["status", "risk_tier", "reason_1", "reason_2", "reason_3", "signals"]:
        a = local[col].fillna("").astype(str).tolist()
        b = spark[col].fillna("").astype(str).tolist()
        assert a == b, col
    for col in ["points_1", "points_2", "points_3"]:
        np.testing.assert_array_equal(spark[col].to_numpy(dtype=float), local[col].to_numpy(dtype=float))


@needs_spark
def test_spark_parquet_matches_local_scores(spark, churn, local_default):
    _, _, new, _ = churn
    local_summary, local = local_default
    summary, scores = _spark(churn, "spark.parquet")
    _assert_same_scores(local, scores)
    assert summary["engine"] == "spark" and local_summary["engine"] == "local"
    assert {k: v for k, v in summary.items() if k not in ("engine", "out")} == \
        {k: v for k, v in local_summary.items() if k not in ("engine", "out")}
    # the file: 6,500 rows, churned customers Left, 10% / 20% of the active ones High / Medium
    churned = int(new["Exited"].sum())
    active = 6500 - churned
    assert summary["rows"] == 6500
    assert summary["tiers"] == {"High": round(0.1 * active), "Medium": round(0.2 * active),
                                "Low": active - round(0.1 * active) - round(0.2 * active), "Left": churned}
    # the test means something: ties, signals and reasons are there to be compared
    active_p = scores.loc[scores["status"] == "active", "churn_probability"]
    assert active_p.duplicated().sum() >= 400
    assert (scores["signals"] == "complaints").sum() == int((new["complaints_12m"] == 1).sum())
    assert scores["reason_1"].str.contains("raises the risk").sum() > 1000


@pytest.fixture(scope="module")
def parts(churn):
    """The scoring file cut in three: CSVs matched by a glob (plus one that is not), Parquet parts."""
    tmp, _, new, _ = churn
    (tmp / "glob").mkdir()
    (tmp / "pq").mkdir()
    for i, part in enumerate([new.iloc[:2000], new.iloc[2000:4500], new.iloc[4500:]]):
        part.to_csv(tmp / "glob" / f"customers_{i}.csv", index=False)
        part.to_parquet(tmp / "pq" / f"part-{i}.parquet", index=False)
    new.head(3).to_csv(tmp / "glob" / "other.csv", index=False)
    return tmp / "glob" / "customers_*.csv", tmp / "pq"


@needs_spark
def test_spark_glob_of_csvs_to_csv_with_capacities_and_chinese_reasons(spark, churn, parts):
    extra = ["--high", "250", "--medium", "600", "--lang", "zh"]
    local_summary, local = _local(churn, extra=extra)   # the same rows in one file
    summary, scores = _spark(churn, "spark_zh.csv", path=parts[0], extra=extra)
    _assert_same_scores(local, scores)
    assert summary["rows"] == 6500
    assert summary["tiers"]["High"] == 250 and summary["tiers"]["Medium"] == 600
    assert summary["tiers"] == local_summary["tiers"]
    assert scores["reason_1"].str.contains("流失风险").sum() > 1000


@needs_spark
def test_spark_reads_a_folder_of_parquet_parts(spark, churn, parts, local_default):
    local_summary, local = local_default
    summary, scores = _spark(churn, "folder.parquet", path=parts[1])
    _assert_same_scores(local, scores)
    assert summary["rows"] == 6500 and summary["tiers"] == local_summary["tiers"]


@needs_spark
def test_spark_missing_column_exits_2_with_one_line(spark, churn, capsys):
    tmp, model, new, _ = churn
    path = tmp / "no_age.csv"
    new.head(50).drop(columns=["Age"]).to_csv(path, index=False)
    capsys.readouterr()
    code = main(["score", str(path), "--model", str(model), "--out", str(tmp / "bad.parquet"),
                 "--engine", "spark"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "error: The file lacks columns the model needs: Age\n"


@needs_spark
def test_spark_input_that_matches_nothing_exits_2_with_one_line(spark, churn, capsys):
    tmp, model, _, _ = churn
    capsys.readouterr()
    code = main(["score", str(tmp / "nope_*.csv"), "--model", str(model), "--out", str(tmp / "n.parquet"),
                 "--engine", "spark"])
    assert code == 2
    assert capsys.readouterr().err == f"error: No input file matches '{tmp / 'nope_*.csv'}'.\n"


@needs_spark
def test_spark_refuses_to_overwrite_a_folder_it_did_not_write(spark, churn, capsys):
    tmp, model, _, path = churn
    keep = tmp / "precious"
    keep.mkdir()
    (keep / "notes.txt").write_text("do not delete")
    capsys.readouterr()
    code = main(["score", str(path), "--model", str(model), "--out", str(keep), "--engine", "spark"])
    assert code == 2
    assert "is not an earlier Spark output" in capsys.readouterr().err
    assert (keep / "notes.txt").read_text() == "do not delete"


def test_package_zip_for_executors_imports_the_engine(tmp_path):
    import subprocess

    from churn_core.scale.spark import build_package_zip

    path = build_package_zip(tmp_path)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import churn_core.modeling.scoring as s, "
            "churn_core.scale.spark; print(s.__file__.startswith(sys.argv[1]))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=tmp_path, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "True"


def test_app_and_engine_do_not_import_pyspark():
    import subprocess

    code = ("import sys, churn_core.cli, churn_core.commands.score, churn_core.scale.spark\n"
            "print('pyspark' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
