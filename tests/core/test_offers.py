"""Offer catalogue: defaults, validation with clear errors, table/JSON/CSV round trips, rules, levers."""

import json

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import ChurnCoreError
from churn_core.retention.offers import (
    OFFER_CODES,
    Lever,
    Offer,
    OfferCatalogue,
    apply_levers,
    catalogue_from_frame,
    catalogue_from_json,
    catalogue_to_frame,
    catalogue_to_json,
    compute_eligibility,
    default_catalogue,
    detect_lever_columns,
    load_catalogue,
    parse_levers,
    parse_rule,
    save_catalogue,
)


def test_default_catalogue_has_the_six_offer_codes_in_order():
    assert default_catalogue().codes == list(OFFER_CODES)


def test_default_offers_have_chinese_names_and_descriptions():
    for offer in default_catalogue():
        assert offer.name("zh") != offer.name("en")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in offer.description("zh"))


@pytest.mark.parametrize(
    "code, expected",
    [("fee_waiver", 5 + 0.6 * 150), ("rm_call", 120.0), ("cross_sell", 20 + 0.15 * 100), ("win_back", 60 + 0.3 * 50)],
)
def test_expected_cost_is_contact_plus_take_up_times_unit_cost(code, expected):
    assert default_catalogue().get(code).expected_cost == pytest.approx(expected)


def test_frame_round_trip_is_lossless():
    cat = default_catalogue()
    frame = catalogue_to_frame(cat)
    assert list(frame["code"]) == list(OFFER_CODES)
    assert frame.loc[frame["code"] == "rm_call", "capacity"].iloc[0] == 2000
    assert pd.isna(frame.loc[frame["code"] == "fee_waiver", "capacity"].iloc[0])
    assert frame.loc[frame["code"] == "cross_sell", "levers"].iloc[0] == "products+1; product_flag=1"
    assert catalogue_from_frame(frame) == cat


def test_json_and_csv_files_round_trip(tmp_path):
    cat = default_catalogue().replace_offer("fee_waiver", unit_cost=99.5, capacity=300)
    for name in ("offers.json", "offers.csv"):
        path = save_catalogue(cat, tmp_path / name)
        assert load_catalogue(path) == cat
    data = json.loads((tmp_path / "offers.json").read_text(encoding="utf-8"))
    assert data["offers"][0]["name_zh"] == "免收手续费"


def test_csv_with_bom_and_only_required_columns_is_read(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_bytes("code,unit_cost,contact_cost,take_up,effect_mid\nvip_gift,200,10,0.5,0.3\n".encode("utf-8-sig"))
    cat = load_catalogue(path)
    offer = cat.get("vip_gift")
    assert (offer.name_en, offer.effect_low, offer.effect_high, offer.capacity) == ("vip_gift", 0.3, 0.3, None)
    assert offer.take_up_low == offer.take_up_high == 0.5


def test_blank_rows_from_the_editor_are_ignored():
    frame = catalogue_to_frame(default_catalogue())
    frame.loc[len(frame)] = [None] * len(frame.columns)
    assert len(catalogue_from_frame(frame)) == 6


@pytest.mark.parametrize(
    "column, value, code, text",
    [
        ("take_up", 1.5, "offers.out_of_range", "Row 2: Offer 'rate_bonus': take_up must be between 0 and 1, got 1.5."),
        ("unit_cost", "abc", "offers.bad_number", "Row 2: Offer 'rate_bonus': unit_cost must be a number, got 'abc'."),
        ("unit_cost", -5, "offers.out_of_range", "Row 2: Offer 'rate_bonus': unit_cost must be at least 0, got -5."),
        ("effect_low", 0.9, "offers.bad_range", "Row 2: Offer 'rate_bonus': effect needs low <= mid <= high."),
        ("capacity", 2.5, "offers.bad_number", "Row 2: Offer 'rate_bonus': capacity must be a whole number."),
        ("levers", "fees to zero", "offers.bad_lever", "Row 2: Cannot read the lever 'fees to zero'; write it like 'fees=0', 'products+1' or 'balance_change>=0'."),
        ("eligibility", "fees is big", "offers.bad_rule", "Row 2: Cannot read the eligibility rule 'fees is big'; write it like 'fees > 0' or 'segment:NAME'."),
        ("code", "fee_waiver", "offers.duplicate_code", "Offer code 'fee_waiver' appears twice."),
    ],
)
def test_edited_table_errors_name_the_row_and_the_problem(column, value, code, text):
    frame = catalogue_to_frame(default_catalogue())
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = value
    with pytest.raises(ChurnCoreError) as info:
        catalogue_from_frame(frame)
    assert info.value.code == code
    assert str(info.value) == text


def test_missing_required_columns_are_listed():
    with pytest.raises(ChurnCoreError, match="lacks the columns: effect_mid, take_up"):
        catalogue_from_frame(pd.DataFrame({"code": ["a"], "unit_cost": [1], "contact_cost": [1]}))


def test_empty_catalogue_and_bad_json_are_errors():
    with pytest.raises(ChurnCoreError, match="empty"):
        OfferCatalogue(())
    with pytest.raises(ChurnCoreError, match="not valid JSON"):
        catalogue_from_json("{oops")
    assert catalogue_from_json(catalogue_to_json(default_catalogue())) == default_catalogue()


def test_parse_levers_reads_three_operators():
    assert parse_levers("fees=0; products+1, balance_change>=0") == (
        Lever("fees", "set", 0.0), Lever("products", "add", 1.0), Lever("balance_change", "at_least", 0.0))
    assert parse_levers("") == ()
    with pytest.raises(ChurnCoreError, match="Unknown lever feature 'colour'"):
        parse_levers("colour=1")


@pytest.mark.parametrize(
    "rule, clauses",
    [
        ("fees > 0", [("fees", ">", "0")]),
        ("num_products <= 2 and complaints_12m >= 1", [("num_products", "<=", "2"), ("complaints_12m", ">=", "1")]),
        ("rate_sensitivity = 'high'", [("rate_sensitivity", "==", "high")]),
        ("value_tier in mass, affluent", [("value_tier", "in", "mass, affluent")]),
        ("产品数 < 3 且 满意度 <= 2", [("产品数", "<", "3"), ("满意度", "<=", "2")]),
    ],
)
def test_parse_rule_table(rule, clauses):
    assert parse_rule(rule) == clauses


@pytest.fixture()
def customers():
    return pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4"],
        "fees_paid_12m": [0.0, 120.0, 800.0, 50.0],
        "num_products": [1, 2, 5, 3],
        "has_deposit": [1, 1, 1, 0],
        "has_wealth": [0, 1, 1, 0],
        "has_loan": [0, 0, 1, 0],
        "complaints_12m": [2, 0, 1, 0],
        "satisfaction": [2, 5, 3, 4],
        "balance_change_3m_pct": [-30.0, 5.0, -2.0, 0.0],
        "has_relationship_manager": [0, 1, 0, 0],
        "rate_sensitivity": ["high", "low", "medium", "high"],
    })


