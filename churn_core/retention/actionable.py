"""Actionable vs fixed drivers, and the retention offers that act on each driver.

A driver is *actionable* when the bank can change it or its effect (fees, products, activity,
service, balance behaviour, rates) and *fixed* when it describes who the customer is (age, gender,
region, occupation, tenure, income and wealth). A column with a *meaning*
(:mod:`churn_core.data.meanings`, correctable by the user) is classified by it: its theme comes from
the meaning and actionable/fixed from the map's actionable flag, so ``Total_Trans_Ct`` is an
actionable activity driver on any file. A column with no meaning falls back to its name, in English
(tokens of ``snake_case`` or ``CamelCase`` names) or Chinese (substrings). Id, date, text and label
columns are never actionable, and a name nothing recognises is treated as fixed (the app never
promises an offer it cannot point to).

Offer codes (shared with the simulator): ``fee_waiver``, ``rate_bonus``, ``loyalty_points``,
``rm_call``, ``cross_sell``, ``win_back``.
"""

from __future__ import annotations

import re

import pandas as pd

OFFER_CODES = ("fee_waiver", "rate_bonus", "loyalty_points", "rm_call", "cross_sell", "win_back")
KINDS = ("actionable", "fixed")

# (theme, kind, English tokens / token sequences, Chinese substrings), checked in order.
# Fixed themes come first so that, e.g., "age_band" or "region" never look actionable.
_THEMES = [
    ("demographics", "fixed",
     {"age", "gender", "sex", "birth", "dob", "marital", "married", "education", "dependents",
      "partner", "senior", "citizen", "children", "nationality", "surname", "name"},
     ("年龄", "性别", "出生", "婚姻", "学历", "子女", "姓名")),
    ("region", "fixed",
     {"region", "province", "city", "geography", "country", "location", "area", "zip", "postcode"},
     ("地区", "省", "城市", "地域", "国家", "区域")),
    ("occupation", "fixed",
     {"occupation", "job", "employer", "industry", "profession", "employment"},
     ("职业", "行业", "工作")),
    ("tenure", "fixed",
     {"tenure", "seniority", "since_open", "months_on_book", "vintage"},
     ("开户时长", "在网", "客龄", "开户月数", "开户年限", "时长")),
    ("circumstances", "fixed",
     {"income", "salary", "assets", "asset", "credit_score", "creditscore", "value_tier", "segment",
      "wealth_tier", "estimated_salary"},
     ("收入", "工资", "资产", "信用评分", "客户等级", "价值等级")),
    ("service", "actionable",
     {"complaint", "complaints", "satisfaction", "service", "support", "tech_support", "nps",
      "relationship_manager", "rm", "contact", "callcenter"},
     ("投诉", "满意", "服务", "客户经理")),
    ("fees", "actionable",
     {"fee", "fees", "charge", "charges", "price", "cost", "commission"},
     ("费", "收费")),
    ("rates", "actionable",
     {"rate", "rates", "interest", "yield", "apr", "rate_sensitivity"},
     ("利率", "利息", "收益率")),
    ("balance", "actionable",
     {"balance", "deposit_amount", "outflow", "inflow", "withdrawal", "withdrawals", "aum"},
     ("余额", "流出", "取款")),
    ("activity", "actionable",
     {"txn", "txns", "transaction", "transactions", "login", "logins", "digital", "active",
      "activity", "usage", "visits", "inactive", "dormant", "days_since", "recency", "engagement"},
     ("交易", "登录", "活跃", "使用", "动账")),
    ("products", "actionable",
     {"has", "product", "products", "num_products", "card", "loan", "deposit", "wealth",
      "mobile_banking", "contract", "subscription", "internet", "phone", "streaming",
      "online_security", "backup", "protection", "paperless", "payment", "mortgage", "insurance"},
     ("产品", "持有", "信用卡", "贷款", "存款", "理财", "手机银行", "合约", "套餐")),
]

_OFFERS_BY_THEME = {
    "fees": ["fee_waiver"],
    "rates": ["rate_bonus"],
    "balance": ["rate_bonus", "win_back"],
    "activity": ["loyalty_points", "win_back"],
    "service": ["rm_call"],
    "products": ["cross_sell"],
}

_NEVER_ACTIONABLE_ROLES = {"id", "date", "text", "label"}

