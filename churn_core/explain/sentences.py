"""Sentence templates of reasons, English and Chinese: a driver's value and its points in words.

A sentence is a subject built from the customer's value (``"3 complaints in the last 12 months"`` /
``"近12个月投诉3次"``) and a tail with the points (``" raises the risk by 8 points"`` /
``"，流失风险上升8个百分点"``). Subjects are formatted once per distinct value.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError

LANGS = ("en", "zh")


def _check_lang(lang):
    if lang not in LANGS:
        raise ChurnCoreError("explain.bad_lang", "Language must be 'en' or 'zh'.", lang=str(lang))


def _isnan(v):
    try:
        return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT
    except TypeError:
        return False


MINUS = "\u2212"

# products and services named by has_* / Has* flags: (English, Chinese)
_PRODUCT_NAMES = {
    "deposit": ("a deposit", "存款"),
    "wealth": ("a wealth product", "理财产品"),
    "loan": ("a loan", "贷款"),
    "credit_card": ("a credit card", "信用卡"),
    "cr_card": ("a credit card", "信用卡"),
    "mobile_banking": ("mobile banking", "手机银行"),
    "relationship_manager": ("a relationship manager", "客户经理"),
}


def _tokens(name):
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s).lower()
    return [t for t in re.split(r"[^0-9a-z\u4e00-\u9fff]+", s) if t]


def _number(v):
    """``float(v)`` for real numbers (not bools/strings), else None."""
    if isinstance(v, (bool, np.bool_)):
        return float(v)
    if isinstance(v, (int, float, np.integer, np.floating)) and not _isnan(v):
        return float(v)
    return None


def format_value(v, *, pct=False, lang="en"):
    """A customer's value as shown in a sentence (thousands separators, true minus sign)."""
    if _isnan(v):
        return "missing" if lang == "en" else "缺失"
    x = _number(v)
    if x is None:
        return str(v)
    if pct:
        text = f"{abs(x):,.0f}%"
    elif x == int(x) or abs(x) >= 100:
        text = f"{abs(x):,.0f}"
    else:
        text = f"{abs(x):.2f}".rstrip("0").rstrip(".")
    return (MINUS + text) if x < 0 and text.strip("0.,%") else text


def _period(tokens):
    """``(number, unit)`` of a period written in a name: 12m -> (12, "m"), 90d -> (90, "d")."""
    for t in tokens:
        m = re.fullmatch(r"(\d+)(m|d|y|mo|months?|days?)", t)
        if m:
            return int(m.group(1)), m.group(2)[0]
        m = re.search(r"(\d+)\s*(个月|月|天|日|年)", t)
        if m:
            return int(m.group(1)), {"个": "m", "月": "m", "天": "d", "日": "d", "年": "y"}[m.group(2)[0]]
    return None


def _period_words(period, lang):
    n, unit = period
    if lang == "en":
        word = {"m": "month", "d": "day", "y": "year"}[unit]
        return f"{n} {word}s" if n != 1 else f"1 {word}"
    return f"{n}{ {'m': '个月', 'd': '天', 'y': '年'}[unit] }".replace(" ", "")


def _count(n, one, many):
    return f"{n} {one if n == 1 else many}"


