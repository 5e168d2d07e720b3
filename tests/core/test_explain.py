"""Explanations: native TreeSHAP contract, additivity, shap agreement, summed-back features."""

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from churn_core import explain
from churn_core.explain import treeshap
from churn_core.errors import ChurnCoreError


class StandInModel:
    """A tiny model with the attribute surface of ``churn_core.modeling.model.ChurnModel``.

    ``groups`` maps a business column to several model columns (like one-hot pieces), to test the
    summing back; by default every business column is one model column.
    """

    def __init__(self, features, display=None, label="churned", one_hot=(), rounds=30, depth=3):
        self.features, self.display, self.label = list(features), dict(display or {}), label
        self.one_hot, self.rounds, self.depth = tuple(one_hot), rounds, depth

    def fit(self, df):
        self.features_, self.label_, self.id_column_ = self.features, self.label, "customer_id"
        self.feature_map_, self.display_names_, self.levels_ = {}, {}, {}
        for i, col in enumerate(self.features):
            if col in self.one_hot:
                self.levels_[col] = sorted(df[col].dropna().unique())
                for j, level in enumerate(self.levels_[col]):
                    safe = f"f{i}_{j}"
                    self.feature_map_[safe] = col
                    self.display_names_[safe] = f"{col}={level}"
            else:
                if not pd.api.types.is_numeric_dtype(df[col]):
                    self.levels_[col] = sorted(df[col].dropna().unique())
                self.feature_map_[f"f{i}"] = col
                self.display_names_[f"f{i}"] = self.display.get(col, col)
        self.feature_names_ = list(self.feature_map_)
        dm = xgb.DMatrix(self.transform(df), df[self.label].to_numpy(), enable_categorical=True)
        params = {"objective": "binary:logistic", "max_depth": self.depth, "eta": 0.3, "seed": 0,
                  "nthread": 2, "tree_method": "hist"}
        self.booster_ = xgb.train(params, dm, self.rounds)
        return self

    def transform(self, df):
        out = {}
        for safe, col in self.feature_map_.items():
            if col in self.one_hot:
                level = self.levels_[col][int(safe.rsplit("_", 1)[1])]
                out[safe] = (df[col] == level).astype(float).to_numpy()
            elif col not in self.levels_:
                out[safe] = df[col].astype(float).to_numpy()
            else:
                out[safe] = pd.Categorical(df[col], categories=self.levels_[col])
        return pd.DataFrame(out, index=df.index)

    def predict_margin(self, df):
        dm = xgb.DMatrix(self.transform(df), enable_categorical=True)
        return self.booster_.predict(dm, output_margin=True)

    def predict_proba(self, df):
        return 1 / (1 + np.exp(-self.predict_margin(df)))


