"""`python -m churn_core simulate`: plan.json keys and figures, plan.csv rows, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from churn_core import cli
from churn_core.commands import simulate as simulate_command
from churn_core.retention.offers import default_catalogue, save_catalogue
from tests.core.test_simulate_model import sample_and_model  # noqa: F401 - shared session fixture

ROOT_KEYS = ["budget", "cost", "targeted", "expected_saved", "expected_saved_low", "expected_saved_high",
             "retained_value", "net_benefit", "roi", "baseline_risk_saved", "baseline_random_saved", "by_offer"]


class SampleStandIn:
    """Transparent churn model on the sample's columns (stands in for a saved ChurnModel)."""

    id_column_ = "customer_id"
    label_ = "churned"
    features_ = ["complaints_12m", "num_products", "fees_paid_12m", "satisfaction"]

    def predict_proba(self, df):
        z = (-2.2 + 0.7 * df["complaints_12m"] - 0.4 * (df["num_products"] - 2) + df["fees_paid_12m"] / 1000
             - 0.3 * (df["satisfaction"] - 3))
        return (1 / (1 + np.exp(-z))).to_numpy(dtype=float)


@pytest.fixture()
def stand_in(monkeypatch):
    monkeypatch.setattr(simulate_command, "_load_model", lambda path: SampleStandIn())


@pytest.fixture(scope="module")
def small_sample(sample_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("sim") / "customers_2000.csv"
    pd.read_csv(sample_path, nrows=2000).to_csv(path, index=False)
    return path


def _run(capsys, argv):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out


def test_simulate_writes_plan_json_and_csv(stand_in, small_sample, tmp_path, capsys):
    code, out = _run(capsys, ["simulate", str(small_sample), "--model", "unused", "--budget", "20000",
                              "--out", str(tmp_path / "out")])
    assert code == 0, out.err
    printed = json.loads(out.out)
    plan = json.loads((tmp_path / "out" / "plan.json").read_text(encoding="utf-8"))
    for key in ROOT_KEYS:
        assert key in plan, key
    assert plan["budget"] == 20000.0 and plan["cost"] <= 20000.0
    assert plan["expected_saved_low"] < plan["expected_saved"] < plan["expected_saved_high"]
    assert printed["targeted"] == plan["targeted"]
    assert [row["offer"] for row in plan["by_offer"]] == default_catalogue().codes
    assert sum(row["customers"] for row in plan["by_offer"]) == plan["targeted"]
    assert plan["roi"] == pytest.approx(plan["net_benefit"] / plan["cost"])
    csv = pd.read_csv(tmp_path / "out" / "plan.csv", encoding="utf-8-sig")
    assert list(csv.columns) == ["customer_id", "offer", "churn_probability", "expected_saved", "expected_value",
                                 "cost", "net_value"]
    assert len(csv) == plan["targeted"]
    assert csv["customer_id"].str.match(r"^C\d{6}$").all()
    assert csv["cost"].sum() == pytest.approx(plan["cost"])
    assert csv["expected_saved"].sum() == pytest.approx(plan["expected_saved"], rel=1e-6)
    # the optimiser keeps at least the value of both baselines at this budget
    assert plan["retained_value"] >= plan["baselines"]["risk"]["retained_value"]
    assert plan["retained_value"] >= plan["baselines"]["random"]["retained_value"]


def test_offers_file_in_csv_and_json_changes_the_plan(stand_in, small_sample, tmp_path, capsys):
    only_calls = default_catalogue().replace_offer("rm_call", capacity=25)
    for name in ("offers.csv", "offers.json"):
        offers = save_catalogue(only_calls, tmp_path / name)
        code, out = _run(capsys, ["simulate", str(small_sample), "--model", "m", "--budget", "1e9",
                                  "--objective", "saved_value", "--offers", str(offers), "--seed", "3",
                                  "--out", str(tmp_path / ("out_" + name))])
        assert code == 0, out.err
        plan = json.loads((tmp_path / ("out_" + name) / "plan.json").read_text(encoding="utf-8"))
        by = {row["offer"]: row["customers"] for row in plan["by_offer"]}
        assert by["rm_call"] == 25 and by["win_back"] <= 1000
        assert plan["offers"][3]["capacity"] == 25


def test_model_based_effects_from_the_cli(stand_in, small_sample, tmp_path, capsys):
    code, out = _run(capsys, ["simulate", str(small_sample), "--model", "m", "--budget", "5000", "--effects", "model",
                              "--out", str(tmp_path / "o")])
    assert code == 0, out.err
    plan = json.loads((tmp_path / "o" / "plan.json").read_text(encoding="utf-8"))
    assert plan["effect_sources"] == {"fee_waiver": "model", "rate_bonus": "assumed", "loyalty_points": "model",
                                      "rm_call": "model", "cross_sell": "model", "win_back": "assumed"}


def test_bad_offers_file_is_one_line_exit_2(stand_in, small_sample, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,unit_cost,contact_cost,take_up,effect_mid\nx,10,1,2,0.1\n", encoding="utf-8")
    code, out = _run(capsys, ["simulate", str(small_sample), "--model", "m", "--budget", "10", "--offers", str(bad),
                              "--out", str(tmp_path / "o")])
    assert code == 2
    assert out.err == "error: Row 1: Offer 'x': take_up must be between 0 and 1, got 2.\n"


def test_missing_file_and_negative_budget_fail_cleanly(tmp_path):
    for argv, message in ((["simulate", str(tmp_path / "nope.csv"), "--model", "m", "--budget", "10", "--out", str(tmp_path)],
                           "error: File not found:"),
                          (["simulate", str(tmp_path / "nope.csv"), "--model", "m", "--budget", "-5", "--out", str(tmp_path)],
                           "error: budget must be a number >= 0.")):
        res = subprocess.run([sys.executable, "-m", "churn_core", *argv], capture_output=True, text=True)
        assert res.returncode == 2
        assert res.stderr.startswith(message) and res.stderr.count("\n") == 1
        assert "Traceback" not in res.stderr


def test_help_lists_the_options():
    res = subprocess.run([sys.executable, "-m", "churn_core", "simulate", "--help"], capture_output=True, text=True)
    assert res.returncode == 0
    for option in ("--model", "--budget", "--offers", "--effects", "--objective", "--seed", "--out"):
        assert option in res.stdout
    top = subprocess.run([sys.executable, "-m", "churn_core", "--help"], capture_output=True, text=True)
    assert "90% intervals" in top.stdout


@pytest.fixture(scope="module")
def saved_model(sample_and_model, tmp_path_factory):
    directory = tmp_path_factory.mktemp("model")
    sample_and_model[1].save(directory)
    return directory


def test_end_to_end_with_a_saved_model_in_a_subprocess(saved_model, small_sample, tmp_path):
    out = tmp_path / "plan"
    res = subprocess.run([sys.executable, "-m", "churn_core", "simulate", str(small_sample), "--model", str(saved_model),
                          "--budget", "15000", "--effects", "model", "--seed", "7", "--out", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert plan["id_column"] == "customer_id" and plan["value_source"] == "contribution"
    assert plan["cost"] <= 15000 and plan["targeted"] == len(pd.read_csv(out / "plan.csv", encoding="utf-8-sig"))
    assert plan["retained_value"] >= max(plan["baselines"]["risk"]["retained_value"],
                                         plan["baselines"]["random"]["retained_value"])
    assert json.loads(res.stdout)["plan_csv"] == str(out / "plan.csv")