#: Theme of each column meaning (codes of :data:`churn_core.data.meanings.VOCABULARY`).
MEANING_THEMES = {
    "fees": "fees", "monthly_charges": "fees", "total_charges": "fees",
    "rate_sensitivity": "rates",
    "balance": "balance", "balance_prev": "balance", "balance_change": "balance", "deposits": "balance",
    "revolving_balance": "balance",
    "transactions": "activity", "transactions_prev": "activity", "transactions_change": "activity",
    "transaction_amount": "activity", "transaction_amount_change": "activity", "days_since_activity": "activity",
    "inactive_months": "activity", "logins": "activity", "active_flag": "activity",
    "complaints": "service", "service_contacts": "service", "satisfaction": "service",
    "relationship_manager": "service",
    "products_count": "products", "product_flag": "products", "product_closed": "products", "contract": "products",
    "credit_limit": "products", "utilization": "products", "loans": "products",
    "age": "demographics", "senior": "demographics", "gender": "demographics", "marital": "demographics",
    "dependents": "demographics", "education": "demographics",
    "region": "region", "occupation": "occupation", "tenure": "tenure",
    "income": "circumstances", "credit_score": "circumstances", "total_assets": "circumstances",
    "value_tier": "circumstances", "contribution": "circumstances", "snapshot_date": "other",
}


def _meaning(feature, meanings):
    return meanings.meaning_of(feature) if meanings is not None else None


def _tokens(name):
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s).lower()
    return [t for t in re.split(r"[^0-9a-z]+", s) if t]


def _matches(tokens, raw, words, chinese):
    joined = "_".join(tokens)
    for w in words:
        if "_" in w:
            if w == joined or f"_{w}_" in f"_{joined}_":
                return True
        elif w in tokens:
            return True
    return any(c in raw for c in chinese)


def theme_of(feature, role=None, meanings=None):
    """Theme code of a feature: ``fees``, ``rates``, ``balance``, ``activity``, ``service``,
    ``products`` (actionable) or ``demographics``, ``region``, ``occupation``, ``tenure``,
    ``circumstances``, ``other`` (fixed). From the column's meaning when ``meanings`` gives it one,
    else from its name."""
    if role in _NEVER_ACTIONABLE_ROLES:
        return "other"
    code = _meaning(feature, meanings)
    if code is not None:
        return MEANING_THEMES.get(code, "other")
    raw = str(feature)
    tokens = _tokens(raw)
    for theme, _, words, chinese in _THEMES:
        if _matches(tokens, raw, words, chinese):
            return theme
    return "other"


def classify_feature(feature, role=None, meanings=None):
    """``"actionable"`` or ``"fixed"`` for one feature: the meaning map's actionable flag when the
    column has a meaning (the user may correct it), else by its name (English or Chinese)."""
    if role in _NEVER_ACTIONABLE_ROLES:
        return "fixed"
    if _meaning(feature, meanings) is not None:
        return "actionable" if meanings.is_actionable(feature) else "fixed"
    theme = theme_of(feature, role)
    for name, kind, _, _ in _THEMES:
        if name == theme:
            return kind
    return "fixed"


def is_actionable(feature, role=None, meanings=None):
    """True when the bank can act on the feature (see :func:`classify_feature`)."""
    return classify_feature(feature, role, meanings) == "actionable"


def classify_features(features, roles=None, meanings=None):
    """Classify many features.

    Parameters
    ----------
    features : iterable of str
    roles : dict or churn_core.data.roles.Roles, optional
        Column roles (``{column: role}`` or an object with a ``roles`` dict).
    meanings : churn_core.data.meanings.ColumnMeanings, optional
        Column meanings (first source of theme and kind).

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``kind`` ("actionable"/"fixed"), ``theme``, ``offers`` (comma-separated codes).
    """
    role_map = getattr(roles, "roles", roles) or {}
    rows = []
    for f in features:
        role = role_map.get(f)
        theme = theme_of(f, role, meanings)
        kind = classify_feature(f, role, meanings)
        rows.append(
            {
                "feature": f,
                "kind": kind,
                "theme": theme,
                "offers": ",".join(_OFFERS_BY_THEME.get(theme, []) if kind == "actionable" else []),
            }
        )
    return pd.DataFrame(rows, columns=["feature", "kind", "theme", "offers"])


def offers_for_feature(feature, role=None, meanings=None):
    """Offer codes that act on a driver (empty for fixed drivers), most direct first.

    >>> offers_for_feature("fees_paid_12m")
    ['fee_waiver']
    >>> offers_for_feature("age")
    []
    """
    if classify_feature(feature, role, meanings) != "actionable":
        return []
    return list(_OFFERS_BY_THEME.get(theme_of(feature, role, meanings), []))
