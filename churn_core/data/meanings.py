"""What each column of a bank's customer table *means*: one vocabulary, English and Chinese.

This module is the only place that knows bank column names. Segments, warning signals, offers and
their levers, customer value, the simulator and the reason sentences ask it for a *meaning*
("balance", "complaints", "transactions_prev"...), never for a column name. Like datasette's
``filters.py``, the vocabulary is a table: one row per meaning with its words, the kind of values it
needs, whether the bank can act on it, whether it is protected (kept out of call-centre reasons),
the retention cause it belongs to and, for money, the default yearly margin.

The detected map (:class:`ColumnMeanings`) is correctable and round-trips through a JSON mapping
file, so a bank maps its export once (``--columns MAP.json`` on the CLI)::

    {
      "version": 1,
      "label": "Attrition_Flag", "positive": "Attrited Customer", "id": "CLIENTNUM",
      "columns": {
        "Total_Revolving_Bal": {"meaning": "revolving_balance", "actionable": true, "protected": false},
        "Customer_Age": {"meaning": "age", "actionable": false, "protected": true},
        "Notes": {"meaning": null}
      },
      "margins": {"Total_Revolving_Bal": 0.15, "Total_Trans_Amt": 0.01}
    }

Every key is optional; columns not listed keep their detected meaning. ``"meaning": null`` means
"this column means nothing the app knows". Margins are yearly shares of each money column that
count as the bank's contribution (``margin x amount``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from churn_core.data.colstats import first_distinct
from churn_core.errors import ChurnCoreError
from churn_core.jsonutil import to_scalar

# Retention causes (issue "win-back": why customers leave), shared by reasons, win-back and report.
CAUSES = ("service", "products", "rates_fees", "activity", "circumstances")

# Value kinds a meaning needs: "money"/"number" (numeric, not 0/1), "count" (numeric), "flag" (0/1 or
# two values), "category" (text or few values), "date", "any".
KINDS = ("money", "number", "count", "flag", "category", "date", "any")


@dataclass(frozen=True)
class Meaning:
    """One row of the vocabulary.

    Attributes
    ----------
    code : str
        Stable code used by the engine and in mapping files.
    kind : str
        Values it needs (see :data:`KINDS`).
    words : tuple of str
        Regular expressions matched against the normalised English name (``snake_case``,
        ``CamelCase`` split), e.g. ``r"^num_?of_?products$"``. A match of the whole name is a
        sure detection; a partial match a likely one.
    zh : tuple of str
        Chinese substrings (matched anywhere in the raw name).
    exclude : str or None
        A regular expression that rules a name out (a "balance change %" column is not a balance).
    actionable : bool
        The bank can change it or its effect (an offer may act on it).
    protected : bool
        A personal attribute kept out of call-centre reasons by default (age, gender, marital...).
    cause : str or None
        Retention cause (:data:`CAUSES`) a driver of this meaning belongs to.
    margin : float or None
        Default yearly margin for a money column (share of the amount counted as contribution).
    multi : bool
        Several columns may share the meaning (product flags, money columns are listed singly).
    en, zh_name : str
        Display names.
    """

    code: str
    kind: str
    words: tuple
    zh: tuple = ()
    exclude: str | None = None
    actionable: bool = False
    protected: bool = False
    cause: str | None = None
    margin: float | None = None
    multi: bool = False
    en: str = ""
    zh_name: str = ""


_CHANGE = r"(chng|change|chg|pct|percent|trend|growth|ratio|delta|diff|_q\d_q\d)"
_CHANGE_ZH = ("变化", "变动", "增长", "增幅", "比率", "率")

#: The vocabulary, checked in this order (more specific meanings first).
VOCABULARY: tuple[Meaning, ...] = (
    # -- dates and changes first: "balance_change_3m_pct" must not become "balance"
    Meaning("snapshot_date", "date", (r"^snapshot(_date)?$", r"^as_?of(_date)?$", r"^(obs|observation|report|stat)_date$",
                                      r"^period(_end)?$", r"^(month|quarter)_end$", r"snapshot"),
            ("快照日期", "统计日期", "数据日期", "观测日期", "报告日期", "快照"), en="Snapshot date", zh_name="快照日期"),
    Meaning("balance_change", "number", (r"^bal(ance)?_?(chg|change|chng|trend|growth)", r"bal(ance)?.*" + _CHANGE,
                                         r"outflow", r"^amt_?chng"),
            ("余额变化", "余额变动", "余额增长", "资金流出"), actionable=True, cause="rates_fees",
            en="Balance change", zh_name="余额变化"),
    Meaning("transaction_amount_change", "number", (r"(amt|amount).*" + _CHANGE, r"total_amt_chng"),
            ("交易金额变化", "消费金额变化"), actionable=True, cause="activity",
            en="Transaction amount change", zh_name="交易金额变化"),
    Meaning("transactions_change", "number", (r"(ct|count|txn|trans|transaction)s?.*" + _CHANGE,),
            ("交易笔数变化", "交易次数变化", "交易变化"), actionable=True, cause="activity",
            en="Transaction count change", zh_name="交易笔数变化"),
    Meaning("transactions_prev", "count", (r"(txn|trans|transaction)s?.*(last|prev|prior|previous)",
                                           r"(last|prev|prior|previous).*(txn|trans|transaction)"),
            ("上季交易", "上期交易", "上月交易", "前期交易"), exclude=r"(amt|amount|days?|since|date)", actionable=True,
            cause="activity", en="Transactions (previous period)", zh_name="上期交易笔数"),
    Meaning("transaction_amount", "money", (r"^total_?trans(action)?_?amt$", r"(txn|trans|transaction)s?_?(amt|amount|value|volume|spend)",
                                            r"(spend|spending|purchases?)(_amt|_amount)?$"),
            ("交易金额", "消费金额", "消费额", "刷卡金额"), actionable=True, cause="activity", margin=0.01,
            en="Transaction amount", zh_name="交易金额"),
    Meaning("transactions", "count", (r"^(num_?|total_?)?(txn|trans|transaction)s?(_(ct|count|cnt|num))?(_this_\w+|_\d+\w*)?$",
                                      r"(txn|trans|transaction)s?_?(ct|count|cnt|num)", r"(txn|transaction)s?.*(this|current|curr)",
                                      r"^(txn|transaction)s?"),
            ("本季交易", "本期交易", "本月交易", "交易笔数", "交易次数"), exclude=r"(amt|amount|last|prev|prior|type|date|channel)",
            actionable=True, cause="activity", en="Transactions", zh_name="交易笔数"),
    Meaning("days_since_activity", "count", (r"days?_since", r"recency", r"last_?(txn|login|activity)_?days", r"days_inactive"),
            ("距上次", "最近交易天数", "未交易天数", "沉睡天数"), actionable=True, cause="activity",
            en="Days since last activity", zh_name="距上次活动天数"),
    Meaning("inactive_months", "count", (r"months?_inactive", r"inactive_?months?", r"inactive", r"dormant"),
            ("不活跃月数", "非活跃月数", "沉睡月数", "不活跃"), actionable=True, cause="activity",
            en="Inactive months", zh_name="不活跃月数"),
    Meaning("logins", "count", (r"log_?ins?", r"digital_?(visits|sessions)", r"app_?(visits|sessions|opens)"),
            ("登录", "线上访问"), actionable=True, cause="activity", en="Logins", zh_name="登录次数"),
    Meaning("complaints", "count", (r"complain",), ("投诉",), actionable=True, cause="service",
            en="Complaints", zh_name="投诉次数"),
    Meaning("service_contacts", "count", (r"contacts?_?(count|ct|cnt|num)", r"^contacts?", r"service_?calls?",
                                          r"customer_?service_?calls", r"call_?center", r"support_?(calls|tickets)"),
            ("客服", "来电", "联系次数", "联络次数"), actionable=True, cause="service",
            en="Service contacts", zh_name="客服联系次数"),
    Meaning("satisfaction", "number", (r"satisf", r"^nps", r"csat"), ("满意",), actionable=True, cause="service",
            en="Satisfaction", zh_name="满意度"),
    Meaning("relationship_manager", "flag", (r"relationship_?manager", r"^has_?rm$", r"^rm$", r"account_?manager"),
            ("客户经理",), actionable=True, cause="service", en="Relationship manager", zh_name="客户经理"),
    Meaning("fees", "money", (r"^fees?(_paid)?(_\w+)?$", r"fee", r"commission", r"service_?charge"),
            ("手续费", "年费", "费用", "服务费"), exclude=r"(waiv|free)", actionable=True, cause="rates_fees",
            margin=1.0, en="Fees paid", zh_name="手续费"),
    Meaning("monthly_charges", "money", (r"monthly_?(charges?|fee|bill|payment)", r"^mrr$"),
            ("月费", "月消费", "月账单"), actionable=True, cause="rates_fees", margin=12.0,
            en="Monthly charges", zh_name="月费"),
    Meaning("total_charges", "money", (r"total_?charges?", r"lifetime_?(charges|revenue|spend)"),
            ("累计消费", "总消费", "累计费用"), cause="rates_fees", margin=0.0,
            en="Total charges to date", zh_name="累计消费"),
    Meaning("rate_sensitivity", "any", (r"rate_?sensitiv", r"price_?sensitiv", r"interest_?sensitiv"),
            ("利率敏感", "价格敏感"), actionable=True, cause="rates_fees", en="Rate sensitivity", zh_name="利率敏感度"),
    Meaning("revolving_balance", "money", (r"revolv",), ("循环", "透支余额"), actionable=True, cause="rates_fees",
            margin=0.15, en="Revolving balance", zh_name="循环余额"),
    Meaning("credit_limit", "money", (r"credit_?limit", r"^limit$", r"credit_?line"), ("信用额度", "授信额度", "额度"),
            exclude=r"(util|ratio|open)", cause="products", margin=0.0, en="Credit limit", zh_name="信用额度"),
    Meaning("utilization", "number", (r"utili[sz]", r"open_?to_?buy"), ("使用率", "可用额度"), cause="products",
            en="Credit utilisation", zh_name="额度使用率"),
    Meaning("loans", "money", (r"loan_?(bal|balance|amount|amt|outstanding)", r"^loans?(_amount)?$", r"mortgage_?(bal|balance|amount)",
                               r"outstanding"),
            ("贷款余额", "贷款金额", "借款余额"), cause="products", margin=0.025, en="Loans", zh_name="贷款余额"),
    Meaning("deposits", "money", (r"deposits?_?(bal|balance|amount|amt)", r"^deposits?$", r"savings?_?(bal|balance|amount)",
                                  r"time_?deposit"),
            ("存款余额", "存款金额", "定期存款", "储蓄余额"), actionable=True, cause="rates_fees", margin=0.015,
            en="Deposits", zh_name="存款余额"),
    Meaning("total_assets", "money", (r"total_?assets?", r"^assets?$", r"^aum$", r"assets?_under", r"asset"),
            ("总资产", "资产总额", "金融资产", "资产"), cause="circumstances", margin=0.004,
            en="Total assets", zh_name="总资产"),
    Meaning("balance_prev", "number", (r"bal(ance)?_?.*(last|prev|prior|previous)", r"(last|prev|prior|previous)_?.*bal(ance)?$"),
            ("上月余额", "上季余额", "上期余额", "上年余额"), exclude=_CHANGE, actionable=True, cause="rates_fees",
            en="Balance (previous period)", zh_name="上期余额"),
    Meaning("balance", "money", (r"^(account_?|avg_?|average_?|current_?)?bal(ance)?(_\w+)?$", r"balance"),
            ("账户余额", "余额", "日均"), exclude=r"(last|prev|prior|previous|上月|上季|上期|上年)", actionable=True,
            cause="rates_fees", margin=0.015,
            en="Balance", zh_name="账户余额"),
    Meaning("contribution", "money", (r"contribution", r"^(annual_?|yearly_?)?(profit|revenue)$", r"^clv$", r"^ltv$"),
            ("贡献", "利润", "收益"), exclude=r"(rate|ratio)", cause="circumstances", margin=1.0,
            en="Contribution", zh_name="贡献"),
    Meaning("products_count", "count", (r"num_?(of_?)?products?", r"products?_?(count|ct|cnt|num|held)",
                                        r"^n_?products?$", r"^products?$", r"total_?relationship_?(count|ct)",
                                        r"relationship_?count"),
            ("产品数", "持有产品数", "产品数量", "持有产品"), exclude=r"(closed|closure|销户|注销|关闭)",
            actionable=True, cause="products",
            en="Products held", zh_name="持有产品数"),
    Meaning("active_flag", "flag", (r"^is_?active(_member)?$", r"active_?member", r"^active$", r"^is_?active_?customer$"),
            ("是否活跃", "活跃会员", "活跃客户"), actionable=True, cause="activity",
            en="Active member", zh_name="活跃客户"),
    Meaning("product_closed", "count", (r"closed", r"closure"), ("销户", "注销", "关闭"), cause="products",
            en="Product closed", zh_name="关闭产品"),
    Meaning("product_flag", "flag", (r"^has_(?!relationship|rm$|rm_)\w+", r"^(has|owns|with)_?cr_?card$",
                                     r"^is_?(card|loan|deposit)_?holder$", r"(phone|internet|online|streaming|tv)_?(service)?$",
                                     r"^(online_?(security|backup)|device_?protection|tech_?support|streaming_?\w+|multiple_?lines)$"),
            ("持有", "开通"), exclude=r"(date|count|num)", actionable=True, cause="products", multi=True,
            en="Product held", zh_name="持有产品"),
    Meaning("contract", "category", (r"^contract(_type)?$", r"^plan(_type)?$", r"^card_?(category|type|tier)$"),
            ("合约", "套餐", "卡种", "卡类别"), actionable=True, cause="products", en="Contract / plan", zh_name="合约类型"),
    Meaning("value_tier", "category", (r"value_?(tier|band|segment)", r"^(customer_?)?(tier|segment|grade|level)$",
                                       r"wealth_?tier"),
            ("客户等级", "价值等级", "客户分层", "等级"), cause="circumstances", en="Value tier", zh_name="客户等级"),
    Meaning("tenure", "number", (r"^tenure", r"tenure", r"months_?on_?book", r"customer_?since", r"vintage",
                                 r"seniority", r"account_?age", r"years_?with"),
            ("开户时长", "在网时长", "客户时长", "账龄", "开户月数", "开户年限", "客龄", "在网月数"),
            cause="circumstances", en="Tenure", zh_name="开户时长"),
    Meaning("age", "number", (r"^(customer_?)?age(_years)?$", r"^age_?(band|group)$", r"birth_?year", r"^dob$"),
            ("年龄", "出生"), protected=True, cause="circumstances", en="Age", zh_name="年龄"),
    Meaning("senior", "flag", (r"senior",), ("老年",), protected=True, cause="circumstances",
            en="Senior citizen", zh_name="老年客户"),
    Meaning("gender", "category", (r"^gender$", r"^sex$"), ("性别",), protected=True, cause="circumstances",
            en="Gender", zh_name="性别"),
    Meaning("marital", "category", (r"marital", r"married", r"^partner$", r"spouse"), ("婚姻", "配偶"),
            protected=True, cause="circumstances", en="Marital status", zh_name="婚姻状况"),
    Meaning("dependents", "any", (r"dependents?", r"children", r"kids"), ("子女", "家属", "抚养"),
            protected=True, cause="circumstances", en="Dependents", zh_name="家属人数"),
    Meaning("education", "category", (r"education", r"degree"), ("学历", "教育"), cause="circumstances",
            en="Education", zh_name="学历"),
    Meaning("occupation", "category", (r"occupation", r"^job", r"profession", r"employment", r"industry"),
            ("职业", "行业"), cause="circumstances", en="Occupation", zh_name="职业"),
    Meaning("income", "any", (r"income", r"salary", r"earnings"), ("收入", "工资", "薪"), cause="circumstances",
            en="Income", zh_name="收入"),
    Meaning("credit_score", "number", (r"credit_?score", r"fico", r"risk_?score"), ("信用评分", "信用分"),
            cause="circumstances", en="Credit score", zh_name="信用评分"),
    Meaning("region", "category", (r"region", r"geography", r"province", r"^city$", r"country", r"^state$", r"^area$",
                                   r"branch"),
            ("地区", "区域", "省份", "城市", "国家", "地域", "网点"), cause="circumstances", en="Region", zh_name="地区"),
)

MEANINGS = {m.code: m for m in VOCABULARY}
MONEY = tuple(m.code for m in VOCABULARY if m.kind == "money")


def meaning(code):
    """The :class:`Meaning` of a code (a ChurnCoreError for an unknown one)."""
    try:
        return MEANINGS[code]
    except KeyError:
        raise ChurnCoreError("meanings.unknown", f"Unknown column meaning {code!r}. Known: "
                             + ", ".join(MEANINGS) + ".", meaning=str(code)) from None


def _normalise(name):
    """``"NumOfProducts"`` -> ``"num_of_products"``; ``"Total_Trans_Ct"`` -> ``"total_trans_ct"``."""
    text = str(name).strip()
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^0-9a-zA-Z\u4e00-\u9fff]+", "_", text.lower())
    return re.sub(r"_+", "_", text).strip("_")


def name_confidence(code, name):
    """How sure a column *name* means ``code``: 1.0 whole-name match, 0.8 partial, 0 none."""
    m = MEANINGS[code]
    norm = _normalise(name)
    raw = str(name)
    if m.exclude and re.search(m.exclude, norm):
        return 0.0
    if m.kind in ("money", "count") and re.search(_CHANGE, norm):
        return 0.0  # "balance_change_3m_pct" is a change, not an amount or a count
    if any(z in raw for z in m.zh):
        # a Chinese change/ratio word rules out plain amounts and counts
        if m.kind in ("money", "count") and any(w in raw for w in _CHANGE_ZH) and not any(
                w in z for z in m.zh for w in _CHANGE_ZH):
            return 0.0
        return 1.0 if raw.strip() in m.zh else 0.8
    best = 0.0
    for pattern in m.words:
        hit = re.search(pattern, norm)
        if hit:
            best = max(best, 1.0 if hit.group(0) == norm else 0.8)
    return best


# ------------------------------------------------------------------------------- value shapes

def _is_numeric(s):
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _two_values(s):
    vals = s.dropna()
    if not _is_numeric(vals) and not pd.api.types.is_bool_dtype(vals):
        # "Yes" and "yes " are one value; normalising the distinct values (not every row) is the
        # same and copies no column. More than 2 raw values with few rows read is a quick no.
        raw = first_distinct(vals, 2)
        if len(raw) > 2:
            raw = list(pd.unique(vals))
        vals = pd.Series(raw, dtype=object).astype(str).str.strip().str.lower()
    return 0 < len(pd.unique(vals)) <= 2


def _is_flag(s):
    if pd.api.types.is_bool_dtype(s):
        return True
    if _is_numeric(s):
        vals = set(np.asarray(first_distinct(s, 2)).tolist())  # > 2 numbers: not a 0/1 flag
        return bool(vals) and vals <= {0, 1}
    return _two_values(s) and _flag_positive(s) is not None


_YES = {"yes", "y", "true", "t", "1", "是", "有", "已开通", "持有", "开通"}
#: Text values that mean "yes" in a flag column (value and SQL alike read them).
YES_VALUES = frozenset(_YES)


def _flag_positive(s):
    """The value of a two-valued text column that means "yes" (None when unclear)."""
    for v in pd.unique(s.dropna()):
        if str(v).strip().lower() in _YES:
            return v
    return None


def flag_values(series):
    """A 0/1 float array from a flag column (numeric 0/1, booleans, or yes/no text)."""
    s = series
    if pd.api.types.is_bool_dtype(s) or _is_numeric(s):
        return pd.to_numeric(s, errors="coerce").astype(float).to_numpy()
    # yes/no text: the vocabulary's yes words, as the value SQL reads them (case and spaces ignored)
    out = s.astype("string").str.strip().str.lower().isin(YES_VALUES).fillna(False).astype(float).to_numpy()
    out[s.isna().to_numpy()] = np.nan
    return out


def looks_ratio(series):
    """True when a change column is written as a ratio now/before (``0.7`` = a 30% fall: median
    near 1, never negative) rather than as a % change (``-30``)."""
    v = pd.to_numeric(series, errors="coerce").dropna()
    return bool(len(v)) and float(v.min()) >= 0 and 0.2 <= float(v.median()) <= 3.0


def change_percent(series):
    """A change column as a % change (a ratio ``0.7`` becomes ``-30``; a % change stays)."""
    x = pd.to_numeric(series, errors="coerce")
    return (x - 1.0) * 100.0 if looks_ratio(x) else x


def _fits(kind, s):
    if kind == "any":
        return True
    if kind == "date":
        return pd.api.types.is_datetime64_any_dtype(s) or (s.dtype == object or pd.api.types.is_string_dtype(s))
    if kind == "flag":
        return _is_flag(s)
    if kind in ("money", "number", "count"):
        return _is_numeric(s) and not (kind == "money" and _is_flag(s))
    if kind == "category":
        return not _is_numeric(s) or len(first_distinct(s, 12)) <= 12
    return False


# ------------------------------------------------------------------------------- the map

@dataclass(frozen=True)
class ColumnInfo:
    """What one column means and how it may be used."""

    column: str
    meaning: str | None
    confidence: float = 0.0
    actionable: bool = False
    protected: bool = False

    def to_dict(self):
        return {"meaning": self.meaning, "confidence": round(float(self.confidence), 2),
                "actionable": bool(self.actionable), "protected": bool(self.protected)}


@dataclass(frozen=True)
class ColumnMeanings:
    """The meanings of a table's columns, correctable, with margins for money columns.

    Ask it, never a column name: ``cm.column("balance")``, ``cm.columns("product_flag")``,
    ``cm.meaning_of("Total_Trans_Ct")``, ``cm.money()`` (``{column: margin}``).
    """

    infos: tuple = ()
    margins: dict = field(default_factory=dict)
    label: str | None = None
    positive: object = None
    id_column: str | None = None

    # -- questions
    @property
    def by_column(self):
        return {i.column: i for i in self.infos}

    def info(self, column):
        return self.by_column.get(column)

    def column(self, code):
        """The column of a meaning (the surest one), or None."""
        meaning(code)
        hits = [i for i in self.infos if i.meaning == code]
        if not hits:
            return None
        return max(hits, key=lambda i: i.confidence).column

    def columns(self, code):
        """Every column of a meaning, in table order (product flags, or one)."""
        meaning(code)
        return [i.column for i in self.infos if i.meaning == code]

    def meaning_of(self, column):
        info = self.info(column)
        return info.meaning if info else None

    def has(self, code):
        return self.column(code) is not None

    def is_actionable(self, column):
        info = self.info(column)
        return bool(info and info.actionable)

    def is_protected(self, column):
        info = self.info(column)
        return bool(info and info.protected)

    def cause_of(self, column):
        """Retention cause of a column (:data:`CAUSES`), ``None`` when it means nothing known."""
        code = self.meaning_of(column)
        return MEANINGS[code].cause if code else None

    def money(self):
        """``{column: yearly margin}`` of every money column (margin 0 included)."""
        out = {}
        for i in self.infos:
            if i.meaning in MONEY:
                out[i.column] = float(self.margins.get(i.column, MEANINGS[i.meaning].margin or 0.0))
        return out

    def as_map(self):
        """``{meaning: column}`` (``product_flag``: a list) for JSON output such as ``profile``."""
        out = {}
        for i in self.infos:
            if i.meaning is None:
                continue
            if MEANINGS[i.meaning].multi:
                out.setdefault(i.meaning, []).append(i.column)
            elif i.meaning not in out or i.column == self.column(i.meaning):
                out[i.meaning] = i.column
        return out

    def fingerprint(self):
        """A short, stable text of the map (part of every cache key that depends on it)."""
        import hashlib

        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()[:12]

    # -- corrections
    def _check(self, column):
        if column not in self.by_column:
            raise ChurnCoreError("meanings.unknown_column", f"There is no column {column!r} in the table.",
                                 column=str(column))

    def with_meaning(self, column, code):
        """A copy where ``column`` means ``code`` (None: nothing); flags follow the new meaning."""
        self._check(column)
        if code is not None:
            m = meaning(code)
        infos = []
        for i in self.infos:
            if i.column == column:
                i = ColumnInfo(column, code, 1.0 if code else 0.0,
                               bool(m.actionable) if code else False, bool(m.protected) if code else False)
            elif code is not None and i.meaning == code and not MEANINGS[code].multi:
                i = replace(i, meaning=None, confidence=0.0, actionable=False, protected=False)
            infos.append(i)
        return replace(self, infos=tuple(infos))

    def with_flags(self, column, actionable=None, protected=None):
        """A copy with the column's actionable / protected flags set."""
        self._check(column)
        infos = tuple(
            replace(i, actionable=i.actionable if actionable is None else bool(actionable),
                    protected=i.protected if protected is None else bool(protected))
            if i.column == column else i for i in self.infos)
        return replace(self, infos=infos)

    def with_margin(self, column, margin):
        """A copy with the yearly margin of a money column."""
        self._check(column)
        try:
            value = float(margin)
        except (TypeError, ValueError):
            value = float("nan")
        if not np.isfinite(value) or value < 0 or value > 100:
            raise ChurnCoreError("meanings.bad_margin", "A margin must be a number from 0 to 100 "
                                 "(0.015 = 1.5% of the amount per year).", column=str(column))
        margins = dict(self.margins)
        margins[column] = value
        return replace(self, margins=margins)

    # -- the mapping file
    def to_dict(self):
        data = {"version": 1}
        if self.label is not None:
            data["label"] = self.label
            data["positive"] = to_scalar(self.positive)
        if self.id_column is not None:
            data["id"] = self.id_column
        data["columns"] = {i.column: i.to_dict() for i in self.infos}
        data["margins"] = {c: float(v) for c, v in self.margins.items()}
        return data

    def to_json(self):
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1, sort_keys=False)



