"""Reason sentences: exact wording in English and Chinese, points, ordering, speed path."""

import numpy as np
import pandas as pd
import pytest

from churn_core import explain
from churn_core.errors import ChurnCoreError


def make_explanation(columns, values, contributions, margin=0.0, features=None):
    """An Explanation built by hand: margin 0 (risk 50%) so points are easy to check."""
    contributions = np.asarray(contributions, dtype=np.float32)
    n = contributions.shape[0]
    margins = np.full(n, margin, dtype=np.float64)
    return explain.Explanation(
        customer_ids=np.array([f"C{i}" for i in range(n)], dtype=object),
        index=pd.RangeIndex(n),
        columns=tuple(columns),
        features=tuple(features or columns),
        contributions=contributions,
        values=pd.DataFrame(values, columns=list(columns)),
        base_value=0.0,
        margin=margins,
        proba=1 / (1 + np.exp(-margins)),
    )


def reasons(columns, values, contributions, lang="en", k=1, **kw):
    expl = make_explanation(columns, values, contributions, **kw)
    frame = pd.DataFrame(index=range(len(values)))
    return explain.compute_top_reasons(None, frame, k=k, lang=lang, explanation=expl)


# (column, value, contribution, English, Chinese). Margin 0: c=0.5 -> 12 points, 0.2 -> 5.
CASES = [
    ("complaints_12m", 3, 0.5,
     "3 complaints in the last 12 months raises the risk by 12 points",
     "近12个月投诉3次，流失风险上升12个百分点"),
    ("complaints_12m", 1, 0.2,
     "1 complaint in the last 12 months raises the risk by 5 points",
     "近12个月投诉1次，流失风险上升5个百分点"),
    ("days_since_last_txn", 90, 0.5,
     "No transactions for 90 days raises the risk by 12 points",
     "近90天无交易，流失风险上升12个百分点"),
    ("txn_this_quarter", 0, 0.5,
     "No transactions this quarter raises the risk by 12 points",
     "本季度无交易，流失风险上升12个百分点"),
    ("txn_this_quarter", 4, 0.2,
     "4 transactions this quarter raises the risk by 5 points",
     "本季度交易4笔，流失风险上升5个百分点"),
    ("balance_change_3m_pct", -45.3, 0.5,
     "Balance down 45% in 3 months raises the risk by 12 points",
     "近3个月余额下降45%，流失风险上升12个百分点"),
    ("satisfaction", 2, 0.2,
     "Satisfaction score 2 of 5 raises the risk by 5 points",
     "满意度评分2分（满分5分），流失风险上升5个百分点"),
    ("num_products", 1, 0.2,
     "Holds only 1 product raises the risk by 5 points",
     "仅持有1个产品，流失风险上升5个百分点"),
    ("NumOfProducts", 3, 0.2,
     "Holds 3 products raises the risk by 5 points",
     "持有3个产品，流失风险上升5个百分点"),
    ("IsActiveMember", 0, 0.2,
     "Inactive member raises the risk by 5 points",
     "非活跃客户，流失风险上升5个百分点"),
    ("has_mobile_banking", 0, 0.2,
     "No mobile banking raises the risk by 5 points",
     "未持有手机银行，流失风险上升5个百分点"),
    ("has_credit_card", 0, 0.2,
     "No credit card raises the risk by 5 points",
     "未持有信用卡，流失风险上升5个百分点"),
    ("digital_logins_90d", 2, 0.2,
     "2 digital logins in 90 days raises the risk by 5 points",
     "近90天数字渠道登录2次，流失风险上升5个百分点"),
    ("age", 52, 0.2, "Age 52 raises the risk by 5 points", "年龄52岁，流失风险上升5个百分点"),
    ("tenure_months", 6, 0.2,
     "Customer for 6 months raises the risk by 5 points", "开户6个月，流失风险上升5个百分点"),
    ("fees_paid_12m", 1234.5, 0.2,
     "Fees of 1,234 paid in 12 months raises the risk by 5 points",
     "近12个月缴纳费用1,234，流失风险上升5个百分点"),
    ("Geography", "Germany", 0.2,
     "Geography = Germany raises the risk by 5 points", "Geography为Germany，流失风险上升5个百分点"),
    ("Balance", 125432.18, 0.2,
     "Balance = 125,432 raises the risk by 5 points", "Balance为125,432，流失风险上升5个百分点"),
    ("CreditScore", 0.25, 0.2,
     "CreditScore = 0.25 raises the risk by 5 points", "CreditScore为0.25，流失风险上升5个百分点"),
    ("profit_margin", -3, 0.2,
     "profit_margin = \u22123 raises the risk by 5 points", "profit_margin为\u22123，流失风险上升5个百分点"),
    # Chinese headers of the GBK sample
    ("近12月投诉次数", 2, 0.2,
     "2 complaints in the last 12 months raises the risk by 5 points",
     "近12个月投诉2次，流失风险上升5个百分点"),
    ("本季交易笔数", 0, 0.2,
     "No transactions this quarter raises the risk by 5 points",
     "本季度无交易，流失风险上升5个百分点"),
    ("近3月余额变化率", -20, 0.2,
     "Balance down 20% in 3 months raises the risk by 5 points",
     "近3个月余额下降20%，流失风险上升5个百分点"),
    ("开通手机银行", 0, 0.2,
     "开通手机银行 = 0 raises the risk by 5 points", "未开通手机银行，流失风险上升5个百分点"),
    ("利率敏感度", "高", 0.2, "利率敏感度 = 高 raises the risk by 5 points", "利率敏感度为高，流失风险上升5个百分点"),
]