def toy_customers(n=3000, seed=0):
    """Planted churn logit: complaints and balance change strong, fees medium, age weak."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in range(1, n + 1)],
        "age": rng.integers(18, 80, n),
        "complaints_12m": rng.poisson(0.6, n),
        "balance_change_3m_pct": rng.normal(0, 30, n).round(1),
        "region": rng.choice(["Beijing", "Shanghai", "Guangdong"], n),
        "fees_paid_12m": rng.gamma(2, 200, n).round(2),
    })
    logit = (-2 + 0.9 * df.complaints_12m - 0.03 * df.balance_change_3m_pct
             + 0.5 * (df.region == "Guangdong") + 0.002 * df.fees_paid_12m - 0.01 * (df.age - 45))
    df["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


FEATURES = ["age", "complaints_12m", "balance_change_3m_pct", "region", "fees_paid_12m"]


@pytest.fixture(scope="session")
def toy():
    return toy_customers()


@pytest.fixture(scope="session")
def toy_model(toy):
    return StandInModel(FEATURES, display={"age": "年龄"}).fit(toy)


@pytest.fixture(scope="session")
def toy_expl(toy_model, toy):
    return explain.compute_explanation(toy_model, toy)


@pytest.fixture(scope="session")
def numeric_model(toy):
    df = toy.assign(region=(toy.region == "Guangdong").astype(int))
    return StandInModel(FEATURES).fit(df), df


@pytest.fixture(scope="session")
def onehot_model(toy):
    return StandInModel(FEATURES, one_hot=("region",)).fit(toy)


def test_contributions_plus_base_equal_the_margin(toy_model, toy, toy_expl):
    margin = toy_model.predict_margin(toy)
    total = toy_expl.base_value + toy_expl.contributions.astype(np.float64).sum(axis=1)
    assert np.abs(total - margin).max() < 1e-5
    assert np.abs(toy_expl.margin - margin).max() < 1e-5


def test_native_contributions_agree_with_shap_tree_explainer(numeric_model):
    import shap

    model, df = numeric_model
    X = model.transform(df)
    ours = explain.compute_explanation(model, df).contributions
    explainer = shap.TreeExplainer(model.booster_)
    # force shap's own C++ TreeSHAP (for XGBoost it would otherwise call pred_contribs itself)
    explainer.model.model_type = "internal"
    theirs = explainer.shap_values(X.to_numpy(dtype=np.float64), check_additivity=False)
    assert theirs.shape == ours.shape == (3000, 5)
    assert np.abs(theirs - ours).max() < 1e-5


def test_shap_shortcut_matches_on_native_categories(toy_model, toy, toy_expl):
    import shap

    dm = xgb.DMatrix(toy_model.transform(toy), enable_categorical=True)
    theirs = shap.TreeExplainer(toy_model.booster_).shap_values(dm)
    assert np.abs(theirs - toy_expl.contributions).max() < 1e-5


def test_tidy_frame_has_one_row_per_customer_and_feature(toy_expl):
    frame = toy_expl.frame
    assert list(frame.columns) == ["customer_id", "feature", "value", "contribution", "column"]
    assert len(frame) == 3000 * 5
    first = frame.iloc[:5]
    assert first["customer_id"].tolist() == ["C000001"] * 5
    assert first["feature"].tolist() == ["年龄", "complaints_12m", "balance_change_3m_pct",
                                         "region", "fees_paid_12m"]
    assert first["value"].tolist() == [70, 0, -11.7, "Guangdong", 228.86]
    assert first["contribution"].tolist() == pytest.approx(toy_expl.contributions[0].tolist())


def test_one_hot_pieces_are_summed_back_to_the_business_feature(onehot_model, toy):
    expl = explain.compute_explanation(onehot_model, toy)
    assert expl.columns == ("age", "complaints_12m", "balance_change_3m_pct", "region",
                            "fees_paid_12m")
    assert expl.features[3] == "region"
    dm = xgb.DMatrix(onehot_model.transform(toy))
    raw = onehot_model.booster_.predict(dm, pred_contribs=True)
    assert raw.shape == (3000, 8)  # 4 plain + 3 region pieces + bias
    np.testing.assert_allclose(expl.contributions[:, 3], raw[:, 3:6].sum(axis=1), atol=1e-6)
    margin = onehot_model.predict_margin(toy)
    assert np.abs(expl.base_value + expl.contributions.sum(axis=1) - margin).max() < 1e-5


def test_planted_drivers_lead_the_global_importance(toy_model, toy, toy_expl):
    imp = explain.compute_global_importance(toy_model, toy, explanation=toy_expl)
    assert list(imp.columns) == ["feature", "mean_abs_shap", "mean_shap", "column", "actionable"]
    assert set(imp["column"].head(3)) == {"complaints_12m", "balance_change_3m_pct",
                                          "fees_paid_12m"}
    assert imp["mean_abs_shap"].is_monotonic_decreasing
    assert imp.set_index("column").loc["age", "feature"] == "年龄"


def test_sample_is_stratified_on_the_label(toy_model, toy):
    expl = explain.compute_explanation(toy_model, toy, sample=500)
    assert len(expl) == 500
    churners = toy.set_index("customer_id").loc[expl.customer_ids, "churned"].mean()
    assert churners == pytest.approx(toy["churned"].mean(), abs=0.002)


def test_progress_is_reported_per_chunk(toy_model, toy):
    seen = []
    explain.compute_explanation(toy_model, toy, chunk_size=1000,
                                progress=lambda f, code: seen.append((round(f, 3), code)))
    assert seen == [(0.333, "explain.contributions"), (0.667, "explain.contributions"),
                    (1.0, "explain.contributions")]


def test_unfitted_model_is_refused(toy):
    with pytest.raises(ChurnCoreError, match="Train a model"):
        explain.compute_explanation(StandInModel(FEATURES), toy)


def test_empty_table_is_refused(toy_model, toy):
    with pytest.raises(ChurnCoreError, match="no customers"):
        explain.compute_explanation(toy_model, toy.iloc[:0])


@pytest.fixture(scope="session")
def messy():
    """Missing values in a number and a category, and deeper trees (up to 31 splits)."""
    df = toy_customers(n=2000, seed=3)
    df.loc[::7, "fees_paid_12m"] = np.nan
    df.loc[::11, "region"] = None
    return df


@pytest.mark.parametrize("depth,one_hot", [(3, ()), (5, ()), (4, ("region",))])
def test_pattern_method_equals_xgboost_pred_contribs(messy, depth, one_hot):
    model = StandInModel(FEATURES, rounds=25, depth=depth, one_hot=one_hot).fit(messy)
    X = model.transform(messy)
    native = treeshap._raw_contribs(model, X, method="native")
    patterns = treeshap._raw_contribs(model, X, method="patterns")
    assert patterns.shape == native.shape
    assert np.abs(patterns - native).max() < 1e-5


def test_explanation_is_the_same_whatever_the_method(toy_model, toy, toy_expl):
    native = explain.compute_explanation(toy_model, toy, method="native")
    assert np.abs(native.contributions - toy_expl.contributions).max() < 1e-5
    assert native.base_value == pytest.approx(toy_expl.base_value, abs=1e-6)


def test_one_customer_alone_agrees_with_the_whole_table(toy_model, toy, toy_expl):
    one = explain.compute_explanation(toy_model, toy.iloc[[42]])
    np.testing.assert_allclose(one.contributions[0], toy_expl.contributions[42], atol=1e-5)
    assert one.customer_ids.tolist() == ["C000043"]


def test_unknown_method_is_refused(toy_model, toy):
    with pytest.raises(ChurnCoreError, match="method must be"):
        explain.compute_explanation(toy_model, toy, method="fast")


def test_deep_trees_use_several_pattern_words(messy):
    """Depth-6 trees have up to 63 splits: more than one 62-bit word of outcomes per row."""
    model = StandInModel(FEATURES, rounds=8, depth=6).fit(messy)
    trees = treeshap._parsed_trees(model.booster_)
    assert trees is not None
    assert max(len(t["feature"]) for t in trees) > 31
    X = model.transform(messy)
    native = treeshap._raw_contribs(model, X, method="native")
    patterns = treeshap._raw_contribs(model, X, method="patterns")
    assert np.abs(patterns - native).max() < 1e-5


def test_two_words_split_the_same_rows(monkeypatch, messy):
    monkeypatch.setattr(treeshap, "WORD_BITS", 5)  # force several words on small trees
    model = StandInModel(FEATURES, rounds=10, depth=4).fit(messy)
    X = model.transform(messy)
    native = treeshap._raw_contribs(model, X, method="native")
    patterns = treeshap._raw_contribs(model, X, method="patterns")
    assert np.abs(patterns - native).max() < 1e-5
