"""The session Workspace: one label, one map, one set of settings; the book; cached results."""

import numpy as np
import pandas as pd
import pytest

from churn_core.data.ingest import load_file
from churn_core.errors import ChurnCoreError
from churn_core.modeling.warning import TierConfig
from churn_core.workspace import BOOK_CURRENT, BOOK_LATEST, Workspace


@pytest.fixture(scope="module")
def raw(sample_path):
    return pd.read_csv(sample_path)


@pytest.fixture(scope="module")
def trained(sample_path):
    ws = Workspace.from_file(sample_path)
    ws.train(n_estimators=30, random_state=0)
    return ws


def test_the_book_is_the_active_customers_at_the_latest_snapshot(trained, raw):
    latest = raw[raw["snapshot_date"] == raw["snapshot_date"].max()]
    assert trained.describe_book() == {"source": BOOK_LATEST, "customers": int((latest["churned"] == 0).sum()),
                                       "snapshot": "2024-12-31"}
    assert len(trained.book()) == 4263
    assert set(trained.book().frame["customer_id"]) == set(latest.loc[latest["churned"] == 0, "customer_id"])


def test_lost_customers_are_exactly_the_churned(trained, raw):
    assert sorted(trained.lost()["customer_id"]) == sorted(raw.loc[raw["churned"] == 1, "customer_id"])


def test_watchlist_holds_no_churned_customer(trained, raw):
    churned = set(raw.loc[raw["churned"] == 1, "customer_id"])
    watch = trained.watchlist()
    assert len(watch) == 4263 and not churned & set(watch["customer_id"])
    assert watch["churn_probability"].is_monotonic_decreasing


def test_tier_setting_is_the_one_every_result_uses(trained):
    ws = trained
    ws.update_settings(tiers=TierConfig(high_capacity=100, medium_capacity=50))
    assert int((ws.tiers() == "High").sum()) == 100 and int((ws.tiers() == "Medium").sum()) == 50
    scores = ws.scores("book")
    assert int((scores["risk_tier"] == "High").sum()) == 100
    ws.update_settings(tiers=TierConfig())
    assert int((ws.tiers() == "High").sum()) == round(0.1 * 4263)


def test_margins_change_the_customer_value_everywhere(trained, raw):
    ws = trained
    before = ws.customer_value("book").copy()
    ws.set_meanings(ws.meanings_.with_margin("balance", 0.03))
    after = ws.customer_value("book")
    book = raw.set_index(raw.index).loc[ws.book().frame.index]
    assert np.allclose(after - before, book["balance"].fillna(0).to_numpy() * (0.03 - 0.015))
    inputs = ws.simulator_inputs(__import__("churn_core.retention.offers", fromlist=["x"]).default_catalogue())
    assert np.allclose(inputs.value, after)
    ws.set_meanings(ws.meanings_.with_margin("balance", 0.015))


def test_another_label_drops_the_model_and_the_confirmation(sample_path):
    ws = Workspace.from_file(sample_path, label="churned", positive=1)
    assert ws.label_confirmed
    ws.train(n_estimators=10, random_state=0, require_confirmed=True)
    ws.set_label("has_loan", 1)
    assert ws.model_ is None and not ws.label_confirmed
    with pytest.raises(ChurnCoreError, match="Confirm the churn column on the Data page first"):
        ws.train(n_estimators=10, require_confirmed=True)


def test_a_detected_label_is_not_confirmed(sample_path):
    ws = Workspace.from_file(sample_path)
    assert ws.roles_.label == "churned" and not ws.label_confirmed
    ws.confirm_label()
    assert ws.label_confirmed


def test_one_class_and_many_valued_labels_are_refused(sample_path, tmp_path):
    ws = Workspace.from_file(sample_path)
    with pytest.raises(ChurnCoreError, match="'balance' has 19990 different values"):
        ws.set_label("balance")
    one = tmp_path / "one.csv"
    pd.DataFrame({"id": range(30), "x": range(30), "left": ["no"] * 30}).to_csv(one, index=False)
    with pytest.raises(ChurnCoreError, match=r"The churn column 'left' has only one value \('no'\)"):
        Workspace.from_file(one, label="left")


def test_a_current_upload_is_the_book_without_its_churned_rows(trained, raw, tmp_path):
    cur = raw.head(500)
    path = tmp_path / "current.csv"
    cur.to_csv(path, index=False)
    trained.set_current(load_file(path))
    try:
        assert trained.describe_book()["source"] == BOOK_CURRENT
        assert len(trained.book()) == int((cur["churned"] == 0).sum())
        assert len(trained.proba("book")) == len(trained.book())
    finally:
        trained.clear_current()
    assert trained.describe_book()["source"] == BOOK_LATEST


def test_results_are_computed_once_per_state(trained):
    first = trained.proba("book")
    assert trained.proba("book") is first
    trained.update_settings(currency="¥")
    assert trained.proba("book") is not first  # settings are part of every key
    trained.update_settings(currency="")


def test_mapping_applies_all_or_nothing(trained):
    before = trained.meanings_
    with pytest.raises(ChurnCoreError, match="not in this file"):
        trained.apply_mapping({"label": "churned", "columns": {"nope": "balance"}})
    assert trained.meanings_ == before


def test_cli_and_workspace_give_the_same_plan(tmp_path, sample_path, capsys):
    """The simulate command is Workspace.plan: same book, value, objective, figures."""
    import json

    from churn_core.cli import main
    from churn_core.modeling.model import ChurnModel

    small = tmp_path / "c.csv"
    pd.read_csv(sample_path).head(3000).to_csv(small, index=False)
    assert main(["train", str(small), "--out", str(tmp_path / "m")]) == 0
    assert main(["simulate", str(small), "--model", str(tmp_path / "m"), "--budget", "30000", "--draws", "300",
                 "--out", str(tmp_path / "p")]) == 0
    cli_plan = json.loads((tmp_path / "p" / "plan.json").read_text(encoding="utf-8"))
    ws = Workspace.from_file(small)
    ws.set_model(ChurnModel.load(tmp_path / "m"))
    page_plan = ws.plan(30000, n_draws=300).to_dict()
    for key in ("budget", "cost", "targeted", "expected_saved", "retained_value", "net_benefit",
                "baseline_risk_saved", "baseline_random_saved"):
        assert page_plan[key] == pytest.approx(cli_plan[key]), key
    assert cli_plan["book"] == ws.describe_book()