def _rule_for(column, display):
    """A special wording for well-known features, or None (generic ``name = value``)."""
    tokens = _tokens(column)
    joined = "_".join(tokens)
    raw = str(column) + str(display)
    period = _period(tokens)

    def txn(v, lang):
        x = _number(v)
        if x is None:
            return None
        n = int(round(x))
        if "days" in tokens and ("since" in tokens or "last" in tokens):
            return f"No transactions for {n} days" if lang == "en" else f"近{n}天无交易"
        when_en, when_zh = None, None
        if "this" in tokens or "current" in tokens:
            when_en, when_zh = "this quarter", "本季度"
        elif "last" in tokens or "previous" in tokens or "prev" in tokens:
            when_en, when_zh = "last quarter", "上季度"
        elif period:
            when_en = f"in {_period_words(period, 'en')}"
            when_zh = f"近{_period_words(period, 'zh')}"
        if when_en is None:
            return None
        if n == 0:
            return f"No transactions {when_en}" if lang == "en" else f"{when_zh}无交易"
        return f"{_count(n, 'transaction', 'transactions')} {when_en}" if lang == "en" else f"{when_zh}交易{n}笔"

    def complaints(v, lang):
        x = _number(v)
        if x is None:
            return None
        n = int(round(x))
        if lang == "en":
            when = f" in the last {_period_words(period, 'en')}" if period else ""
            return f"{_count(n, 'complaint', 'complaints')}{when}"
        when = f"近{_period_words(period, 'zh')}" if period else ""
        return f"{when}投诉{n}次"

    def balance_change(v, lang):
        x = _number(v)
        if x is None:
            return None
        amount = format_value(abs(x), pct=True)
        if lang == "en":
            when = f" in {_period_words(period, 'en')}" if period else ""
            if round(x) == 0:
                return f"Balance unchanged{when}"
            return f"Balance {'down' if x < 0 else 'up'} {amount}{when}"
        when = f"近{_period_words(period, 'zh')}" if period else ""
        if round(x) == 0:
            return f"{when}余额基本不变"
        return f"{when}余额{'下降' if x < 0 else '上升'}{amount}"

    def satisfaction(v, lang):
        x = _number(v)
        if x is None:
            return None
        n = format_value(x)
        return f"Satisfaction score {n} of 5" if lang == "en" else f"满意度评分{n}分（满分5分）"

    def num_products(v, lang):
        x = _number(v)
        if x is None:
            return None
        n = int(round(x))
        if lang == "en":
            return "Holds only 1 product" if n == 1 else f"Holds {n} products"
        return "仅持有1个产品" if n == 1 else f"持有{n}个产品"

    def active(v, lang):
        x = _number(v)
        if x is None:
            return None
        if lang == "en":
            return "Inactive member" if x == 0 else "Active member"
        return "非活跃客户" if x == 0 else "活跃客户"

    def has_flag(v, lang):
        x = _number(v)
        if x is None or x not in (0.0, 1.0):
            return None
        key = "_".join(tokens[1:])
        en, zh = _PRODUCT_NAMES.get(key, (key.replace("_", " "), None))
        if lang == "en":
            return f"No {en.removeprefix('a ').removeprefix('an ')}" if x == 0 else f"Has {en}"
        zh = zh or str(display)
        return f"未持有{zh}" if x == 0 else f"持有{zh}"

    def logins(v, lang):
        x = _number(v)
        if x is None:
            return None
        n = int(round(x))
        if lang == "en":
            when = f" in {_period_words(period, 'en')}" if period else ""
            return f"{_count(n, 'digital login', 'digital logins')}{when}"
        when = f"近{_period_words(period, 'zh')}" if period else ""
        return f"{when}数字渠道登录{n}次"

    def age(v, lang):
        x = _number(v)
        if x is None:
            return None
        return f"Age {format_value(x)}" if lang == "en" else f"年龄{format_value(x)}岁"

    def tenure_months(v, lang):
        x = _number(v)
        if x is None:
            return None
        n = int(round(x))
        return f"Customer for {_count(n, 'month', 'months')}" if lang == "en" else f"开户{n}个月"

    def fees(v, lang):
        x = _number(v)
        if x is None:
            return None
        amount = format_value(x)
        if lang == "en":
            when = f" in {_period_words(period, 'en')}" if period else ""
            return f"Fees of {amount} paid{when}"
        when = f"近{_period_words(period, 'zh')}" if period else ""
        return f"{when}缴纳费用{amount}"

    zh_this = "本季" in raw or "本月" in raw
    zh_last = "上季" in raw
    if zh_this:
        tokens = tokens + ["this"]
    if zh_last:
        tokens = tokens + ["last"]
    has_zh = re.match(r"^(持有|开通|配备)(.+)$", str(column))
    if has_zh:
        zh_label = has_zh.group(2)

        def has_flag_zh(v, lang):
            x = _number(v)
            if x is None or x not in (0.0, 1.0):
                return None
            if lang == "en":
                return f"{column} = {format_value(x)}"
            verb = has_zh.group(1)
            return f"未{verb}{zh_label}" if x == 0 else f"{verb}{zh_label}"

        return has_flag_zh
    if ("txn" in tokens or "transactions" in tokens or "transaction" in tokens) or "交易" in raw:
        return txn
    if "complaints" in tokens or "complaint" in tokens or "投诉" in raw:
        return complaints
    if ("balance" in tokens and ("change" in tokens or "pct" in tokens or "chg" in tokens)) or (
        "余额" in raw and "变化" in raw
    ):
        return balance_change
    if tokens[:1] == ["satisfaction"] or str(column).startswith("满意度"):
        return satisfaction
    if joined in ("num_products", "num_of_products", "number_of_products", "n_products", "products") or str(column) == "产品数":
        return num_products
    if joined in ("is_active_member", "is_active", "active_member"):
        return active
    if tokens[:1] == ["has"] and len(tokens) > 1:
        return has_flag
    if "logins" in tokens or "login" in tokens or "登录" in raw:
        return logins
    if joined == "age" or str(column) == "年龄":
        return age
    if joined == "tenure_months" or str(column) == "开户月数":
        return tenure_months
    if "fees" in tokens or "fee" in tokens or "手续费" in raw:
        return fees
    return None