def detect_meanings(df, roles=None):
    """Detect what each column of ``df`` means.

    Parameters
    ----------
    df : pandas.DataFrame
    roles : churn_core.data.roles.Roles, optional
        Its label and id columns mean nothing here (they are roles, not meanings) and are carried
        in the map for the mapping file.

    Returns
    -------
    ColumnMeanings
        One :class:`ColumnInfo` per column of ``df`` in table order.
    """
    from churn_core.data.roles import preferred_id_column

    label = getattr(roles, "label", None)
    ids = list(getattr(roles, "id_columns", []) or [])
    skip = set(ids) | ({label} if label else set())
    taken = {}
    chosen = {}
    for col in df.columns:
        if col in skip:
            continue
        s = df[col]
        best = (0.0, None)
        for m in VOCABULARY:
            conf = name_confidence(m.code, col)
            if conf <= best[0] or not _fits(m.kind, s):
                continue
            best = (conf, m.code)
        if best[1] is not None:
            chosen[col] = best
    # a single-column meaning goes to its surest column (first in table order on ties)
    for col, (conf, code) in chosen.items():
        if MEANINGS[code].multi:
            continue
        if code not in taken or conf > chosen[taken[code]][0]:
            taken[code] = col
    infos = []
    for col in df.columns:
        code, conf = None, 0.0
        if col in chosen:
            conf, code = chosen[col]
            if not MEANINGS[code].multi and taken.get(code) != col:
                code, conf = None, 0.0
        m = MEANINGS.get(code)
        infos.append(ColumnInfo(str(col) if not isinstance(col, str) else col, code, conf,
                                bool(m and m.actionable), bool(m and m.protected)))
    return ColumnMeanings(infos=tuple(infos), label=label,
                          positive=to_scalar(getattr(roles, "positive", None)) if label else None,
                          id_column=preferred_id_column(ids))


