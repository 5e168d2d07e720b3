"""Campaign uplift on the sample's planted campaign: ATE coverage, ranking, checks, design."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core.data import synth
from churn_core.retention import uplift
from churn_core.errors import ChurnCoreError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="session")
def truth():
    return json.loads((SAMPLE / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def customers():
    return pd.read_csv(SAMPLE / "customers.csv")


@pytest.fixture(scope="session")
def frame(customers):
    campaign = pd.read_csv(SAMPLE / "campaign.csv")
    return uplift.load_campaign_frame(campaign, customers, "customer_id")


@pytest.fixture(scope="session")
def result(frame):
    return uplift.UpliftResult("arm", "control", "churned", positive=1,
                               id_column="customer_id", seed=0).fit(frame)


def test_join_takes_the_outcome_from_the_campaign(frame, customers):
    assert len(frame) == 12000
    assert frame.attrs["dropped_columns"] == ["churned"]
    assert frame.attrs["unmatched"] == 0
    campaign = pd.read_csv(SAMPLE / "campaign.csv")
    assert (frame["churned"].to_numpy() == campaign["churned"].to_numpy()).all()
    row = frame.iloc[0]
    assert customers.set_index("customer_id").loc[row["customer_id"], "age"] == row["age"]


def test_exact_arm_counts(result):
    assert result.arms_[["arm", "customers"]].values.tolist() == [
        ["control", 2000], ["cross_sell", 2000], ["fee_waiver", 2000],
        ["loyalty_points", 2000], ["rate_bonus", 2000], ["rm_call", 2000]]
    assert result.arms_.loc[0, "positive"] == 292
    assert result.arms_.loc[0, "rate"] == pytest.approx(0.146)
    assert result.arms_["is_control"].tolist() == [True] + [False] * 5


def test_ate_is_the_difference_of_rates(result):
    row = result.offers_.set_index("offer").loc["rm_call"]
    assert (row.n_treated, row.n_control) == (2000, 2000)
    assert row.ate == pytest.approx(row.rate_treated - row.rate_control)
    se = np.sqrt(row.rate_treated * (1 - row.rate_treated) / 2000
                 + row.rate_control * (1 - row.rate_control) / 2000)
    assert row.ate_low == pytest.approx(row.ate - 1.959964 * se, abs=1e-6)
    assert row.effect == pytest.approx(-row.ate)


def test_every_true_ate_inside_its_interval(result, truth):
    offers = result.offers_.set_index("offer")
    for offer in synth.CAMPAIGN_OFFERS:
        true_ate = truth["offers"][offer]["ate"]
        assert offers.loc[offer, "ate_low"] <= true_ate <= offers.loc[offer, "ate_high"], offer
        assert offers.loc[offer, "ate_high"] < 0, offer  # each real offer measurably cuts churn


def test_split_looks_random(result):
    assert result.balance_["smd"].abs().max() < 0.1
    assert not [w for w in result.warnings_ if w["code"] == "uplift.imbalanced"]
    assert len(result.balance_) > 5 * len(result.features_)


def test_responsive_customers_get_higher_predicted_uplift(result, frame):
    effects = result.predict_effects(frame)
    for offer in ("fee_waiver", "rate_bonus", "rm_call", "cross_sell"):
        responsive = synth.responsive_mask(frame, offer)
        assert effects[offer][responsive].mean() > 2 * effects[offer][~responsive].mean(), offer


def test_qini_clearly_above_random(result, frame):
    rng = np.random.default_rng(0)
    held = frame.index.isin(result.test_index_)
    data = result.data_
    for offer in ("fee_waiver", "rm_call", "cross_sell"):
        pair = held & data["__arm"].isin(["control", offer]).to_numpy()
        benefit = 1 - data["__y"].to_numpy()[pair]
        treated = (data["__arm"].to_numpy()[pair] == offer).astype(int)
        random_aucs = [uplift._curve(benefit, treated, rng.random(pair.sum()))[1]
                       for _ in range(30)]
        model_auc = result.offers_.set_index("offer").loc[offer, "qini_auc"]
        assert model_auc > max(random_aucs), offer
        assert model_auc > 0.005


def test_uplift_at_k_beats_the_average_for_targeted_offers(result):
    offers = result.offers_.set_index("offer")
    for offer in ("fee_waiver", "rm_call", "cross_sell"):
        assert offers.loc[offer, "uplift_at_10"] > offers.loc[offer, "effect"], offer


def test_predict_effects_shape_and_standard_errors(result, customers):
    effects = result.predict_effects(customers.head(50))
    assert list(effects.index) == list(customers.head(50).index)
    assert list(effects.columns) == [
        "cross_sell", "cross_sell_se", "fee_waiver", "fee_waiver_se", "loyalty_points",
        "loyalty_points_se", "rate_bonus", "rate_bonus_se", "rm_call", "rm_call_se"]
    offers = result.offers_.set_index("offer")
    for offer in offers.index:
        assert (effects[f"{offer}_se"] >= offers.loc[offer, "ate_se"] - 1e-12).all()


def test_predict_effects_handles_unseen_categories(result, customers):
    odd = customers.head(3).assign(region=["Mars", "Beijing", None])
    effects = result.predict_effects(odd)
    assert effects.notna().all().all()


def test_predict_effects_needs_the_features(result):
    with pytest.raises(ChurnCoreError, match="none of the campaign model's features"):
        result.predict_effects(pd.DataFrame({"x": [1, 2]}))


def test_segment_effects_with_a_mask(result, frame):
    complained = frame["complaints_12m"] >= 1
    seg = result.segment_effects(complained).set_index("offer")
    rest = result.segment_effects(~complained).set_index("offer")
    assert seg.loc["rm_call", "n_treated"] == int((complained & (frame["arm"] == "rm_call")).sum())
    assert seg.loc["rm_call", "effect"] > rest.loc["rm_call", "effect"] + 0.05
    with pytest.raises(ChurnCoreError, match="3 flags for 12000"):
        result.segment_effects([True, False, True])


@pytest.mark.parametrize("ate, low, high, bad, label, lang, expected", [
    (-0.031, -0.05, -0.012, True, None, "en",
     "rm_call cuts churn by 3.1 points (95% interval 1.2 to 5.0 points)."),
    (-0.031, -0.05, -0.012, True, None, "zh",
     "rm_call使流失率降低3.1个百分点（95%区间1.2至5.0个百分点）。"),
    (0.02, 0.005, 0.035, True, None, "en",
     "rm_call raises churn by 2.0 points (95% interval 0.5 to 3.5 points)."),
    (0.02, 0.005, 0.035, True, None, "zh",
     "rm_call使流失率上升2.0个百分点（95%区间0.5至3.5个百分点）。"),
    (0.077, 0.07, 0.084, False, "visit", "en",
     "rm_call raises the visit rate by 7.7 points (95% interval 7.0 to 8.4 points)."),
    (-0.01, -0.03, 0.01, False, "retained", "en",
     "rm_call lowers the retained rate by 1.0 points (95% interval -1.0 to 3.0 points): "
     "not clearly different from no effect."),
    (-0.01, -0.03, 0.01, False, "留存", "zh",
     "rm_call使留存比例降低1.0个百分点（95%区间-1.0至3.0个百分点），与无效果没有明显差别。"),
])
def test_effect_sentences(ate, low, high, bad, label, lang, expected):
    assert uplift.effect_sentence("rm_call", ate, low, high, bad, label, lang) == expected


def test_result_sentences_in_both_languages(result):
    en = dict(zip(result.offers_["offer"], result.sentences("en")))
    zh = dict(zip(result.offers_["offer"], result.sentences("zh")))
    assert en["cross_sell"] == "cross_sell cuts churn by 5.0 points (95% interval 3.0 to 7.0 points)."
    assert zh["cross_sell"] == "cross_sell使流失率降低5.0个百分点（95%区间3.0至7.0个百分点）。"


def test_good_outcome_flips_effect_sign(frame):
    retained = frame.assign(retained=1 - frame["churned"])
    good = uplift.UpliftResult("arm", "control", "retained", positive=1, bad_outcome=False,
                               heterogeneous=False).fit(retained)
    bad = uplift.UpliftResult("arm", "control", "churned", positive=1,
                              heterogeneous=False).fit(frame)
    assert np.allclose(good.offers_["effect"], bad.offers_["effect"])
    assert np.allclose(good.offers_["ate"], -bad.offers_["ate"])
    effects = good.predict_effects(frame.head(3))
    assert effects.loc[frame.index[0], "rm_call"] == pytest.approx(
        bad.offers_.set_index("offer").loc["rm_call", "effect"])


def test_imbalanced_split_is_flagged(frame):
    # a non-random split: the old customers all got the offer
    skewed = frame.assign(arm=np.where(frame["age"] > 50, "rm_call", "control"))
    result = uplift.UpliftResult("arm", "control", "churned", positive=1,
                                 heterogeneous=False).fit(skewed)
    codes = {w["code"]: w["params"] for w in result.warnings_}
    assert codes["uplift.imbalanced"]["arm"] == "rm_call"
    assert codes["uplift.imbalanced"]["feature"] == "age"


def test_small_arm_and_dropped_rows_warn(frame):
    small = frame.head(300).copy()
    small.loc[small.index[:5], "churned"] = np.nan
    result = uplift.UpliftResult("arm", "control", "churned", positive=1,
                                 heterogeneous=False).fit(small)
    codes = [w["code"] for w in result.warnings_]
    assert codes.count("uplift.small_arm") == 6
    assert result.dropped_rows_ == 5 and result.n_rows_ == 295


@pytest.mark.parametrize("kwargs, code, match", [
    (dict(treatment="armx"), "uplift.unknown_column", "no column 'armx' for the treatment"),
    (dict(outcome="nope"), "uplift.unknown_column", "no column 'nope' for the outcome"),
    (dict(control="placebo"), "uplift.control_absent", "control value 'placebo' does not occur"),
    (dict(outcome="age", positive=None), "uplift.outcome_not_binary", "give the positive value"),
    (dict(outcome="churned", positive="yes"), "uplift.positive_absent", "'yes' does not occur"),
    (dict(outcome="gender", positive=None),
     "uplift.positive_ambiguous", "Say which outcome value"),
])
def test_input_errors(frame, kwargs, code, match):
    settings = dict(treatment="arm", control="control", outcome="churned", positive=1,
                    heterogeneous=False)
    settings.update(kwargs)
    with pytest.raises(ChurnCoreError, match=match) as info:
        uplift.UpliftResult(**settings).fit(frame)
    assert info.value.code == code


def test_single_arm_is_an_error(frame):
    only = frame[frame["arm"] == "control"]
    with pytest.raises(ChurnCoreError, match="only one value") as info:
        uplift.UpliftResult("arm", "control", "churned", heterogeneous=False).fit(only)
    assert info.value.code == "uplift.single_arm"


def test_numeric_arms_and_detected_positive():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"treated": rng.integers(0, 2, 800).astype(float),
                       "bought": rng.choice(["yes", "no"], 800), "x": rng.normal(size=800)})
    result = uplift.UpliftResult("treated", 0, "bought", bad_outcome=False,
                                 heterogeneous=False).fit(df)
    assert result.positive_ == "yes"
    assert result.offers_["offer"].tolist() == ["1"]
    assert result.offers_.loc[0, "n_treated"] == int((df["treated"] == 1).sum())


def test_sample_size_matches_the_textbook():
    # 10 % vs 15 %, alpha 0.05 two-sided, power 0.8: 686 per arm (Fleiss without correction)
    assert uplift.compute_sample_size(0.10, 0.05) == {
        "n_control": 686, "n_treated": 686, "total": 1372}
    n = uplift.compute_sample_size(0.15, -0.03, power=0.9)
    assert uplift.compute_power(0.15, -0.03, n["n_control"], n["n_treated"]) == pytest.approx(
        0.9, abs=0.005)
    # se = sqrt(.15*.85/2000 + .12*.88/2000) = 0.010798; z = .03/se - 1.96 = 0.818 -> 0.793
    assert uplift.compute_power(0.15, -0.03, 2000, 2000) == pytest.approx(0.7936, abs=1e-4)
    with pytest.raises(ChurnCoreError, match="non-zero"):
        uplift.compute_sample_size(0.1, 0)


def test_assignment_is_deterministic_and_exact(customers):
    ids = customers["customer_id"].head(1000)
    arms = ["control", "rm_call", "fee_waiver"]
    a = uplift.compute_assignment(ids, arms, seed=5)
    b = uplift.compute_assignment(ids, arms, seed=5)
    assert a.equals(b)
    assert a["arm"].value_counts().to_dict() == {"control": 334, "rm_call": 333,
                                                 "fee_waiver": 333}
    assert a["customer_id"].tolist() == ids.tolist()
    c = uplift.compute_assignment(ids, arms, seed=6)
    assert not a["arm"].equals(c["arm"])
    weighted = uplift.compute_assignment(ids, ["control", "offer"], seed=1, weights=[1, 3])
    assert weighted["arm"].value_counts().to_dict() == {"offer": 750, "control": 250}


def test_charts_are_small(result):
    chart = uplift.build_ate_chart(result.offers_).to_dict()
    assert len(chart["datasets"][next(iter(chart["datasets"]))]) == 5
    curve = uplift.build_curve_chart(result.curves_).to_dict()
    rows = sum(len(v) for v in curve["datasets"].values())
    assert rows <= 5 * 101 + 2


def test_to_dict_is_json_ready(result):
    report = result.to_dict()
    text = json.dumps(report, ensure_ascii=False, allow_nan=False)
    assert "使流失率降低" in text
    assert report["offers"][0]["offer"] == "cross_sell"
    assert set(report["offers"][0]) >= {"offer", "n_treated", "n_control", "rate_treated",
                                        "rate_control", "ate", "ate_low", "ate_high",
                                        "qini_auc"}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "churn_core", "uplift", *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_cli_on_the_sample(tmp_path, truth):
    done = _cli("sample_data/campaign.csv", "--treatment", "arm", "--control", "control",
                "--outcome", "churned", "--customers", "sample_data/customers.csv",
                "--id", "customer_id", "--no-model", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "uplift.json").read_text(encoding="utf-8"))
    offers = {o["offer"]: o for o in report["offers"]}
    assert sorted(offers) == sorted(synth.CAMPAIGN_OFFERS)
    assert offers["rm_call"]["n_treated"] == 2000 and offers["rm_call"]["n_control"] == 2000
    assert offers["rm_call"]["rate_control"] == 0.146
    assert report["customer_columns_dropped"] == ["churned"]
    for name, entry in offers.items():
        assert entry["ate_low"] <= truth["offers"][name]["ate"] <= entry["ate_high"]


@pytest.mark.parametrize("args, message", [
    (["--treatment", "armx", "--control", "control", "--outcome", "churned"],
     "error: There is no column 'armx' for the treatment; columns: customer_id, arm, churned.\n"),
    (["--treatment", "arm", "--control", "nope", "--outcome", "churned"],
     "error: The control value 'nope' does not occur in 'arm'; values: control, cross_sell, "
     "fee_waiver, loyalty_points, rate_bonus, rm_call.\n"),
    (["--treatment", "arm", "--control", "control", "--outcome", "customer_id"],
     "error: The outcome has 12000 values; give the positive value (e.g. --positive-outcome 1).\n"),
])
def test_cli_errors_exit_2_with_one_line(tmp_path, args, message):
    done = _cli("sample_data/campaign.csv", *args, "--no-model", "--out", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr == message


def test_join_can_drop_the_customer_label():
    zh = pd.read_csv(SAMPLE / "customers_zh_gbk.csv", encoding="gb18030").head(3000)
    campaign = pd.read_csv(SAMPLE / "campaign.csv")
    joined = uplift.load_campaign_frame(campaign, zh, "customer_id", "客户编号", drop=["是否流失"])
    assert "是否流失" not in joined.columns and "客户编号" not in joined.columns
    assert joined.attrs["dropped_columns"] == ["是否流失"]
    assert joined.attrs["unmatched"] == int((~campaign["customer_id"].isin(zh["客户编号"])).sum())
    assert joined["年龄"].notna().sum() == len(joined) - joined.attrs["unmatched"]


def test_campaign_without_feature_columns_gives_average_effects(tmp_path):
    """A campaign file with only the arm and the outcome: averages and intervals, no crash."""
    from churn_core.cli import main

    camp = pd.read_csv(ROOT / "sample_data" / "campaign.csv")[["arm", "churned"]]
    path = tmp_path / "camp.csv"
    camp.to_csv(path, index=False)
    assert main(["uplift", str(path), "--treatment", "arm", "--control", "control", "--outcome", "churned",
                 "--positive-outcome", "1", "--out", str(tmp_path / "u")]) == 0
    report = json.loads((tmp_path / "u" / "uplift.json").read_text(encoding="utf-8"))
    control = camp[camp["arm"] == "control"]["churned"].mean()
    for offer in report["offers"]:
        treated = camp[camp["arm"] == offer["offer"]]["churned"].mean()
        assert offer["ate"] == pytest.approx(treated - control, abs=1e-6)
        assert offer["ate_low"] < offer["ate"] < offer["ate_high"]
    assert [w["code"] for w in report["warnings"]] == ["uplift.no_features"]
