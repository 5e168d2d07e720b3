"""Workshop engine: the tour, the fast set-up on the sample, and "reveal the truth" (exact figures)."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from churn_core.data.synth import ZH_COLUMNS, simulate_plan_outcome, true_churn_probability
from churn_core.errors import ChurnCoreError
from churn_core.retention.offers import default_catalogue
from churn_core.sharing import workshop as W
from churn_core.workspace import Workspace


@pytest.fixture(scope="module")
def truth():
    return W.load_ground_truth()


@pytest.fixture(scope="module")
def trained():
    """The English sample with the workshop's fast model and its default plan (set up once)."""
    ws = Workspace()
    W.setup_data(ws, "en")
    W.setup_model(ws)
    result = W.setup_plan(ws)
    return ws, result


# ----------------------------------------------------------------------------- the tour

def test_engine_does_not_import_streamlit():
    code = "import sys, churn_core.sharing.workshop; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_tour_visits_the_pages_in_order(root_dir):
    assert [s.code for s in W.STEPS] == ["data", "segments", "model", "warning", "drivers", "simulator",
                                         "winback", "report"]
    assert [s.page for s in W.STEPS] == ["pages/1_data.py", "pages/2_segments.py", "pages/5_model.py",
                                         "pages/6_early_warning.py", "pages/7_drivers.py", "pages/8_simulator.py",
                                         "pages/10_winback.py", None]
    for step in W.STEPS:
        assert step.page is None or (root_dir / step.page).exists(), step.page


@pytest.mark.parametrize("needs, expected", [
    ("data", ("data",)),
    ("segment", ("data", "segment")),
    ("model", ("data", "segment", "model")),
    ("plan", ("data", "segment", "model", "plan")),
])
def test_needs_are_cumulative(needs, expected):
    assert W.needs_up_to(needs) == expected


def test_unknown_need_and_step_are_errors():
    with pytest.raises(ChurnCoreError, match="Unknown set-up 'cake'"):
        W.needs_up_to("cake")
    with pytest.raises(ChurnCoreError, match="The tour has steps 1 to 8") as info:
        W.step_at(8)
    assert info.value.code == "workshop.bad_step"
    assert W.step_at(0).code == "data"
    assert W.step_at("7").code == "report"


@pytest.mark.parametrize("lang, name", [("en", "customers.csv"), ("zh", "customers_zh_gbk.csv"),
                                        ("fr", "customers.csv")])
def test_sample_of_each_language(lang, name):
    assert W.sample_path(lang).name == name


@pytest.mark.parametrize("lang, label, positive, segment", [
    ("en", "churned", 1, "Complained in the last 12 months"),
    ("zh", "是否流失", "是", "近12个月有投诉的客户"),
])
def test_setup_data_loads_the_sample_and_confirms_the_label(lang, label, positive, segment, truth):
    ws = Workspace()
    assert W.setup_data(ws, lang) is not None
    assert (ws.roles_.label, ws.roles_.positive, ws.label_confirmed, len(ws.df)) == (label, positive, True, 20000)
    assert W.is_sample_loaded(ws)
    assert W.setup_data(ws, lang) is None  # already there: not read again
    seg = W.build_workshop_segment(ws, lang)
    assert seg.name == segment
    # the segment is the planted "customers with complaints" (the rm_call responders)
    assert int(seg.mask(ws.df).sum()) == 5656 == truth["offers"]["rm_call"]["effect_by_type"]["with_complaints"]["customers"]


def test_a_loaded_sample_is_kept_whatever_the_language():
    ws = Workspace()
    W.setup_data(ws, "zh")
    assert W.setup_data(ws, "en") is None
    assert ws.load_.source_name == "customers_zh_gbk.csv"


def test_segment_needs_the_sample():
    from churn_core.data.ingest import load_file

    ws = Workspace()
    ws.set_history(load_file(pd.DataFrame({"a": [1, 2], "churned": [0, 1]}).to_csv(index=False).encode(), "x.csv"))
    assert not W.is_sample_loaded(ws)
    with pytest.raises(ChurnCoreError, match="needs the bundled sample"):
        W.build_workshop_segment(ws, "en")


def test_fast_model_and_default_plan(trained):
    ws, result = trained
    m = ws.model_.metrics_
    assert (round(m["roc_auc"], 4), m["grade"], m["n_trees"]) == (0.8652, "A", 52)
    plan = result.to_dict()
    assert plan["budget"] == 50_000
    assert int(plan["targeted"]) == 432 and plan["cost"] <= 50_000
    assert [round(plan[k], 2) for k in ("expected_saved", "expected_saved_low", "expected_saved_high")] == \
        [27.25, 15.84, 43.11]
    offers = W.plan_offers(result)
    assert len(offers) == len(ws.book()) == 4263
    assert pd.Series(offers).value_counts().to_dict() == {"rm_call": 410, "cross_sell": 22}


# ----------------------------------------------------------------------------- the truth

def test_ground_truth_is_the_planted_one(truth):
    assert truth["top_drivers"][:3] == ["balance_change_3m_pct", "txn_this_quarter", "complaints_12m"]


def test_missing_ground_truth_is_an_error(tmp_path):
    with pytest.raises(ChurnCoreError, match="ground_truth.json") as info:
        W.load_ground_truth(tmp_path / "nope.json")
    assert info.value.code == "workshop.no_truth"