@pytest.mark.parametrize("column,value,contribution,english,chinese", CASES)
def test_reason_sentence(column, value, contribution, english, chinese):
    assert reasons([column], [[value]], [[contribution]], "en").iloc[0, 0] == english
    assert reasons([column], [[value]], [[contribution]], "zh").iloc[0, 0] == chinese


def reasons_all(columns, values, contributions, lang):
    expl = make_explanation(columns, values, contributions)
    return explain.compute_top_reasons(None, pd.DataFrame(index=[0]), k=1, lang=lang,
                                       explanation=expl, min_points=0)


@pytest.mark.parametrize("contribution,english,chinese", [
    (0.03, "Age 52 raises the risk by 1 point", "年龄52岁，流失风险上升1个百分点"),
    (0.01, "Age 52 raises the risk by less than 1 point", "年龄52岁，流失风险上升不到1个百分点"),
])
def test_small_points_when_every_raising_driver_is_kept(contribution, english, chinese):
    assert reasons_all(["age"], [[52]], [[contribution]], "en").iloc[0, 0] == english
    assert reasons_all(["age"], [[52]], [[contribution]], "zh").iloc[0, 0] == chinese


def test_drivers_under_half_a_point_are_not_reasons_by_default():
    # 0.021 log-odds at 50% risk = 0.52 points (kept, "1 point"); 0.019 = 0.47 points (dropped)
    out = reasons(["age", "gender"], [[52, "Female"]], [[0.021, 0.019]], k=2)
    assert out.iloc[0].tolist() == ["Age 52 raises the risk by 1 point", ""]


def test_points_are_the_risk_removed_without_the_driver():
    # margin 1.0 (73.1%), contribution 0.8: without it margin 0.2 (55.0%) -> 18.1 points
    pts = explain.points_from_contributions(np.array([1.0]), np.array([[0.8]]))
    assert pts[0, 0] == pytest.approx(18.1, abs=0.05)


