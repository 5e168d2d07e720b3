"""Actionable vs fixed drivers and the offers that act on them."""

import pytest

from churn_core.retention.actionable import (OFFER_CODES, classify_feature, classify_features,
                                   offers_for_feature, theme_of)

CASES = [
    # the sample's columns
    ("age", "fixed", "demographics", []),
    ("gender", "fixed", "demographics", []),
    ("region", "fixed", "region", []),
    ("occupation", "fixed", "occupation", []),
    ("income_band", "fixed", "circumstances", []),
    ("tenure_months", "fixed", "tenure", []),
    ("total_assets", "fixed", "circumstances", []),
    ("value_tier", "fixed", "circumstances", []),
    ("has_deposit", "actionable", "products", ["cross_sell"]),
    ("has_credit_card", "actionable", "products", ["cross_sell"]),
    ("num_products", "actionable", "products", ["cross_sell"]),
    ("balance", "actionable", "balance", ["rate_bonus", "win_back"]),
    ("balance_change_3m_pct", "actionable", "balance", ["rate_bonus", "win_back"]),
    ("txn_this_quarter", "actionable", "activity", ["loyalty_points", "win_back"]),
    ("digital_logins_90d", "actionable", "activity", ["loyalty_points", "win_back"]),
    ("complaints_12m", "actionable", "service", ["rm_call"]),
    ("satisfaction", "actionable", "service", ["rm_call"]),
    ("has_relationship_manager", "actionable", "service", ["rm_call"]),
    ("rate_sensitivity", "actionable", "rates", ["rate_bonus"]),
    ("fees_paid_12m", "actionable", "fees", ["fee_waiver"]),
    # Churn_Modelling (CamelCase)
    ("Age", "fixed", "demographics", []),
    ("Geography", "fixed", "region", []),
    ("Tenure", "fixed", "tenure", []),
    ("CreditScore", "fixed", "circumstances", []),
    ("EstimatedSalary", "fixed", "circumstances", []),
    ("NumOfProducts", "actionable", "products", ["cross_sell"]),
    ("HasCrCard", "actionable", "products", ["cross_sell"]),
    ("IsActiveMember", "actionable", "activity", ["loyalty_points", "win_back"]),
    ("Balance", "actionable", "balance", ["rate_bonus", "win_back"]),
    # Telco
    ("MonthlyCharges", "actionable", "fees", ["fee_waiver"]),
    ("TechSupport", "actionable", "service", ["rm_call"]),
    ("Contract", "actionable", "products", ["cross_sell"]),
    ("SeniorCitizen", "fixed", "demographics", []),
    # the Chinese headers of the GBK sample
    ("年龄", "fixed", "demographics", []),
    ("地区", "fixed", "region", []),
    ("职业", "fixed", "occupation", []),
    ("月收入", "fixed", "circumstances", []),
    ("开户月数", "fixed", "tenure", []),
    ("近12月投诉次数", "actionable", "service", ["rm_call"]),
    ("满意度", "actionable", "service", ["rm_call"]),
    ("近12月手续费", "actionable", "fees", ["fee_waiver"]),
    ("利率敏感度", "actionable", "rates", ["rate_bonus"]),
    ("账户余额", "actionable", "balance", ["rate_bonus", "win_back"]),
    ("本季交易笔数", "actionable", "activity", ["loyalty_points", "win_back"]),
    ("近90天线上登录次数", "actionable", "activity", ["loyalty_points", "win_back"]),
    ("持有信用卡", "actionable", "products", ["cross_sell"]),
    ("产品数", "actionable", "products", ["cross_sell"]),
    ("配备客户经理", "actionable", "service", ["rm_call"]),
    # nothing recognised: fixed, no offer promised
    ("x17", "fixed", "other", []),
]


@pytest.mark.parametrize("feature,kind,theme,offers", CASES)
def test_classification(feature, kind, theme, offers):
    assert (classify_feature(feature), theme_of(feature), offers_for_feature(feature)) == (
        kind, theme, offers)


def test_words_inside_other_words_do_not_match():
    assert theme_of("mortgage_balance") == "balance"  # not "age"
    assert theme_of("usage_minutes") == "activity"
    assert classify_feature("page_views") == "fixed"


def test_role_overrides_the_name():
    assert classify_feature("fees_paid_12m", role="id") == "fixed"
    assert offers_for_feature("last_txn_date", role="date") == []


def test_every_offer_named_is_a_catalogue_code():
    named = {o for _, _, _, offers in CASES for o in offers}
    assert named == set(OFFER_CODES)


def test_classify_many_with_roles():
    out = classify_features(["age", "fees_paid_12m", "customer_id"], roles={"customer_id": "id"})
    assert out.to_dict("records") == [
        {"feature": "age", "kind": "fixed", "theme": "demographics", "offers": ""},
        {"feature": "fees_paid_12m", "kind": "actionable", "theme": "fees", "offers": "fee_waiver"},
        {"feature": "customer_id", "kind": "fixed", "theme": "other", "offers": ""},
    ]


# ----------------------------------------------------------------------------- from column meanings

CARD_CASES = [
    # (column, kind, theme, offers) on a credit-card file, classified by meaning
    ("Total_Trans_Ct", "actionable", "activity", ["loyalty_points", "win_back"]),
    ("Total_Ct_Chng_Q4_Q1", "actionable", "activity", ["loyalty_points", "win_back"]),
    ("Total_Trans_Amt", "actionable", "activity", ["loyalty_points", "win_back"]),
    ("Months_Inactive_12_mon", "actionable", "activity", ["loyalty_points", "win_back"]),
    ("Contacts_Count_12_mon", "actionable", "service", ["rm_call"]),
    ("Total_Revolving_Bal", "actionable", "balance", ["rate_bonus", "win_back"]),
    ("Total_Relationship_Count", "actionable", "products", ["cross_sell"]),
    ("Credit_Limit", "fixed", "products", []),
    ("Months_on_book", "fixed", "tenure", []),
    ("Customer_Age", "fixed", "demographics", []),
    ("Income_Category", "fixed", "circumstances", []),
]


@pytest.fixture(scope="module")
def card_meanings():
    from churn_core.data.meanings import detect_meanings
    from churn_core.data.roles import detect_roles
    from churn_core.data.synth import make_credit_card

    df = make_credit_card(500, 1)
    return detect_meanings(df, detect_roles(df))


@pytest.mark.parametrize("feature,kind,theme,offers", CARD_CASES)
def test_card_drivers_classified_by_meaning(card_meanings, feature, kind, theme, offers):
    assert (classify_feature(feature, meanings=card_meanings), theme_of(feature, meanings=card_meanings),
            offers_for_feature(feature, meanings=card_meanings)) == (kind, theme, offers)


def test_name_alone_called_transaction_counts_fixed_meanings_fix_it(card_meanings):
    assert classify_feature("Total_Ct_Chng_Q4_Q1") == "fixed"  # the name fallback cannot read it
    assert classify_feature("Total_Ct_Chng_Q4_Q1", meanings=card_meanings) == "actionable"


def test_a_users_correction_wins(card_meanings):
    fixed = card_meanings.with_flags("Total_Trans_Ct", actionable=False)
    assert classify_feature("Total_Trans_Ct", meanings=fixed) == "fixed"
    assert offers_for_feature("Total_Trans_Ct", meanings=fixed) == []
    out = classify_features(["Total_Trans_Ct", "Customer_Age"], meanings=card_meanings)
    assert out["kind"].tolist() == ["actionable", "fixed"]
    assert out["offers"].tolist() == ["loyalty_points,win_back", ""]
