"""Segment builder: conditions -> parameterised SQL + plain language, same rows as pandas."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from churn_core.analysis import segments as S
from churn_core.errors import ChurnCoreError
from churn_core.analysis.segments import Condition, Segment
from churn_core.data.store import SessionStore


# (condition, sql, params, english, chinese)
TABLE = [
    (Condition("age", ">=", 50), '"age" >= ?', [50], "age is at least 50", "age 大于等于 50"),
    (Condition("age", ">", 50), '"age" > ?', [50], "age is above 50", "age 大于 50"),
    (Condition("age", "<", 30.5), '"age" < ?', [30.5], "age is below 30.5", "age 小于 30.5"),
    (Condition("age", "<=", 30), '"age" <= ?', [30], "age is at most 30", "age 小于等于 30"),
    (Condition("region", "=", "Beijing"), '"region" = ?', ["Beijing"], 'region is "Beijing"', "region 等于 “Beijing”"),
    (Condition("region", "!=", "Beijing"), '"region" != ?', ["Beijing"], 'region is not "Beijing"', "region 不等于 “Beijing”"),
    (Condition("balance", "between", (1000, 250000)), '"balance" BETWEEN ? AND ?', [1000, 250000],
     "balance is between 1,000 and 250,000", "balance 介于 1,000 和 250,000 之间"),
    (Condition("region", "in", ["Beijing", "Shanghai"]), '"region" IN (?, ?)', ["Beijing", "Shanghai"],
     'region is one of "Beijing", "Shanghai"', "region 属于 “Beijing”、“Shanghai”"),
    (Condition("region", "not in", ("Hubei",)), '"region" NOT IN (?)', ["Hubei"],
     'region is none of "Hubei"', "region 不属于 “Hubei”"),
    (Condition("occupation", "contains", "Retir"), 'contains(lower(CAST("occupation" AS VARCHAR)), lower(?))', ["Retir"],
     'occupation contains "Retir"', "occupation 包含 “Retir”"),
    (Condition("balance", "is missing"), '"balance" IS NULL', [], "balance is missing", "balance 缺失"),
    (Condition("balance", "is not missing", 123), '"balance" IS NOT NULL', [], "balance is not missing", "balance 有值"),
    (Condition('we"ird col', "=", "x'; DROP TABLE customers; --"), '"we""ird col" = ?', ["x'; DROP TABLE customers; --"],
     'we"ird col is "x\'; DROP TABLE customers; --"', "we\"ird col 等于 “x'; DROP TABLE customers; --”"),
    (Condition("年龄", ">=", 60), '"年龄" >= ?', [60], "年龄 is at least 60", "年龄 大于等于 60"),
]


@pytest.mark.parametrize("cond,sql,params,en,zh", TABLE)
def test_condition_sql_and_words(cond, sql, params, en, zh):
    assert cond.where_sql() == (sql, params)
    assert cond.describe("en") == en
    assert cond.describe("zh") == zh


def test_segment_and_or_nested():
    seg = Segment(
        "older north",
        (
            Condition("age", ">=", 50),
            Segment("", (Condition("region", "=", "Beijing"), Condition("region", "=", "Tianjin")), "or"),
        ),
    )
    assert seg.where_sql() == ('"age" >= ? AND ("region" = ? OR "region" = ?)', [50, "Beijing", "Tianjin"])
    assert seg.describe("en") == 'age is at least 50 and (region is "Beijing" or region is "Tianjin")'
    assert seg.describe("zh") == "age 大于等于 50 且 (region 等于 “Beijing” 或 region 等于 “Tianjin”)"
    assert seg.columns() == ["age", "region"]


def test_empty_segment_is_everyone():
    assert Segment("all").where_sql() == ("TRUE", [])
    assert Segment("all").describe("en") == "All customers"
    assert Segment("all").describe("zh") == "全部客户"


@pytest.mark.parametrize(
    "args,code",
    [
        (("age", "~", 1), "segments.bad_operator"),
        (("age", "between", 5), "segments.bad_between"),
        (("age", "in", []), "segments.empty_list"),
        (("age", ">", None), "segments.missing_value"),
        (("", "=", 1), "segments.bad_column"),
    ],
)
def test_bad_conditions_raise_codes(args, code):
    with pytest.raises(ChurnCoreError) as info:
        Condition(*args)
    assert info.value.code == code


def test_json_round_trip_keeps_meaning():
    seg = Segment("vip", (Condition("balance", "between", (1, 2.5)), Condition("region", "in", ("A", "B")),
                          Segment("", (Condition("age", "is missing"), Condition("age", "<", 20)), "or")), "and")
    text = seg.to_json()
    back = Segment.from_json(text)
    assert back == seg
    assert json.loads(text)["conditions"][0] == {"column": "balance", "op": "between", "value": [1, 2.5]}


def test_validate_coerces_typed_values():
    df = pd.DataFrame({"age": [30, 40], "region": ["A", "B"], "flag": [True, False]})
    seg = Segment("x", (Condition("age", ">=", "35"), Condition("flag", "=", "yes"), Condition("age", "between", ("50", "20"))))
    out = seg.validate(df)
    assert out.conditions[0].value == 35
    assert out.conditions[1].value is True
    assert out.conditions[2].value == (20, 50)
    with pytest.raises(ChurnCoreError, match="not a number"):
        Segment("x", (Condition("age", ">", "old"),)).validate(df)
    with pytest.raises(ChurnCoreError) as info:
        Segment("x", (Condition("region", ">", "A"),)).validate(df)
    assert info.value.code == "segments.bad_operator_for_type"
    with pytest.raises(ChurnCoreError) as info:
        Segment("x", (Condition("nope", "=", 1),)).validate(df)
    assert info.value.code == "segments.unknown_column"


# ---------------------------------------------------------------- SQL == pandas
@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    df = pd.DataFrame(
        {
            "age": [25, 35, 45, None, 65, 50],
            "region": ["Beijing", "Shanghai", None, "Beijing", "Hubei", "Tianjin"],
            "balance": [0.0, 1500.5, np.nan, 300.0, 99999.0, 250000.0],
            "occupation": ["Retired", "retiree", "Employee", None, "RETIRED", "Student"],
        }
    )
    store = SessionStore(root_dir=tmp_path_factory.mktemp("seg_tiny"))
    store.load_frame("customers", df)
    yield store, df
    store.close()


def _sql_rows(store, seg):
    where, params = seg.where_sql()
    out = store.query(f"SELECT rowid AS r FROM customers WHERE {where} ORDER BY rowid", params)
    return out["r"].tolist()


@pytest.mark.parametrize(
    "seg,rows",
    [
        (Segment("a", (Condition("age", ">=", 45),)), [2, 4, 5]),
        (Segment("a", (Condition("region", "!=", "Beijing"),)), [1, 4, 5]),
        (Segment("a", (Condition("region", "not in", ("Beijing", "Hubei")),)), [1, 5]),
        (Segment("a", (Condition("occupation", "contains", "ETIRED"),)), [0, 4]),
        (Segment("a", (Condition("occupation", "contains", "retir"),)), [0, 1, 4]),
        (Segment("a", (Condition("balance", "between", (300, 100000)),)), [1, 3, 4]),
        (Segment("a", (Condition("balance", "is missing"),)), [2]),
        (Segment("a", (Condition("age", "<", 40), Condition("region", "=", "Hubei")), "or"), [0, 1, 4]),
        (Segment("a", (Condition("age", "<", 40), Condition("region", "=", "Beijing")), "and"), [0]),
        (Segment("a"), [0, 1, 2, 3, 4, 5]),
    ],
)
def test_sql_and_pandas_select_the_same_rows(tiny_store, seg, rows):
    store, df = tiny_store
    assert _sql_rows(store, seg) == rows
    assert list(np.flatnonzero(seg.mask(df).to_numpy())) == rows


def test_injection_value_is_only_a_value(tiny_store):
    store, df = tiny_store
    seg = Segment("x", (Condition("region", "=", "Beijing' OR '1'='1"),))
    assert _sql_rows(store, seg) == []
    assert store.query("SELECT COUNT(*) AS n FROM customers")["n"].tolist() == [6]


# ---------------------------------------------------------------- column detection
@pytest.fixture(scope="module")
def churn_modelling(churn_modelling_path):
    return pd.read_csv(churn_modelling_path)


@pytest.fixture(scope="module")
def churn_modelling_roles():
    return SimpleNamespace(roles={}, label="Exited", positive=1, id_columns=["RowNumber", "CustomerId", "Surname"])


@pytest.fixture(scope="module")
def sample_df(sample_path):
    return pd.read_csv(sample_path)


def test_detects_churn_modelling_columns(churn_modelling, churn_modelling_roles):
    cols = S.detect_columns(churn_modelling, churn_modelling_roles)
    assert (cols.label, cols.positive, cols.balance, cols.products, cols.age, cols.tenure, cols.region, cols.active) == (
        "Exited", 1, "Balance", "NumOfProducts", "Age", "Tenure", "Geography", "IsActiveMember")
    assert cols.product_flags == ("HasCrCard",)
    assert cols.numeric == ("CreditScore", "Age", "Tenure", "Balance", "NumOfProducts", "EstimatedSalary")


def test_detects_sample_columns_in_english_and_chinese(sample_df, root_dir):
    roles = SimpleNamespace(roles={}, label="churned", positive=1, id_columns=["customer_id"])
    cols = S.detect_columns(sample_df, roles)
    assert (cols.balance, cols.assets, cols.products, cols.age, cols.tenure, cols.region) == (
        "balance", "total_assets", "num_products", "age", "tenure_months", "region")
    assert (cols.transactions, cols.transactions_prev, cols.logins, cols.balance_trend, cols.complaints, cols.fees) == (
        "txn_this_quarter", "txn_last_quarter", "digital_logins_90d", "balance_change_3m_pct", "complaints_12m", "fees_paid_12m")
    assert cols.product_flags == ("has_deposit", "has_wealth", "has_loan", "has_credit_card", "has_mobile_banking")

    zh = pd.read_csv(root_dir / "sample_data" / "customers_zh_gbk.csv", encoding="gb18030", nrows=500)
    zroles = SimpleNamespace(roles={}, label="是否流失", positive="是", id_columns=["客户编号"])
    zc = S.detect_columns(zh, zroles)
    assert (zc.balance, zc.assets, zc.products, zc.age, zc.tenure, zc.region) == (
        "账户余额", "总资产", "产品数", "年龄", "开户月数", "地区")
    assert (zc.transactions, zc.transactions_prev, zc.logins, zc.balance_trend, zc.complaints) == (
        "本季交易笔数", "上季交易笔数", "近90天线上登录次数", "近3月余额变化率", "近12月投诉次数")
    assert zc.product_flags == ("持有存款", "持有理财", "持有贷款", "持有信用卡", "开通手机银行")


def test_column_map_from_meanings_on_a_card_file():
    from churn_core.data.meanings import detect_meanings
    from churn_core.data.roles import detect_roles
    from churn_core.data.synth import make_credit_card

    df = make_credit_card(300, 2)
    roles = detect_roles(df)
    meanings = detect_meanings(df, roles)
    cols = S.ColumnMap.from_meanings(meanings, roles, df)
    assert (cols.label, cols.positive) == ("Attrition_Flag", "Attrited Customer")
    assert (cols.products, cols.tenure, cols.age, cols.transactions, cols.inactive_months, cols.service_contacts) == (
        "Total_Relationship_Count", "Months_on_book", "Customer_Age", "Total_Trans_Ct", "Months_Inactive_12_mon",
        "Contacts_Count_12_mon")
    assert cols.money == (("Credit_Limit", 0.0), ("Total_Revolving_Bal", 0.15), ("Total_Trans_Amt", 0.01))
    assert cols.balance is None and cols.value_column == "Total_Revolving_Bal"  # the best-paying money column
    assert "CLIENTNUM" not in cols.numeric and "Credit_Limit" in cols.numeric
    # a correction on the map is what segments see
    moved = S.ColumnMap.from_meanings(meanings.with_meaning("Credit_Limit", "balance"), roles, df)
    assert moved.balance == "Credit_Limit" and moved.value_column == "Credit_Limit"
    assert S.detect_columns(df, roles) == cols


# ---------------------------------------------------------------- bands
def test_banding_labels_and_indexes_agree(tiny_store):
    store, df = tiny_store
    band = S.Banding("age", (30, 50))
    assert band.labels() == ["< 30", "30 – 50", "≥ 50"]
    sql, params = band.index_sql()
    got = store.query(f"SELECT {sql} AS b FROM customers ORDER BY rowid", params)["b"].tolist()
    want = band.index(df["age"]).tolist()
    assert [None if pd.isna(x) else int(x) for x in got] == [0, 1, 1, None, 2, 2]
    assert [None if pd.isna(x) else int(x) for x in want] == [0, 1, 1, None, 2, 2]


def test_bad_edges_and_parse_edges():
    with pytest.raises(ChurnCoreError) as info:
        S.Banding("age", (50, 30))
    assert info.value.code == "segments.bad_edges"
    assert S.parse_edges("40, 30，50 50") == (30.0, 40.0, 50.0)
    with pytest.raises(ChurnCoreError) as info:
        S.parse_edges("30, forty")
    assert info.value.code == "segments.bad_edges_text"


def test_edit_edges_replaces_one_dimension():
    seg = S.Segmentation("age_band", (S.Banding("age", (30, 40), key="age_band"),))
    out = S.edit_edges(seg, "age_band", [60, 20])
    assert out.dims[0].edges == (20.0, 60.0)
    assert out.dims[0].labels() == ["< 20", "20 – 60", "≥ 60"]
