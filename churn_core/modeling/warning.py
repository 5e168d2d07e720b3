"""Early warning: risk tiers, warning signals and the watch-list.

* **Risk tiers** (``High`` / ``Medium`` / ``Low``) either by the team's outreach capacity (the top N
  scores are High, the next M Medium) or by expected profit: contacting a customer is worth
  ``p x save_rate x value - contact_cost``; the profit curve adds this up over customers taken in
  score order, High is the set that maximises it, Medium the customers whose expected profit is
  still at least minus half the contact cost.
* **Warning signals**: explicit rules beside the score, computed where columns with the right
  meaning exist (:mod:`churn_core.data.meanings`, English and Chinese, correctable): activity drop,
  fund outflow, complaints, logins stopped, product closed, inactivity (inactive months, or days
  since the last activity), service contacts. Thresholds are a frozen :class:`SignalThresholds`.
* **Watch-list**: customer, score, tier, top three reasons in words, signals fired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn_core.data.meanings import change_percent
from churn_core.errors import ChurnCoreError

__all__ = [
    "TIERS", "SIGNALS", "TierConfig", "SignalThresholds",
    "compute_tiers", "compute_profit_curve", "compute_score_distribution",
    "detect_signal_columns", "compute_signals", "describe_signals",
    "compute_reasons", "compute_drivers", "compute_watch_list",
    "build_score_distribution_chart", "build_profit_curve_chart",
]

TIERS = ("High", "Medium", "Low")
SIGNALS = ("activity_drop", "fund_outflow", "complaints", "logins_stopped", "product_closed", "inactivity",
           "service_contacts")

_SIGNAL_WORDS = {
    "en": {"activity_drop": "activity dropped", "fund_outflow": "funds moving out",
           "complaints": "complained", "logins_stopped": "stopped logging in",
           "product_closed": "closed a product", "inactivity": "inactive for months",
           "service_contacts": "contacted the bank often"},
    "zh": {"activity_drop": "交易活跃度下降", "fund_outflow": "资金流出", "complaints": "有投诉",
           "logins_stopped": "停止登录", "product_closed": "关闭了产品", "inactivity": "长期不活跃",
           "service_contacts": "频繁联系客服"},
}


@dataclass(frozen=True)
class TierConfig:
    """How to cut risk tiers.

    Parameters
    ----------
    method : {"capacity", "profit"}
    high_capacity : int or None
        Customers the team can contact (top N = High). ``None`` means 10% of the customers.
    medium_capacity : int or None
        The next customers (Medium). ``None`` means 20% of the customers.
    value_per_customer : float
        Value kept when a churner is saved (profit method).
    contact_cost : float
        Cost of one contact (profit method).
    save_rate : float
        Share of contacted churners who stay thanks to the contact (profit method).
    """

    method: str = "capacity"
    high_capacity: int | None = None
    medium_capacity: int | None = None
    value_per_customer: float = 1000.0
    contact_cost: float = 50.0
    save_rate: float = 0.3

    def __post_init__(self):
        if self.method not in ("capacity", "profit"):
            raise ChurnCoreError("warning.bad_method", "Tier method must be 'capacity' or 'profit'.")
        for name in ("high_capacity", "medium_capacity"):
            v = getattr(self, name)
            if v is not None and int(v) < 0:
                raise ChurnCoreError("warning.bad_capacity", "Capacities must be zero or more.")
        if self.value_per_customer < 0 or self.contact_cost < 0:
            raise ChurnCoreError("warning.bad_money", "Value and contact cost must be zero or more.")
        if not 0 < self.save_rate <= 1:
            raise ChurnCoreError("warning.bad_save_rate", "The save rate must be between 0 and 1.")


@dataclass(frozen=True)
class SignalThresholds:
    """Editable thresholds of the warning rules.

    Parameters
    ----------
    activity_drop_pct : float
        Transactions this period at least this many % below the previous period.
    outflow_pct : float
        Balance change of this many % or worse (a fall: ``-outflow_pct`` or lower).
    complaints_min : int
        At least this many complaints.
    logins_max : int
        Logins at or below this count mean "stopped logging in" (0 by default).
    inactive_months_min : int
        At least this many inactive months (of the last 12) fire ``inactivity`` (3 by default).
    inactive_days_min : int
        Or, on a file with days since the last activity instead, at least this many days (90).
    contacts_min : int
        At least this many service contacts (in the file's period, 12 months on a card file) fire
        ``service_contacts`` (4 by default).
    """

    activity_drop_pct: float = 30.0
    outflow_pct: float = 20.0
    complaints_min: int = 1
    logins_max: int = 0
    inactive_months_min: int = 3
    inactive_days_min: int = 90
    contacts_min: int = 4

    def __post_init__(self):
        if not 0 < self.activity_drop_pct <= 100:
            raise ChurnCoreError("warning.bad_threshold", "The activity drop must be between 0 and 100%.")
        if not 0 < self.outflow_pct <= 100:
            raise ChurnCoreError("warning.bad_threshold", "The fund outflow must be between 0 and 100%.")
        if self.complaints_min < 1 or self.logins_max < 0:
            raise ChurnCoreError("warning.bad_threshold", "Complaints must be at least 1 and logins 0 or more.")
        if not 1 <= self.inactive_months_min <= 12 or self.inactive_days_min < 1:
            raise ChurnCoreError("warning.bad_threshold", "Inactive months must be 1 to 12 and inactive days at least 1.")
        if self.contacts_min < 1:
            raise ChurnCoreError("warning.bad_threshold", "Service contacts must be at least 1.")


# ---------------------------------------------------------------- tiers

def _proba(p):
    p = np.asarray(p, dtype=float).ravel()
    if len(p) == 0:
        raise ChurnCoreError("warning.empty", "There are no customers to score.")
    return p


def compute_profit_curve(proba, value_per_customer=1000.0, contact_cost=50.0, save_rate=0.3,
                         values=None, max_points=500):
    """Expected profit of contacting the top k customers by score, for every k.

    Returns
    -------
    pandas.DataFrame
        ``contacted, share, expected_saved_value, cost, expected_profit`` (at most ``max_points``
        rows, the maximum kept) and ``attrs["best_k"]``, ``attrs["best_profit"]``.
    """
    p = _proba(proba)
    v = np.full(len(p), float(value_per_customer)) if values is None else np.asarray(values, dtype=float)
    v = np.nan_to_num(v, nan=0.0)
    order = np.argsort(-p, kind="mergesort")
    gain = np.cumsum(p[order] * save_rate * v[order])
    cost = contact_cost * np.arange(1, len(p) + 1)
    profit = gain - cost
    k = np.arange(1, len(p) + 1)
    frame = pd.DataFrame({"contacted": np.r_[0, k], "share": np.r_[0, k] / len(p),
                          "expected_saved_value": np.r_[0.0, gain], "cost": np.r_[0.0, cost],
                          "expected_profit": np.r_[0.0, profit]})
    best = int(frame["expected_profit"].to_numpy().argmax())
    keep = np.unique(np.r_[np.linspace(0, len(frame) - 1, min(max_points - 1, len(frame))).round().astype(int), best])
    out = frame.iloc[keep].reset_index(drop=True)
    out.attrs["best_k"] = int(frame["contacted"].iloc[best])
    out.attrs["best_profit"] = float(frame["expected_profit"].iloc[best])
    return out


def compute_tiers(proba, config=None, values=None):
    """Risk tier of every customer (a ``category`` Series High/Medium/Low, same order as ``proba``).

    Parameters
    ----------
    proba : array-like
        Calibrated churn probabilities.
    config : TierConfig
    values : array-like, optional
        Per-customer value for the profit method (else ``config.value_per_customer``).
    """
    config = config or TierConfig()
    p = _proba(proba)
    n = len(p)
    order = np.argsort(-p, kind="mergesort")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    tier = np.full(n, "Low", dtype=object)
    if config.method == "capacity":
        hi = int(round(0.1 * n)) if config.high_capacity is None else min(int(config.high_capacity), n)
        me = int(round(0.2 * n)) if config.medium_capacity is None else int(config.medium_capacity)
        tier[rank < hi] = "High"
        tier[(rank >= hi) & (rank < hi + me)] = "Medium"
    else:
        v = np.full(n, float(config.value_per_customer)) if values is None else np.nan_to_num(
            np.asarray(values, dtype=float), nan=0.0)
        curve = compute_profit_curve(p, config.value_per_customer, config.contact_cost,
                                     config.save_rate, values=values, max_points=3)
        best = curve.attrs["best_k"]
        each = p * config.save_rate * v - config.contact_cost
        tier[rank < best] = "High"
        tier[(rank >= best) & (each >= -0.5 * config.contact_cost)] = "Medium"
    return pd.Series(pd.Categorical(tier, categories=list(TIERS)), name="risk_tier")


def compute_score_distribution(proba, tiers=None, bins=20):
    """Customers per probability bin (and tier): ``bin_start, bin_end, risk_tier, customers``."""
    p = _proba(proba)
    edges = np.linspace(0, 1, bins + 1)
    b = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    t = pd.Series(tiers).astype(str).to_numpy() if tiers is not None else np.full(len(p), "All")
    frame = pd.DataFrame({"b": b, "risk_tier": t})
    g = frame.groupby(["b", "risk_tier"]).size().rename("customers").reset_index()
    g["bin_start"] = edges[g["b"]]
    g["bin_end"] = edges[g["b"] + 1]
    return g[["bin_start", "bin_end", "risk_tier", "customers"]]


# ---------------------------------------------------------------- signals

def detect_signal_columns(df, roles=None, meanings=None):
    """Columns each rule needs, from the column meanings: ``{signal: column or (now, before)}``.

    ``meanings`` (the session's corrected map) is detected from ``df`` when not given; see
    :func:`signal_columns_from_meanings`. Only numeric (or boolean) columns qualify.
    """
    if meanings is None:
        from churn_core.data.meanings import detect_meanings

        meanings = detect_meanings(df, roles)
    found = signal_columns_from_meanings(meanings)

    def numeric(c):
        return c in df.columns and (pd.api.types.is_numeric_dtype(df[c].dtype) or pd.api.types.is_bool_dtype(df[c].dtype))

    def usable(c):
        if not isinstance(c, tuple):
            return numeric(c)
        return all(numeric(x) for x in (c[1:] if c[0] in ("change", "months", "days") else c))

    return {sig: c for sig, c in found.items() if usable(c)}


def compute_signals(df, thresholds=None, columns=None):
    """Which warning rules fire for each customer.

    Returns
    -------
    pandas.DataFrame
        One boolean column per detected signal (in :data:`SIGNALS` order) and ``signals``: the codes
        that fired joined with ``";"`` (empty when none). Index aligned with ``df``.
    """
    th = thresholds or SignalThresholds()
    cols = detect_signal_columns(df) if columns is None else dict(columns)
    out = pd.DataFrame(index=df.index)
    for sig in SIGNALS:
        if sig not in cols:
            continue
        c = cols[sig]
        if sig == "activity_drop":
            if c[0] == "change":  # one change column: a ratio now/before (0.7) or a % change (-30)
                drop = -change_percent(df[c[1]])
            else:
                now = pd.to_numeric(df[c[0]], errors="coerce")
                before = pd.to_numeric(df[c[1]], errors="coerce")
                drop = (before - now) / before.where(before > 0) * 100.0
            out[sig] = (drop >= th.activity_drop_pct).fillna(False).astype(bool)
        elif sig == "fund_outflow":
            if isinstance(c, tuple) and c[0] == "change":
                x = change_percent(df[c[1]])
            elif isinstance(c, tuple):  # balance now vs before: change in %
                now = pd.to_numeric(df[c[0]], errors="coerce")
                before = pd.to_numeric(df[c[1]], errors="coerce")
                x = (now - before) / before.where(before > 0) * 100.0
            else:
                x = change_percent(df[c])
            out[sig] = (x <= -th.outflow_pct).fillna(False).astype(bool)
        elif sig == "complaints":
            out[sig] = (pd.to_numeric(df[c], errors="coerce") >= th.complaints_min).fillna(False).astype(bool)
        elif sig == "logins_stopped":
            out[sig] = (pd.to_numeric(df[c], errors="coerce") <= th.logins_max).fillna(False).astype(bool)
        elif sig == "product_closed":
            out[sig] = (pd.to_numeric(df[c], errors="coerce") >= 1).fillna(False).astype(bool)
        elif sig == "inactivity":
            kind, col = c
            least = th.inactive_months_min if kind == "months" else th.inactive_days_min
            out[sig] = (pd.to_numeric(df[col], errors="coerce") >= least).fillna(False).astype(bool)
        elif sig == "service_contacts":
            out[sig] = (pd.to_numeric(df[c], errors="coerce") >= th.contacts_min).fillna(False).astype(bool)
    fired = [sig for sig in SIGNALS if sig in out.columns]
    if fired:
        # one joined string per distinct combination of signals (a few dozen), not per customer
        flags = out[fired].to_numpy(dtype=bool)
        code = flags.astype(np.int64) @ (np.int64(1) << np.arange(len(fired), dtype=np.int64))
        combos, inverse = np.unique(code, return_inverse=True)
        words = np.array([";".join(s for i, s in enumerate(fired) if (int(k) >> i) & 1) for k in combos],
                         dtype=object)
        out["signals"] = words[inverse.ravel()]
    else:
        out["signals"] = ""
    return out


def describe_signals(codes, lang="en"):
    """Words for a ``";"``-joined list of signal codes (``"complaints;fund_outflow"``)."""
    if lang not in _SIGNAL_WORDS:
        raise ValueError("lang must be 'en' or 'zh'")
    words = _SIGNAL_WORDS[lang]
    parts = [words.get(c, c) for c in str(codes or "").split(";") if c]
    return ("、" if lang == "zh" else ", ").join(parts)


# ---------------------------------------------------------------- reasons and watch-list

def compute_reasons(model, df, k=3, lang="en", explanation=None):
    """Top ``k`` reasons in words per customer (``reason_1..reason_k``), from :mod:`churn_core.explain`."""
    from churn_core.explain import compute_top_reasons

    return compute_top_reasons(model, df, k=k, lang=lang, explanation=explanation)


def compute_drivers(model, df, explanation=None, sample=None):
    """Global drivers: ``feature, mean_abs_shap`` sorted by importance (largest first)."""
    from churn_core.explain import compute_global_importance

    imp = compute_global_importance(model, df, explanation=explanation, sample=sample)
    return imp[["feature", "mean_abs_shap"]].reset_index(drop=True)


def compute_watch_list(df, proba, tiers, signals, reasons=None, id_column=None, mask=None,
                       tier_filter=None, signal_filter=None, lang="en"):
    """The watch-list: one row per customer, highest risk first.

    Parameters
    ----------
    df : pandas.DataFrame
        The customers (index aligned with ``proba``, ``tiers``, ``signals``, ``reasons``).
    proba, tiers : array-like
    signals : pandas.DataFrame from :func:`compute_signals`
    reasons : pandas.DataFrame with ``reason_1..reason_3``, optional
    id_column : str, optional
    mask : boolean array-like, optional
        Keep only these customers (e.g. a saved segment's ``seg.mask(df)``).
    tier_filter : list of tier names, optional
    signal_filter : list of signal codes, optional
        Keep customers for whom at least one of these fired.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, churn_probability, risk_tier, reason_1, reason_2, reason_3, signals,
        signals_text``.
    """
    n = len(df)
    p = np.asarray(proba, dtype=float)
    if len(p) != n or len(tiers) != n or len(signals) != n:
        raise ChurnCoreError("warning.misaligned", "Scores, tiers and signals must have one row per customer.")
    ids = df[id_column].to_numpy() if id_column and id_column in df.columns else df.index.to_numpy()
    out = pd.DataFrame({"customer_id": ids, "churn_probability": p,
                        "risk_tier": pd.Categorical(np.asarray(tiers, dtype=object), categories=list(TIERS))},
                       index=df.index)
    for j in (1, 2, 3):
        col = f"reason_{j}"
        out[col] = reasons[col].to_numpy() if reasons is not None and col in reasons.columns else ""
    out["signals"] = signals["signals"].to_numpy()
    out["signals_text"] = [describe_signals(s, lang) for s in out["signals"]]
    keep = np.ones(n, dtype=bool)
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool)
    if tier_filter:
        keep &= out["risk_tier"].astype(str).isin(list(tier_filter)).to_numpy()
    if signal_filter:
        hit = np.zeros(n, dtype=bool)
        for sig in signal_filter:
            if sig in signals.columns:
                hit |= signals[sig].to_numpy(dtype=bool)
        keep &= hit
    out = out[keep]
    # the index stays the one of ``df`` so reasons can be computed for just the rows shown
    return out.sort_values("churn_probability", ascending=False, kind="mergesort")


# ---------------------------------------------------------------- charts

def build_score_distribution_chart(dist, title="Score distribution", x_title="Churn probability",
                                   y_title="Customers", tier_labels=None, tier_title="Risk tier"):
    """Stacked histogram of scores coloured by tier (from :func:`compute_score_distribution`)."""
    import altair as alt

    frame = dist.copy()
    if tier_labels:
        frame["risk_tier"] = frame["risk_tier"].map(lambda t: tier_labels.get(t, t))
        order = [tier_labels.get(t, t) for t in TIERS]
    else:
        order = list(TIERS)
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("bin_start:Q", bin="binned", title=x_title, scale=alt.Scale(domain=[0, 1])),
        x2="bin_end:Q",
        y=alt.Y("sum(customers):Q", title=y_title),
        color=alt.Color("risk_tier:N", sort=order, title=tier_title, scale=alt.Scale(
            domain=order, range=["#d62728", "#ff7f0e", "#2ca02c"])),
        tooltip=[alt.Tooltip("risk_tier:N", title=tier_title), alt.Tooltip("customers:Q", title=y_title), alt.Tooltip("bin_start:Q", format=".2f"),
                 alt.Tooltip("bin_end:Q", format=".2f")],
    ).properties(title=title, height=280)


def build_profit_curve_chart(curve, title="Profit curve", x_title="Customers contacted",
                             y_title="Expected profit"):
    """Expected profit against the number of customers contacted, best point marked."""
    import altair as alt

    line = alt.Chart(curve).mark_line().encode(
        x=alt.X("contacted:Q", title=x_title), y=alt.Y("expected_profit:Q", title=y_title),
        tooltip=["contacted:Q", alt.Tooltip("expected_profit:Q", format=",.0f")])
    best = curve.attrs.get("best_k")
    if best is None:
        return line.properties(title=title, height=280)
    pt = curve[curve["contacted"] == best]
    rule = alt.Chart(pt).mark_rule(color="red", strokeDash=[4, 4]).encode(x="contacted:Q")
    return (line + rule).properties(title=title, height=280)


def signal_columns_from_meanings(meanings):
    """``{signal: column or (now, before)}`` for :func:`compute_signals`, from column meanings.

    - activity_drop: transactions now vs previous period, else a transaction-count change column,
      else a transaction-amount change column (``("change", column)``: a ratio now/before or a %);
    - fund_outflow: the balance change column (a % change or a ratio now/before), else the balance
      now vs the previous period's balance (``(now, before)``);
    - complaints; logins_stopped (logins); product_closed;
    - inactivity: inactive months (``("months", column)``), else days since the last activity
      (``("days", column)``);
    - service_contacts: service contact counts.
    """
    if meanings is None:
        return {}
    found = {}
    now, before = meanings.column("transactions"), meanings.column("transactions_prev")
    if now and before:
        found["activity_drop"] = (now, before)
    elif meanings.column("transactions_change"):
        found["activity_drop"] = ("change", meanings.column("transactions_change"))
    elif meanings.column("transaction_amount_change"):
        found["activity_drop"] = ("change", meanings.column("transaction_amount_change"))
    if meanings.column("balance_change"):
        found["fund_outflow"] = meanings.column("balance_change")
    elif meanings.column("balance") and meanings.column("balance_prev"):
        found["fund_outflow"] = (meanings.column("balance"), meanings.column("balance_prev"))
    for sig, code in (("complaints", "complaints"), ("logins_stopped", "logins"),
                      ("product_closed", "product_closed"), ("service_contacts", "service_contacts")):
        if meanings.column(code):
            found[sig] = meanings.column(code)
    if meanings.column("inactive_months"):
        found["inactivity"] = ("months", meanings.column("inactive_months"))
    elif meanings.column("days_since_activity"):
        found["inactivity"] = ("days", meanings.column("days_since_activity"))
    return found
