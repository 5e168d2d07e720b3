"""Offer catalogue: what the bank can offer to keep a customer, what it costs and what it may do.

One :class:`Offer` (frozen dataclass) per retention offer; an :class:`OfferCatalogue` is an ordered
tuple of offers with unique codes. The catalogue round-trips through a DataFrame (the editable table
of the simulator page), JSON and CSV, with validation that names the offending row and column.

Units and meaning of the numbers
--------------------------------
- ``contact_cost``: paid for every customer contacted (staff time, SMS, letter).
- ``unit_cost``: paid only when the customer takes the offer up (fees waived, bonus interest...).
  The planned cost of contacting one customer is therefore
  ``contact_cost + take_up * unit_cost`` (an expectation; its spread is in the Monte Carlo).
- ``take_up`` (with ``take_up_low`` / ``take_up_high``): share of contacted customers who accept.
- ``effect_low`` / ``effect_mid`` / ``effect_high``: *relative* reduction of a customer's churn
  probability when the customer takes the offer up (0.2 = a 30% risk becomes 24%).
- ``eligibility``: ``""`` (everyone), ``"segment:NAME"`` (a saved segment) or a simple rule such as
  ``"fees > 0"`` or ``"products < 5 and complaints >= 1"``, read into the segment condition
  language (:class:`churn_core.analysis.segments.Segment` of :class:`~churn_core.analysis.segments.Condition`:
  one rule language, one evaluator). A rule's column is a column of the table, a lever key below or
  a column meaning code (``inactive_months``, ``revolving_balance``...), resolved by the column
  meanings (:mod:`churn_core.data.meanings`), so ``"fees > 0"`` works on any file whose fees column
  is known.
- ``capacity``: most customers the offer can go to in the period (``None`` = unlimited).
- ``levers``: how the offer moves actionable features, for the model-based effect, written as
  ``"fees=0; products+1"``. Levers act on column *meanings* (see :data:`LEVER_MEANINGS`), so they
  work on any file whose columns have those meanings: ``fees``, ``products`` (products held),
  ``product_flag`` (the customer's most common product not yet held becomes 1), ``complaints``,
  ``inactivity`` (inactive months, else days since last activity), ``active`` (the active-member
  flag), ``satisfaction``,
  ``balance_change``, ``transactions_change``, ``relationship_manager``, ``logins``. Operators:
  ``=v`` (set), ``+v`` (add, capped at the largest value seen in the table), ``>=v`` (raise to at
  least v). On a change column (``balance_change``, ``transactions_change``) the amount is a
  % change: ``>=0`` means "no fall", also on a column written as a ratio now/before (raised to
  at least 1).

Lever choices of the defaults (documented assumptions, editable):
fee waiver -> fees to 0; deposit rate bonus -> the balance outflow stops (balance change raised to
at least 0%: the bonus is paid to keep money that was leaving); loyalty points / tier upgrade ->
satisfaction + 1 and the transaction count stops falling; relationship-manager call -> complaints
resolved (0) and the customer active again (inactivity 0, active flag 1); cross-sell -> products + 1 and the
product's flag; win-back call -> no lever (its effect stays assumed).
"""

import io
import json
import math
import re
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError

OFFER_CODES = ("fee_waiver", "rate_bonus", "loyalty_points", "rm_call", "cross_sell", "win_back")

#: The column meanings (:mod:`churn_core.data.meanings`) each lever key moves, surest first. The
#: vocabulary owns the column names; offers only say which meaning a lever acts on.
LEVER_MEANINGS = {
    "fees": ("fees",),
    "products": ("products_count",),
    "complaints": ("complaints",),
    "inactivity": ("inactive_months", "days_since_activity"),
    "active": ("active_flag",),
    "satisfaction": ("satisfaction",),
    "balance_change": ("balance_change",),
    "transactions_change": ("transactions_change",),
    "relationship_manager": ("relationship_manager",),
    "logins": ("logins",),
    "product_flag": ("product_flag",),
}
#: Lever keys whose amount is a % change (a ratio column is compared as ratio - 1).
CHANGE_LEVERS = ("balance_change", "transactions_change")