def test_lever_columns_are_found_by_name(customers):
    found = detect_lever_columns(customers)
    assert found == {
        "fees": "fees_paid_12m", "products": "num_products", "complaints": "complaints_12m",
        "satisfaction": "satisfaction", "balance_change": "balance_change_3m_pct",
        "relationship_manager": "has_relationship_manager",
        "product_flag": ["has_deposit", "has_wealth", "has_loan"],
    }


def test_lever_columns_are_found_by_chinese_name():
    zh = pd.DataFrame({"客户编号": ["a"], "近12月手续费": [10.0], "产品数": [2], "近12月投诉次数": [1], "满意度": [3],
                       "近3月余额变化率": [-5.0], "持有存款": [1], "持有理财": [0], "配备客户经理": [0]})
    assert detect_lever_columns(zh) == {
        "fees": "近12月手续费", "products": "产品数", "complaints": "近12月投诉次数", "satisfaction": "满意度",
        "balance_change": "近3月余额变化率", "relationship_manager": "配备客户经理",
        "product_flag": ["持有存款", "持有理财"],
    }


def test_default_levers_move_the_features(customers):
    cat = default_catalogue()
    cols = detect_lever_columns(customers)
    moved, applied = apply_levers(customers, cat.get("fee_waiver"), cols)
    assert applied == ["fees"] and moved["fees_paid_12m"].tolist() == [0.0, 0.0, 0.0, 0.0]
    moved, _ = apply_levers(customers, cat.get("cross_sell"), cols)
    assert moved["num_products"].tolist() == [2, 3, 5, 4]  # capped at the largest seen (5)
    # the most widely held product not yet held: deposit (75%) then wealth (50%) then loan (25%)
    assert moved[["has_deposit", "has_wealth", "has_loan"]].values.tolist() == [[1, 1, 0], [1, 1, 1], [1, 1, 1], [1, 0, 0]]
    moved, _ = apply_levers(customers, cat.get("rm_call"), cols)
    assert moved["complaints_12m"].tolist() == [0, 0, 0, 0]
    moved, _ = apply_levers(customers, cat.get("loyalty_points"), cols)
    assert moved["satisfaction"].tolist() == [3, 5, 4, 5]
    moved, _ = apply_levers(customers, cat.get("rate_bonus"), cols)
    assert moved["balance_change_3m_pct"].tolist() == [0.0, 5.0, 0.0, 0.0]
    moved, applied = apply_levers(customers, cat.get("win_back"), cols)
    assert applied == [] and moved is customers
    assert customers["fees_paid_12m"].tolist() == [0.0, 120.0, 800.0, 50.0]  # input untouched


