"""The board report: self-contained HTML whose figures are the workspace's (the pages' figures)."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from churn_core.cli import main
from churn_core.sharing.board_report import build_board_report, compute_report_figures
from churn_core.workspace import Workspace


@pytest.fixture(scope="module")
def ws(sample_path):
    w = Workspace.from_file(sample_path)
    w.train(n_estimators=40, random_state=0)
    return w


@pytest.fixture(scope="module")
def plan(ws):
    return ws.plan(100_000, n_draws=200).to_dict()


def figures_of(page):
    """``{name: raw value}`` of every ``data-figure`` tag of the report."""
    return {m.group(1): m.group(2) for m in re.finditer(r'data-figure="([^"]+)" data-value="([^"]*)"', page)}


def test_headline_figures_equal_the_workspace(ws, plan, sample_path):
    page = build_board_report(ws, lang="en", plan=plan)
    f = figures_of(page)
    raw = pd.read_csv(sample_path)
    assert float(f["customers"]) == 20000
    assert float(f["churned"]) == int(raw["churned"].sum()) == 2902
    assert float(f["churn_rate"]) == pytest.approx(raw["churned"].mean())
    assert float(f["roc_auc"]) == pytest.approx(ws.model_.metrics_["roc_auc"])
    assert float(f["book_customers"]) == ws.describe_book()["customers"]
    latest = raw[raw["snapshot_date"] == raw["snapshot_date"].max()]
    assert ws.describe_book()["customers"] == int((latest["churned"] == 0).sum())
    for key in ("budget", "cost", "expected_saved", "retained_value", "net_benefit", "roi"):
        assert float(f[f"plan_{key}"]) == pytest.approx(plan[key])
    assert float(f["plan_unspent"]) == pytest.approx(plan["budget"] - plan["cost"])
    tiers = ws.tiers().astype(str).value_counts()
    assert float(f["tier_High"]) == tiers["High"]


def test_value_at_risk_is_probability_times_value_over_the_book(ws):
    f = compute_report_figures(ws)
    p = ws.proba("book").to_numpy()
    v = np.clip(ws.customer_value("book"), 0, None)
    assert f["value_at_risk"] == pytest.approx(float((p * v).sum()))


def test_report_is_self_contained(ws, plan):
    page = build_board_report(ws, lang="zh", plan=plan, currency="¥")
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", page, re.I)
    assert page.count("<svg") >= 4
    assert "@media print" in page and "page-break" in page
    assert "一、客户概况" in page and "¥" in page


def test_user_strings_are_escaped(tmp_path, sample_path):
    df = pd.read_csv(sample_path).head(3000)
    df.loc[df.index[:50], "customer_id"] = ['<img src=x onerror=alert(1)>' + str(i) for i in range(50)]
    path = tmp_path / "<b>bank<b>.csv"
    df.to_csv(path, index=False)
    w = Workspace.from_file(path)
    w.train(n_estimators=20, random_state=0)
    page = build_board_report(w, lang="en")
    assert "<img" not in page and "<b>bank" not in page
    assert "&lt;b&gt;bank&lt;b&gt;.csv" in page


def test_report_needs_a_model(sample_path):
    w = Workspace.from_file(sample_path)
    with pytest.raises(Exception, match="Train the churn model first"):
        build_board_report(w)


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory, sample_path):
    tmp = tmp_path_factory.mktemp("report_cli")
    small = tmp / "c.csv"
    pd.read_csv(sample_path).head(3000).to_csv(small, index=False)
    assert main(["train", str(small), "--out", str(tmp / "m")]) == 0
    return tmp, small, tmp / "m"


def test_cli_report_writes_one_html_file(cli_model, capsys):
    tmp_path, small, model = cli_model
    assert main(["simulate", str(small), "--model", str(model), "--budget", "50000", "--draws", "200",
                 "--out", str(tmp_path / "plan")]) == 0
    capsys.readouterr()
    out = tmp_path / "r" / "report.html"
    assert main(["report", str(small), "--model", str(model), "--plan", str(tmp_path / "plan"), "--lang", "zh",
                 "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    page = out.read_text(encoding="utf-8")
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text(encoding="utf-8"))
    f = figures_of(page)
    assert summary["customers"] == 3000 and float(f["customers"]) == 3000
    assert float(f["plan_expected_saved"]) == pytest.approx(plan["expected_saved"])
    metrics = json.loads((model / "metrics.json").read_text(encoding="utf-8"))
    assert float(f["roc_auc"]) == pytest.approx(metrics["roc_auc"])


def test_cli_report_missing_plan_is_one_line(cli_model, tmp_path, capsys):
    _, small, model = cli_model
    capsys.readouterr()
    assert main(["report", str(small), "--model", str(model), "--plan", str(tmp_path / "nope"),
                 "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "plan.json" in err