def test_driver_truth_planted_beside_model(trained, truth):
    ws, _ = trained
    table, overlap = W.compute_driver_truth(ws, truth, k=5)
    assert overlap == 4
    assert table["driver"].tolist() == truth["top_drivers"]  # no unplanted column in the model's top 5
    assert table["planted_rank"].tolist() == list(range(1, 10))
    assert table["model_rank"].tolist() == [1, 2, 3, 4, 6, 5, 7, 9, 11]
    assert table["found"].tolist() == [True, True, True, True, False, False, False, False, False]
    assert table["planted_importance"].round(6).tolist() == [truth["drivers"][d]["importance"] for d in truth["top_drivers"]]
    assert table["model_importance"].round(3).tolist()[:4] == [0.588, 0.472, 0.382, 0.199]


def test_driver_truth_needs_a_model(truth):
    ws = Workspace()
    W.setup_data(ws, "en")
    with pytest.raises(ChurnCoreError, match="Train the churn model first"):
        W.compute_driver_truth(ws, truth)


def test_english_column_of_chinese_headers():
    assert W.english_column(ZH_COLUMNS["complaints_12m"]) == "complaints_12m"
    assert W.english_column("complaints_12m") == "complaints_12m"
    assert W.english_column("unknown") == "unknown"


def test_effect_truth_measured_beside_true(truth):
    table = W.compute_effect_truth(truth)
    assert table["offer"].tolist() == ["fee_waiver", "rate_bonus", "loyalty_points", "rm_call", "cross_sell"]
    assert table["measured"].round(2).tolist() == [-3.9, -2.3, -3.75, -4.25, -5.0]
    # measured = arm churn rate - control churn rate, in points (the campaign's recorded rates)
    arms = truth["campaign"]["arms"]
    expected = [round((arms[o]["churn_rate"] - arms["control"]["churn_rate"]) * 100, 2) for o in table["offer"]]
    assert table["measured"].round(2).tolist() == expected
    assert table["true"].round(4).tolist() == [-3.5221, -3.3869, -2.7149, -4.8627, -4.525]
    assert table["inside"].tolist() == [True] * 5
    assert table["measured_low"].round(2).tolist() == [-5.96, -4.41, -5.81, -6.29, -7.02]
    assert table["measured_high"].round(2).tolist() == [-1.84, -0.19, -1.69, -2.21, -2.98]


def test_plan_truth_replays_the_generator(trained):
    ws, result = trained
    plan = result.to_dict()
    offers = W.plan_offers(result)
    pt = W.compute_plan_truth(ws.book().frame, offers, plan, seed=0)
    assert (pt.contacted, pt.replayed, pt.churned_without, pt.churned_with, pt.seed) == (432, 53, 449, 396, 0)
    assert pt.replayed == simulate_plan_outcome(ws.book().frame.reset_index(drop=True), offers, 0)["saved"]
    assert (round(pt.true_expected, 2), round(pt.true_low, 2), round(pt.true_high, 2)) == (58.51, 47.99, 69.03)
    assert (round(pt.projected, 2), round(pt.projected_low, 2), round(pt.projected_high, 2)) == (27.25, 15.84, 43.11)
    # The replay (53) lies OUTSIDE the plan's 90% interval (15.8 to 43.1), above it, and the test
    # says why: the plan uses the catalogue's ASSUMED effects, and the planted ones are stronger.
    assert pt.verdict == "above"
    assert pt.projected_high < pt.true_low <= pt.replayed <= pt.true_high  # the replay agrees with the truth
    # rm_call (410 of the 432 contacts): assumed to cut a contacted customer's churn by
    # take-up 0.7 x effect 0.25 = 17.5%; the planted effect (logit -1.8 for complainers, -0.1 for
    # the others) cuts the churn of these 410 customers by 36.5%: twice the assumption.
    rm = default_catalogue().get("rm_call")
    assert round(rm.take_up * rm.effect_mid, 3) == 0.175
    book = ws.book().frame.reset_index(drop=True)
    mask = np.array([o == "rm_call" for o in offers])
    p0 = true_churn_probability(book.loc[mask])
    p1 = true_churn_probability(book.loc[mask], "rm_call")
    assert round(1 - p1.sum() / p0.sum(), 3) == 0.365


def test_plan_truth_same_on_the_chinese_sample(trained):
    from churn_core.data.ingest import load_file

    ws, result = trained
    zh = load_file(W.sample_path("zh")).df.loc[ws.book().frame.index]
    en = W.compute_plan_truth(ws.book().frame, W.plan_offers(result), result.to_dict())
    assert W.compute_plan_truth(zh, W.plan_offers(result), result.to_dict()) == en


def test_plan_truth_without_contacts_saves_nobody(trained):
    ws, _ = trained
    book = ws.book().frame
    plan = {"expected_saved": 0.0, "expected_saved_low": 0.0, "expected_saved_high": 0.0}
    pt = W.compute_plan_truth(book, [None] * len(book), plan)
    assert (pt.contacted, pt.replayed, pt.true_expected, pt.verdict) == (0, 0, 0.0, "inside")
    assert pt.churned_without == pt.churned_with == 449


def test_plan_truth_below_when_the_projection_is_too_rosy(trained):
    ws, result = trained
    rosy = dict(result.to_dict(), expected_saved=200.0, expected_saved_low=150.0, expected_saved_high=250.0)
    assert W.compute_plan_truth(ws.book().frame, W.plan_offers(result), rosy).verdict == "below"


def test_plan_truth_needs_one_offer_per_customer(trained):
    ws, result = trained
    with pytest.raises(ChurnCoreError, match="The plan has 2 offers for 4263 customers") as info:
        W.compute_plan_truth(ws.book().frame, [None, "rm_call"], result.to_dict())
    assert info.value.code == "synth.plan_length"
