"""Economics on any file: value in money, signals, levers and the simulator from column meanings.

Four tables the app was not written for: Churn_Modelling and Telco (../shared/datasets, never
copied), the credit-card generator (BankChurners-like columns) and two copies of it, one with other
English headers plus a mapping file and one with Chinese headers. Every figure is checked against an
independent pandas formula written with the column names of that table.
"""

import json

import numpy as np
import pandas as pd
import pytest

from churn_core.analysis import segments as S
from churn_core.analysis import value as V
from churn_core.data.ingest import load_file
from churn_core.data.meanings import apply_mapping, detect_meanings, load_mapping, roles_with_mapping
from churn_core.data.roles import detect_roles
from churn_core.data.store import SessionStore
from churn_core.data.synth import credit_card_churn_probability, make_credit_card
from churn_core.modeling.warning import compute_signals, detect_signal_columns
from churn_core.retention import simulate as sim
from churn_core.retention.offers import default_catalogue, detect_lever_columns

ZH = {"CLIENTNUM": "客户编号", "Attrition_Flag": "流失状态", "Customer_Age": "年龄", "Gender": "性别",
      "Dependent_count": "家属人数", "Education_Level": "学历", "Marital_Status": "婚姻状况",
      "Income_Category": "收入类别", "Card_Category": "卡类别", "Months_on_book": "开户月数",
      "Total_Relationship_Count": "持有产品数", "Months_Inactive_12_mon": "近12月不活跃月数",
      "Contacts_Count_12_mon": "近12月客服联系次数", "Credit_Limit": "信用额度", "Total_Revolving_Bal": "循环余额",
      "Avg_Open_To_Buy": "可用额度", "Total_Amt_Chng_Q4_Q1": "交易金额变化率", "Total_Trans_Amt": "近12月交易金额",
      "Total_Trans_Ct": "近12月交易笔数", "Total_Ct_Chng_Q4_Q1": "交易笔数变化率", "Avg_Utilization_Ratio": "额度使用率"}
EN = {"CLIENTNUM": "client_ref", "Attrition_Flag": "status", "Customer_Age": "age", "Gender": "sex",
      "Months_on_book": "tenure_months", "Total_Relationship_Count": "products_held",
      "Months_Inactive_12_mon": "inactive_months_12m", "Contacts_Count_12_mon": "service_calls_12m",
      "Credit_Limit": "credit_line", "Total_Revolving_Bal": "carried_balance", "Avg_Open_To_Buy": "open_to_buy",
      "Total_Amt_Chng_Q4_Q1": "spend_change_q4_q1", "Total_Trans_Amt": "card_volume",
      "Total_Trans_Ct": "purchases_count", "Total_Ct_Chng_Q4_Q1": "purchases_change_q4_q1",
      "Avg_Utilization_Ratio": "utilisation"}
# the English copy's names the vocabulary cannot know, mapped once by the bank (a margin edited too)
EN_MAPPING = {"columns": {"carried_balance": "revolving_balance", "card_volume": "transaction_amount",
                          "purchases_count": "transactions", "purchases_change_q4_q1": "transactions_change",
                          "spend_change_q4_q1": "transaction_amount_change"},
              "margins": {"carried_balance": 0.18}}


def _workspace(df, mapping=None):
    roles = detect_roles(df)
    if mapping:
        roles = roles_with_mapping(roles, df, mapping)
    meanings = detect_meanings(df, roles)
    if mapping:
        meanings = apply_mapping(meanings, mapping, columns=df.columns)
    return df, roles, meanings


@pytest.fixture(scope="module")
def card():
    return make_credit_card(4000, 11)


@pytest.fixture(scope="module")
def tables(card, churn_modelling_path, telco_path, tmp_path_factory):
    zh = card.rename(columns=ZH)
    zh["流失状态"] = zh["流失状态"].map({"Attrited Customer": "已流失", "Existing Customer": "未流失"})
    en = card.rename(columns=EN)
    en["status"] = en["status"].map({"Attrited Customer": "closed", "Existing Customer": "open"})
    path = tmp_path_factory.mktemp("mapping") / "card_map.json"
    path.write_text(json.dumps(EN_MAPPING), encoding="utf-8")
    return {
        "churn_modelling": _workspace(load_file(churn_modelling_path).df),
        "telco": _workspace(load_file(telco_path).df),
        "card": _workspace(card),
        "card_en": _workspace(en, load_mapping(path)),
        "card_zh": _workspace(zh),
    }


def _card_value(df, revolving, amount, products, revolving_margin=0.15):
    """A card earns on its revolving balance and its transaction amount; + 60 a product - 40."""
    return df[revolving] * revolving_margin + df[amount] * 0.01 + df[products] * 60.0 - 40.0