# ------------------------------------------------------------------------------- mapping files

def validate_mapping(data):
    """Check a mapping dict (from JSON); return it. Raises ChurnCoreError saying what is wrong."""
    if not isinstance(data, dict):
        raise ChurnCoreError("meanings.bad_mapping", "A column mapping must be a JSON object.")
    cols = data.get("columns", {})
    if not isinstance(cols, dict):
        raise ChurnCoreError("meanings.bad_mapping", "\"columns\" must map column names to settings.")
    for col, spec in cols.items():
        if isinstance(spec, str) or spec is None:
            spec = {"meaning": spec}
            cols[col] = spec
        if not isinstance(spec, dict):
            raise ChurnCoreError("meanings.bad_mapping", f"The setting of column {col!r} must be an object.",
                                 column=str(col))
        code = spec.get("meaning")
        if code is not None:
            meaning(code)
    margins = data.get("margins", {})
    if not isinstance(margins, dict):
        raise ChurnCoreError("meanings.bad_mapping", "\"margins\" must map money columns to numbers.")
    return data


def load_mapping(path_or_text):
    """Read a mapping file (path, or the JSON text itself) into a validated dict."""
    text = path_or_text
    if isinstance(path_or_text, Path) or (isinstance(path_or_text, str) and not path_or_text.lstrip().startswith("{")):
        path = Path(path_or_text)
        if not path.is_file():
            raise ChurnCoreError("meanings.no_mapping_file", f"The column mapping file {str(path)!r} does not exist.",
                                 path=str(path))
        text = path.read_text(encoding="utf-8-sig")
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ChurnCoreError("meanings.bad_mapping", f"The column mapping is not valid JSON ({exc.msg}, "
                             f"line {exc.lineno}).") from None
    return validate_mapping(data)