def test_top_three_are_ordered_and_only_raising_drivers_count():
    cols = ["age", "complaints_12m", "satisfaction", "num_products"]
    out = reasons(cols, [[30, 2, 1, 1], [40, 0, 5, 3]],
                  [[0.2, 0.5, -0.3, 0.03], [-0.1, -0.2, 0.2, -0.4]], k=3)
    assert list(out.columns) == ["reason_1", "reason_2", "reason_3"]
    assert out.iloc[0].tolist() == [
        "2 complaints in the last 12 months raises the risk by 12 points",
        "Age 30 raises the risk by 5 points",
        "Holds only 1 product raises the risk by 1 point",
    ]
    assert out.iloc[1].tolist() == ["Satisfaction score 5 of 5 raises the risk by 5 points", "", ""]


def test_actionable_only_skips_age_and_region():
    cols = ["age", "region", "fees_paid_12m"]
    out = reasons(cols, [[30, "Beijing", 800]], [[0.5, 0.4, 0.2]], k=2)
    assert out.iloc[0].tolist() == ["Age 30 raises the risk by 12 points",
                                    "region = Beijing raises the risk by 10 points"]
    expl = make_explanation(cols, [[30, "Beijing", 800]], [[0.5, 0.4, 0.2]])
    only = explain.compute_top_reasons(None, pd.DataFrame(index=[0]), k=2, explanation=expl,
                                       actionable_only=True)
    assert only.iloc[0].tolist() == ["Fees of 800 paid in 12 months raises the risk by 5 points", ""]


def test_details_give_driver_and_points():
    expl = make_explanation(["age", "complaints_12m"], [[30, 2]], [[0.2, 0.5]])
    out = explain.compute_top_reasons(None, pd.DataFrame(index=[7]), k=2, explanation=expl,
                                      with_details=True)
    assert out.index.tolist() == [7]
    assert out.iloc[0][["driver_1", "points_1", "driver_2", "points_2"]].tolist() == [
        "complaints_12m", 12.2, "age", 5.0]


def test_missing_value_is_named():
    out = reasons(["Balance"], [[np.nan]], [[0.2]])
    assert out.iloc[0, 0] == "Balance = missing raises the risk by 5 points"
    assert reasons(["Balance"], [[np.nan]], [[0.2]], "zh").iloc[0, 0] == "Balance为缺失，流失风险上升5个百分点"


def test_unknown_language_is_refused():
    with pytest.raises(ChurnCoreError, match="'en' or 'zh'"):
        reasons(["age"], [[30]], [[0.2]], "fr")


# ---- the chunked pipeline on a real (stand-in) model -------------------------------------------
from tests.core.test_explain import FEATURES, StandInModel, toy_customers  # noqa: E402


@pytest.fixture(scope="module")
def toy_and_model():
    df = toy_customers(n=1500, seed=5)
    return df, StandInModel(FEATURES).fit(df)


def test_chunked_reasons_with_watch_list_first_equal_one_pass(toy_and_model):
    df, model = toy_and_model
    whole = explain.compute_top_reasons(model, df, k=3)
    seen = []
    watch = (df["complaints_12m"] >= 2).to_numpy()
    chunked = explain.compute_top_reasons(model, df, k=3, priority=watch, chunk_size=400,
                                          progress=lambda f, code: seen.append(code))
    pd.testing.assert_frame_equal(chunked, whole)
    n_watch = int(watch.sum())
    first_chunks = -(-n_watch // 400)
    assert seen[:first_chunks] == ["explain.reasons_priority"] * first_chunks
    assert seen[-1] == "explain.reasons"


def test_iter_yields_the_watch_list_first(toy_and_model):
    df, model = toy_and_model
    first = next(explain.iter_top_reasons(model, df, priority=[10, 3, 500], chunk_size=100))
    assert first.index.tolist() == [3, 10, 500]


def test_reasons_reuse_the_session_explanation(toy_and_model):
    df, model = toy_and_model
    expl = explain.compute_explanation(model, df)
    pd.testing.assert_frame_equal(explain.compute_top_reasons(model, df, lang="zh", explanation=expl),
                                  explain.compute_top_reasons(model, df, lang="zh"))
