"""Reason sentences: exact wording in English and Chinese, points, ordering, speed path."""

import numpy as np
import pandas as pd
import pytest

from churn_core import explain
from churn_core.errors import ChurnCoreError


def make_explanation(columns, values, contributions, margin=None, features=None, base_value=0.0):
    """An Explanation built by hand: base value 0 (base risk 50%) and, by default, each row's margin
    the base plus its contributions, so points are easy to check."""
    contributions = np.asarray(contributions, dtype=np.float32)
    n = contributions.shape[0]
    if margin is None:
        margins = base_value + contributions.sum(axis=1, dtype=np.float64)
    else:
        margins = np.full(n, margin, dtype=np.float64)
    return explain.Explanation(
        customer_ids=np.array([f"C{i}" for i in range(n)], dtype=object),
        index=pd.RangeIndex(n),
        columns=tuple(columns),
        features=tuple(features or columns),
        contributions=contributions,
        values=pd.DataFrame(values, columns=list(columns)),
        base_value=float(base_value),
        margin=margins,
        proba=1 / (1 + np.exp(-margins)),
    )


def reasons(columns, values, contributions, lang="en", k=1, include_protected=True, **kw):
    """Reasons of a hand-made explanation (protected columns allowed: these tests are about words)."""
    expl = make_explanation(columns, values, contributions, **kw)
    frame = pd.DataFrame(index=range(len(values)))
    return explain.compute_top_reasons(None, frame, k=k, lang=lang, explanation=expl,
                                       include_protected=include_protected)


# (column, value, contribution, English, Chinese). Base 50%, one driver: c=0.5 -> risk 62.2%, 12
# points; c=0.2 -> 55.0%, 5 points.
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
                                       explanation=expl, min_points=0, include_protected=True)


@pytest.mark.parametrize("contribution,english,chinese", [
    (0.03, "Age 52 raises the risk by 1 point", "年龄52岁，流失风险上升1个百分点"),
    (0.01, "Age 52 raises the risk by less than 1 point", "年龄52岁，流失风险上升不到1个百分点"),
])
def test_small_points_when_every_raising_driver_is_kept(contribution, english, chinese):
    assert reasons_all(["age"], [[52]], [[contribution]], "en").iloc[0, 0] == english
    assert reasons_all(["age"], [[52]], [[contribution]], "zh").iloc[0, 0] == chinese


def test_drivers_after_the_first_under_half_a_point_are_not_reasons():
    # move 0.04 log-odds from 50%: 1.00 point, shared 0.021 : 0.019 -> 0.52 (kept) and 0.47 (dropped)
    out = reasons(["tenure_months", "Balance"], [[6, 100.0]], [[0.021, 0.019]], k=2)
    assert out.iloc[0].tolist() == ["Customer for 6 months raises the risk by 1 point", ""]


def test_the_first_reason_is_kept_however_small():
    out = reasons(["tenure_months", "Balance"], [[6, 100.0]], [[0.004, 0.004]], k=2)
    assert out.iloc[0].tolist() == ["Customer for 6 months raises the risk by less than 1 point", ""]


def test_points_share_the_move_from_the_base_risk():
    # margin 1.0 (73.1%) from base 0 (50%): 23.106 points shared 0.8 : 0.2
    pts = explain.points_from_contributions(np.array([1.0]), np.array([[0.8, 0.2]]))
    assert pts[0].tolist() == pytest.approx([18.4847, 4.6212], abs=1e-4)
    assert pts.sum() == pytest.approx(100 / (1 + np.exp(-1.0)) - 50, abs=1e-12)


