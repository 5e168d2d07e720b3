"""Risk tiers, profit curve, warning signals (English and Chinese columns) and the watch-list."""

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import ChurnCoreError
from churn_core.modeling.warning import (SignalThresholds, TierConfig, compute_profit_curve,
                                compute_score_distribution, compute_signals, compute_tiers,
                                compute_watch_list, describe_signals, detect_signal_columns,
                                build_score_distribution_chart)

P = np.array([0.9, 0.1, 0.5, 0.7, 0.05, 0.3, 0.2, 0.8, 0.01, 0.4])


def test_capacity_tiers_top_n():
    t = compute_tiers(P, TierConfig(high_capacity=2, medium_capacity=3))
    assert t.tolist() == ["High", "Low", "Medium", "Medium", "Low", "Low", "Low", "High", "Low", "Medium"]


def test_capacity_default_shares():
    t = compute_tiers(np.linspace(0, 1, 100))
    assert t.value_counts().to_dict() == {"High": 10, "Medium": 20, "Low": 70}


def test_profit_tiers_break_even():
    # value 1000, save rate 0.3, cost 50: contacting pays when p > 1/6
    cfg = TierConfig(method="profit", value_per_customer=1000, contact_cost=50, save_rate=0.3)
    t = compute_tiers(P, cfg)
    assert sorted(P[t.to_numpy() == "High"].tolist()) == [0.2, 0.3, 0.4, 0.5, 0.7, 0.8, 0.9]
    # medium: expected profit still >= -25, i.e. p >= 1/12
    assert P[t.to_numpy() == "Medium"].tolist() == [0.1]
    curve = compute_profit_curve(P, 1000, 50, 0.3)
    assert curve.attrs["best_k"] == 7
    assert curve.attrs["best_profit"] == pytest.approx(300 * 3.8 - 7 * 50)
    assert curve["contacted"].tolist() == list(range(11))


def test_tier_config_validated():
    with pytest.raises(ChurnCoreError) as exc:
        TierConfig(method="magic")
    assert exc.value.code == "warning.bad_method"


def test_score_distribution():
    t = compute_tiers(P, TierConfig(high_capacity=2, medium_capacity=3))
    d = compute_score_distribution(P, t, bins=10)
    assert d["customers"].sum() == 10
    assert d.loc[d.bin_start == 0.0, "customers"].sum() == 2  # 0.05 and 0.01; 0.1 opens the next bin
    spec = build_score_distribution_chart(d, title="T").to_dict()
    assert spec["title"] == "T"


def _customers():
    return pd.DataFrame({
        "id": ["a", "b", "c", "d"],
        "txn_this_quarter": [5, 20, 0, 10],
        "txn_last_quarter": [10, 20, 0, 12],
        "balance_change_3m_pct": [-25.0, 5.0, -19.9, np.nan],
        "complaints_12m": [0, 2, 0, 1],
        "digital_logins_90d": [3, 0, 10, 4],
    })


def test_signals_english():
    s = compute_signals(_customers())
    assert s["signals"].tolist() == ["activity_drop;fund_outflow", "complaints;logins_stopped", "",
                                     "complaints"]


def test_signals_thresholds_editable():
    s = compute_signals(_customers(), SignalThresholds(activity_drop_pct=10, outflow_pct=19, complaints_min=2))
    assert s["signals"].tolist() == ["activity_drop;fund_outflow", "complaints;logins_stopped",
                                     "fund_outflow", "activity_drop"]


def test_signals_chinese_columns():
    df = _customers().rename(columns={
        "txn_this_quarter": "本季交易笔数", "txn_last_quarter": "上季交易笔数",
        "balance_change_3m_pct": "近3月余额变化率", "complaints_12m": "近12月投诉次数",
        "digital_logins_90d": "近90天线上登录次数"})
    df["销户产品数"] = [0, 0, 1, 0]
    cols = detect_signal_columns(df)
    assert cols == {"activity_drop": ("本季交易笔数", "上季交易笔数"), "fund_outflow": "近3月余额变化率",
                    "complaints": "近12月投诉次数", "logins_stopped": "近90天线上登录次数",
                    "product_closed": "销户产品数"}
    s = compute_signals(df)
    assert s["signals"].tolist()[2] == "product_closed"
    assert describe_signals("complaints;fund_outflow", "zh") == "有投诉、资金流出"
    assert describe_signals("complaints;fund_outflow", "en") == "complained, funds moving out"


def test_no_signal_columns():
    s = compute_signals(pd.DataFrame({"age": [1, 2]}))
    assert list(s.columns) == ["signals"]
    assert s["signals"].tolist() == ["", ""]


