"""Column meanings: one vocabulary, English and Chinese, correctable and saved as JSON."""

import json
from pathlib import Path

import pandas as pd
import pytest

from churn_core.data.ingest import load_file
from churn_core.data.meanings import (MEANINGS, ColumnMeanings, apply_mapping, detect_meanings, load_mapping,
                                      name_confidence, roles_with_mapping)
from churn_core.data.roles import detect_roles
from churn_core.errors import ChurnCoreError

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "datasets"


@pytest.mark.parametrize("name, code", [
    ("Balance", "balance"), ("账户余额", "balance"), ("NumOfProducts", "products_count"),
    ("Total_Relationship_Count", "products_count"), ("产品数", "products_count"),
    ("Total_Trans_Ct", "transactions"), ("本季交易笔数", "transactions"), ("txn_last_quarter", "transactions_prev"),
    ("上季交易笔数", "transactions_prev"), ("Total_Ct_Chng_Q4_Q1", "transactions_change"),
    ("Total_Trans_Amt", "transaction_amount"), ("Total_Revolving_Bal", "revolving_balance"),
    ("Credit_Limit", "credit_limit"), ("Months_Inactive_12_mon", "inactive_months"),
    ("Contacts_Count_12_mon", "service_contacts"), ("complaints_12m", "complaints"), ("近12月投诉次数", "complaints"),
    ("balance_change_3m_pct", "balance_change"), ("近3月余额变化率", "balance_change"),
    ("fees_paid_12m", "fees"), ("近12月手续费", "fees"), ("MonthlyCharges", "monthly_charges"),
    ("tenure_months", "tenure"), ("Months_on_book", "tenure"), ("开户月数", "tenure"),
    ("Customer_Age", "age"), ("年龄", "age"), ("Gender", "gender"), ("Marital_Status", "marital"),
    ("snapshot_date", "snapshot_date"), ("快照日期", "snapshot_date"), ("satisfaction", "satisfaction"),
    ("digital_logins_90d", "logins"), ("IsActiveMember", "active_flag"), ("HasCrCard", "product_flag"),
    ("持有理财", "product_flag"), ("has_relationship_manager", "relationship_manager"),
    ("配备客户经理", "relationship_manager"), ("total_assets", "total_assets"), ("总资产", "total_assets"),
])
def test_name_recognised(name, code):
    best = max(MEANINGS, key=lambda c: name_confidence(c, name))
    assert best == code
    assert name_confidence(code, name) >= 0.8


@pytest.mark.parametrize("name", ["balance_change_3m_pct", "近3月余额变化率"])
def test_a_change_column_is_not_the_balance(name):
    assert name_confidence("balance", name) == 0.0


def _meanings(path):
    load = load_file(path)
    roles = detect_roles(load.df)
    return load.df, roles, detect_meanings(load.df, roles)


def test_sample_english_and_chinese_map_alike():
    _, _, en = _meanings(ROOT / "sample_data" / "customers.csv")
    _, _, zh = _meanings(ROOT / "sample_data" / "customers_zh_gbk.csv")
    assert en.column("balance") == "balance" and zh.column("balance") == "账户余额"
    assert en.column("relationship_manager") == "has_relationship_manager"
    assert zh.column("relationship_manager") == "配备客户经理"
    assert sorted(en.as_map()) == sorted(zh.as_map())
    assert len(en.columns("product_flag")) == len(zh.columns("product_flag")) == 5
    assert en.money() == {"total_assets": 0.004, "balance": 0.015, "fees_paid_12m": 1.0}


def test_churn_modelling_meanings():
    _, _, m = _meanings(SHARED / "Churn_Modelling.csv")
    assert m.as_map() == {"credit_score": "CreditScore", "region": "Geography", "gender": "Gender", "age": "Age",
                          "tenure": "Tenure", "balance": "Balance", "products_count": "NumOfProducts",
                          "product_flag": ["HasCrCard"], "active_flag": "IsActiveMember",
                          "income": "EstimatedSalary"}
    assert m.is_protected("Age") and m.is_protected("Gender") and not m.is_protected("Balance")
    assert m.is_actionable("IsActiveMember") and not m.is_actionable("Age")


