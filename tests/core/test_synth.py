"""The sample generator: determinism, shapes, planted truth, campaign."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core.data import synth
from churn_core.errors import ChurnCoreError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="session")
def small():
    return synth.generate(rows=3000, seed=7)


@pytest.fixture(scope="session")
def sample():
    customers = pd.read_csv(SAMPLE / "customers.csv")
    campaign = pd.read_csv(SAMPLE / "campaign.csv")
    truth = json.loads((SAMPLE / "ground_truth.json").read_text(encoding="utf-8"))
    return customers, campaign, truth


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = synth.write_sample(tmp_path / "a", rows=600, seed=3)
    b = synth.write_sample(tmp_path / "b", rows=600, seed=3)
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name


def test_other_seed_gives_other_customers():
    one = synth.generate(rows=300, seed=1)["customers"]
    two = synth.generate(rows=300, seed=2)["customers"]
    assert not one["age"].equals(two["age"])


def test_cli_generate_writes_the_four_files(tmp_path):
    out = tmp_path / "s"
    done = subprocess.run(
        [sys.executable, "-m", "churn_core", "generate", "--rows", "120", "--seed", "5",
         "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "campaign.csv", "customers.csv", "customers_zh_gbk.csv", "ground_truth.json"]
    assert len(pd.read_csv(out / "customers.csv")) == 120
    # the CLI output equals the library output for the same seed
    synth.write_sample(tmp_path / "lib", rows=120, seed=5)
    assert (out / "customers.csv").read_bytes() == (tmp_path / "lib/customers.csv").read_bytes()


def test_cli_generate_rejects_too_few_rows(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "churn_core", "generate", "--rows", "10", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == "error: Generate at least 60 rows.\n"


def test_committed_sample_is_seed_42_with_20000_rows(sample, tmp_path):
    customers, campaign, truth = sample
    assert (truth["rows"], truth["seed"]) == (20000, 42)
    assert len(customers) == 20000
    assert list(customers.columns) == synth.COLUMNS
    assert customers["customer_id"].is_unique
    assert customers["customer_id"].iloc[0] == "C000001"
    assert customers["customer_id"].iloc[-1] == "C020000"
    fresh = synth.write_sample(tmp_path, rows=20000, seed=42)
    for name in ("customers.csv", "customers_zh_gbk.csv", "campaign.csv", "ground_truth.json"):
        assert (SAMPLE / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_exact_row_counts(small):
    assert len(small["customers"]) == 3000
    assert len(small["customers_zh"]) == 3000
    assert len(small["campaign"]) == 1800  # 60 % of 3000, a multiple of the 6 arms


def test_four_quarter_end_snapshots(sample):
    customers = sample[0]
    assert sorted(customers["snapshot_date"].unique()) == [
        "2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31"]


def test_churn_rate_in_range(sample, small):
    assert 0.12 <= sample[0]["churned"].mean() <= 0.18
    assert 0.12 <= small["customers"]["churned"].mean() <= 0.18
    assert sample[2]["churn_rate"] == round(sample[0]["churned"].mean(), 6)


def test_plausible_values_and_correlations(sample):
    c = sample[0]
    assert c["age"].between(18, 80).all()
    assert c["satisfaction"].between(1, 5).all()
    assert set(c["gender"]) == {"Male", "Female"}
    assert set(c["rate_sensitivity"]) == {"low", "medium", "high"}
    assert set(c["value_tier"]) == {"mass", "affluent", "private"}
    products = c[["has_deposit", "has_wealth", "has_loan", "has_credit_card",
                  "has_mobile_banking"]].sum(axis=1)
    assert (products == c["num_products"]).all()
    assert (c["num_products"] >= 1).all()
    assert (c["tenure_months"] <= (c["age"] - 18) * 12 + 6).all()
    assert (c["balance"] <= c["total_assets"]).all()
    assert c["tenure_months"].corr(c["age"]) > 0.4
    assert c["num_products"].corr(c["tenure_months"]) > 0.1
    assert np.log(c["total_assets"]).corr(c["age"]) > 0.1
    assert c["has_mobile_banking"].corr(c["age"]) < -0.2
    assert c["complaints_12m"].corr(c["satisfaction"]) < -0.3
    tiers = c.groupby("value_tier")["total_assets"].median()
    assert tiers["mass"] < tiers["affluent"] < tiers["private"]
    assert (c.loc[c["value_tier"] == "private", "has_relationship_manager"] == 1).all()


def test_gbk_file_round_trips(sample):
    raw = (SAMPLE / "customers_zh_gbk.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    zh = pd.read_csv(SAMPLE / "customers_zh_gbk.csv", encoding="gb18030")
    customers = sample[0]
    assert len(zh) == len(customers) == 20000
    assert list(zh.columns) == [synth.ZH_COLUMNS[c] for c in synth.COLUMNS]
    assert set(zh["性别"]) == {"男", "女"}
    assert "北京" in set(zh["地区"])
    assert set(zh["是否流失"]) == {"是", "否"}
    assert (zh["是否流失"].eq("是").astype(int) == customers["churned"]).all()
    assert (zh["客户编号"] == customers["customer_id"]).all()
    assert (zh["总资产"] == customers["total_assets"]).all()


def test_true_probability_reads_the_chinese_file_too(sample):
    zh = pd.read_csv(SAMPLE / "customers_zh_gbk.csv", encoding="gb18030").head(500)
    en = sample[0].head(500)
    assert np.allclose(synth.true_churn_probability(zh), synth.true_churn_probability(en))


def test_top_drivers_sorted_by_importance(sample):
    truth = sample[2]
    importances = [truth["drivers"][c]["importance"] for c in truth["top_drivers"]]
    assert importances == sorted(importances, reverse=True)
    assert truth["top_drivers"] == [
        "balance_change_3m_pct", "txn_this_quarter", "complaints_12m", "num_products",
        "digital_logins_90d", "satisfaction", "fees_paid_12m", "tenure_months",
        "rate_sensitivity"]
    # clearly separated: each driver at least 15 % stronger than the next
    assert all(a > 1.15 * b for a, b in zip(importances, importances[1:]))


def test_importance_is_std_of_logit_contribution(sample):
    customers, _, truth = sample
    contrib = synth.churn_logit_contributions(customers)
    for column, entry in truth["drivers"].items():
        assert entry["importance"] == pytest.approx(contrib[column].std(ddof=0), abs=1e-6)
        assert entry["weight"] == synth.WEIGHTS[column]


def test_fixed_features_have_no_planted_effect(sample):
    truth = sample[2]
    for column in ("age", "gender", "region", "occupation"):
        assert column not in truth["drivers"]
        assert column in truth["zero_effect_columns"]


def test_probability_is_the_documented_logit(sample):
    customers, _, truth = sample
    row = customers.iloc[[0]]
    r = row.iloc[0]
    logit = (truth["intercept"]
             + 0.36 * -max(min(r.balance_change_3m_pct, 50), -100) / 10
             + 0.9 * -np.log1p(r.txn_this_quarter)
             + 0.82 * min(r.complaints_12m, 5)
             + 0.47 * -r.num_products
             + 0.37 * -np.log1p(r.digital_logins_90d)
             + 0.31 * (3 - r.satisfaction)
             + 0.38 * np.log1p(r.fees_paid_12m / 100)
             + 0.16 * -np.log1p(r.tenure_months)
             + 0.36 * {"low": 0, "medium": 0.5, "high": 1}[r.rate_sensitivity])
    assert synth.true_churn_probability(row)[0] == pytest.approx(1 / (1 + np.exp(-logit)))


def test_label_follows_the_probability(sample):
    customers = sample[0]
    p = synth.true_churn_probability(customers)
    assert customers["churned"].mean() == pytest.approx(p.mean(), abs=0.01)
    top = customers.loc[p >= np.quantile(p, 0.9), "churned"].mean()
    bottom = customers.loc[p <= np.quantile(p, 0.5), "churned"].mean()
    assert top > 0.5 > 0.05 > bottom


def test_campaign_arms_balanced(sample):
    campaign = sample[1]
    assert list(campaign.columns) == ["customer_id", "arm", "churned"]
    assert campaign["arm"].value_counts().to_dict() == {
        a: 2000 for a in ["control", *synth.CAMPAIGN_OFFERS]}
    assert campaign["customer_id"].is_unique
    assert campaign["customer_id"].isin(sample[0]["customer_id"]).all()
    # random split: mean true risk per arm differs by less than one point
    customers = sample[0].set_index("customer_id")
    risk = pd.Series(synth.true_churn_probability(customers.loc[campaign["customer_id"]]),
                     index=campaign.index)
    by_arm = risk.groupby(campaign["arm"]).mean()
    assert by_arm.max() - by_arm.min() < 0.01


def test_ground_truth_ate_is_mean_probability_difference(sample):
    customers, campaign, truth = sample
    by_id = customers.set_index("customer_id")
    for offer in synth.CAMPAIGN_OFFERS:
        arm = by_id.loc[campaign.loc[campaign["arm"] == offer, "customer_id"]]
        diff = synth.true_churn_probability(arm, offer) - synth.true_churn_probability(arm)
        assert truth["offers"][offer]["ate"] == pytest.approx(diff.mean(), abs=1e-6)
        assert truth["offers"][offer]["ate"] < -0.02


def test_effects_are_heterogeneous_as_documented(sample):
    offers = sample[2]["offers"]
    for offer, responsive in [("fee_waiver", "high_fee_payers"),
                              ("rate_bonus", "rate_sensitive_high_balance"),
                              ("rm_call", "with_complaints"),
                              ("cross_sell", "one_or_two_products")]:
        types = offers[offer]["effect_by_type"]
        others = [v["effect"] for k, v in types.items() if k != responsive]
        assert types[responsive]["effect"] < -0.08
        assert all(types[responsive]["effect"] < 2 * e for e in others)
    assert offers["loyalty_points"]["effect_by_type"]["everyone"]["logit_change"] == -0.35
    assert offers["win_back"]["ate"] is None


def test_responsive_mask_matches_the_rule(sample):
    c = sample[0]
    mask = synth.responsive_mask(c, "rate_bonus")
    expected = (c["rate_sensitivity"] == "high") & (c["balance"] >= 50000)
    assert (mask == expected.to_numpy()).all()
    assert mask.sum() == sample[2]["offers"]["rate_bonus"]["effect_by_type"][
        "rate_sensitive_high_balance"]["customers"]


def test_win_back_has_a_small_effect(sample):
    c = sample[0].head(1000)
    diff = synth.true_churn_probability(c, "win_back") - synth.true_churn_probability(c)
    assert (diff < 0).all()
    assert -0.02 < diff.mean() < -0.005


def test_unknown_offer_is_a_clear_error(sample):
    with pytest.raises(ChurnCoreError, match="Unknown offer 'free_lunch'"):
        synth.true_churn_probability(sample[0].head(5), "free_lunch")


def test_missing_columns_are_a_clear_error():
    with pytest.raises(ChurnCoreError, match="lacks the columns") as info:
        synth.true_churn_probability(pd.DataFrame({"age": [30]}))
    assert info.value.code == "synth.missing_columns"


def test_simulate_plan_outcome_counts(sample):
    c = sample[0].head(4000)
    nothing = synth.simulate_plan_outcome(c, [None] * len(c), seed=1)
    assert nothing["saved"] == 0
    assert nothing["churned_with"] == nothing["churned_without"]
    plan = np.where(c["complaints_12m"] >= 1, "rm_call", None)
    out = synth.simulate_plan_outcome(c, pd.Series(plan), seed=1)
    assert out["churned_without"] == nothing["churned_without"]  # common random numbers
    assert out["saved"] == out["churned_without"] - out["churned_with"]
    expected = (synth.true_churn_probability(c) - synth.true_churn_probability(
        c, "rm_call"))[plan == "rm_call"].sum()
    assert abs(out["saved"] - expected) < 4 * np.sqrt(expected)
    assert out == synth.simulate_plan_outcome(c, pd.Series(plan), seed=1)


def test_simulate_plan_outcome_wrong_length(sample):
    with pytest.raises(ChurnCoreError, match="2 offers for 5 customers"):
        synth.simulate_plan_outcome(sample[0].head(5), ["rm_call", None], seed=0)


def test_good_model_reaches_expected_auc(sample):
    xgboost = pytest.importorskip("xgboost")
    from sklearn.metrics import roc_auc_score

    c = sample[0]
    x = c.drop(columns=["customer_id", "snapshot_date", "churned"])
    for column in x.columns:
        if not pd.api.types.is_numeric_dtype(x[column]):
            x[column] = x[column].astype("category")
    train, test = slice(0, 14000), slice(14000, None)
    model = xgboost.XGBClassifier(n_estimators=150, max_depth=3, learning_rate=0.1,
                                  enable_categorical=True, n_jobs=2)
    model.fit(x[train], c["churned"][train])
    auc = roc_auc_score(c["churned"][test], model.predict_proba(x[test])[:, 1])
    assert 0.80 <= auc <= 0.88
    oracle = roc_auc_score(c["churned"][test], synth.true_churn_probability(c[test]))
    assert auc < oracle


# ----------------------------------------------------------------------------- credit-card generator

@pytest.fixture(scope="module")
def card():
    return synth.make_credit_card(5000, 3)


def test_credit_card_is_deterministic_with_bankchurners_columns(card):
    assert list(card.columns) == synth.CREDIT_CARD_COLUMNS
    assert len(card) == 5000 and card["CLIENTNUM"].is_unique
    pd.testing.assert_frame_equal(card, synth.make_credit_card(5000, 3))
    assert not synth.make_credit_card(5000, 4).equals(card)
    assert set(card["Attrition_Flag"]) == {"Attrited Customer", "Existing Customer"}
    assert (card["Attrition_Flag"] == "Attrited Customer").sum() == 886
    assert card["Avg_Open_To_Buy"].round(1).equals((card["Credit_Limit"] - card["Total_Revolving_Bal"]).round(1))
    assert card["Avg_Utilization_Ratio"].between(0, 1).all()


def test_credit_card_plants_the_drivers(card):
    churned = card["Attrition_Flag"] == "Attrited Customer"
    # each planted driver separates churners from stayers in its direction
    assert card.loc[churned, "Months_Inactive_12_mon"].mean() > card.loc[~churned, "Months_Inactive_12_mon"].mean() + 0.3
    assert card.loc[churned, "Contacts_Count_12_mon"].mean() > card.loc[~churned, "Contacts_Count_12_mon"].mean() + 0.3
    assert card.loc[churned, "Total_Trans_Ct"].mean() < card.loc[~churned, "Total_Trans_Ct"].mean() - 10
    assert card.loc[churned, "Total_Ct_Chng_Q4_Q1"].mean() < card.loc[~churned, "Total_Ct_Chng_Q4_Q1"].mean() - 0.05
    assert card.loc[churned, "Total_Revolving_Bal"].mean() < card.loc[~churned, "Total_Revolving_Bal"].mean() - 200
    assert card.loc[churned, "Total_Relationship_Count"].mean() < card.loc[~churned, "Total_Relationship_Count"].mean() - 0.3
    p = synth.credit_card_churn_probability(card)
    assert abs(p.mean() - churned.mean()) < 0.02
    # age and gender have no planted effect
    assert abs(card.loc[churned, "Customer_Age"].mean() - card.loc[~churned, "Customer_Age"].mean()) < 1.0


def test_credit_card_bad_rows():
    with pytest.raises(ChurnCoreError, match="rows must be at least 1"):
        synth.make_credit_card(0)