def test_watch_list_filters_and_order():
    df = _customers()
    p = np.array([0.2, 0.9, 0.5, 0.7])
    tiers = compute_tiers(p, TierConfig(high_capacity=1, medium_capacity=2))
    sig = compute_signals(df)
    reasons = pd.DataFrame({"reason_1": ["r1a", "r1b", "r1c", "r1d"], "reason_2": "", "reason_3": ""})
    wl = compute_watch_list(df, p, tiers, sig, reasons, id_column="id")
    assert wl["customer_id"].tolist() == ["b", "d", "c", "a"]
    assert wl["risk_tier"].astype(str).tolist() == ["High", "Medium", "Medium", "Low"]
    assert wl["reason_1"].tolist() == ["r1b", "r1d", "r1c", "r1a"]
    assert wl["signals_text"].iloc[0] == "complained, stopped logging in"
    assert compute_watch_list(df, p, tiers, sig, id_column="id", tier_filter=["Medium"])["customer_id"].tolist() == ["d", "c"]
    assert compute_watch_list(df, p, tiers, sig, id_column="id", signal_filter=["complaints"])["customer_id"].tolist() == ["b", "d"]
    mask = df["id"].isin(["a", "c"]).to_numpy()
    assert compute_watch_list(df, p, tiers, sig, id_column="id", mask=mask)["customer_id"].tolist() == ["c", "a"]


def test_fund_outflow_from_two_balance_columns():
    df = pd.DataFrame({"balance_this_month": [70.0, 100.0, 0.0], "balance_last_month": [100.0, 100.0, 0.0],
                       "本月余额": [1, 2, 3]})
    assert detect_signal_columns(df) == {"fund_outflow": ("balance_this_month", "balance_last_month")}
    assert compute_signals(df)["signals"].tolist() == ["fund_outflow", "", ""]
    zh = pd.DataFrame({"本月余额": [50.0, 90.0], "上月余额": [100.0, 100.0]})
    assert compute_signals(zh, SignalThresholds(outflow_pct=40))["signals"].tolist() == ["fund_outflow", ""]


# ---------------------------------------------------------------- signals from meanings

def _card():
    return pd.DataFrame({
        "CLIENTNUM": [1, 2, 3, 4],
        "Months_Inactive_12_mon": [1, 3, 6, 2],
        "Contacts_Count_12_mon": [4, 0, 2, 5],
        "Total_Ct_Chng_Q4_Q1": [0.5, 1.1, 0.71, 0.7],
    })


def test_card_signals_inactivity_contacts_and_count_change():
    df = _card()
    assert detect_signal_columns(df) == {"activity_drop": ("change", "Total_Ct_Chng_Q4_Q1"),
                                         "service_contacts": "Contacts_Count_12_mon",
                                         "inactivity": ("months", "Months_Inactive_12_mon")}
    s = compute_signals(df)
    assert s["signals"].tolist() == ["activity_drop;service_contacts", "inactivity", "inactivity",
                                     "activity_drop;service_contacts"]
    s = compute_signals(df, SignalThresholds(inactive_months_min=2, contacts_min=5, activity_drop_pct=40))
    assert s["signals"].tolist() == ["activity_drop", "inactivity", "inactivity", "inactivity;service_contacts"]


def test_days_since_activity_counts_as_inactivity():
    df = pd.DataFrame({"days_since_last_txn": [10, 90, 200], "距上次交易天数": [1, 2, 3]})
    assert detect_signal_columns(df) == {"inactivity": ("days", "days_since_last_txn")}
    assert compute_signals(df)["signals"].tolist() == ["", "inactivity", "inactivity"]
    assert compute_signals(df, SignalThresholds(inactive_days_min=150))["inactivity"].tolist() == [False, False, True]


def test_signals_follow_corrected_meanings():
    from churn_core.data.meanings import detect_meanings

    df = pd.DataFrame({"dormancy_score": [0, 5], "calls": [1, 9]})
    m = detect_meanings(df).with_meaning("calls", "service_contacts").with_meaning("dormancy_score", "inactive_months")
    assert detect_signal_columns(df, meanings=m) == {"service_contacts": "calls", "inactivity": ("months", "dormancy_score")}
    assert compute_signals(df, columns=detect_signal_columns(df, meanings=m))["signals"].tolist() == [
        "", "inactivity;service_contacts"]


def test_new_signals_have_words_and_checked_thresholds():
    assert describe_signals("inactivity;service_contacts", "en") == "inactive for months, contacted the bank often"
    assert describe_signals("inactivity;service_contacts", "zh") == "长期不活跃、频繁联系客服"
    for bad in ({"inactive_months_min": 0}, {"inactive_months_min": 13}, {"inactive_days_min": 0}, {"contacts_min": 0}):
        with pytest.raises(ChurnCoreError) as info:
            SignalThresholds(**bad)
        assert info.value.code == "warning.bad_threshold"
