"""Pre-training gate: label mapping, ids, leakage, names, categories, unseen values."""

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import ChurnCoreError
from churn_core.data.roles import label_to_binary as roles_label_to_binary
from churn_core.modeling.prep import (OTHER, PrepConfig, Preprocessor, compute_gate, label_to_binary,
                             safe_feature_names)


def _frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x - 1)))).astype(int)
    return pd.DataFrame({
        "RowNumber": np.arange(1, n + 1),
        "CustomerId": rng.permutation(np.arange(15_000_000, 15_000_000 + n)),
        "客户编号": [f"K{i:05d}" for i in range(n)],
        "Surname": rng.choice(["Li", "Wang", "Zhang", "=HYPERLINK(1)"], n),
        "score": x,
        "city": rng.choice(["北京", "上海", "广州"], n),
        "churned": y,
    })


def test_label_mapping_and_counts():
    df = _frame()
    df.loc[[0, 1, 2], "churned"] = np.nan
    g = compute_gate(df, label="churned", positive=1)
    assert g.positive == 1
    assert g.n_rows == 400
    assert g.n_missing_label == 3
    assert g.n_used == 397
    assert g.n_churners == int(df["churned"].eq(1).sum())


def test_ids_excluded_by_name_and_by_uniqueness():
    g = compute_gate(_frame(), label="churned", positive=1)
    assert g.excluded["RowNumber"] == "id_name"  # the one id-name rule (roles) knows row numbers
    assert g.excluded["CustomerId"] == "id_name"
    assert g.excluded["客户编号"] == "id_name"
    assert g.excluded["Surname"] == "personal_name"
    assert g.features == ["score", "city"]
    assert g.id_column == "CustomerId"


@pytest.mark.parametrize("name", ["客户号", "序号", "编号"])
def test_chinese_id_names(name):
    df = _frame()
    df[name] = np.arange(len(df)) % 50  # not unique: excluded by its name alone
    assert compute_gate(df, label="churned", positive=1).excluded[name] == "id_name"


def test_text_positive_and_yes_no_label():
    df = _frame()
    df["Churn"] = np.where(df.pop("churned") == 1, "Yes", "No")
    g = compute_gate(df, label="Churn")
    assert g.positive == "Yes"
    assert g.label_values == {"No": int((df.Churn == "No").sum()), "Yes": int((df.Churn == "Yes").sum())}


def test_label_to_binary_matches_text_to_int():
    # the gate uses the one label-to-0/1 of churn_core.data.roles (prep re-exports it)
    assert label_to_binary is roles_label_to_binary
    s = pd.Series([1, 0, None, 1])
    assert label_to_binary(s, "1").tolist()[:2] == [1, 0]
    assert pd.isna(label_to_binary(s, "1").iloc[2])
    out = label_to_binary(pd.Series(["是", "否", "", " "]), "是")
    assert out.tolist()[:2] == [1, 0] and out.isna().tolist() == [False, False, True, True]


def test_gate_finds_the_label_roles_finds():
    df = _frame()
    df["Attrition_Flag"] = np.where(df.pop("churned") == 1, "Attrited Customer", "Existing Customer")
    g = compute_gate(df)
    assert (g.label, g.positive) == ("Attrition_Flag", "Attrited Customer")
    assert g.n_churners == int((df["Attrition_Flag"] == "Attrited Customer").sum())


def test_one_class_is_a_clear_error():
    df = _frame()
    df["churned"] = 0
    with pytest.raises(ChurnCoreError, match="only one class") as exc:
        compute_gate(df, label="churned", positive=1)
    assert exc.value.code == "model.one_class"


def test_too_few_churners():
    df = _frame()
    df["churned"] = 0
    df.loc[:4, "churned"] = 1
    with pytest.raises(ChurnCoreError, match="Only 5 churners") as exc:
        compute_gate(df, label="churned", positive=1)
    assert exc.value.code == "model.too_few_churners"
    assert exc.value.params == {"churners": 5, "minimum": 20}


def test_leak_excluded_strong_flagged_post_outcome_names():
    df = _frame(n=2000)
    rng = np.random.default_rng(1)
    y = df["churned"].to_numpy()
    df["account_closed"] = np.where(rng.random(len(df)) < 0.01, 1 - y, y)
    df["closure_date"] = pd.Series(np.where(y == 1, "2025-01-15", None)).astype("string")
    df["strong"] = np.where(rng.random(len(df)) < 0.06, 1 - y, y) + rng.normal(0, 0.01, len(df))
    df["注销标志"] = rng.integers(0, 2, len(df))  # a post-outcome name, but no signal: flagged only
    g = compute_gate(df, label="churned", positive=1)
    assert g.excluded["account_closed"] == "leakage"
    assert g.excluded["closure_date"] == "leakage"
    assert g.leak_auc["account_closed"] >= 0.98
    assert g.flagged["strong"] == "strong_predictor"
    assert 0.90 <= g.leak_auc["strong"] < 0.98
    assert g.flagged["注销标志"] == "post_outcome"
    assert "注销标志" in g.features