def test_saturated_customer_gets_its_whole_move_not_the_leftover():
    # base 20% (margin -1.386), customer 99.8%: removing one driver would barely move the risk, but
    # the drivers share the 79.8 points of the customer's move in proportion to their log-odds
    base = float(np.log(0.2 / 0.8))
    c = np.array([[3.2, 2.5, 0.0]])
    margin = float(np.log(0.998 / 0.002))
    c[0, 2] = margin - base - c[0, :2].sum()  # 1.899
    expl = make_explanation(["NumOfProducts", "IsActiveMember", "Balance"], [[4, 0, 0.0]], c,
                            base_value=base)
    assert 100 * expl.base_risk == pytest.approx(20.0)
    assert 100 * expl.proba[0] == pytest.approx(99.8)
    pts = expl.points()[0]
    assert abs(pts.sum() - (100 * expl.proba[0] - 100 * expl.base_risk)) < 1e-9
    assert pts.round(1).tolist() == [33.6, 26.3, 19.9]
    # "risk without this driver" would have said 4 points for NumOfProducts
    without = 100 * (expl.proba[0] - 1 / (1 + np.exp(-(margin - c[0, 0]))))
    assert round(without) == 4
    out = explain.compute_top_reasons(None, pd.DataFrame(index=[0]), k=3, explanation=expl)
    assert out.iloc[0].tolist() == ["Holds 4 products raises the risk by 34 points",
                                    "Inactive member raises the risk by 26 points",
                                    "Balance = 0 raises the risk by 20 points"]


def test_top_three_raise_above_the_base_and_protect_below_it():
    cols = ["tenure_months", "complaints_12m", "satisfaction", "num_products"]
    contributions = [[0.2, 0.5, -0.3, 0.03], [-0.1, -0.2, 0.2, -0.4]]
    out = reasons(cols, [[30, 2, 1, 1], [40, 0, 5, 3]], contributions, k=3)
    assert list(out.columns) == ["reason_1", "reason_2", "reason_3"]
    # row 0: 0.43 log-odds above the base -> 10.59 points, 24.6 points per log-odds unit
    assert out.iloc[0].tolist() == [
        "2 complaints in the last 12 months raises the risk by 12 points",
        "Customer for 30 months raises the risk by 5 points",
        "Holds only 1 product raises the risk by 1 point",
    ]
    # row 1: 0.5 below the base -> -12.25 points: what protects the customer
    assert out.iloc[1].tolist() == [
        "Holds 3 products lowers the risk by 10 points",
        "0 complaints in the last 12 months lowers the risk by 5 points",
        "Customer for 40 months lowers the risk by 2 points",
    ]
    zh = reasons(cols, [[30, 2, 1, 1], [40, 0, 5, 3]], contributions, k=1, lang="zh")
    assert zh["reason_1"].tolist() == ["近12个月投诉2次，流失风险上升12个百分点",
                                       "持有3个产品，流失风险下降10个百分点"]


def test_active_member_protects():
    out = reasons(["IsActiveMember"], [[1]], [[-0.35]], k=1)
    assert out.iloc[0, 0] == "Active member lowers the risk by 9 points"
    assert reasons(["IsActiveMember"], [[1]], [[-0.35]], lang="zh").iloc[0, 0] == "活跃客户，流失风险下降9个百分点"
    assert reasons(["IsActiveMember"], [[1]], [[-0.01]]).iloc[0, 0] == (
        "Active member lowers the risk by less than 1 point")


def test_a_customer_at_the_base_risk_has_no_reason():
    out = reasons(["IsActiveMember", "Balance"], [[1, 5.0]], [[0.3, -0.3]], k=2)
    assert out.iloc[0].tolist() == ["", ""]


@pytest.mark.parametrize("column", ["Age", "age", "Gender", "gender", "Marital_Status", "年龄", "性别"])
def test_protected_attributes_are_not_reasons_by_default(column):
    cols = [column, "complaints_12m"]
    out = reasons(cols, [["x", 2]], [[0.9, 0.1]], k=2, include_protected=False)
    assert out.iloc[0].tolist() == ["2 complaints in the last 12 months raises the risk by 2 points", ""]
    assert explain.protected_columns(cols) == [column]


def test_protected_attributes_can_be_included():
    out = reasons(["Age", "complaints_12m"], [[61, 2]], [[0.9, 0.1]], k=2, include_protected=True)
    # 1.0 log-odds above the base (50% -> 73.1%): 23.1 points shared 0.9 : 0.1
    assert out.iloc[0].tolist() == ["Age 61 raises the risk by 21 points",
                                    "2 complaints in the last 12 months raises the risk by 2 points"]


