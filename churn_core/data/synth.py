"""Deterministic sample data for Retention Studio, with planted ground truth.

``python -m churn_core generate --rows N --seed S --out DIR`` writes

* ``customers.csv`` (UTF-8): one row per customer of a retail bank, columns as in
  ``docs/ARCHITECTURE.md``; ``churned`` is 1 when the customer left in the next quarter.
* ``customers_zh_gbk.csv`` (GBK): the same customers with Chinese headers and Chinese
  category values (性别 男/女, 地区 北京..., label ``是否流失`` = 是/否).
* ``campaign.csv``: a past randomised retention campaign on a subset of the customers,
  ``customer_id, arm, churned`` with ``arm`` in ``control`` + the five campaign offers.
* ``ground_truth.json``: the planted driver weights and importances, the offers' true effects.

Same ``rows`` and ``seed`` give byte-identical files.

Causal model of churn (no offer)
--------------------------------
P(churn next quarter | x) = sigmoid(logit(x)) with a logit that is ADDITIVE in single columns::

    logit(x) = INTERCEPT + sum_j WEIGHTS[j] * g_j(x_j)

=========================  ====================================================  =========
column                     g_j(x)  (a fixed transformation, see ``_TRANSFORMS``)  story
=========================  ====================================================  =========
balance_change_3m_pct      -clip(x, -100, 50) / 10     money flowing out          fund outflow
txn_this_quarter           -log(1 + x)                 activity this quarter      activity decline
complaints_12m             min(x, 5)                   complaints in 12 months    service failures
num_products               -x                          products held (1-5)        few products
digital_logins_90d         -log(1 + x)                 digital engagement         disengagement
satisfaction               3 - x                       survey score 1-5           dissatisfaction
fees_paid_12m              log(1 + x / 100)            fees paid in 12 months     fee irritation
tenure_months              -log(1 + x)                 months with the bank       young tenure
rate_sensitivity           low 0, medium 0.5, high 1   shops for rates            rate shopping
=========================  ====================================================  =========

Every other column (age, gender, region, occupation, income band, assets, balance, snapshot
date, value tier, product flags other than through ``num_products``, ``txn_last_quarter``,
relationship manager) has NO direct effect: it only correlates with the drivers (e.g. older
customers have longer tenure and fewer digital logins). ``txn_last_quarter`` matters only
through ``txn_this_quarter``: given this quarter's transactions, last quarter's count carries no
extra risk, so "activity decline" is carried by ``txn_this_quarter``.

The planted importance of a driver is the standard deviation of its logit contribution
``WEIGHTS[j] * g_j(x_j)`` over the generated customers; ``top_drivers`` sorts by it. The label
is a Bernoulli draw from the probability (that draw is the only noise), so
:func:`true_churn_probability` is exact.

Offers (the past campaign)
--------------------------
Being offered ``o`` adds ``delta_o(x) <= 0`` to the logit (intent to treat):

* ``fee_waiver``: -1.8 for high fee payers (``fees_paid_12m >= 600``), -0.1 otherwise.
* ``rate_bonus``: -2.2 for rate-sensitive high balances (``rate_sensitivity == "high"`` and
  ``balance >= 50,000``), -0.5 for other ``high``, -0.2 for ``medium``, 0 for ``low``.
* ``loyalty_points``: -0.35 for everyone (modest everywhere).
* ``rm_call``: -1.8 for customers with complaints (``complaints_12m >= 1``), -0.1 otherwise.
* ``cross_sell``: -1.6 for customers with few products (``num_products <= 2``), 0 otherwise.
* ``win_back`` (not in the campaign; for the simulator): -0.1 for everyone.

The campaign takes a random subset (60% of the customers, rounded down to a multiple of 6),
splits it into six equal arms by blocked randomisation (blocks of six similar customers, each
block a random permutation of the arms) and draws ``churned`` from the probability under the arm.
It is a separate draw from ``customers.csv``'s label (another quarter). ``ground_truth.json``
records for each offer the exact ``ate`` = mean over that arm's customers of
P(churn | offer) - P(churn | no offer) (negative = the offer cuts churn).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError

__all__ = [
    "CAMPAIGN_OFFERS",
    "COLUMNS",
    "INTERCEPT",
    "OFFERS",
    "WEIGHTS",
    "ZH_COLUMNS",
    "churn_logit_contributions",
    "generate",
    "offer_logit_effect",
    "responsive_mask",
    "simulate_plan_outcome",
    "true_churn_probability",
    "write_sample",
]

COLUMNS = [
    "customer_id", "snapshot_date", "age", "gender", "region", "occupation", "income_band",
    "tenure_months", "has_deposit", "has_wealth", "has_loan", "has_credit_card",
    "has_mobile_banking", "num_products", "total_assets", "balance", "balance_change_3m_pct",
    "txn_this_quarter", "txn_last_quarter", "digital_logins_90d", "complaints_12m",
    "satisfaction", "rate_sensitivity", "fees_paid_12m", "value_tier",
    "has_relationship_manager", "churned",
]

ZH_COLUMNS = {
    "customer_id": "客户编号", "snapshot_date": "快照日期", "age": "年龄", "gender": "性别",
    "region": "地区", "occupation": "职业", "income_band": "月收入", "tenure_months": "开户月数",
    "has_deposit": "持有存款", "has_wealth": "持有理财", "has_loan": "持有贷款",
    "has_credit_card": "持有信用卡", "has_mobile_banking": "开通手机银行",
    "num_products": "产品数", "total_assets": "总资产", "balance": "账户余额",
    "balance_change_3m_pct": "近3月余额变化率", "txn_this_quarter": "本季交易笔数",
    "txn_last_quarter": "上季交易笔数", "digital_logins_90d": "近90天线上登录次数",
    "complaints_12m": "近12月投诉次数", "satisfaction": "满意度",
    "rate_sensitivity": "利率敏感度", "fees_paid_12m": "近12月手续费", "value_tier": "客户等级",
    "has_relationship_manager": "配备客户经理", "churned": "是否流失",
}

SNAPSHOT_DATES = ["2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31"]
REGIONS = {
    "Beijing": "北京", "Shanghai": "上海", "Guangdong": "广东", "Zhejiang": "浙江",
    "Jiangsu": "江苏", "Shandong": "山东", "Sichuan": "四川", "Hubei": "湖北",
    "Henan": "河南", "Fujian": "福建",
}
REGION_WEIGHTS = [0.12, 0.12, 0.15, 0.11, 0.11, 0.10, 0.08, 0.07, 0.07, 0.07]
OCCUPATIONS = {
    "Employee": "企业职员", "Civil servant": "公务员", "Professional": "专业人士",
    "Self-employed": "个体经营", "Business owner": "企业主", "Retired": "退休", "Student": "学生",
}
INCOME_BANDS = {
    "<5k": "5千以下", "5k-10k": "5千-1万", "10k-20k": "1万-2万", "20k-50k": "2万-5万",
    "50k+": "5万以上",
}
GENDERS = {"Male": "男", "Female": "女"}
RATE_SENSITIVITY = {"low": "低", "medium": "中", "high": "高"}
VALUE_TIERS = {"mass": "大众", "affluent": "富裕", "private": "私行"}
CHURN_ZH = {1: "是", 0: "否"}

# ---- the causal model -------------------------------------------------------------------
INTERCEPT = 1.9
WEIGHTS = {
    "balance_change_3m_pct": 0.36,
    "txn_this_quarter": 0.9,
    "complaints_12m": 0.82,
    "num_products": 0.47,
    "digital_logins_90d": 0.37,
    "satisfaction": 0.31,
    "fees_paid_12m": 0.38,
    "tenure_months": 0.16,
    "rate_sensitivity": 0.36,
}
_RATE_CODE = {"low": 0.0, "medium": 0.5, "high": 1.0}


def _g_balance(x):
    return -np.clip(x, -100.0, 50.0) / 10.0


def _g_txn(x):
    return -np.log1p(np.clip(x, 0, None))


def _g_complaints(x):
    return np.minimum(np.clip(x, 0, None), 5.0)


def _g_products(x):
    return -x


def _g_logins(x):
    return -np.log1p(np.clip(x, 0, None))


def _g_satisfaction(x):
    return 3.0 - x


def _g_fees(x):
    return np.log1p(np.clip(x, 0, None) / 100.0)


def _g_tenure(x):
    return -np.log1p(np.clip(x, 0, None))


_TRANSFORMS = {
    "balance_change_3m_pct": _g_balance,
    "txn_this_quarter": _g_txn,
    "complaints_12m": _g_complaints,
    "num_products": _g_products,
    "digital_logins_90d": _g_logins,
    "satisfaction": _g_satisfaction,
    "fees_paid_12m": _g_fees,
    "tenure_months": _g_tenure,
}

CAMPAIGN_OFFERS = ["fee_waiver", "rate_bonus", "loyalty_points", "rm_call", "cross_sell"]
OFFERS = CAMPAIGN_OFFERS + ["win_back"]

# Who responds to which offer: (type name, rule text, logit change); evaluated in order.
_OFFER_TYPES = {
    "fee_waiver": [
        ("high_fee_payers", "fees_paid_12m >= 600", -1.8),
        ("others", "fees_paid_12m < 600", -0.1),
    ],
    "rate_bonus": [
        ("rate_sensitive_high_balance", "rate_sensitivity == 'high' and balance >= 50000", -2.2),
        ("rate_sensitive_low_balance", "rate_sensitivity == 'high' and balance < 50000", -0.5),
        ("medium_sensitivity", "rate_sensitivity == 'medium'", -0.2),
        ("low_sensitivity", "rate_sensitivity == 'low'", 0.0),
    ],
    "loyalty_points": [
        ("everyone", "all customers", -0.35),
    ],
    "rm_call": [
        ("with_complaints", "complaints_12m >= 1", -1.8),
        ("no_complaints", "complaints_12m == 0", -0.1),
    ],
    "cross_sell": [
        ("one_or_two_products", "num_products <= 2", -1.6),
        ("three_plus_products", "num_products >= 3", 0.0),
    ],
    "win_back": [
        ("everyone", "all customers", -0.1),
    ],
}
_RESPONSIVE_RULES = {
    "fee_waiver": "high fee payers: fees_paid_12m >= 600 (logit -1.8; others -0.1)",
    "rate_bonus": ("rate-sensitive high balances: rate_sensitivity == 'high' and balance >= 50000 "
                   "(logit -2.2; other high -0.5, medium -0.2, low 0)"),
    "loyalty_points": "modest for everyone (logit -0.35)",
    "rm_call": "customers with complaints: complaints_12m >= 1 (logit -1.8; others -0.1)",
    "cross_sell": "customers with one or two products: num_products <= 2 (logit -1.6; others 0)",
    "win_back": "small effect for everyone (logit -0.1); not part of the campaign",
}
_DESCRIPTIONS = {
    "fee_waiver": "Waive account and card fees for a year; helps customers who pay high fees.",
    "rate_bonus": "Deposit rate bonus; helps rate-sensitive customers with high balances.",
    "loyalty_points": "Loyalty points; a modest effect on everyone.",
    "rm_call": "Call from a relationship manager; helps customers who complained.",
    "cross_sell": "Cross-sell another product; helps customers holding one or two products.",
    "win_back": "Win-back contact; a small effect on everyone.",
}

_ZH_MAPS = {
    "gender": GENDERS, "region": REGIONS, "occupation": OCCUPATIONS,
    "income_band": INCOME_BANDS, "rate_sensitivity": RATE_SENSITIVITY,
    "value_tier": VALUE_TIERS,
}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---- input handling ---------------------------------------------------------------------
_MODEL_COLUMNS = list(_TRANSFORMS) + ["rate_sensitivity", "balance"]


def _to_english(customers):
    """Accept the English table or the Chinese-header version; return English names/values."""
    if not isinstance(customers, pd.DataFrame):
        raise ChurnCoreError("synth.not_a_table", "Pass the customers as a pandas DataFrame.")
    reverse = {zh: en for en, zh in ZH_COLUMNS.items()}
    if any(c in reverse for c in customers.columns) and "rate_sensitivity" not in customers:
        customers = customers.rename(columns=reverse)
        rs = customers.get("rate_sensitivity")
        if rs is not None:
            back = {zh: en for en, zh in RATE_SENSITIVITY.items()}
            customers = customers.assign(rate_sensitivity=rs.map(lambda v: back.get(v, v)))
    missing = [c for c in _MODEL_COLUMNS if c not in customers.columns]
    if missing:
        raise ChurnCoreError(
            "synth.missing_columns",
            "The customers table lacks the columns of the sample's causal model: "
            + ", ".join(missing) + ".",
            columns=", ".join(missing),
        )
    return customers


def _numeric(customers, column):
    values = pd.to_numeric(customers[column], errors="coerce").to_numpy(dtype=float)
    return np.nan_to_num(values, nan=0.0)


def _rate_code(customers):
    rs = customers["rate_sensitivity"].astype("string").str.strip().str.lower()
    return rs.map(_RATE_CODE).astype("Float64").fillna(0.0).to_numpy(dtype=float)


def churn_logit_contributions(customers):
    """Each driver's planted logit contribution ``WEIGHTS[j] * g_j(x_j)``.

    Parameters
    ----------
    customers : DataFrame
        The sample's customers (English or Chinese headers).

    Returns
    -------
    DataFrame
        One column per driver, index aligned with ``customers``.
    """
    customers = _to_english(customers)
    out = {}
    for column, transform in _TRANSFORMS.items():
        out[column] = WEIGHTS[column] * transform(_numeric(customers, column))
    out["rate_sensitivity"] = WEIGHTS["rate_sensitivity"] * _rate_code(customers)
    return pd.DataFrame(out, index=customers.index)[list(WEIGHTS)]


def _type_masks(customers, offer):
    """Boolean masks, one per customer type of ``offer`` (in the order of ``_OFFER_TYPES``)."""
    n = len(customers)
    if offer == "fee_waiver":
        high = _numeric(customers, "fees_paid_12m") >= 600
        return [high, ~high]
    if offer == "rate_bonus":
        rs = _rate_code(customers)
        big = _numeric(customers, "balance") >= 50000
        return [(rs == 1.0) & big, (rs == 1.0) & ~big, rs == 0.5, rs == 0.0]
    if offer in ("loyalty_points", "win_back"):
        return [np.ones(n, dtype=bool)]
    if offer == "rm_call":
        comp = _numeric(customers, "complaints_12m") >= 1
        return [comp, ~comp]
    if offer == "cross_sell":
        k = _numeric(customers, "num_products")
        few = k <= 2
        return [few, ~few]
    raise ChurnCoreError(
        "synth.unknown_offer", f"Unknown offer {offer!r}; use one of: " + ", ".join(OFFERS) + ".",
        offer=str(offer),
    )


def offer_logit_effect(customers, offer):
    """The planted change of the churn logit when ``offer`` is made (0 for ``None``)."""
    customers = _to_english(customers)
    delta = np.zeros(len(customers))
    if offer is None:
        return delta
    for mask, (_, _, d) in zip(_type_masks(customers, offer), _OFFER_TYPES[offer]):
        delta[mask] = d
    return delta


def responsive_mask(customers, offer):
    """True for the customers the generator made responsive to ``offer`` (its first type)."""
    customers = _to_english(customers)
    return np.asarray(_type_masks(customers, offer)[0], dtype=bool)


def true_churn_probability(customers, offer=None):
    """P(churn next quarter) under no offer (``offer=None``) or under being offered ``offer``.

    Parameters
    ----------
    customers : DataFrame
        Customers with the sample's columns (English, or the Chinese-header GBK version).
    offer : str or None
        One of ``OFFERS`` (``win_back`` has a small effect: logit -0.1 for everyone).

    Returns
    -------
    numpy.ndarray of float, one per row.
    """
    customers = _to_english(customers)
    logit = INTERCEPT + churn_logit_contributions(customers).sum(axis=1).to_numpy()
    return _sigmoid(logit + offer_logit_effect(customers, offer))


def simulate_plan_outcome(customers, offers_per_customer, seed):
    """Play a retention plan against the true model with common random numbers.

    Each customer gets one uniform draw ``u``; they churn without the plan when
    ``u < P(churn)`` and with it when ``u < P(churn | their offer)``.

    Parameters
    ----------
    customers : DataFrame
    offers_per_customer : Series or array-like
        Offer code or None/NaN/"" (no offer) per row of ``customers`` (positional).
    seed : int

    Returns
    -------
    dict with ``saved`` (churn without the plan, not with it), ``churned_without``,
    ``churned_with`` (ints).
    """
    customers = _to_english(customers)
    offers = pd.Series(list(offers_per_customer), dtype=object)
    if len(offers) != len(customers):
        raise ChurnCoreError(
            "synth.plan_length",
            f"The plan has {len(offers)} offers for {len(customers)} customers; give one per row.",
            offers=len(offers), customers=len(customers),
        )
    offers = offers.where(offers.notna() & (offers.astype(str) != ""), None)
    p0 = true_churn_probability(customers)
    p1 = p0.copy()
    codes = offers.to_numpy()
    for code in pd.unique(offers.dropna()):
        mask = codes == code
        p1[mask] = true_churn_probability(customers.loc[mask], code)
    u = np.random.default_rng(seed).random(len(customers))
    without = u < p0
    with_plan = u < p1
    return {
        "saved": int((without & ~with_plan).sum()),
        "churned_without": int(without.sum()),
        "churned_with": int(with_plan.sum()),
    }


# ---- generation -------------------------------------------------------------------------
def _customers(rows, rng):
    n = rows
    age = np.clip(np.rint(rng.normal(41, 13, n)), 18, 80).astype(int)
    gender = rng.choice(["Male", "Female"], n)
    region = rng.choice(list(REGIONS), n, p=REGION_WEIGHTS)

    occ_names = list(OCCUPATIONS)
    working = rng.choice(occ_names[:5], n, p=[0.45, 0.10, 0.17, 0.18, 0.10])
    u = rng.random(n)
    occupation = np.where((age < 23) & (u < 0.65), "Student",
                          np.where((age >= 60) & (u < 0.75), "Retired", working))
    occ_bonus = pd.Series(occupation).map({
        "Employee": 0.0, "Civil servant": 0.2, "Professional": 0.6, "Self-employed": 0.1,
        "Business owner": 1.0, "Retired": -0.4, "Student": -1.5}).to_numpy()
    z_inc = rng.normal(0, 1, n) + occ_bonus - 0.0012 * (age - 45) ** 2 + 0.3
    income_band = np.select(
        [z_inc < -0.8, z_inc < 0.2, z_inc < 1.0, z_inc < 1.8], list(INCOME_BANDS)[:4], "50k+")

    max_tenure = (age - 18) * 12 + 6
    tenure = np.clip(np.rint(max_tenure * rng.beta(1.4, 3.0, n)), 1, 360).astype(int)

    def flag(p):
        return (rng.random(n) < p).astype(int)

    has_deposit = flag(np.full(n, 0.9))
    has_wealth = flag(_sigmoid(-1.3 + 0.8 * z_inc + 0.006 * tenure))
    has_loan = flag(_sigmoid(-1.0 + 0.3 * z_inc - 0.03 * (age - 40) + 0.003 * tenure))
    has_credit_card = flag(_sigmoid(-0.2 + 0.4 * z_inc - 0.03 * (age - 35) + 0.005 * tenure))
    has_mobile = flag(_sigmoid(1.8 - 0.06 * (age - 35) + 0.004 * tenure))
    num_products = has_deposit + has_wealth + has_loan + has_credit_card + has_mobile
    none = num_products == 0
    has_deposit[none] = 1
    num_products = has_deposit + has_wealth + has_loan + has_credit_card + has_mobile

    log_assets = (11.2 + 0.7 * z_inc + 0.012 * (age - 40) + 0.002 * tenure + 0.5 * has_wealth
                  + rng.normal(0, 1.0, n))
    total_assets = np.round(np.exp(log_assets), 2)
    share = np.where(has_wealth == 1, rng.beta(2, 4, n), rng.beta(4, 2, n))
    balance = np.round(total_assets * share, 2)
    value_tier = np.select([total_assets >= 6_000_000, total_assets >= 500_000],
                           ["private", "affluent"], "mass")
    rm = np.where(value_tier == "private", 1,
                  np.where(value_tier == "affluent", flag(np.full(n, 0.7)), flag(np.full(n, 0.04))))

    rate_p = np.where(has_wealth[:, None] == 1, [0.2, 0.4, 0.4], [0.35, 0.4, 0.25])
    cum = rate_p.cumsum(axis=1)
    ur = rng.random(n)
    rate_sensitivity = np.array(["low", "medium", "high"])[(ur[:, None] > cum).sum(axis=1)]

    outflow = rng.random(n) < np.where(rate_sensitivity == "high", 0.24, 0.14)
    change = np.where(outflow, -rng.uniform(10, 95, n), rng.normal(1.5, 9, n))
    balance_change = np.round(np.clip(change, -100, 200), 2)

    lam_last = np.exp(2.6 + 0.18 * (num_products - 2) + 0.35 * has_mobile - 0.006 * (age - 40)
                      + rng.normal(0, 0.35, n))
    txn_last = rng.poisson(lam_last)
    decline = rng.random(n) < np.where(outflow, 0.45, 0.15)
    ratio = np.where(decline, rng.uniform(0.05, 0.7, n), rng.lognormal(0.0, 0.18, n))
    txn_this = rng.poisson(txn_last * ratio)

    lam_login = np.where(has_mobile == 1,
                         np.exp(3.0 - 0.02 * (age - 35) + rng.normal(0, 0.7, n)), 1.5)
    logins = rng.poisson(lam_login)

    complaints = np.minimum(rng.poisson(0.28 * rng.lognormal(0, 0.8, n)), 8)
    satisfaction = np.clip(np.rint(4.0 - 0.7 * complaints + rng.normal(0, 0.9, n)), 1, 5)
    satisfaction = satisfaction.astype(int)

    fees = rng.gamma(2.0, 140.0, n) * (1 + 0.8 * has_credit_card + 0.5 * has_loan)
    fees = np.round(fees * np.where(value_tier == "mass", 1.2, 0.7), 2)

    snapshot = rng.choice(SNAPSHOT_DATES, n)
    df = pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in range(1, n + 1)],
        "snapshot_date": snapshot,
        "age": age, "gender": gender, "region": region, "occupation": occupation,
        "income_band": income_band, "tenure_months": tenure,
        "has_deposit": has_deposit, "has_wealth": has_wealth, "has_loan": has_loan,
        "has_credit_card": has_credit_card, "has_mobile_banking": has_mobile,
        "num_products": num_products, "total_assets": total_assets, "balance": balance,
        "balance_change_3m_pct": balance_change, "txn_this_quarter": txn_this,
        "txn_last_quarter": txn_last, "digital_logins_90d": logins,
        "complaints_12m": complaints, "satisfaction": satisfaction,
        "rate_sensitivity": rate_sensitivity, "fees_paid_12m": fees,
        "value_tier": value_tier, "has_relationship_manager": rm,
    })
    p = true_churn_probability(df)
    df["churned"] = (rng.random(n) < p).astype(int)
    return df[COLUMNS]


def _campaign(customers, rng):
    arms = np.array(["control"] + CAMPAIGN_OFFERS)
    k = len(arms)
    size = (int(len(customers) * 0.6) // k) * k
    picked = np.sort(rng.choice(len(customers), size, replace=False))
    # Blocked randomisation, as banks run campaigns: sort the picked customers by segment
    # (value tier, rate sensitivity, products, complaints, then 3-month balance change) and give
    # each consecutive block of six a random permutation of the six arms.
    key = customers.iloc[picked]
    order = np.lexsort((
        key["balance_change_3m_pct"].to_numpy(),
        np.minimum(key["complaints_12m"].to_numpy(), 2),
        key["num_products"].to_numpy(),
        key["rate_sensitivity"].map(_RATE_CODE).to_numpy(),
        key["value_tier"].map({"mass": 0, "affluent": 1, "private": 2}).to_numpy(),
    ))
    arm = np.empty(size, dtype=object)
    for start in range(0, size, k):
        arm[order[start:start + k]] = rng.permutation(arms)
    arm = arm.astype(str)
    sub = customers.iloc[picked]
    p = np.empty(size)
    for a in arms:
        mask = arm == a
        p[mask] = true_churn_probability(sub.iloc[mask], None if a == "control" else a)
    churned = (rng.random(size) < p).astype(int)
    campaign = pd.DataFrame({"customer_id": sub["customer_id"].to_numpy(), "arm": arm,
                             "churned": churned})
    return campaign


def _r(x, k=6):
    return float(round(float(x), k))


def _ground_truth(customers, campaign):
    contrib = churn_logit_contributions(customers)
    importance = {c: _r(contrib[c].std(ddof=0)) for c in contrib}
    drivers = {c: {"weight": WEIGHTS[c], "importance": importance[c]} for c in WEIGHTS}
    zero = ["age", "gender", "region", "occupation", "income_band", "snapshot_date",
            "total_assets", "balance", "value_tier", "has_relationship_manager",
            "txn_last_quarter", "has_deposit", "has_wealth", "has_loan", "has_credit_card",
            "has_mobile_banking"]
    p0_all = true_churn_probability(customers)
    by_id = customers.set_index("customer_id")
    offers = {}
    for offer in OFFERS:
        diff_all = true_churn_probability(customers, offer) - p0_all
        types = {}
        for mask, (name, rule, delta) in zip(_type_masks(customers, offer), _OFFER_TYPES[offer]):
            types[name] = {
                "rule": rule, "logit_change": delta, "customers": int(mask.sum()),
                "share": _r(mask.mean()),
                "effect": _r(diff_all[mask].mean()) if mask.any() else 0.0,
            }
        entry = {
            "description": _DESCRIPTIONS[offer],
            "responsive_rule": _RESPONSIVE_RULES[offer],
            "effect_by_type": types,
            "ate_all_customers": _r(diff_all.mean()),
        }
        if offer in CAMPAIGN_OFFERS:
            ids = campaign.loc[campaign["arm"] == offer, "customer_id"]
            sub = by_id.loc[ids].reset_index()
            diff = true_churn_probability(sub, offer) - true_churn_probability(sub)
            entry["ate"] = _r(diff.mean())
            entry["campaign_customers"] = int(len(sub))
        else:
            entry["ate"] = None
            entry["in_campaign"] = False
        offers[offer] = entry
    arms = campaign.groupby("arm", sort=False)["churned"].agg(["size", "mean"])
    return {
        "model": "P(churn) = sigmoid(intercept + sum_j weight_j * g_j(x_j)); "
                 "see churn_core/data/synth.py for g_j",
        "intercept": INTERCEPT,
        "drivers": drivers,
        "top_drivers": sorted(importance, key=lambda c: -importance[c]),
        "zero_effect_columns": zero,
        "churn_rate": _r(customers["churned"].mean()),
        "mean_true_probability": _r(p0_all.mean()),
        "campaign": {
            "customers": int(len(campaign)),
            "arms": {a: {"customers": int(r["size"]), "churn_rate": _r(r["mean"])}
                     for a, r in arms.iterrows()},
            "outcome": "churned (1 = churned) in the quarter after the offer; "
                       "intent to treat: the effect of being offered",
        },
        "offers": offers,
    }


def _chinese(customers):
    zh = customers.copy()
    for column, mapping in _ZH_MAPS.items():
        zh[column] = zh[column].map(mapping)
    zh["churned"] = zh["churned"].map(CHURN_ZH)
    return zh.rename(columns=ZH_COLUMNS)


def generate(rows=20000, seed=42):
    """Generate the sample tables.

    Parameters
    ----------
    rows : int
        Number of customers (at least 60).
    seed : int

    Returns
    -------
    dict with ``customers``, ``customers_zh`` (Chinese headers/values), ``campaign``
    (DataFrames) and ``ground_truth`` (dict, JSON-ready).
    """
    try:
        rows = int(rows)
        seed = int(seed)
    except (TypeError, ValueError):
        raise ChurnCoreError("synth.bad_arguments", "rows and seed must be whole numbers.")
    if rows < 60:
        raise ChurnCoreError("synth.too_few_rows", "Generate at least 60 rows.", rows=rows)
    if seed < 0:
        raise ChurnCoreError("synth.bad_seed", "The seed must be 0 or a positive integer.",
                             seed=seed)
    rng = np.random.default_rng(seed)
    customers = _customers(rows, rng)
    campaign = _campaign(customers, rng)
    truth = _ground_truth(customers, campaign)
    truth["rows"] = rows
    truth["seed"] = seed
    return {"customers": customers, "customers_zh": _chinese(customers),
            "campaign": campaign, "ground_truth": truth}


def write_sample(out_dir, rows=20000, seed=42):
    """Write the four sample files into ``out_dir`` (created if needed); return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = generate(rows, seed)
    paths = {
        "customers": out / "customers.csv",
        "customers_zh_gbk": out / "customers_zh_gbk.csv",
        "campaign": out / "campaign.csv",
        "ground_truth": out / "ground_truth.json",
    }
    data["customers"].to_csv(paths["customers"], index=False, encoding="utf-8", lineterminator="\n")
    text = data["customers_zh"].to_csv(index=False, lineterminator="\n")
    paths["customers_zh_gbk"].write_bytes(text.encode("gbk"))
    data["campaign"].to_csv(paths["campaign"], index=False, lineterminator="\n")
    paths["ground_truth"].write_text(
        json.dumps(data["ground_truth"], ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return paths


# ----------------------------------------------------------------------------- credit-card churn

#: Columns of :func:`make_credit_card`, like the public "BankChurners" credit-card churn file.
CREDIT_CARD_COLUMNS = [
    "CLIENTNUM", "Attrition_Flag", "Customer_Age", "Gender", "Dependent_count", "Education_Level",
    "Marital_Status", "Income_Category", "Card_Category", "Months_on_book", "Total_Relationship_Count",
    "Months_Inactive_12_mon", "Contacts_Count_12_mon", "Credit_Limit", "Total_Revolving_Bal",
    "Avg_Open_To_Buy", "Total_Amt_Chng_Q4_Q1", "Total_Trans_Amt", "Total_Trans_Ct", "Total_Ct_Chng_Q4_Q1",
    "Avg_Utilization_Ratio",
]

#: Planted churn drivers of :func:`make_credit_card`: ``logit = CARD_INTERCEPT + sum w * g(x)``.
CARD_WEIGHTS = {
    "Months_Inactive_12_mon": 0.45,       # g = months inactive (0-6)
    "Contacts_Count_12_mon": 0.50,        # g = service contacts (0-6)
    "Total_Trans_Ct": 0.045,              # g = 65 - transactions (fewer transactions, more churn)
    "Total_Ct_Chng_Q4_Q1": 3.0,           # g = 0.7 - count change (a falling count, more churn)
    "Total_Revolving_Bal": 0.0012,        # g = 1200 - revolving balance (little revolving, more churn)
    "Total_Relationship_Count": 0.35,     # g = 4 - products held
}
CARD_INTERCEPT = -4.8


_CARD_G = {
    "Months_Inactive_12_mon": lambda x: x,
    "Contacts_Count_12_mon": lambda x: x,
    "Total_Trans_Ct": lambda x: 65.0 - x,
    "Total_Ct_Chng_Q4_Q1": lambda x: 0.7 - x,
    "Total_Revolving_Bal": lambda x: 1200.0 - x,
    "Total_Relationship_Count": lambda x: 4.0 - x,
}


def credit_card_churn_probability(frame):
    """The planted churn probability of :func:`make_credit_card` customers (its six driver columns)."""
    logit = CARD_INTERCEPT + sum(
        CARD_WEIGHTS[c] * _CARD_G[c](pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float))
        for c in CARD_WEIGHTS)
    return _sigmoid(logit)


def make_credit_card(rows=10_000, seed=7):
    """A deterministic credit-card churn table with BankChurners-like columns and planted drivers.

    ``Attrition_Flag`` is ``"Attrited Customer"`` (churned) or ``"Existing Customer"``. Churn
    follows ``sigmoid(CARD_INTERCEPT + sum CARD_WEIGHTS[c] * g_c)`` (see :data:`CARD_WEIGHTS`):
    inactive months, service contacts, few transactions, a falling transaction count, a low
    revolving balance and few products raise it; age, gender, education, marital status, income
    and card category have no direct effect. The money of a card is its revolving balance and its
    yearly transaction amount (``Total_Trans_Amt``); ``Credit_Limit`` is a limit, not income.

    Parameters
    ----------
    rows : int
    seed : int
        Same ``rows`` and ``seed`` give the same table.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CREDIT_CARD_COLUMNS`.
    """
    if int(rows) < 1:
        raise ChurnCoreError("synth.bad_rows", "rows must be at least 1.")
    n = int(rows)
    rng = np.random.default_rng(seed)
    age = np.clip(np.round(rng.normal(46, 8, n)), 26, 73).astype(int)
    gender = rng.choice(["F", "M"], n, p=[0.53, 0.47])
    dependents = rng.choice(np.arange(6), n, p=[0.09, 0.18, 0.26, 0.27, 0.15, 0.05])
    education = rng.choice(["Graduate", "High School", "Unknown", "Uneducated", "College", "Post-Graduate", "Doctorate"],
                           n, p=[0.31, 0.20, 0.15, 0.15, 0.10, 0.05, 0.04])
    marital = rng.choice(["Married", "Single", "Unknown", "Divorced"], n, p=[0.46, 0.39, 0.08, 0.07])
    income = rng.choice(["Less than $40K", "$40K - $60K", "$60K - $80K", "$80K - $120K", "$120K +", "Unknown"],
                        n, p=[0.35, 0.18, 0.14, 0.15, 0.07, 0.11])
    card = rng.choice(["Blue", "Silver", "Gold", "Platinum"], n, p=[0.93, 0.055, 0.012, 0.003])
    months_on_book = np.clip(np.round(age - 10 + rng.normal(0, 6, n) - 0.2 * (age - 46)), 13, 56).astype(int)
    relationship = rng.choice(np.arange(1, 7), n, p=[0.09, 0.12, 0.23, 0.19, 0.19, 0.18])
    inactive = rng.choice(np.arange(7), n, p=[0.01, 0.22, 0.32, 0.38, 0.04, 0.02, 0.01])
    contacts = rng.choice(np.arange(7), n, p=[0.04, 0.15, 0.32, 0.33, 0.13, 0.02, 0.01])
    limit_scale = {"Blue": 1.0, "Silver": 2.2, "Gold": 3.0, "Platinum": 3.5}
    income_scale = {"Less than $40K": 0.55, "$40K - $60K": 0.8, "$60K - $80K": 1.2, "$80K - $120K": 1.6,
                    "$120K +": 1.9, "Unknown": 1.0}
    limit = np.exp(rng.normal(8.6, 0.7, n)) * np.array([limit_scale[c] * income_scale[i] for c, i in zip(card, income)])
    limit = np.round(np.clip(limit, 1438.3, 34516.0), 1)
    revolving = np.where(rng.random(n) < 0.24, 0, np.round(rng.uniform(300, 2517, n))).astype(int)
    revolving = np.minimum(revolving, np.floor(limit)).astype(int)
    open_to_buy = np.round(limit - revolving, 1)
    trans_ct = np.clip(np.round(rng.normal(66, 22, n) - 2.0 * (relationship - 3.8)), 10, 139).astype(int)
    trans_amt = np.clip(np.round(trans_ct * rng.normal(62, 14, n) + rng.normal(0, 400, n)), 510, 18484).astype(int)
    ct_change = np.round(np.clip(rng.normal(0.71, 0.22, n), 0.0, 3.7), 3)
    amt_change = np.round(np.clip(0.55 * ct_change + rng.normal(0.37, 0.18, n), 0.0, 3.4), 3)
    utilisation = np.round(revolving / limit, 3)
    drivers = pd.DataFrame({"Months_Inactive_12_mon": inactive, "Contacts_Count_12_mon": contacts,
                            "Total_Trans_Ct": trans_ct, "Total_Ct_Chng_Q4_Q1": ct_change,
                            "Total_Revolving_Bal": revolving, "Total_Relationship_Count": relationship})
    churned = rng.random(n) < credit_card_churn_probability(drivers)
    ids = 708_000_000 + rng.choice(90_000_000, n, replace=False)
    frame = pd.DataFrame({
        "CLIENTNUM": ids.astype(np.int64),
        "Attrition_Flag": np.where(churned, "Attrited Customer", "Existing Customer"),
        "Customer_Age": age, "Gender": gender, "Dependent_count": dependents, "Education_Level": education,
        "Marital_Status": marital, "Income_Category": income, "Card_Category": card,
        "Months_on_book": months_on_book, "Total_Relationship_Count": relationship,
        "Months_Inactive_12_mon": inactive, "Contacts_Count_12_mon": contacts, "Credit_Limit": limit,
        "Total_Revolving_Bal": revolving, "Avg_Open_To_Buy": open_to_buy, "Total_Amt_Chng_Q4_Q1": amt_change,
        "Total_Trans_Amt": trans_amt, "Total_Trans_Ct": trans_ct, "Total_Ct_Chng_Q4_Q1": ct_change,
        "Avg_Utilization_Ratio": utilisation,
    })
    return frame[CREDIT_CARD_COLUMNS]