EXPECTED_VALUE = {
    "churn_modelling": lambda df: df["Balance"] * 0.015 + df["NumOfProducts"] * 60.0 - 40.0,
    "telco": lambda df: df["MonthlyCharges"] * 12.0 + (df["PhoneService"] == "Yes") * 60.0 - 40.0,
    "card": lambda df: _card_value(df, "Total_Revolving_Bal", "Total_Trans_Amt", "Total_Relationship_Count"),
    "card_en": lambda df: _card_value(df, "carried_balance", "card_volume", "products_held", revolving_margin=0.18),
    "card_zh": lambda df: _card_value(df, "循环余额", "近12月交易金额", "持有产品数"),
}
TOTAL_VALUE = {"churn_modelling": 11_991_003.3932, "telco": 5_573_339.2, "card": 1_551_725.21,
               "card_en": 1_678_034.69, "card_zh": 1_551_725.21}


@pytest.mark.parametrize("name", list(EXPECTED_VALUE))
def test_value_is_money_from_the_money_columns(tables, name):
    df, roles, meanings = tables[name]
    values = V.compute_customer_value(df, meanings)
    want = EXPECTED_VALUE[name](df).to_numpy(dtype=float)
    np.testing.assert_allclose(values, want, rtol=1e-12, atol=1e-9)
    assert round(float(values.sum()), 4) == pytest.approx(TOTAL_VALUE[name], abs=1e-3)


@pytest.mark.parametrize("name", list(EXPECTED_VALUE))
def test_value_page_sql_gives_the_same_numbers(tables, name, tmp_path):
    df, roles, meanings = tables[name]
    store = SessionStore(root_dir=tmp_path)
    try:
        store.load_frame("customers", df)
        cols = S.ColumnMap.from_meanings(meanings, roles, df)
        a = V.ValueAssumptions(product_margin=60.0, cost_to_serve=40.0)
        whole = V.compute_value(store, cols, a).iloc[0]
        assert whole["total_contribution"] == pytest.approx(V.compute_customer_value(df, meanings, a).sum(), rel=1e-12)
        top = V.compute_top_at_risk(store, cols, a, limit=5)
        values = V.compute_customer_value(df, meanings, a)
        np.testing.assert_allclose(top["contribution"], values[top["row_number"].to_numpy()], rtol=1e-12)
    finally:
        store.close()


def test_card_money_columns_and_their_margins(tables):
    assert tables["card"][2].money() == {"Credit_Limit": 0.0, "Total_Revolving_Bal": 0.15, "Total_Trans_Amt": 0.01}
    assert tables["card_zh"][2].money() == {"信用额度": 0.0, "循环余额": 0.15, "近12月交易金额": 0.01}
    assert tables["card_en"][2].money() == {"credit_line": 0.0, "carried_balance": 0.18, "card_volume": 0.01}
    roles = tables["card_en"][1]
    assert (roles.label, roles.positive, roles.id_columns) == ("status", "closed", ["client_ref"])


def test_a_file_without_money_counts_customers():
    df = pd.DataFrame({"cid": ["a", "b"], "complaints": [1, 0]})
    m = detect_meanings(df)
    assert not V.has_money(S.ColumnMap.from_meanings(m, df=df))
    values, source = sim.compute_customer_value(df, meanings=m)
    assert source == "count" and values.tolist() == [1.0, 1.0]


SIGNALS = {
    "churn_modelling": {},
    "telco": {},
    "card": {"activity_drop": ("change", "Total_Ct_Chng_Q4_Q1"), "service_contacts": "Contacts_Count_12_mon",
             "inactivity": ("months", "Months_Inactive_12_mon")},
    "card_en": {"activity_drop": ("change", "purchases_change_q4_q1"), "service_contacts": "service_calls_12m",
                "inactivity": ("months", "inactive_months_12m")},
    "card_zh": {"activity_drop": ("change", "交易笔数变化率"), "service_contacts": "近12月客服联系次数",
                "inactivity": ("months", "近12月不活跃月数")},
}


@pytest.mark.parametrize("name", list(SIGNALS))
def test_signals_fire_where_their_columns_exist(tables, name):
    df, roles, meanings = tables[name]
    cols = detect_signal_columns(df, meanings=meanings)
    assert cols == SIGNALS[name]
    s = compute_signals(df, columns=cols)
    if not cols:
        assert list(s.columns) == ["signals"] and (s["signals"] == "").all()
        return
    change, contacts, inactive = cols["activity_drop"][1], cols["service_contacts"], cols["inactivity"][1]
    # independent: a count ratio Q4/Q1 of 0.7 or less is a drop of 30% or more; 4+ contacts; 3+ months
    assert int(s["activity_drop"].sum()) == int(((1 - df[change]) * 100 >= 30).sum()) == 1964
    assert int(s["service_contacts"].sum()) == int((df[contacts] >= 4).sum()) == 653
    assert int(s["inactivity"].sum()) == int((df[inactive] >= 3).sum()) == 1824