def apply_mapping(meanings, data, columns=None):
    """Apply a mapping dict to a detected map. Unknown columns are an error (they name the column).

    Parameters
    ----------
    meanings : ColumnMeanings
    data : dict
        From :func:`load_mapping` or :meth:`ColumnMeanings.to_dict`.
    columns : iterable, optional
        Columns of the table (to check ``label`` and ``id``).

    Returns
    -------
    ColumnMeanings
    """
    data = validate_mapping(data)
    known = set(meanings.by_column) if columns is None else set(columns)
    for key in ("label", "id"):
        col = data.get(key)
        if col is not None and col not in known:
            raise ChurnCoreError("meanings.unknown_column", f"The mapping names column {col!r}, which is not "
                                 "in this file.", column=str(col))
    out = meanings
    if "label" in data:
        out = replace(out, label=data.get("label"), positive=data.get("positive"))
    if "id" in data:
        out = replace(out, id_column=data.get("id"))
    for col, spec in data.get("columns", {}).items():
        if col not in out.by_column:
            if col in (out.label, out.id_column):
                continue
            raise ChurnCoreError("meanings.unknown_column", f"The mapping names column {col!r}, which is not "
                                 "in this file.", column=str(col))
        if "meaning" in spec and spec["meaning"] != out.meaning_of(col):
            out = out.with_meaning(col, spec["meaning"])
        if "confidence" in spec and spec.get("meaning") is not None:
            out = replace(out, infos=tuple(replace(i, confidence=float(spec["confidence"])) if i.column == col else i
                                           for i in out.infos))
        if "actionable" in spec or "protected" in spec:
            out = out.with_flags(col, spec.get("actionable"), spec.get("protected"))
    for col, margin in data.get("margins", {}).items():
        if col in out.by_column:
            out = out.with_margin(col, margin)
    return out


def roles_with_mapping(roles, df, data):
    """Roles with the mapping's label/positive/id applied (unchanged when the mapping has none)."""
    from churn_core.data.roles import coerce_positive, detect_positive

    if data.get("label"):
        col = data["label"]
        if col not in df.columns:
            raise ChurnCoreError("meanings.unknown_column", f"The mapping names column {col!r}, which is not "
                                 "in this file.", column=str(col))
        pos = data.get("positive")
        pos = coerce_positive(df[col], pos) if pos is not None else detect_positive(df[col])
        roles = roles.with_label(col, pos)
    if data.get("id") and data["id"] in df.columns and data["id"] not in roles.id_columns:
        roles = roles.with_role(data["id"], "id")
    return roles