def test_safe_feature_names():
    assert safe_feature_names(["age", "bal[1]", "年龄", "age", "x<y", "3m"]) == [
        "age", "bal_1", "f2", "age_2", "x_y", "f_3m"]


def test_preprocessor_inf_unseen_chinese_category_and_cap():
    df = pd.DataFrame({"v": [1.0, np.inf, -np.inf, 2.0] * 25,
                       "城市": (["北京", "上海"] * 40) + [f"镇{i}" for i in range(20)]})
    p = Preprocessor(["v", "城市"], {"v": "numeric", "城市": "categorical"}, max_categories=3).fit(df)
    assert p.feature_names_ == ["v", "f1"]
    assert p.display_names_ == {"v": "v", "f1": "城市"}
    assert p.categories_["城市"] == ["上海", "北京", "镇0", OTHER]
    new = pd.DataFrame({"v": [np.inf, 3.0, 1.0], "城市": ["深圳", "北京", "镇7"]})
    X = p.transform(new)
    assert np.isnan(X["v"].iloc[0]) and X["v"].iloc[1] == 3.0
    # never seen at training -> missing; rare at training -> the "other" group, as in training
    assert X["f1"].isna().tolist() == [True, False, False]
    assert X["f1"].tolist()[1:] == ["北京", OTHER]
    assert p.transform(df)["f1"].value_counts()[OTHER] == 19
    back = Preprocessor.from_dict(p.to_dict())
    assert back.transform(new)["f1"].isna().tolist() == [True, False, False]


def test_unseen_category_without_other_becomes_missing():
    df = pd.DataFrame({"c": ["a", "b"] * 10})
    p = Preprocessor(["c"], {"c": "categorical"}).fit(df)
    X = p.transform(pd.DataFrame({"c": ["客户", "a"]}))
    assert X["c"].isna().tolist() == [True, False]
    assert list(X["c"].cat.categories) == ["a", "b"]


def test_text_numbers_with_blanks_become_numeric():
    df = _frame()
    df["TotalCharges"] = [" " if i % 50 == 0 else f"{i * 1.5:.2f}" for i in range(len(df))]
    g = compute_gate(df, label="churned", positive=1)
    assert g.kinds["TotalCharges"] == "numeric"
    X = Preprocessor(g.features, g.kinds).fit(df).transform(df)
    assert int(X["TotalCharges"].isna().sum()) == 8
    assert X["TotalCharges"].iloc[1] == 1.5


def test_free_text_and_constant_and_dates():
    df = _frame(n=600)
    rng = np.random.default_rng(3)
    df["note"] = [f"customer called on day {i} about the fee and asked many questions" for i in range(600)]
    df["const"] = 7
    df["opened"] = pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, 600), unit="D")
    g = compute_gate(df, label="churned", positive=1)
    assert g.excluded["note"] in ("free_text", "id_unique")
    assert g.excluded["const"] == "constant"
    assert g.kinds["opened"] == "date"
    p = Preprocessor(g.features, g.kinds).fit(df)
    X = p.transform(df)
    days = (df["opened"].max() - df["opened"]).dt.days
    assert X[p.feature_names_[g.features.index("opened")]].tolist() == days.astype(float).tolist()


def test_config_validated():
    with pytest.raises(ValueError):
        PrepConfig(leak_flag_auc=0.99, leak_exclude_auc=0.95)


def test_chinese_sample_gate():
    """The GBK sample with Chinese headers and values: label 是否流失 = 是, 客户编号 is the id,
    快照日期 the snapshot (kept out of the features, used for the backtest)."""
    from pathlib import Path

    from churn_core.data.ingest import load_file
    from churn_core.data.roles import detect_roles

    df = load_file(Path(__file__).resolve().parents[2] / "sample_data" / "customers_zh_gbk.csv").df
    g = compute_gate(df, roles=detect_roles(df))
    assert (g.label, g.positive) == ("是否流失", "是")
    assert g.excluded == {"客户编号": "id_role", "快照日期": "snapshot_date"}
    assert g.snapshot_column == "快照日期" and g.id_column == "客户编号"
    assert g.n_churners == 2902 and g.n_rows == 20000
    assert len(g.features) == 24 and g.flagged == {}