LEVERS = {
    "churn_modelling": {"products": "NumOfProducts", "active": "IsActiveMember", "product_flag": ["HasCrCard"]},
    "telco": {},
    "card": {"products": "Total_Relationship_Count", "inactivity": "Months_Inactive_12_mon",
             "transactions_change": "Total_Ct_Chng_Q4_Q1"},
    "card_en": {"products": "products_held", "inactivity": "inactive_months_12m",
                "transactions_change": "purchases_change_q4_q1"},
    "card_zh": {"products": "持有产品数", "inactivity": "近12月不活跃月数", "transactions_change": "交易笔数变化率"},
}


@pytest.mark.parametrize("name", list(LEVERS))
def test_levers_offered_act_on_meanings(tables, name):
    df, roles, meanings = tables[name]
    assert detect_lever_columns(df, meanings=meanings) == LEVERS[name]


def test_card_levers_move_the_card_columns(tables):
    from churn_core.retention.offers import apply_levers

    df, _, meanings = tables["card"]
    cat = default_catalogue()
    levers = detect_lever_columns(df, meanings=meanings)
    moved, applied = apply_levers(df, cat.get("rm_call"), levers)
    assert applied == ["inactivity"] and (moved["Months_Inactive_12_mon"] == 0).all()
    moved, applied = apply_levers(df, cat.get("loyalty_points"), levers)
    # the count ratio stops falling: raised to at least 1 (the ratio of "no change")
    assert applied == ["transactions_change"]
    assert moved["Total_Ct_Chng_Q4_Q1"].tolist() == np.maximum(df["Total_Ct_Chng_Q4_Q1"], 1.0).tolist()
    moved, applied = apply_levers(df, cat.get("cross_sell"), levers)
    assert applied == ["products"]
    assert moved["Total_Relationship_Count"].tolist() == np.minimum(df["Total_Relationship_Count"] + 1, 6).tolist()


class PlantedModel:
    """The generator's own churn probability, on any renamed copy (a model of the truth)."""

    def __init__(self, renames=None, features=()):
        self.back = {v: k for k, v in (renames or {}).items()}
        self.features_ = list(features)
        self.label_, self.id_column_ = None, None

    def predict_proba(self, df):
        return credit_card_churn_probability(df.rename(columns=self.back))


@pytest.mark.parametrize("name, renames", [("card", None), ("card_en", EN), ("card_zh", ZH)])
def test_card_simulator_values_in_money_and_beats_both_baselines(tables, name, renames):
    df, roles, meanings = tables[name]
    cat = default_catalogue()
    model = PlantedModel(renames, [c for c in df.columns if c not in (roles.label, *roles.id_columns)])
    p = model.predict_proba(df)
    effects = sim.compute_model_effects(model, df, cat, churn_probability=p, meanings=meanings)
    assert effects.sources == ("assumed", "assumed", "model", "model", "model", "assumed")
    inputs = sim.prepare_inputs_from_frame(df, cat, p, effects, roles=roles, id_column=roles.id_columns[0],
                                           meanings=meanings)
    assert inputs.value_source == "contribution"
    np.testing.assert_allclose(inputs.value, EXPECTED_VALUE[name](df).to_numpy(dtype=float), rtol=1e-12)
    assert inputs.warnings == (("offers.rule_column_missing", "fee_waiver", "fees"),)
    res = sim.compute_simulation(inputs, cat, sim.SimulationSettings(budget=20_000, objective="saved_value"))
    s = res.summary
    assert 0 < s["cost"] <= 20_000 and s["targeted"] > 0
    assert s["retained_value"] > 1_000  # money, not a count of customers
    assert s["roi"] > -1.0
    for base in ("risk", "random"):
        assert s["expected_saved"] >= res.baselines[base]["expected_saved"]
        assert s["retained_value"] >= res.baselines[base]["retained_value"]


@pytest.mark.parametrize("name", ["churn_modelling", "telco"])
def test_public_files_simulator_in_money_beats_both_baselines(tables, name):
    df, roles, meanings = tables[name]
    cat = default_catalogue()
    p = np.random.default_rng(5).beta(2, 8, len(df))
    inputs = sim.prepare_inputs_from_frame(df, cat, p, sim.compute_assumed_effects(p, cat), roles=roles,
                                           id_column=roles.id_columns[0], meanings=meanings)
    assert inputs.value_source == "contribution"
    np.testing.assert_allclose(inputs.value, EXPECTED_VALUE[name](df).to_numpy(dtype=float), rtol=1e-12)
    res = sim.compute_simulation(inputs, cat, sim.SimulationSettings(budget=30_000, objective="saved_value"))
    s = res.summary
    assert 0 < s["cost"] <= 30_000
    for base in ("risk", "random"):
        assert s["expected_saved"] >= res.baselines[base]["expected_saved"]
        assert s["retained_value"] >= res.baselines[base]["retained_value"]