def test_eligibility_rules_segments_and_missing_columns(customers):
    class Seg:
        def mask(self, df):
            return df["rate_sensitivity"].eq("high").to_numpy()

    cat = default_catalogue().replace_offer("rate_bonus", eligibility="segment:rate hunters") \
        .replace_offer("win_back", eligibility="rate_sensitivity in high, medium and complaints_12m >= 1")
    elig, warnings = compute_eligibility(customers, cat, segments={"rate hunters": Seg()})
    assert elig[:, 0].tolist() == [False, True, True, True]       # fees > 0
    assert elig[:, 1].tolist() == [True, False, False, True]      # saved segment
    assert elig[:, 4].tolist() == [True, True, False, True]       # products < 5
    assert elig[:, 5].tolist() == [True, False, True, False]
    assert warnings == []
    elig, warnings = compute_eligibility(customers.drop(columns=["fees_paid_12m"]), cat, segments={"rate hunters": Seg()})
    assert elig[:, 0].tolist() == [False] * 4
    assert warnings == [("offers.rule_column_missing", "fee_waiver", "fees")]
    with pytest.raises(ChurnCoreError, match="needs the saved segment 'rate hunters'"):
        compute_eligibility(customers, cat, segments={})


def test_offer_validates_code():
    with pytest.raises(ChurnCoreError, match="must be 1-40 letters"):
        Offer("bad code!", "x")
    assert Offer("ok", "").name_en == "ok"
    assert np.isclose(Offer("ok", "", take_up=0.5, unit_cost=10).expected_cost, 5.0)


# ----------------------------------------------------------------------------- meanings and conditions

def test_rules_are_segment_conditions_on_meanings():
    from churn_core.analysis.segments import Condition
    from churn_core.data.meanings import detect_meanings
    from churn_core.retention.offers import rule_to_segment

    df = pd.DataFrame({"Months_Inactive_12_mon": [1, 3, 4], "近12月手续费": [0.0, 10.0, None]})
    seg, missing = rule_to_segment("inactive_months >= 3 and fees > 0", df, meanings=detect_meanings(df))
    assert missing is None
    assert seg.conditions == (Condition("Months_Inactive_12_mon", ">=", 3), Condition("近12月手续费", ">", 0))
    assert seg.mask(df).tolist() == [False, True, False]  # a missing fee never satisfies "> 0"
    assert seg.describe("en") == "Months_Inactive_12_mon is at least 3 and 近12月手续费 is above 0"
    assert rule_to_segment("complaints >= 1", df, meanings=detect_meanings(df)) == (None, "complaints")


def test_eligibility_on_a_card_file_uses_meaning_codes():
    df = pd.DataFrame({"CLIENTNUM": [1, 2, 3], "Months_Inactive_12_mon": [1, 3, 4],
                       "Total_Relationship_Count": [6, 2, 5], "Card_Category": ["Blue", "Gold", "Blue"]})
    cat = default_catalogue().replace_offer("win_back", eligibility="inactive_months >= 3") \
        .replace_offer("rate_bonus", eligibility="Card_Category in Blue, Silver")
    elig, warnings = compute_eligibility(df, cat)
    assert elig[:, 5].tolist() == [False, True, True]
    assert elig[:, 1].tolist() == [True, False, True]
    assert elig[:, 4].tolist() == [False, True, False]  # products < 5: Total_Relationship_Count
    assert warnings == [("offers.rule_column_missing", "fee_waiver", "fees")]


@pytest.mark.parametrize("rule, message", [
    ("rate_sensitivity > 2", "Eligibility rule 'rate_sensitivity > 2': Operator '>' does not apply to column rate_sensitivity."),
    ("fees > lots", "Eligibility rule 'fees > lots': 'lots' is not a number (column fees_paid_12m)."),
])
def test_rule_type_errors_name_the_rule(customers, rule, message):
    cat = default_catalogue().replace_offer("rate_bonus", eligibility=rule)
    with pytest.raises(ChurnCoreError) as info:
        compute_eligibility(customers, cat)
    assert info.value.code == "offers.bad_rule" and info.value.message == message


def test_text_flags_are_never_moved():
    df = pd.DataFrame({"PhoneService": ["Yes", "No"], "tenure": [1, 2]})
    moved, applied = apply_levers(df, default_catalogue().get("cross_sell"), {"product_flag": ["PhoneService"]})
    assert applied == [] and moved is df


def test_one_row_what_if_uses_the_tables_ratio_and_caps():
    from churn_core.retention.offers import lever_maxima

    df = pd.DataFrame({"Total_Ct_Chng_Q4_Q1": [0.5, 0.9, 1.2], "Total_Relationship_Count": [1, 3, 6]})
    levers = detect_lever_columns(df)
    maxima = lever_maxima(df, levers)
    assert maxima == {"Total_Ct_Chng_Q4_Q1": 1.2, "Total_Relationship_Count": 6.0,
                      "__ratio__": {"Total_Ct_Chng_Q4_Q1": True}}
    row = df.iloc[[0]]
    moved, applied = apply_levers(row, default_catalogue().get("loyalty_points"), levers, maxima=maxima)
    assert applied == ["transactions_change"] and moved["Total_Ct_Chng_Q4_Q1"].tolist() == [1.0]
    pct = pd.DataFrame({"txn_count_change_pct": [-40.0, 5.0]})
    moved, _ = apply_levers(pct, default_catalogue().get("loyalty_points"), {"transactions_change": "txn_count_change_pct"})
    assert moved["txn_count_change_pct"].tolist() == [0.0, 5.0]  # a % change: "no fall" is 0%