_LEVER_RE = re.compile(r"^\s*([A-Za-z_]+)\s*(=|\+|>=)\s*(-?\d+(?:\.\d+)?)\s*$")
_RULE_RE = re.compile(r"^\s*(.+?)\s*(==|!=|>=|<=|>|<|=|\bin\b)\s*(.+?)\s*$")

FRAME_COLUMNS = [
    "code", "name_en", "name_zh", "description_en", "description_zh",
    "unit_cost", "contact_cost", "take_up", "take_up_low", "take_up_high",
    "effect_low", "effect_mid", "effect_high", "eligibility", "capacity", "levers",
]


@dataclass(frozen=True)
class Lever:
    """One move of an actionable feature: ``feature`` key, ``op`` in {"set","add","at_least"}."""

    feature: str
    op: str
    amount: float

    def __post_init__(self):
        if self.feature not in LEVER_MEANINGS:
            raise ChurnCoreError(
                "offers.bad_lever", f"Unknown lever feature '{self.feature}'; use one of "
                + ", ".join(LEVER_MEANINGS) + ".", lever=self.feature)
        if self.op not in ("set", "add", "at_least"):
            raise ChurnCoreError("offers.bad_lever", f"Unknown lever operation '{self.op}'.", lever=self.op)

    def to_text(self):
        sym = {"set": "=", "add": "+", "at_least": ">="}[self.op]
        amount = int(self.amount) if float(self.amount).is_integer() else self.amount
        return f"{self.feature}{sym}{amount}"


