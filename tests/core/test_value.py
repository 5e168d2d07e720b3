"""Customer value: DuckDB results equal the documented formula computed independently in pandas."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from churn_core.analysis import segments as S
from churn_core.analysis import value as V
from churn_core.errors import ChurnCoreError
from churn_core.data.meanings import detect_meanings
from churn_core.data.store import SessionStore


@pytest.fixture(scope="module")
def sample(sample_path, tmp_path_factory):
    df = pd.read_csv(sample_path)
    store = SessionStore(root_dir=tmp_path_factory.mktemp("value"))
    store.load_frame("customers", df)
    cols = S.detect_columns(df, SimpleNamespace(roles={}, label="churned", positive=1, id_columns=["customer_id"]))
    yield store, df, cols
    store.close()


@pytest.fixture(scope="module")
def cm(churn_modelling_path, tmp_path_factory):
    df = pd.read_csv(churn_modelling_path)
    store = SessionStore(root_dir=tmp_path_factory.mktemp("value_cm"))
    store.load_frame("customers", df)
    cols = S.detect_columns(df, SimpleNamespace(roles={}, label="Exited", positive=1, id_columns=["RowNumber", "CustomerId", "Surname"]))
    yield store, df, cols
    store.close()


SAMPLE_MONEY = {"total_assets": 0.004, "balance": 0.015, "fees_paid_12m": 1.0}


def pandas_value(df, a, p, money=None, products="num_products"):
    """The module docstring's formula, written independently: money columns x margins +
    products x product margin - cost to serve."""
    money = SAMPLE_MONEY if money is None else money
    c = pd.Series(0.0, index=df.index)
    for col, margin in money.items():
        c = c + df[col].fillna(0) * margin
    c = c + df[products].fillna(0) * a.product_margin
    c = c - a.cost_to_serve
    r = (1 - p) ** (12 / a.churn_period_months)
    q = r / (1 + a.discount_rate)
    ltv = c * (1 - q ** a.horizon_years) / (1 - q)
    return c, ltv, p * ltv


def test_whole_base_matches_formula(sample):
    store, df, cols = sample
    a = V.ValueAssumptions()
    out = V.compute_value(store, cols, a).iloc[0]
    p = pd.Series(df["churned"].mean(), index=df.index)
    c, ltv, var = pandas_value(df, a, p)
    assert out["customers"] == 20000
    assert out["churn_rate"] == pytest.approx(0.1451)
    assert out["total_contribution"] == pytest.approx(c.sum(), rel=1e-9)
    assert out["total_ltv"] == pytest.approx(ltv.sum(), rel=1e-9)
    assert out["value_at_risk"] == pytest.approx(var.sum(), rel=1e-9)
    assert out["retention_per_year"] == pytest.approx((1 - 0.1451) ** 4, rel=1e-12)
    assert out["avg_tenure_years"] == pytest.approx(df["tenure_months"].mean() / 12, rel=1e-12)
    assert out["txn_trend"] == pytest.approx(df["txn_this_quarter"].sum() / df["txn_last_quarter"].sum() - 1, rel=1e-12)
    assert out["avg_balance_change"] == pytest.approx(df["balance_change_3m_pct"].mean(), rel=1e-12)


def test_by_region_uses_each_regions_churn_rate(sample):
    store, df, _ = sample
    meanings = detect_meanings(df).with_margin("balance", 0.02).with_margin("total_assets", 0.0)
    cols = S.detect_columns(df, SimpleNamespace(roles={}, label="churned", positive=1, id_columns=["customer_id"]),
                            meanings=meanings)
    assert cols.money == (("total_assets", 0.0), ("balance", 0.02), ("fees_paid_12m", 1.0))
    a = V.ValueAssumptions(product_margin=80, cost_to_serve=25, discount_rate=0.1, horizon_years=3)
    out = V.compute_value(store, cols, a, grouping=["region"])
    p = df.groupby("region")["churned"].transform("mean")
    c, ltv, var = pandas_value(df, a, p, money={"balance": 0.02, "fees_paid_12m": 1.0})
    g = pd.DataFrame({"region": df["region"], "c": c, "ltv": ltv, "var": var}).groupby("region").sum()
    assert out["region"].tolist() == g.index.tolist()
    np.testing.assert_allclose(out["total_contribution"], g["c"], rtol=1e-9)
    np.testing.assert_allclose(out["total_ltv"], g["ltv"], rtol=1e-9)
    np.testing.assert_allclose(out["value_at_risk"], g["var"], rtol=1e-9)
    assert out["share_of_value_at_risk"].sum() == pytest.approx(1.0)


def test_model_probability_replaces_history(sample):
    store, df, cols = sample
    a = V.ValueAssumptions()
    rng = np.random.default_rng(0)
    proba = rng.uniform(0, 0.6, len(df))
    out = V.compute_value(store, cols, a, grouping=["region"], proba=proba)
    c, ltv, var = pandas_value(df, a, pd.Series(proba, index=df.index))
    g = pd.DataFrame({"region": df["region"], "p": proba, "var": var}).groupby("region").agg(p=("p", "mean"), var=("var", "sum"))
    np.testing.assert_allclose(out["risk"], g["p"], rtol=1e-9)
    np.testing.assert_allclose(out["value_at_risk"], g["var"], rtol=1e-9)
    assert "churn_proba" not in store.tables()  # temporary table removed


def test_top_at_risk_lists_largest_first(sample):
    store, df, cols = sample
    a = V.ValueAssumptions()
    top = V.compute_top_at_risk(store, cols, a, limit=10, id_column="customer_id")
    p = pd.Series(df["churned"].mean(), index=df.index)
    _, _, var = pandas_value(df, a, p)
    want = df.assign(var=var).sort_values("var", ascending=False, kind="stable").head(10)
    assert top["customer_id"].tolist() == want["customer_id"].tolist()
    np.testing.assert_allclose(top["value_at_risk"], want["var"], rtol=1e-9)


def test_value_by_saved_segments(sample):
    store, df, cols = sample
    seg = S.Segment("older", (S.Condition("age", ">=", 60),))
    out = V.compute_value_for_segments(store, cols, {"older": seg})
    assert out["segment"].tolist() == ["__all__", "older"]
    assert out["customers"].tolist() == [20000, int((df["age"] >= 60).sum())]
    part = df[df["age"] >= 60]
    assert out.loc[1, "churn_rate"] == pytest.approx(part["churned"].mean())


def test_churn_modelling_value_by_geography(cm):
    store, df, cols = cm
    a = V.ValueAssumptions(churn_period_months=12)
    out = V.compute_value(store, cols, a, grouping=["Geography"])
    p = df.groupby("Geography")["Exited"].transform("mean")
    c, ltv, var = pandas_value(df, a, p, money={"Balance": 0.015}, products="NumOfProducts")
    g = pd.DataFrame({"k": df["Geography"], "var": var, "c": c}).groupby("k").sum()
    np.testing.assert_allclose(out["value_at_risk"], g["var"], rtol=1e-9)
    np.testing.assert_allclose(out["total_contribution"], g["c"], rtol=1e-9)
    assert out["share_active"].round(4).tolist() == [0.5168, 0.4974, 0.5297]


@pytest.mark.parametrize(
    "kw,code",
    [
        ({"product_margin": -0.1}, "value.bad_assumption"),
        ({"cost_to_serve": float("nan")}, "value.bad_assumption"),
        ({"discount_rate": 1.5}, "value.bad_discount"),
        ({"horizon_years": 0}, "value.bad_horizon"),
        ({"churn_period_months": 0}, "value.bad_period"),
    ],
)
def test_bad_assumptions(kw, code):
    with pytest.raises(ChurnCoreError) as info:
        V.ValueAssumptions(**kw)
    assert info.value.code == code


def test_bad_probabilities(sample):
    store, df, cols = sample
    with pytest.raises(ChurnCoreError) as info:
        V.compute_value(store, cols, proba=[0.1, 0.2])
    assert info.value.code == "value.proba_length"
    with pytest.raises(ChurnCoreError) as info:
        V.compute_value(store, cols, proba=np.full(len(df), 1.5))
    assert info.value.code == "value.proba_range"


def test_sql_and_pandas_value_agree_on_the_sample(sample):
    store, df, cols = sample
    a = V.ValueAssumptions(product_margin=75.0, cost_to_serve=30.0)
    values = V.compute_customer_value(df, detect_meanings(df), a)
    want, _, _ = pandas_value(df, a, pd.Series(0.1, index=df.index))
    np.testing.assert_allclose(values, want.to_numpy(), rtol=1e-12)
    out = V.compute_value(store, cols, a).iloc[0]
    assert out["total_contribution"] == pytest.approx(values.sum(), rel=1e-12)
    assert round(float(values.sum()), 2) == 86_568_311.14


def test_yes_no_text_flags_count_as_products_and_activity(tmp_path):
    df = pd.DataFrame({"cid": ["a", "b", "c", "d"], "churned": [1, 0, 0, 1],
                       "has_card": ["Yes", "No", "yes", None], "has_loan": [1, 0, 1, 0],
                       "is_active_member": ["是", "否", "是", "否"], "balance": [1000.0, None, 200.0, 0.0]})
    meanings = detect_meanings(df)
    assert meanings.columns("product_flag") == ["has_card", "has_loan"]
    a = V.ValueAssumptions(product_margin=10.0, cost_to_serve=1.0)
    values = V.compute_customer_value(df, meanings, a)
    assert values.tolist() == [1000 * 0.015 + 2 * 10 - 1, -1.0, 200 * 0.015 + 2 * 10 - 1, -1.0]
    store = SessionStore(root_dir=tmp_path)
    try:
        store.load_frame("customers", df)
        cols = S.detect_columns(df, SimpleNamespace(roles={}, label="churned", positive=1, id_columns=["cid"]),
                                meanings=meanings)
        out = V.compute_value(store, cols, a).iloc[0]
        assert out["total_contribution"] == pytest.approx(sum(values))
        assert out["share_active"] == 0.5
    finally:
        store.close()


def test_churn_modelling_tenure_counts_years(cm):
    store, df, cols = cm
    assert cols.tenure == "Tenure"
    assert V.tenure_months_per_unit(store, "Tenure", "customers") == 1.0
    out = V.compute_value(store, cols, V.ValueAssumptions()).iloc[0]
    assert out["avg_tenure_years"] == pytest.approx(df["Tenure"].mean(), rel=1e-12)


def test_telco_tenure_counts_months(telco_path, tmp_path):
    df = pd.read_csv(telco_path)
    store = SessionStore(root_dir=tmp_path)
    try:
        store.load_frame("customers", df)
        cols = S.detect_columns(df, SimpleNamespace(roles={}, label="Churn", positive="Yes",
                                                     id_columns=["customerID"]))
        assert cols.tenure == "tenure"
        assert V.tenure_months_per_unit(store, "tenure", "customers") == 12.0
        out = V.compute_value(store, cols, V.ValueAssumptions()).iloc[0]
        assert out["avg_tenure_years"] == pytest.approx(df["tenure"].mean() / 12, rel=1e-12)
        assert round(out["avg_tenure_years"], 2) == 2.70
    finally:
        store.close()


@pytest.mark.parametrize("name, unit", [("客户月数", 12.0), ("tenure_years", 1.0), ("开户年数", 1.0)])
def test_tenure_unit_named_in_the_header_wins(name, unit, tmp_path):
    store = SessionStore(root_dir=tmp_path)
    try:
        store.load_frame("customers", pd.DataFrame({name: [50.0, 60.0, 70.0]}))
        assert V.tenure_months_per_unit(store, name, "customers") == unit
    finally:
        store.close()
