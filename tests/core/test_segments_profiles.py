"""Segment profiles computed in DuckDB equal an independent pandas computation (sample + Churn_Modelling)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from churn_core.analysis import segments as S
from churn_core.analysis.segments import Condition, Segment
from churn_core.data.store import SessionStore


@pytest.fixture(scope="module")
def cm(churn_modelling_path, tmp_path_factory):
    df = pd.read_csv(churn_modelling_path)
    roles = SimpleNamespace(roles={}, label="Exited", positive=1, id_columns=["RowNumber", "CustomerId", "Surname"])
    store = SessionStore(root_dir=tmp_path_factory.mktemp("cm"))
    store.load_frame("customers", df)
    yield store, df, S.detect_columns(df, roles)
    store.close()


@pytest.fixture(scope="module")
def sample(sample_path, tmp_path_factory):
    df = pd.read_csv(sample_path)
    roles = SimpleNamespace(roles={}, label="churned", positive=1, id_columns=["customer_id"])
    store = SessionStore(root_dir=tmp_path_factory.mktemp("sample"))
    store.load_frame("customers", df)
    yield store, df, S.detect_columns(df, roles)
    store.close()


# ------------------------------------------------------------------ Churn_Modelling, exact numbers
def test_churn_modelling_by_geography_exact(cm):
    store, df, cols = cm
    got = S.compute_group_profiles(store, cols, ["Geography"])
    assert got["Geography"].tolist() == ["France", "Germany", "Spain"]
    assert got["customers"].tolist() == [5014, 2509, 2477]
    assert got["churned"].tolist() == [810, 814, 413]
    # independent pandas
    g = df.groupby("Geography").agg(customers=("Exited", "size"), rate=("Exited", "mean"), bal=("Balance", "mean"))
    base = df["Exited"].mean()
    assert base == 0.2037
    np.testing.assert_allclose(got["churn_rate"], g["rate"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["lift"], (g["rate"] / base).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["avg_balance"], g["bal"].to_numpy(), rtol=1e-12)
    assert round(got.loc[1, "churn_rate"], 4) == 0.3244  # Germany, the well-known outlier
    assert round(got.loc[1, "lift"], 3) == 1.593


def test_churn_modelling_two_keys_match_pandas(cm):
    store, df, cols = cm
    got = S.compute_group_profiles(store, cols, ["Geography", "IsActiveMember"])
    g = df.groupby(["Geography", "IsActiveMember"]).agg(n=("Exited", "size"), r=("Exited", "mean"),
                                                        inactive=("IsActiveMember", lambda s: (s == 0).mean()))
    assert got["customers"].tolist() == g["n"].tolist()
    assert got["customers"].sum() == 10000
    np.testing.assert_allclose(got["churn_rate"], g["r"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["share_inactive"], g["inactive"].to_numpy(), rtol=1e-12)


def test_churn_modelling_segment_profile_matches_pandas(cm):
    store, df, cols = cm
    seg = Segment("older DE/ES", (Condition("Age", ">=", 50), Condition("Geography", "in", ("Germany", "Spain"))))
    prof = S.compute_segment_profile(store, cols, seg)
    m = seg.mask(df)
    part = df[m]
    assert prof["customers"] == 739 == len(part)
    assert prof["churned"] == 369 == int(part["Exited"].sum())
    assert prof["churn_rate"] == pytest.approx(part["Exited"].mean(), rel=1e-12)
    assert prof["lift"] == pytest.approx(part["Exited"].mean() / 0.2037, rel=1e-12)
    assert prof["avg_balance"] == pytest.approx(part["Balance"].mean(), rel=1e-12)
    assert prof["total_balance"] == pytest.approx(part["Balance"].sum(), rel=1e-12)
    assert prof["products_per_customer"] == pytest.approx(part["NumOfProducts"].mean(), rel=1e-12)
    assert prof["share_inactive"] == pytest.approx((part["IsActiveMember"] == 0).mean(), rel=1e-12)
    assert prof["share_of_base"] == pytest.approx(0.0739)


def test_compare_segments_side_by_side(cm):
    store, df, cols = cm
    a = Segment("zero balance", (Condition("Balance", "=", 0),))
    b = Segment("one product", (Condition("NumOfProducts", "=", 1),))
    frame = S.compare_segments(store, cols, a, b).set_index("metric")
    assert frame.loc["customers"].tolist() == [3617, 5084, 10000]
    assert frame.loc["churned"].tolist() == [500, 1409, 2037]
    assert frame.loc["lift", "all"] == pytest.approx(1.0)


def test_churn_modelling_products_segmentation(cm):
    store, df, cols = cm
    ready = S.build_ready_made(store, cols)
    assert sorted(ready) == ["activity", "activity_score", "age_band", "products", "region", "tenure_band", "value_tier"]
    prof = S.compute_profiles(store, cols, ready["products"])
    assert prof["products"].tolist() == [1, 2, 3, 4]
    assert prof["customers"].tolist() == [5084, 4590, 266, 60]
    assert prof["churn_rate"].round(4).tolist() == [0.2771, 0.0758, 0.8271, 1.0]


def test_churn_modelling_age_bands_match_pandas_cut(cm):
    store, df, cols = cm
    seg = S.build_ready_made(store, cols)["age_band"]
    edges = seg.dims[0].edges
    assert edges == (31.0, 35.0, 40.0, 46.0)  # quintiles of Age, rounded
    prof = S.compute_profiles(store, cols, seg)
    bins = pd.cut(df["Age"], [-np.inf, *edges, np.inf], right=False)
    g = df.groupby(bins, observed=True)["Exited"].agg(["size", "mean"])
    assert prof["age_band"].tolist() == ["< 31", "31 – 35", "35 – 40", "40 – 46", "≥ 46"]
    assert prof["customers"].tolist() == g["size"].tolist() == [1968, 1711, 2308, 1902, 2111]
    np.testing.assert_allclose(prof["churn_rate"], g["mean"].to_numpy(), rtol=1e-12)


def test_edited_bands_are_used(cm):
    store, df, cols = cm
    seg = S.edit_edges(S.build_ready_made(store, cols)["age_band"], "age_band", [40, 60])
    prof = S.compute_profiles(store, cols, seg)
    assert prof["age_band"].tolist() == ["< 40", "40 – 60", "≥ 60"]
    assert prof["customers"].tolist() == [
        int((df.Age < 40).sum()), int(((df.Age >= 40) & (df.Age < 60)).sum()), int((df.Age >= 60).sum())]


def test_value_tier_combines_balance_and_products(cm):
    store, df, cols = cm
    seg = S.build_ready_made(store, cols)["value_tier"]
    prof = S.compute_profiles(store, cols, seg)
    assert seg.keys() == ["value_band", "product_band"]
    assert prof["customers"].sum() == 10000
    assert len(prof) == 8
    edges = seg.dims[0].edges
    vb = np.searchsorted(edges, df["Balance"], side="right")
    pb = (df["NumOfProducts"] >= 2).astype(int)
    g = df.groupby([vb, pb])["Exited"].agg(["size", "mean"])
    assert prof["customers"].tolist() == g["size"].tolist()
    np.testing.assert_allclose(prof["churn_rate"], g["mean"].to_numpy(), rtol=1e-12)


def test_activity_score_is_rfm_sum(cm):
    store, df, cols = cm
    seg = S.build_ready_made(store, cols)["activity_score"]
    prof = S.compute_profiles(store, cols, seg)
    score = seg.dims[0]
    assert [b.column for b in score.bandings] == ["IsActiveMember", "NumOfProducts", "Balance"]
    want = sum(np.searchsorted(b.edges, df[b.column], side="right") + 1 for b in score.bandings)
    g = df.groupby(want)["Exited"].agg(["size", "mean"])
    assert prof["activity_score"].tolist() == g.index.tolist()
    assert prof["customers"].tolist() == g["size"].tolist()
    np.testing.assert_allclose(prof["churn_rate"], g["mean"].to_numpy(), rtol=1e-12)


def test_deciles_match_pandas_qcut(cm):
    store, df, cols = cm
    dec = S.compute_decile_cohorts(store, cols)
    assert sorted(dec["column"].unique()) == sorted(cols.numeric)
    for column in cols.numeric:
        part = dec[dec["column"] == column]
        q = pd.qcut(df[column], 10, duplicates="drop")
        g = df.groupby(q, observed=True)["Exited"].agg(["size", "mean"])
        assert part["customers"].tolist() == g["size"].tolist(), column
        np.testing.assert_allclose(part["churn_rate"], g["mean"].to_numpy(), rtol=1e-12)
    age = dec[dec["column"] == "Age"]
    assert len(age) == 10
    spread = S.rank_decile_spread(dec)
    assert spread["column"].tolist()[:2] == ["NumOfProducts", "Age"]


# ------------------------------------------------------------------ the bundled sample
def test_sample_by_region_matches_pandas(sample):
    store, df, cols = sample
    got = S.compute_group_profiles(store, cols, ["region"])
    g = df.groupby("region").agg(n=("churned", "size"), r=("churned", "mean"), bal=("balance", "mean"),
                                 assets=("total_assets", "mean"), prod=("num_products", "mean"),
                                 comp=("complaints_12m", "mean"))
    assert got["region"].tolist() == g.index.tolist()
    assert got["customers"].tolist() == g["n"].tolist()
    assert int(got["customers"].sum()) == 20000
    np.testing.assert_allclose(got["churn_rate"], g["r"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["lift"], (g["r"] / df["churned"].mean()).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["avg_balance"], g["bal"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["avg_assets"], g["assets"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["products_per_customer"], g["prod"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["complaints_per_customer"], g["comp"].to_numpy(), rtol=1e-12)
    assert df["churned"].mean() == 0.1451


def test_sample_segment_profile_and_mask_agree(sample):
    store, df, cols = sample
    seg = Segment("complainers", (Condition("complaints_12m", ">=", 2), Condition("digital_logins_90d", "<", 10)), "and")
    prof = S.compute_segment_profile(store, cols, seg)
    part = df[seg.mask(df)]
    assert prof["customers"] == len(part)
    assert prof["churned"] == int(part["churned"].sum())
    assert prof["churn_rate"] == pytest.approx(part["churned"].mean(), rel=1e-12)
    assert prof["share_with_complaints"] == 1.0
    assert prof["lift"] > 1.5  # the generator plants complaints and low logins as churn drivers


def test_sample_deciles_match_qcut(sample):
    store, df, cols = sample
    dec = S.compute_decile_cohorts(store, cols, columns=["age", "balance", "digital_logins_90d"])
    for column in ["age", "balance", "digital_logins_90d"]:
        part = dec[dec["column"] == column]
        g = df.groupby(pd.qcut(df[column], 10, duplicates="drop"), observed=True)["churned"].agg(["size", "mean"])
        assert part["customers"].tolist() == g["size"].tolist(), column
        np.testing.assert_allclose(part["churn_rate"], g["mean"].to_numpy(), rtol=1e-12)


def test_sample_ready_made_cover_everyone(sample):
    store, df, cols = sample
    ready = S.build_ready_made(store, cols)
    assert sorted(ready) == ["activity", "activity_score", "age_band", "products", "region", "tenure_band", "value_tier"]
    for code, seg in ready.items():
        prof = S.compute_profiles(store, cols, seg)
        assert int(prof["customers"].sum()) == 20000, code
        assert len(prof) <= 200


def test_date_condition_sql_equals_mask(sample_path, tmp_path):
    from churn_core.data.ingest import load_file

    df = load_file(sample_path).df
    store = SessionStore(root_dir=tmp_path / "dates")
    try:
        store.load_frame("customers", df)
        seg = Segment("recent", (Condition("snapshot_date", ">=", "2024-09-30"),)).validate(df)
        assert seg.describe("en") == "snapshot_date is at least 2024-09-30"
        where, params = seg.where_sql()
        n = int(store.query(f"SELECT COUNT(*) AS n FROM customers WHERE {where}", params)["n"].iloc[0])
        assert n == int(seg.mask(df).sum()) == int((df["snapshot_date"] >= "2024-09-30").sum())
    finally:
        store.close()


def test_engine_modules_do_not_import_streamlit():
    import subprocess
    import sys

    code = ("import sys, churn_core.analysis.segments, churn_core.analysis.value, churn_core.analysis.sqlguard, churn_core.analysis.sql_worker;"
            "assert 'streamlit' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