def parse_levers(text):
    """Parse ``"fees=0; products+1"`` into a tuple of :class:`Lever`.

    Examples
    --------
    >>> parse_levers("fees=0; products+1")[1]
    Lever(feature='products', op='add', amount=1.0)
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ()
    out = []
    for part in re.split(r"[;,，；]", str(text)):
        if not part.strip():
            continue
        m = _LEVER_RE.match(part)
        if not m:
            raise ChurnCoreError(
                "offers.bad_lever",
                f"Cannot read the lever '{part.strip()}'; write it like 'fees=0', 'products+1' or "
                "'balance_change>=0'.", lever=part.strip())
        op = {"=": "set", "+": "add", ">=": "at_least"}[m.group(2)]
        out.append(Lever(m.group(1), op, float(m.group(3))))
    return tuple(out)


def levers_to_text(levers):
    return "; ".join(lv.to_text() for lv in levers)


def _num(value, name, code, lo=None, hi=None):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ChurnCoreError("offers.bad_number", f"Offer '{code}': {name} must be a number, got {value!r}.",
                             offer=code, field=name, value=str(value)) from None
    if math.isnan(value) or math.isinf(value):
        raise ChurnCoreError("offers.bad_number", f"Offer '{code}': {name} is missing.",
                             offer=code, field=name, value=str(value))
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise ChurnCoreError(
            "offers.out_of_range", f"Offer '{code}': {name} must be {bounds}, got {value:g}.",
            offer=code, field=name, value=value, low=lo, high=hi)
    return value


@dataclass(frozen=True)
class Offer:
    """A retention offer and every assumption about it (see the module docstring for units)."""

    code: str
    name_en: str = ""
    name_zh: str = ""
    description_en: str = ""
    description_zh: str = ""
    unit_cost: float = 0.0
    contact_cost: float = 0.0
    take_up: float = 1.0
    take_up_low: float | None = None
    take_up_high: float | None = None
    effect_low: float = 0.0
    effect_mid: float = 0.0
    effect_high: float = 0.0
    eligibility: str = ""
    capacity: int | None = None
    levers: tuple = field(default_factory=tuple)

    def __post_init__(self):
        code = str(self.code or "").strip()
        if not re.fullmatch(r"[A-Za-z0-9_\-]{1,40}", code):
            raise ChurnCoreError("offers.bad_code", f"Offer code {self.code!r} must be 1-40 letters, digits or _.",
                                 offer=str(self.code))
        object.__setattr__(self, "code", code)
        for name in ("name_en", "name_zh", "description_en", "description_zh", "eligibility"):
            value = getattr(self, name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                value = ""
            object.__setattr__(self, name, str(value).strip())
        if not self.name_en:
            object.__setattr__(self, "name_en", code)
        object.__setattr__(self, "unit_cost", _num(self.unit_cost, "unit_cost", code, 0))
        object.__setattr__(self, "contact_cost", _num(self.contact_cost, "contact_cost", code, 0))
        take = _num(self.take_up, "take_up", code, 0, 1)
        object.__setattr__(self, "take_up", take)
        low = take if _missing(self.take_up_low) else _num(self.take_up_low, "take_up_low", code, 0, 1)
        high = take if _missing(self.take_up_high) else _num(self.take_up_high, "take_up_high", code, 0, 1)
        if not low <= take <= high:
            raise ChurnCoreError("offers.bad_range", f"Offer '{code}': take-up needs low <= expected <= high.",
                                 offer=code, field="take_up")
        object.__setattr__(self, "take_up_low", low)
        object.__setattr__(self, "take_up_high", high)
        vals = [_num(getattr(self, n), n, code, 0, 1) for n in ("effect_low", "effect_mid", "effect_high")]
        if not vals[0] <= vals[1] <= vals[2]:
            raise ChurnCoreError("offers.bad_range", f"Offer '{code}': effect needs low <= mid <= high.",
                                 offer=code, field="effect")
        for n, v in zip(("effect_low", "effect_mid", "effect_high"), vals):
            object.__setattr__(self, n, v)
        if not _missing(self.capacity):
            cap = _num(self.capacity, "capacity", code, 0)
            if not float(cap).is_integer():
                raise ChurnCoreError("offers.bad_number", f"Offer '{code}': capacity must be a whole number.",
                                     offer=code, field="capacity", value=str(cap))
            object.__setattr__(self, "capacity", int(cap))
        else:
            object.__setattr__(self, "capacity", None)
        levers = self.levers
        if isinstance(levers, str) or levers is None or (isinstance(levers, float) and math.isnan(levers)):
            levers = parse_levers(levers)
        object.__setattr__(self, "levers", tuple(levers))
        if self.eligibility and not self.eligibility.startswith("segment:"):
            parse_rule(self.eligibility)  # validates the syntax now, columns later

    @property
    def expected_cost(self):
        """Planned cost of contacting one customer: contact + take-up x unit cost."""
        return self.contact_cost + self.take_up * self.unit_cost

    def name(self, lang="en"):
        return (self.name_zh or self.name_en) if lang == "zh" else self.name_en

    def description(self, lang="en"):
        return (self.description_zh or self.description_en) if lang == "zh" else self.description_en


def _missing(value):
    if value is None:
        return True
    if isinstance(value, str) and not value.strip():
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class OfferCatalogue:
    """An ordered set of offers with unique codes."""

    offers: tuple

    def __post_init__(self):
        offers = tuple(self.offers)
        if not offers:
            raise ChurnCoreError("offers.empty", "The offer catalogue is empty: add at least one offer.")
        seen = set()
        for offer in offers:
            if not isinstance(offer, Offer):
                raise ChurnCoreError("offers.bad_offer", "Every catalogue entry must be an Offer.")
            if offer.code in seen:
                raise ChurnCoreError("offers.duplicate_code", f"Offer code '{offer.code}' appears twice.",
                                     offer=offer.code)
            seen.add(offer.code)
        object.__setattr__(self, "offers", offers)

    def __iter__(self):
        return iter(self.offers)

    def __len__(self):
        return len(self.offers)

    @property
    def codes(self):
        return [o.code for o in self.offers]

    def get(self, code):
        for offer in self.offers:
            if offer.code == code:
                return offer
        raise ChurnCoreError("offers.unknown_offer", f"No offer with code '{code}'.", offer=code)

    def replace_offer(self, code, **changes):
        return OfferCatalogue(tuple(replace(o, **changes) if o.code == code else o for o in self.offers))

    def fingerprint(self):
        """A stable string identifying the catalogue (for cache keys)."""
        return json.dumps(catalogue_to_records(self), sort_keys=True, ensure_ascii=False)


def default_catalogue():
    """The six default offers (assumptions a bank would start from; all editable)."""
    return OfferCatalogue((
        Offer("fee_waiver", "Fee waiver", "免收手续费",
              "Waive account and card fees for 12 months.", "12个月内免收账户和银行卡手续费。",
              unit_cost=150, contact_cost=5, take_up=0.6, take_up_low=0.4, take_up_high=0.8,
              effect_low=0.10, effect_mid=0.20, effect_high=0.30, eligibility="fees > 0",
              capacity=None, levers=parse_levers("fees=0")),
        Offer("rate_bonus", "Deposit rate bonus", "存款利率加点",
              "+0.5 percentage points on deposits for 6 months.", "存款利率上浮0.5个百分点，为期6个月。",
              unit_cost=300, contact_cost=5, take_up=0.4, take_up_low=0.25, take_up_high=0.55,
              effect_low=0.15, effect_mid=0.25, effect_high=0.35, eligibility="",
              capacity=None, levers=parse_levers("balance_change>=0")),
        Offer("loyalty_points", "Loyalty points / tier upgrade", "积分奖励/会员升级",
              "Bonus loyalty points and a one-tier upgrade.", "赠送积分并提升一级会员等级。",
              unit_cost=80, contact_cost=3, take_up=0.5, take_up_low=0.3, take_up_high=0.7,
              effect_low=0.05, effect_mid=0.10, effect_high=0.15, eligibility="",
              capacity=None, levers=parse_levers("satisfaction+1; transactions_change>=0")),
        Offer("rm_call", "Relationship-manager call", "客户经理回访",
              "A relationship manager calls and resolves open issues.", "客户经理致电，解决客户的未决问题。",
              unit_cost=0, contact_cost=120, take_up=0.7, take_up_low=0.5, take_up_high=0.85,
              effect_low=0.15, effect_mid=0.25, effect_high=0.40, eligibility="",
              capacity=2000, levers=parse_levers("complaints=0; inactivity=0; active=1")),
        Offer("cross_sell", "Second product", "交叉销售第二个产品",
              "Offer a second product (card, wealth or loan) on preferential terms.",
              "以优惠条件推荐第二个产品（信用卡、理财或贷款）。",
              unit_cost=100, contact_cost=20, take_up=0.15, take_up_low=0.08, take_up_high=0.25,
              effect_low=0.20, effect_mid=0.35, effect_high=0.50, eligibility="products < 5",
              capacity=None, levers=parse_levers("products+1; product_flag=1")),
        Offer("win_back", "Win-back call", "挽留专线回访",
              "A specialist retention call to customers about to leave.", "由挽留专员致电即将流失的客户。",
              unit_cost=50, contact_cost=60, take_up=0.3, take_up_low=0.15, take_up_high=0.45,
              effect_low=0.10, effect_mid=0.20, effect_high=0.35, eligibility="",
              capacity=1000, levers=()),
    ))


# ----------------------------------------------------------------------------- round trips

def catalogue_to_records(catalogue):
    rows = []
    for offer in catalogue:
        rec = asdict(offer)
        rec["levers"] = levers_to_text(offer.levers)
        rows.append({k: rec[k] for k in FRAME_COLUMNS})
    return rows


def catalogue_to_frame(catalogue):
    """The editable table: one row per offer, columns :data:`FRAME_COLUMNS`."""
    frame = pd.DataFrame(catalogue_to_records(catalogue), columns=FRAME_COLUMNS)
    frame["capacity"] = frame["capacity"].astype("Int64")
    return frame


def catalogue_from_frame(frame):
    """Validate an (edited) table and build the catalogue; errors name the row and the column."""
    if not isinstance(frame, pd.DataFrame):
        raise ChurnCoreError("offers.bad_table", "The offer table must be a table.")
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    needed = {"code", "unit_cost", "contact_cost", "take_up", "effect_mid"}
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise ChurnCoreError("offers.missing_columns", "The offer table lacks the columns: " + ", ".join(missing) + ".",
                             columns=", ".join(missing))
    names = {f.name for f in fields(Offer)}
    offers = []
    for i, row in enumerate(frame.to_dict("records")):
        if all(_missing(v) for v in row.values()):
            continue  # a blank row added in the editor
        kwargs = {k: (None if _missing(v) and k not in ("name_en",) else v) for k, v in row.items() if k in names}
        if _missing(kwargs.get("effect_low")):
            kwargs["effect_low"] = kwargs.get("effect_mid")
        if _missing(kwargs.get("effect_high")):
            kwargs["effect_high"] = kwargs.get("effect_mid")
        for key in ("unit_cost", "contact_cost"):
            if _missing(kwargs.get(key)):
                kwargs[key] = 0.0
        try:
            offers.append(Offer(**kwargs))
        except ChurnCoreError as exc:
            raise ChurnCoreError(exc.code, f"Row {i + 1}: {exc.message}", row=i + 1, **exc.params) from None
    return OfferCatalogue(tuple(offers))


def catalogue_to_json(catalogue):
    return json.dumps({"offers": catalogue_to_records(catalogue)}, ensure_ascii=False, indent=2)


def catalogue_from_json(text):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChurnCoreError("offers.bad_json", f"The offers file is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
    if isinstance(data, dict):
        data = data.get("offers")
    if not isinstance(data, list):
        raise ChurnCoreError("offers.bad_json", "The offers JSON must be a list of offers or {\"offers\": [...]}.")
    return catalogue_from_frame(pd.DataFrame(data))


def catalogue_to_csv(catalogue):
    return catalogue_to_frame(catalogue).to_csv(index=False)


def load_catalogue(path):
    """Read an offer catalogue from a ``.json`` or ``.csv`` file (UTF-8, BOM allowed)."""
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise ChurnCoreError("offers.file_not_found", f"Offers file not found: {path}.", path=str(path))
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        return catalogue_from_json(text)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype={"code": str, "eligibility": str, "levers": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ChurnCoreError("offers.bad_csv", f"Cannot read the offers CSV: {exc}.") from None
    return catalogue_from_frame(frame)


def save_catalogue(catalogue, path):
    from pathlib import Path

    path = Path(path)
    text = catalogue_to_json(catalogue) if path.suffix.lower() == ".json" else catalogue_to_csv(catalogue)
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- columns, rules, levers

def detect_lever_columns(df, exclude=(), meanings=None):
    """Map lever keys to the columns of ``df`` that have their meanings.

    Parameters
    ----------
    df : pandas.DataFrame
    exclude : iterable of str
        Columns that are no lever (label, id), used when the meanings are detected here.
    meanings : ColumnMeanings, optional
        The session's (corrected) column meanings; detected from ``df`` when not given.

    Returns
    -------
    dict
        ``{key: column}``; ``product_flag`` maps to a list of 0/1 product columns. Only numeric
        (or boolean) columns qualify: a lever does arithmetic.
    """
    exclude = set(exclude)
    if meanings is None:
        from types import SimpleNamespace

        from churn_core.data.meanings import detect_meanings

        meanings = detect_meanings(df, SimpleNamespace(label=None, id_columns=[c for c in df.columns if c in exclude]))

    return lever_columns_from_meanings(meanings, df, exclude)


def lever_columns_from_meanings(meanings, df=None, exclude=()):
    """``{lever key: column}`` (``product_flag``: a list) from column meanings.

    With ``df``, only numeric (or boolean) columns qualify (a lever does arithmetic) and product
    flags must hold 0/1; without it every column of the meaning is taken as it is.
    """
    exclude = set(exclude)

    def usable(c):
        if c is None or c in exclude:
            return False
        if df is None:
            return True
        return c in df.columns and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))

    found = {}
    for key, codes in LEVER_MEANINGS.items():
        if key == "product_flag":
            flags = [c for c in meanings.columns("product_flag") if usable(c) and (df is None or _zero_one(df[c]))]
            if flags:
                found[key] = flags
            continue
        for code in codes:
            col = meanings.column(code)
            if usable(col):
                found[key] = col
                break
    return found


def _zero_one(series):
    vals = pd.unique(series.dropna())
    return len(vals) <= 2 and set(np.asarray(vals, dtype=float)) <= {0.0, 1.0}


def parse_rule(rule):
    """Parse ``"col > 3 and other == x"`` into ``[(col, op, value_text)]``."""
    clauses = []
    for part in re.split(r"\s+and\s+|\s*&&?\s*|\s*且\s*", str(rule).strip()):
        if not part.strip():
            continue
        m = _RULE_RE.match(part)
        if not m:
            raise ChurnCoreError(
                "offers.bad_rule",
                f"Cannot read the eligibility rule '{part.strip()}'; write it like 'fees > 0' or "
                "'segment:NAME'.", rule=part.strip())
        op = "==" if m.group(2) == "=" else m.group(2).strip()
        clauses.append((m.group(1).strip().strip("`\""), op, m.group(3).strip().strip("'\"")))
    return clauses


def _resolve_column(df, name, lever_columns, meanings=None):
    """A rule's column: a column of ``df`` (exact, then case-insensitive), a lever key, or a
    column meaning code; None when the table has nothing for it."""
    if name in df.columns:
        return name
    lower = {str(c).lower(): c for c in df.columns}
    if name.lower() in lower:
        return lower[name.lower()]
    col = lever_columns.get(name)
    if isinstance(col, str):
        return col
    if meanings is not None:
        from churn_core.data.meanings import MEANINGS

        codes = LEVER_MEANINGS.get(name, (name,) if name in MEANINGS else ())
        for code in codes:
            if code in MEANINGS and not MEANINGS[code].multi and meanings.column(code) in df.columns:
                return meanings.column(code)
    return None


_RULE_OPS = {"==": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<=", "in": "in"}


def rule_to_segment(rule, df, lever_columns=None, meanings=None):
    """An eligibility rule (``"fees > 0 and complaints >= 1"``) as a segment of the segment
    condition language, its columns resolved on ``df`` and its values typed like the columns.

    Returns
    -------
    (Segment or None, str or None)
        The segment, or ``(None, name)`` with the rule's first name that no column has.
    """
    from churn_core.analysis.segments import Condition, Segment

    lever_columns = lever_columns or {}
    conditions = []
    for name, op, value in parse_rule(rule):
        col = _resolve_column(df, name, lever_columns, meanings)
        if col is None:
            return None, name
        if op == "in":
            value = tuple(v.strip().strip("'\"") for v in re.split(r"[,，]", value.strip("()[] ")) if v.strip())
        try:
            cond = Condition(col, _RULE_OPS[op], value)
            conditions.append(Segment(conditions=(cond,)).validate(df).conditions[0])
        except ChurnCoreError as exc:
            raise ChurnCoreError("offers.bad_rule", f"Eligibility rule '{rule}': {exc.message}", rule=str(rule)) from None
    return Segment(name=str(rule), conditions=tuple(conditions)), None


def compute_eligibility(df, catalogue, segments=None, lever_columns=None, meanings=None):
    """Boolean matrix (customers x offers) of who may receive each offer, plus warning codes.

    Rules are read into segment conditions (:func:`rule_to_segment`) and evaluated by
    :meth:`Segment.mask <churn_core.analysis.segments.Segment.mask>` (a missing value never
    satisfies a comparison). A rule whose column cannot be found makes the offer available to
    nobody (a rule that cannot be checked is not satisfied) and adds
    ``("offers.rule_column_missing", code, column)`` to the warnings; an unknown saved segment
    raises ``offers.unknown_segment``.
    """
    n = len(df)
    segments = segments or {}
    if meanings is None and any(o.eligibility and not o.eligibility.startswith("segment:") for o in catalogue):
        from churn_core.data.meanings import detect_meanings

        meanings = detect_meanings(df)
    if lever_columns is None:
        lever_columns = detect_lever_columns(df, meanings=meanings)
    out = np.ones((n, len(catalogue)), dtype=bool)
    warnings = []
    for k, offer in enumerate(catalogue):
        rule = offer.eligibility
        if not rule:
            continue
        if rule.startswith("segment:"):
            name = rule[len("segment:"):].strip()
            if name not in segments:
                raise ChurnCoreError("offers.unknown_segment",
                                     f"Offer '{offer.code}' needs the saved segment '{name}', which does not exist.",
                                     offer=offer.code, segment=name)
            out[:, k] = np.asarray(segments[name].mask(df), dtype=bool)
            continue
        seg, missing = rule_to_segment(rule, df, lever_columns, meanings)
        if seg is None:
            warnings.append(("offers.rule_column_missing", offer.code, missing))
            out[:, k] = False
            continue
        out[:, k] = np.asarray(seg.mask(df), dtype=bool)
    return out, warnings


def apply_levers(df, offer, lever_columns=None, maxima=None):
    """A copy of ``df`` as it would be after the customer takes ``offer`` up.

    Returns ``(moved_df, applied)`` where ``applied`` lists the lever keys that found a column. When
    no lever applies, ``moved_df`` is ``df`` itself (unchanged) and ``applied`` is empty.
    ``maxima`` ({column: cap}) bounds additions (defaults to each column's largest value in ``df``).
    """
    lever_columns = detect_lever_columns(df) if lever_columns is None else lever_columns
    def numeric(c):
        return c in df.columns and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))

    # a lever moves numbers: text columns (a yes/no flag written as words) are left alone
    lever_columns = {k: ([c for c in v if numeric(c)] if isinstance(v, (list, tuple)) else v)
                     for k, v in lever_columns.items()
                     if (any(numeric(c) for c in v) if isinstance(v, (list, tuple)) else numeric(v))}
    applied = [lv for lv in offer.levers if lv.feature in lever_columns]
    if not applied:
        return df, []
    moved = df.copy()
    for lv in applied:
        if lv.feature == "product_flag":
            flags = lever_columns["product_flag"]
            # each customer gets the most widely held product they do not have yet
            order = sorted(flags, key=lambda c: -float(pd.to_numeric(df[c], errors="coerce").mean()))
            done = np.zeros(len(df), dtype=bool)
            for c in order:
                col = pd.to_numeric(moved[c], errors="coerce").to_numpy(dtype=float)
                take = (~done) & (col == 0)
                if take.any():
                    col = col.copy()
                    col[take] = lv.amount
                    moved[c] = _cast_like(df[c], col)
                done |= take
            continue
        col = lever_columns[lv.feature]
        x = pd.to_numeric(moved[col], errors="coerce").to_numpy(dtype=float)
        if lv.feature in CHANGE_LEVERS and _ratio_column(df[col], maxima, col):
            amount = 1.0 + lv.amount / 100.0  # a ratio now/before: "no fall" is a ratio of 1
            lv = Lever(lv.feature, lv.op, amount if lv.op != "add" else lv.amount / 100.0)
        if lv.op == "set":
            y = np.where(np.isnan(x), x, lv.amount)
        elif lv.op == "add":
            cap = (maxima or {}).get(col, np.nanmax(x) if np.isfinite(x).any() else np.inf)
            y = np.where(x >= cap, x, np.minimum(x + lv.amount, cap))
        else:
            y = np.where(np.isnan(x), x, np.maximum(x, lv.amount))
        moved[col] = _cast_like(df[col], y)
    return moved, [lv.feature for lv in applied]


def lever_maxima(df, lever_columns):
    """Bounds a one-customer what-if needs from the whole table: ``{column: largest value}`` for
    additive levers and ``{"__ratio__": {column: bool}}`` (is a change column a ratio now/before?).
    Pass it as ``maxima`` to :func:`apply_levers` when ``df`` is a single row."""
    from churn_core.data.meanings import looks_ratio

    out, ratio = {}, {}
    for key, cols in lever_columns.items():
        for c in (cols if isinstance(cols, (list, tuple)) else [cols]):
            if c not in df.columns:
                continue
            x = pd.to_numeric(df[c], errors="coerce")
            if x.notna().any():
                out[c] = float(x.max())
            if key in CHANGE_LEVERS:
                ratio[c] = looks_ratio(x)
    out["__ratio__"] = ratio
    return out


def _ratio_column(series, maxima, col):
    """True when a change column is written as a ratio now/before (decided on the whole table:
    ``maxima`` may carry ``{"__ratio__": {column: bool}}`` for a one-row what-if)."""
    from churn_core.data.meanings import looks_ratio

    known = (maxima or {}).get("__ratio__", {})
    if col in known:
        return bool(known[col])
    return looks_ratio(pd.to_numeric(series, errors="coerce"))


def _cast_like(original, values):
    if pd.api.types.is_integer_dtype(original) and not np.isnan(values).any():
        return pd.Series(np.round(values), index=original.index).astype(original.dtype)
    return pd.Series(values, index=original.index)