def test_telco_has_money_from_monthly_charges():
    _, _, m = _meanings(SHARED / "WA_Fn-UseC_-Telco-Customer-Churn.csv")
    assert m.money() == {"MonthlyCharges": 12.0, "TotalCharges": 0.0}
    assert m.column("tenure") == "tenure" and m.column("contract") == "Contract"


def test_label_and_ids_mean_nothing():
    _, roles, m = _meanings(SHARED / "Churn_Modelling.csv")
    assert m.meaning_of("Exited") is None and m.meaning_of("CustomerId") is None
    assert m.label == "Exited" and m.positive == 1 and m.id_column == "CustomerId"
    assert roles.id_columns[0] == "RowNumber"


def test_correction_moves_a_single_meaning():
    _, _, m = _meanings(SHARED / "Churn_Modelling.csv")
    m2 = m.with_meaning("EstimatedSalary", "balance")
    assert m2.column("balance") == "EstimatedSalary" and m2.meaning_of("Balance") is None
    assert m2.is_actionable("EstimatedSalary")
    m3 = m2.with_flags("Geography", protected=True)
    assert m3.is_protected("Geography")


def test_unknown_meaning_and_bad_margin_are_clear():
    _, _, m = _meanings(SHARED / "Churn_Modelling.csv")
    with pytest.raises(ChurnCoreError, match="Unknown column meaning 'salary'"):
        m.with_meaning("Balance", "salary")
    with pytest.raises(ChurnCoreError, match="margin must be a number from 0 to 100"):
        m.with_margin("Balance", -1)
    with pytest.raises(ChurnCoreError, match="no column 'Nope'"):
        m.with_meaning("Nope", "balance")


def test_mapping_round_trips_through_json(tmp_path):
    df, roles, m = _meanings(SHARED / "Churn_Modelling.csv")
    edited = m.with_meaning("EstimatedSalary", "income").with_margin("Balance", 0.02).with_flags("Age", protected=False)
    path = tmp_path / "map.json"
    path.write_text(edited.to_json(), encoding="utf-8")
    again = apply_mapping(detect_meanings(df, roles), load_mapping(path))
    assert again.to_dict() == edited.to_dict()
    assert again.money() == {"Balance": 0.02}
    assert not again.is_protected("Age")


def test_mapping_sets_the_label_and_a_meaning_by_name():
    df = pd.DataFrame({"cid": range(6), "Gekuendigt": ["ja", "nein"] * 3, "Saldo": [1.0, 2, 3, 4, 5, 6]})
    roles = detect_roles(df)
    data = load_mapping(json.dumps({"label": "Gekuendigt", "positive": "ja", "id": "cid",
                                    "columns": {"Saldo": "balance"}, "margins": {"Saldo": 0.01}}))
    roles = roles_with_mapping(roles, df, data)
    m = apply_mapping(detect_meanings(df, roles), data)
    assert roles.label == "Gekuendigt" and roles.positive == "ja"
    assert m.column("balance") == "Saldo" and m.money() == {"Saldo": 0.01}


def test_mapping_naming_a_missing_column_is_an_error():
    df = pd.DataFrame({"a": [1, 2], "b": [0, 1]})
    m = detect_meanings(df)
    with pytest.raises(ChurnCoreError, match="names column 'Balance', which is not in this file"):
        apply_mapping(m, {"columns": {"Balance": "balance"}})


def test_bad_mapping_json_is_one_clear_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ChurnCoreError, match="not valid JSON"):
        load_mapping(path)
    with pytest.raises(ChurnCoreError, match="does not exist"):
        load_mapping(tmp_path / "missing.json")


def test_empty_map_is_usable():
    m = ColumnMeanings()
    assert m.column("balance") is None and m.money() == {} and m.as_map() == {}