def _generic_subject(display, value_text, lang):
    return f"{display} = {value_text}" if lang == "en" else f"{display}为{value_text}"


def _subjects_for(column, display, values, lang):
    """Subject of the sentence for each value (formatted once per distinct value)."""
    rule = _rule_for(column, display)
    pct = any(t in ("pct", "percent", "rate") for t in _tokens(column)) and "change" in _tokens(column)
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    texts = []
    for v in uniques:
        text = rule(v, lang) if rule is not None else None
        if text is None:
            text = _generic_subject(display, format_value(v, pct=pct, lang=lang), lang)
        texts.append(text)
    return np.array(texts, dtype=object)[codes]


def points_text(points):
    """The whole number of points a sentence shows: ``|points|`` at 2 decimals (as exports show
    it), then rounded half up, so a table's ``1.50`` reads "2 points" in the sentence beside it."""
    shown = np.round(np.abs(np.asarray(points, dtype=np.float64)), 2)
    return np.floor(shown + 0.5).astype(np.int64)


def _points_bucket(points):
    """``2 * whole points + (1 if the driver lowers the risk)``; whole points 0 read 'less than 1'."""
    p = np.asarray(points, dtype=np.float64)
    return 2 * points_text(p) + (p < 0)


# (raises, lowers) tails: "{n}" is the whole number of points
_TAILS = {
    "en": ((" raises the risk by less than 1 point", " raises the risk by 1 point",
            " raises the risk by {n} points"),
           (" lowers the risk by less than 1 point", " lowers the risk by 1 point",
            " lowers the risk by {n} points")),
    "zh": (("，流失风险上升不到1个百分点", "，流失风险上升1个百分点", "，流失风险上升{n}个百分点"),
           ("，流失风险下降不到1个百分点", "，流失风险下降1个百分点", "，流失风险下降{n}个百分点")),
}


def _tail_strings(buckets, lang):
    out = {}
    for b in np.asarray(buckets).tolist():
        n, lowers = divmod(b, 2)
        less, one, many = _TAILS[lang][lowers]
        out[b] = less if n == 0 else one if n == 1 else many.format(n=n)
    return out


def format_reasons(explanation, feature_idx, points, lang="en"):
    """Sentences for reason codes: one list of strings per column of ``feature_idx``.

    ``points`` are signed percentage points (positive raises the risk, negative lowers it).
    Sentences are built once per distinct (feature, shown value) and joined to the wording of the
    distinct point counts, so a million rows cost a few vectorised passes, not a million calls.
    """
    _check_lang(lang)
    n, k = feature_idx.shape
    out = []
    for j in range(k):
        fidx = feature_idx[:, j]
        sentence = np.full(n, "", dtype=object)
        pts_int = _points_bucket(points[:, j])
        for f in np.unique(fidx):
            if f < 0:
                continue
            rows = np.flatnonzero(fidx == f)
            col = explanation.columns[f]
            subjects = _subjects_for(col, explanation.features[f], explanation.values[col].to_numpy()[rows], lang)
            uniq, inv = np.unique(pts_int[rows], return_inverse=True)
            tails = _tail_strings(uniq, lang)
            tail = np.array([tails[p] for p in uniq.tolist()], dtype=object)[inv]
            sentence[rows] = subjects + tail
        out.append(sentence)
    return out
