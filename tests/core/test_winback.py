"""Win-back list: every churned customer, value lost first, why they left, the offer and its cost."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core.data.meanings import detect_meanings
from churn_core.data.roles import detect_roles
from churn_core.errors import ChurnCoreError
from churn_core.retention.offers import default_catalogue
from churn_core.retention.winback import (
    cause_of_driver, compute_value_lost_by, compute_value_lost_by_cause, compute_winback,
)
from churn_core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
BANK = ROOT.parent / "shared" / "datasets" / "Churn_Modelling.csv"
needs_bank = pytest.mark.skipif(not BANK.exists(), reason="../shared/datasets not available")


@pytest.fixture(scope="module")
def small():
    df = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"],
        "balance": [1000.0, 2000.0, 0.0, 500.0, 800.0],
        "fees_paid_12m": [10.0, 0.0, 5.0, 0.0, 1.0],
        "complaints_12m": [0, 1, 2, 0, 1],
        "age": [30, 40, 50, 60, 70],
        "region": ["N", "S", "N", "S", "E"],
        "num_products": [1, 2, 3, 1, 2],
        "interest_rate_offered": [1.0, 2.0, 3.0, 1.0, 2.0],
        "mystery_score": [0.1, 0.2, 0.3, 0.4, 0.5],
        "churned": [1, 1, 1, 1, 0],
    })
    meanings = detect_meanings(df, detect_roles(df))
    lost = df[df["churned"] == 1]
    reasons = pd.DataFrame({
        "reason_1": ["r1a", "r1b", "r1c", "r1d"],
        "driver_1": ["complaints_12m", "balance", "age", "num_products"],
        "points_1": [9.0, 4.0, 3.0, -2.0],
        "reason_2": ["r2a", "r2b", "r2c", ""],
        "driver_2": ["fees_paid_12m", "interest_rate_offered", "mystery_score", ""],
        "points_2": [5.0, 3.0, 1.0, np.nan],
        "reason_3": ["r3a", "r3b", "", ""],
        "driver_3": ["interest_rate_offered", "age", "", ""],
        "points_3": [4.5, 6.5, np.nan, np.nan],
    }, index=lost.index)
    value = np.array([120.0, 300.0, 120.0, 50.0])
    return df, meanings, lost, reasons, value


@pytest.mark.parametrize("column, cause", [
    ("complaints_12m", "service"),          # meaning: complaints
    ("balance", "rates_fees"),              # meaning: balance
    ("fees_paid_12m", "rates_fees"),        # meaning: fees
    ("num_products", "products"),           # meaning: products held
    ("age", "circumstances"),               # meaning: age
    ("region", "circumstances"),            # meaning: region
    ("interest_rate_offered", "rates_fees"),  # no meaning, actionable name (rates)
    ("mystery_score", "circumstances"),     # no meaning, nothing actionable
    ("", None),
    (None, None),
])
def test_cause_of_driver(small, column, cause):
    _, meanings, *_ = small
    assert cause_of_driver(column, meanings) == cause


def test_a_column_flagged_actionable_without_a_meaning_is_a_service_matter(small):
    _, meanings, *_ = small
    assert cause_of_driver("mystery_score", meanings.with_flags("mystery_score", actionable=True)) == "service"


def test_winback_orders_by_value_lost_with_ties_in_table_order(small):
    df, meanings, lost, reasons, value = small
    wb = compute_winback(lost, value, reasons, meanings, id_column="customer_id")
    assert wb["customer_id"].tolist() == ["b", "a", "c", "d"]
    assert wb["value_lost"].tolist() == [300.0, 120.0, 120.0, 50.0]
    assert wb.index.tolist() == [1, 0, 2, 3]


def test_winback_columns(small):
    df, meanings, lost, reasons, value = small
    wb = compute_winback(lost, value, reasons, meanings, id_column="customer_id")
    assert list(wb.columns) == [
        "customer_id", "value_lost", "main_cause",
        "reason_1", "driver_1", "cause_1", "points_1", "reason_2", "driver_2", "cause_2", "points_2",
        "reason_3", "driver_3", "cause_3", "points_3", "offer", "offer_name", "offer_cost"]


def test_winback_causes_and_main_cause(small):
    df, meanings, lost, reasons, value = small
    wb = compute_winback(lost, value, reasons, meanings, id_column="customer_id").set_index("customer_id")
    # a: service 9 vs rates_fees 5 + 4.5 = 9.5 -> rates and fees
    assert wb.loc["a", ["cause_1", "cause_2", "cause_3"]].tolist() == ["service", "rates_fees", "rates_fees"]
    assert wb.loc["a", "main_cause"] == "rates_fees"
    # b: rates_fees 4 + 3 = 7 vs circumstances 6.5
    assert wb.loc["b", "main_cause"] == "rates_fees"
    # c: circumstances 3 + 1
    assert wb.loc["c", "main_cause"] == "circumstances"
    # d: its one driver lowered the risk: nothing explains the departure
    assert wb.loc["d", "cause_1"] == "products"
    assert pd.isna(wb.loc["d", "main_cause"])
    assert wb.loc["a", "reason_1"] == "r1a" and wb.loc["b", "reason_3"] == "r3b"


def test_winback_offer_and_cost_from_the_catalogue(small):
    df, meanings, lost, reasons, value = small
    wb = compute_winback(lost, value, reasons, meanings, id_column="customer_id", lang="zh")
    offer = default_catalogue().get("win_back")
    assert (offer.contact_cost, offer.unit_cost) == (60, 50)
    assert set(wb["offer"]) == {"win_back"}
    assert set(wb["offer_name"]) == {"挽留专线回访"}
    assert set(wb["offer_cost"]) == {110.0}
    cheap = default_catalogue().replace_offer("win_back", contact_cost=10, unit_cost=5)
    wb = compute_winback(lost, value, reasons, meanings, catalogue=cheap, id_column="customer_id")
    assert set(wb["offer_cost"]) == {15.0}
    assert set(wb["offer_name"]) == {"Win-back call"}


def test_winback_without_id_uses_row_numbers(small):
    df, meanings, lost, reasons, value = small
    wb = compute_winback(lost, value, reasons, meanings)
    assert wb["row"].tolist() == [2, 1, 3, 4]


def test_winback_value_as_series_on_the_index(small):
    df, meanings, lost, reasons, value = small
    shuffled = pd.Series(value, index=lost.index).iloc[::-1]
    wb = compute_winback(lost, shuffled, reasons, meanings, id_column="customer_id")
    assert wb["customer_id"].tolist() == ["b", "a", "c", "d"]


def test_winback_errors(small):
    df, meanings, lost, reasons, value = small
    with pytest.raises(ChurnCoreError, match="3 values for 4 churned customers") as info:
        compute_winback(lost, value[:3], reasons, meanings)
    assert info.value.code == "winback.value_length"
    with pytest.raises(ChurnCoreError, match="do not cover every churned customer"):
        compute_winback(lost, value, reasons.iloc[:2], meanings)
    with pytest.raises(ChurnCoreError, match="no driver columns"):
        compute_winback(lost, value, reasons[["reason_1"]], meanings)
    with pytest.raises(ChurnCoreError, match="no column 'cid'"):
        compute_winback(lost, value, reasons, meanings, id_column="cid")


def test_value_lost_by_cause(small):
    df, meanings, lost, reasons, value = small
    wb = compute_winback(lost, value, reasons, meanings, id_column="customer_id")
    by = compute_value_lost_by_cause(wb)
    assert by["cause"].tolist()[:5] == ["service", "products", "rates_fees", "activity", "circumstances"]
    assert pd.isna(by["cause"].iloc[5])
    assert by["customers"].tolist() == [0, 0, 2, 0, 1, 1]
    assert by["value_lost"].tolist() == [0.0, 0.0, 420.0, 0.0, 120.0, 50.0]
    assert by["share_of_value_lost"].tolist() == pytest.approx([0, 0, 420 / 590, 0, 120 / 590, 50 / 590])


def test_value_lost_by_segment(small):
    df, meanings, lost, reasons, value = small
    wb = compute_winback(lost, value, reasons, meanings, id_column="customer_id")
    by = compute_value_lost_by(wb, lost, "region")
    assert by.to_dict("list") == {"region": ["S", "N"], "customers": [2, 2], "value_lost": [350.0, 240.0],
                                  "share_of_value_lost": pytest.approx([350 / 590, 240 / 590])}
    with pytest.raises(ChurnCoreError, match="no column 'segment'"):
        compute_value_lost_by(wb, lost, "segment")


# ------------------------------------------------------------------ a real file, with a model

@pytest.fixture(scope="module")
def bank_ws():
    ws = Workspace.from_file(BANK)
    ws.train(cv_folds=0, n_estimators=30, n_jobs=1)
    return ws


@pytest.fixture(scope="module")
def bank_winback(bank_ws):
    ws = bank_ws
    lost = ws.lost()
    return compute_winback(lost, ws.customer_value("lost"), ws.reasons("lost"), ws.meanings_,
                           id_column=ws.id_column)


@needs_bank
def test_bank_winback_is_exactly_the_churned_customers_in_value_order(bank_ws, bank_winback):
    raw = pd.read_csv(BANK)
    churned = raw[raw["Exited"] == 1].copy()
    churned["value"] = churned["Balance"] * 0.015 + churned["NumOfProducts"] * 60.0 - 40.0
    expected = churned.sort_values("value", ascending=False, kind="mergesort")
    assert bank_ws.id_column == "CustomerId"
    assert len(bank_winback) == 2037
    assert bank_winback["CustomerId"].tolist() == expected["CustomerId"].tolist()
    assert bank_winback["value_lost"].to_numpy() == pytest.approx(expected["value"].to_numpy(), rel=1e-12)


@needs_bank
def test_bank_winback_reasons_and_causes(bank_ws, bank_winback):
    wb = bank_winback
    assert (wb["reason_1"] != "").all()
    assert set(wb["cause_1"]) <= {"service", "products", "rates_fees", "activity", "circumstances"}
    meanings = bank_ws.meanings_
    for driver, cause in zip(wb["driver_1"], wb["cause_1"]):
        assert cause == meanings.cause_of(driver)
    by = compute_value_lost_by_cause(wb)
    assert by["value_lost"].sum() == pytest.approx(wb["value_lost"].sum(), rel=1e-12)
    assert by["customers"].sum() == 2037


@needs_bank
def test_bank_value_lost_by_geography_equals_pandas(bank_ws, bank_winback):
    raw = pd.read_csv(BANK)
    churned = raw[raw["Exited"] == 1]
    value = churned["Balance"] * 0.015 + churned["NumOfProducts"] * 60.0 - 40.0
    expected = value.groupby(churned["Geography"]).sum().sort_values(ascending=False)
    by = compute_value_lost_by(bank_winback, bank_ws.lost(), "Geography")
    assert by["Geography"].tolist() == expected.index.tolist() == ["Germany", "France", "Spain"]
    assert by["value_lost"].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-12)
    assert by["customers"].tolist() == churned["Geography"].value_counts().reindex(expected.index).tolist()
