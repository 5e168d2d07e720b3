"""The simulator on tables it was not built for: two public churn files and the Chinese sample."""

import numpy as np
import pandas as pd
import pytest

from churn_core.data.ingest import load_file
from churn_core.retention.offers import default_catalogue, detect_lever_columns
from churn_core.retention.simulate import (
    SimulationSettings,
    compute_assumed_effects,
    compute_customer_value,
    compute_simulation,
    prepare_inputs_from_frame,
)


def _risk(n, seed):
    return np.random.default_rng(seed).beta(2, 8, n)


def test_churn_modelling_finds_products_and_the_card_flag_and_skips_the_fee_waiver(churn_modelling_path):
    df = load_file(churn_modelling_path).df
    levers = detect_lever_columns(df, exclude=["Exited", "CustomerId", "RowNumber"])
    assert levers == {"products": "NumOfProducts", "active": "IsActiveMember", "product_flag": ["HasCrCard"]}
    cat = default_catalogue()
    p = _risk(len(df), 1)
    inputs = prepare_inputs_from_frame(df, cat, p, compute_assumed_effects(p, cat), id_column="CustomerId")
    assert inputs.warnings == (("offers.rule_column_missing", "fee_waiver", "fees"),)
    assert inputs.value_source == "contribution"
    assert inputs.eligibility[:, 0].sum() == 0
    assert inputs.eligibility[:, 4].sum() == (df["NumOfProducts"] < 5).sum() == 10_000
    res = compute_simulation(inputs, cat, SimulationSettings(budget=50_000))
    plan = res.contact_plan()
    assert 0 < len(plan) and plan["cost"].sum() <= 50_000
    assert "fee_waiver" not in set(plan["offer"])
    assert plan["customer_id"].isin(df["CustomerId"]).all()
    assert res.summary["net_benefit"] >= res.baselines["risk"]["net_benefit"]


def test_telco_values_customers_at_twelve_months_of_charges(telco_path):
    df = load_file(telco_path).df
    values, source = compute_customer_value(df)
    assert source == "contribution"
    # 12 months of charges + 60 for the phone service held - 40 to serve (TotalCharges: margin 0)
    want = df["MonthlyCharges"] * 12 + (df["PhoneService"] == "Yes") * 60.0 - 40.0
    assert values.tolist() == pytest.approx(want.tolist(), rel=1e-12)
    assert values[:3].tolist() == pytest.approx([318.2, 703.4, 666.2])
    cat = default_catalogue()
    p = _risk(len(df), 2)
    inputs = prepare_inputs_from_frame(df, cat, p, compute_assumed_effects(p, cat), id_column="customerID")
    assert [w[1] for w in inputs.warnings] == ["fee_waiver", "cross_sell"]
    res = compute_simulation(inputs, cat, SimulationSettings(budget=20_000, objective="saved_value"))
    assert res.summary["cost"] <= 20_000 and res.summary["targeted"] > 0


def test_chinese_gbk_sample_gives_the_same_plan_as_the_english_one(sample_path):
    en = pd.read_csv(sample_path)
    zh = load_file(sample_path.parent / "customers_zh_gbk.csv").df
    cat = default_catalogue()
    p = _risk(len(en), 3)
    plans = []
    for df, id_col in ((en, "customer_id"), (zh, "客户编号")):
        inputs = prepare_inputs_from_frame(df, cat, p, compute_assumed_effects(p, cat), id_column=id_col)
        assert inputs.warnings == ()
        plans.append(compute_simulation(inputs, cat, SimulationSettings(budget=40_000)).contact_plan())
    assert plans[0]["customer_id"].tolist() == plans[1]["customer_id"].tolist()
    assert plans[0]["offer"].tolist() == plans[1]["offer"].tolist()
    assert plans[0]["expected_value"].to_numpy() == pytest.approx(plans[1]["expected_value"].to_numpy())
