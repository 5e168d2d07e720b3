"""Quick profile and churn rate by category."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import ChurnCoreError
from churn_core.data.ingest import load_file
from churn_core.data.profile import (
    compute_category_churn,
    compute_churn_spread,
    compute_profile,
    profile_summary,
)
from churn_core.data.roles import detect_roles

TEXT = (
    "customer_id,region,balance,opened,active,churn\n"
    "C1,North,100,2024-01-31,true,Yes\n"
    "C2,North,,2024-02-29,false,No\n"
    "C3,South,300,2024-03-31,true,No\n"
    "C4,,500,2024-03-31,true,Yes\n"
    "C5,North,600,,false,No\n"
)


@pytest.fixture()
def loaded():
    load = load_file(TEXT.encode(), "p.csv")
    return load, detect_roles(load.df)


def test_compute_profile_exact_values(loaded):
    load, roles = loaded
    prof = compute_profile(load.df, roles).set_index("column")
    assert list(prof.index) == ["customer_id", "region", "balance", "opened", "active", "churn"]
    assert prof.loc["balance", ["role", "dtype", "missing", "distinct"]].tolist() == [
        "numeric", "integer", 1, 4]
    assert prof.loc["balance", "missing_pct"] == 20.0
    assert prof.loc["balance", ["min", "mean", "max"]].tolist() == [100.0, 375.0, 600.0]
    assert prof.loc["region", ["role", "missing", "distinct", "top", "top_count"]].tolist() == [
        "categorical", 1, 2, "North", 3]
    assert math.isnan(prof.loc["region", "mean"])
    assert prof.loc["opened", ["dtype", "min_date", "max_date", "top"]].tolist() == [
        "date", "2024-01-31T00:00:00", "2024-03-31T00:00:00", "2024-03-31"]
    assert prof.loc["active", ["role", "mean"]].tolist() == ["boolean", 0.6]
    assert prof.loc["churn", "role"] == "label"
    assert prof.loc["customer_id", "role"] == "id"


def test_category_churn_counts_and_rates(loaded):
    load, roles = loaded
    out = compute_category_churn(load.df, roles, "region")
    assert out[["value", "customers", "churned", "is_missing"]].values.tolist() == [
        ["North", 3, 1, False],
        ["South", 1, 0, False],
        ["(missing)", 1, 1, True],
    ]
    assert out["churn_rate"].round(4).tolist() == [0.3333, 0.0, 1.0]


def test_category_churn_caps_categories_with_an_other_row():
    n = 100
    df = pd.DataFrame({
        "city": [f"city{i % 40:02d}" for i in range(n)],
        "churn": [1 if i % 4 == 0 else 0 for i in range(n)],
    })
    roles = detect_roles(df)
    out = compute_category_churn(df, roles, "city", max_categories=30)
    assert len(out) == 31
    assert out["customers"].sum() == n
    other = out[out["is_other"]].iloc[0]
    # cities 00-19 have 3 rows, 20-39 have 2; top 30 = 20 x 3 + 10 x 2, other = 10 cities x 2
    assert (other["value"], other["customers"]) == ("(other)", 20)


def test_category_churn_bins_numeric_columns():
    df = pd.DataFrame({"age": np.arange(100), "churn": [1] * 50 + [0] * 50})
    roles = detect_roles(df)
    out = compute_category_churn(df, roles, "age", bins=4)
    assert out["customers"].tolist() == [25, 25, 25, 25]
    assert out["churn_rate"].tolist() == [1.0, 1.0, 0.0, 0.0]


def test_category_churn_needs_a_label():
    df = pd.DataFrame({"a": ["x", "y"], "b": [1, 2]})
    with pytest.raises(ChurnCoreError) as info:
        compute_category_churn(df, detect_roles(df), "a")
    assert info.value.code == "profile.no_label"


def test_profile_summary_is_json_safe(loaded):
    load, roles = loaded
    summary = json.loads(json.dumps(profile_summary(load, roles), ensure_ascii=False))
    assert summary["rows"] == 5 and summary["columns"] == 6
    assert summary["label"] == {"column": "churn", "positive": "Yes"}
    assert summary["churned"] == 2 and summary["churn_rate"] == 0.4
    assert summary["id_columns"] == ["customer_id"]
    balance = next(c for c in summary["column_profile"] if c["column"] == "balance")
    assert balance["mean"] == 375.0 and balance["top_count"] == 1
    region = next(c for c in summary["column_profile"] if c["column"] == "region")
    assert region["mean"] is None


def test_churn_spread_ranks_the_planted_column_first():
    n = 400
    df = pd.DataFrame({
        "flat": ["a", "b"] * (n // 2),                       # churn 25% in both
        "telling": ["hi"] * 100 + ["lo"] * 300,              # churn 100% vs 0%
        "churn": [1] * 100 + [0] * 300,
    })
    roles = detect_roles(df)
    out = compute_churn_spread(df, roles)
    assert out["column"].tolist() == ["telling", "flat"]
    assert out["spread"].tolist() == [1.0, 0.0]


# ---- exact counts without hash tables (churn_core.data.colstats, used by the profile and roles)

def _big_columns():
    """Columns past FEW distinct values (the sorting paths), with ties, gaps and repeats."""
    rng = np.random.default_rng(7)
    ints = rng.integers(0, 3000, 6000)
    with_gaps = np.where(rng.random(6000) < 0.1, np.nan, rng.integers(0, 4000, 6000))
    return {
        "ints": pd.Series(ints),
        "floats_with_nan": pd.Series(with_gaps),
        "text": pd.Series(ints.astype(str), dtype="str"),
        "text_with_missing": pd.Series(np.where(np.isnan(with_gaps), None, with_gaps.astype(str)), dtype="str"),
        "dates": pd.Series(pd.to_datetime(rng.integers(0, 2000, 6000), unit="D")),
        "all_different": pd.Series(rng.permutation(6000)),
        "all_different_text": pd.Series([f"C{k:05d}" for k in rng.permutation(6000)], dtype="str"),
        "each_twice": pd.Series(np.concatenate([np.arange(3000)[::-1], np.arange(3000)])),
    }


@pytest.mark.parametrize("name", list(_big_columns()))
def test_distinct_and_top_equal_pandas_nunique_and_value_counts(name):
    from churn_core.data.colstats import FEW, distinct_and_top, distinct_count, top_value

    s = _big_columns()[name]
    counts = s.value_counts()
    assert s.nunique() > FEW
    assert distinct_count(s) == s.nunique()
    distinct, value, count = distinct_and_top(s)
    assert (distinct, value, count) == (s.nunique(), counts.index[0], int(counts.iloc[0]))
    assert type(value) is type(counts.index[0])
    assert top_value(s) == (value, count)


def test_top_value_ties_go_to_the_value_seen_first():
    from churn_core.data.colstats import top_value

    # every value twice: the first row's value wins (value_counts' order), not the smallest
    s = pd.Series(np.concatenate([np.arange(3000)[::-1], np.arange(3000)]))
    assert top_value(s) == (2999, 2)
    text = pd.Series(["b", "a", "c", "a", "b"] * 300 + [f"u{k}" for k in range(1200)], dtype="str")
    assert top_value(text) == ("b", 600)  # "a" also 600: "b" comes first


def test_first_distinct_reads_values_in_order_without_missing():
    from churn_core.data.colstats import first_distinct

    s = pd.Series([np.nan, 2.0, np.nan, 1.0, 2.0, 5.0])
    assert first_distinct(s, 1) == [2.0, 1.0]
    assert first_distinct(s, 5) == [2.0, 1.0, 5.0]
    assert first_distinct(pd.Series([None, "x", "y"], dtype="str"), 3) == ["x", "y"]
    assert first_distinct(pd.Series([np.nan, np.nan]), 2) == []


def test_profile_of_an_id_column_counts_every_value_and_shows_the_first():
    df = pd.DataFrame({"customer_id": [f"C{k:05d}" for k in range(5000, 0, -1)],
                       "amount": np.r_[np.arange(4998) + 0.5, 7.5, 7.5], "churn": [0, 1] * 2500})
    prof = compute_profile(df, detect_roles(df)).set_index("column")
    assert prof.loc["customer_id", "distinct"] == 5000
    assert (prof.loc["customer_id", "top"], prof.loc["customer_id", "top_count"]) == ("C05000", 1)
    assert prof.loc["amount", "distinct"] == 4998
    assert (prof.loc["amount", "top"], prof.loc["amount", "top_count"]) == ("7.5", 3)