def test_protected_flags_come_from_the_column_meanings():
    from churn_core.data.meanings import detect_meanings

    df = pd.DataFrame({"Age": [30, 40], "complaints_12m": [0, 2]})
    meanings = detect_meanings(df)
    assert explain.protected_columns(["Age", "complaints_12m"], meanings) == ["Age"]
    corrected = meanings.with_flags("Age", protected=False).with_flags("complaints_12m", protected=True)
    assert explain.protected_columns(["Age", "complaints_12m"], corrected) == ["complaints_12m"]
    expl = make_explanation(["Age", "complaints_12m"], [[61, 2]], [[0.9, 0.1]])
    out = explain.compute_top_reasons(None, pd.DataFrame(index=[0]), k=2, explanation=expl,
                                      meanings=corrected)
    assert out.iloc[0].tolist() == ["Age 61 raises the risk by 21 points", ""]


def test_actionable_only_skips_fixed_drivers():
    cols = ["age", "region", "fees_paid_12m"]
    c = [[0.5, 0.4, 0.2]]
    assert reasons(cols, [[30, "Beijing", 800]], c, k=2).iloc[0].tolist() == [
        "Age 30 raises the risk by 11 points", "region = Beijing raises the risk by 9 points"]
    assert reasons(cols, [[30, "Beijing", 800]], c, k=2, include_protected=False).iloc[0].tolist() == [
        "region = Beijing raises the risk by 9 points",
        "Fees of 800 paid in 12 months raises the risk by 5 points"]
    expl = make_explanation(cols, [[30, "Beijing", 800]], c)
    only = explain.compute_top_reasons(None, pd.DataFrame(index=[0]), k=2, explanation=expl,
                                       actionable_only=True)
    assert only.iloc[0].tolist() == ["Fees of 800 paid in 12 months raises the risk by 5 points", ""]


def test_details_give_driver_and_signed_points():
    expl = make_explanation(["tenure_months", "complaints_12m", "IsActiveMember"], [[30, 2, 1], [30, 0, 1]],
                            [[0.2, 0.5, -0.1], [0.1, -0.2, -0.4]])
    out = explain.compute_top_reasons(None, pd.DataFrame(index=[7, 8]), k=3, explanation=expl,
                                      with_details=True)
    assert out.index.tolist() == [7, 8]
    assert out.loc[7, ["driver_1", "driver_2", "driver_3"]].tolist() == ["complaints_12m", "tenure_months", ""]
    # row 7: 0.6 log-odds above the base (50% -> 64.57%): 14.57 points, shared 0.5 : 0.2 : -0.1
    assert out.loc[7, ["points_1", "points_2"]].round(2).tolist() == [12.14, 4.86]
    assert np.isnan(out.loc[7, "points_3"])
    # below the base: negative points, like the sentence ("lowers")
    assert out.loc[8, ["driver_1", "driver_2"]].tolist() == ["IsActiveMember", "complaints_12m"]
    # row 8: 0.5 below the base (37.75%): -12.25 points, shared 0.1 : -0.2 : -0.4
    assert out.loc[8, ["points_1", "points_2"]].round(2).tolist() == [-9.8, -4.9]
    assert out.loc[8, "reason_1"] == "Active member lowers the risk by 10 points"


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


def test_sentence_number_is_the_exported_points_rounded_half_up():
    """Exports show points at 2 decimals; the sentence rounds that number half up."""
    expl = make_explanation(["Balance"], [[0.0]] * 5, [[0.1]] * 5)
    idx = np.zeros((5, 1), dtype=np.int16)
    pts = np.array([[1.4996], [2.5], [0.494], [-1.5], [-0.5]])
    assert explain.format_reasons(expl, idx, pts)[0].tolist() == [
        "Balance = 0 raises the risk by 2 points",
        "Balance = 0 raises the risk by 3 points",
        "Balance = 0 raises the risk by less than 1 point",
        "Balance = 0 lowers the risk by 2 points",
        "Balance = 0 lowers the risk by 1 point",
    ]


def test_a_customer_within_float_noise_of_the_base_still_adds_up():
    # contributions cancel exactly but the margin is a hair above the base: the slope of the risk
    # curve (25 points per log-odds unit at 50%) prices the drivers, the sum stays the tiny move
    expl = make_explanation(["complaints_12m", "IsActiveMember"], [[2, 1]], [[0.3, -0.3]], margin=1e-9)
    pts = expl.points()[0]
    assert pts.round(6).tolist() == [7.5, -7.5]
    assert abs(pts.sum() - expl.risk_move[0]) < 1e-12
    assert expl.risk_move[0] == pytest.approx(2.5e-8)
