"""Retention simulator and budget optimiser: which offer to whom, and what it returns.

The pipeline, and where the time goes
-------------------------------------
1. **Effects** (slow part, once per catalogue/model): an :class:`EffectMatrix` holds, for every
   customer and offer, the expected absolute reduction of P(churn) when the customer is contacted
   with the offer (intent-to-treat: take-up already included), at the catalogue's take-up and mid
   effect. Three sources: assumed relative reductions (:func:`compute_assumed_effects`), the churn
   model re-scoring customers whose actionable features the offer moves
   (:func:`compute_model_effects`), or measured uplift from a past campaign
   (:func:`compute_measured_effects`); :func:`compute_custom_effects` takes any matrix (tests use
   the generator's true effects).
2. **Inputs** (:func:`prepare_inputs`): probabilities, effects, customer value, eligibility and the
   orders of the baselines (riskiest first, random), computed once.
3. **Simulation** (:func:`compute_simulation`, pure numpy arithmetic, the what-if path): slider
   multipliers scale effects, take-up and costs; the optimiser picks the best offer or none per
   customer under the budget and capacities; a Monte Carlo over take-up, effect (and measured
   standard errors) and over which customers actually churn gives 90% intervals; the plan is
   compared with "contact the riskiest" and "random" at the same budget.

Arithmetic of one contact (customer i, offer k)
-----------------------------------------------
- saved probability ``q_ik = base_ik * s_k * m_e`` where ``s_k = t'_k / t_k`` rescales to the
  slider's take-up ``t'_k = min(1, t_k * m_t)`` and ``m_e`` is the effect slider;
- expected retained value ``b_ik = value_i * q_ik``;
- planned cost ``c_k = (contact_k + t'_k * unit_k) * m_c`` (unit cost only on take-up);
- expected net value ``b_ik - c_k``. For assumed effects
  ``base_ik = P(churn)_i * take_up_k * effect_mid_k``, i.e. net value = P(churn) x uplift x value
  x take-up - cost.

Optimiser
---------
A Lagrangian relaxation of the multiple-choice knapsack: for a price ``theta`` of one unit of
budget, every customer takes ``argmax_k b_ik - theta * c_k`` if positive (else no offer); offers
over capacity keep their best-scoring customers and the others fall back to their next offer.
``theta`` is found by bisection (at least 1 when maximising net value, so no contact loses money in
expectation; at least 0 when maximising saved value), then leftover budget is filled greedily. Hard
guarantees, enforced at the end whatever happens before: total planned cost <= budget and customers
per offer <= capacity.

Monte Carlo (vectorised over draws, not customers)
---------------------------------------------------
Per offer and draw: a take-up multiplier and an effect multiplier from triangular distributions
(catalogue low / expected / high), a standard normal for measured standard errors (fully correlated
within an offer: conservative). Which customers actually churn is added by a normal approximation
of the sum of independent Bernoulli outcomes (common random numbers: a customer is saved with
probability ``q``), using per-offer sums of ``q``, ``q^2``, ``v q``, ``v^2 q`` and ``v^2 q^2``.
A re-simulation therefore costs O(customers x offers) numpy work plus O(draws x offers).
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError
from churn_core.jsonutil import to_jsonable
from churn_core.retention.offers import OfferCatalogue, apply_levers, compute_eligibility, detect_lever_columns

OBJECTIVES = ("net_value", "saved_value")
TARGETINGS = ("optimiser", "risk", "random", "mask")


# ----------------------------------------------------------------------------- effects

@dataclass(frozen=True, eq=False)
class EffectMatrix:
    """Per-customer, per-offer expected reduction of P(churn) when contacted (intent-to-treat).

    Attributes
    ----------
    codes : tuple of str
        Offer codes, the column order of ``base``.
    base : ndarray (n, K)
        Reduction at the catalogue's take-up and mid effect.
    se : ndarray (n, K) or None
        Standard errors of ``base`` (measured uplift), 0 where unknown.
    effect_rel_low, effect_rel_high : ndarray (K,)
        Effect range as multipliers of ``base`` (e.g. low/mid and high/mid of the catalogue).
    takeup_rel_low, takeup_rel_high : ndarray (K,)
        Take-up range as multipliers of the expected take-up.
    sources : tuple of str
        Per offer: ``"assumed"``, ``"model"``, ``"measured"`` or ``"custom"``.
    """

    codes: tuple
    base: np.ndarray
    se: np.ndarray | None
    effect_rel_low: np.ndarray
    effect_rel_high: np.ndarray
    takeup_rel_low: np.ndarray
    takeup_rel_high: np.ndarray
    sources: tuple

    def __post_init__(self):
        base = np.asarray(self.base, dtype=float)
        if base.ndim != 2 or base.shape[1] != len(self.codes):
            raise ChurnCoreError("simulate.bad_effects", "The effect matrix needs one column per offer.")
        if not np.isfinite(base).all():
            base = np.nan_to_num(base, nan=0.0, posinf=0.0, neginf=0.0)
        object.__setattr__(self, "base", base)
        if self.se is not None:
            se = np.nan_to_num(np.abs(np.asarray(self.se, dtype=float)), nan=0.0, posinf=0.0)
            object.__setattr__(self, "se", se if se.any() else None)

    @property
    def n(self):
        return self.base.shape[0]


def _ranges(catalogue):
    mids = np.array([o.effect_mid for o in catalogue])
    safe = np.where(mids > 0, mids, 1.0)
    e_lo = np.where(mids > 0, np.array([o.effect_low for o in catalogue]) / safe, 1.0)
    e_hi = np.where(mids > 0, np.array([o.effect_high for o in catalogue]) / safe, 1.0)
    takes = np.array([o.take_up for o in catalogue])
    tsafe = np.where(takes > 0, takes, 1.0)
    t_lo = np.where(takes > 0, np.array([o.take_up_low for o in catalogue]) / tsafe, 1.0)
    t_hi = np.where(takes > 0, np.array([o.take_up_high for o in catalogue]) / tsafe, 1.0)
    return e_lo, e_hi, t_lo, t_hi


def _check_p(p, n=None):
    p = np.asarray(p, dtype=float).ravel()
    if n is not None and len(p) != n:
        raise ChurnCoreError("simulate.length_mismatch", f"Got {len(p)} probabilities for {n} customers.",
                             got=len(p), expected=n)
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ChurnCoreError("simulate.bad_probability", "Churn probabilities must be numbers between 0 and 1.")
    return p


def compute_assumed_effects(churn_probability, catalogue):
    """Assumed effects: ``P(churn) x take-up x relative effect`` (mid), with the catalogue ranges."""
    p = _check_p(churn_probability)
    take = np.array([o.take_up for o in catalogue])
    eff = np.array([o.effect_mid for o in catalogue])
    e_lo, e_hi, t_lo, t_hi = _ranges(catalogue)
    return EffectMatrix(tuple(catalogue.codes), p[:, None] * (take * eff)[None, :], None,
                        e_lo, e_hi, t_lo, t_hi, ("assumed",) * len(catalogue))


def compute_model_effects(model, df, catalogue, churn_probability=None, lever_columns=None, progress=None,
                          meanings=None):
    """Model-based effects: each offer moves actionable features and the churn model re-scores.

    ``base_ik = take_up_k x (P(churn)_i - P(churn | features moved by offer k)_i)``. Offers whose
    levers find no column of ``df`` (and offers without levers, e.g. the win-back call) keep the
    assumed effect. Re-scoring costs one ``predict_proba`` per offer: do it once per catalogue
    change and cache the result; sliders only redo arithmetic. The effect range keeps the
    catalogue's low/mid and high/mid ratios.

    Returns
    -------
    EffectMatrix, with ``sources`` telling which offers were re-scored (``"model"``).
    """
    p = _check_p(model.predict_proba(df) if churn_probability is None else churn_probability, len(df))
    exclude = [c for c in (getattr(model, "label_", None), getattr(model, "id_column_", None)) if c]
    if lever_columns is None:
        lever_columns = detect_lever_columns(df, exclude=exclude, meanings=meanings)
    used = set(getattr(model, "features_", None) or df.columns)
    lever_columns = {k: v for k, v in lever_columns.items()
                     if (v in used if isinstance(v, str) else any(c in used for c in v))}
    assumed = compute_assumed_effects(p, catalogue)
    base = assumed.base.copy()
    sources = list(assumed.sources)
    for k, offer in enumerate(catalogue):
        if progress:
            progress(k / len(catalogue), offer.code)
        moved, applied = apply_levers(df, offer, lever_columns)
        if not applied:
            continue
        p_moved = _check_p(model.predict_proba(moved), len(df))
        base[:, k] = offer.take_up * (p - p_moved)
        sources[k] = "model"
    if progress:
        progress(1.0, "done")
    return EffectMatrix(assumed.codes, base, None, assumed.effect_rel_low, assumed.effect_rel_high,
                        assumed.takeup_rel_low, assumed.takeup_rel_high, tuple(sources))


def compute_measured_effects(effects, catalogue, churn_probability):
    """Measured uplift (``UpliftResult.predict_effects``) in place of assumed effects.

    ``effects`` has a column per offer code (reduction of churn probability per contacted customer,
    positive = fewer churners) and optional ``<code>_se`` columns, row-aligned with the customers.
    Offers without a column keep assumed effects. Measured effects are intent-to-treat: their take-up
    and effect ranges are replaced by the standard error. A reduction cannot exceed the customer's
    churn probability (clipped); a column that is the same for everyone (an average effect without
    per-customer model) is spread in proportion to each customer's risk, keeping its average.
    """
    p = _check_p(churn_probability)
    if len(effects) != len(p):
        raise ChurnCoreError("simulate.length_mismatch",
                             f"Measured effects have {len(effects)} rows for {len(p)} customers.",
                             got=len(effects), expected=len(p))
    assumed = compute_assumed_effects(p, catalogue)
    base = assumed.base.copy()
    se = np.zeros_like(base)
    e_lo, e_hi = assumed.effect_rel_low.copy(), assumed.effect_rel_high.copy()
    t_lo, t_hi = assumed.takeup_rel_low.copy(), assumed.takeup_rel_high.copy()
    sources = list(assumed.sources)
    spread = p / p.mean() if p.mean() > 0 else np.ones_like(p)
    for k, code in enumerate(catalogue.codes):
        if code not in effects.columns:
            continue
        col = pd.to_numeric(effects[code], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        sec = (pd.to_numeric(effects[f"{code}_se"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
               if f"{code}_se" in effects.columns else np.zeros(len(p)))
        if len(col) and np.ptp(col) == 0:
            # one average effect for everyone (no per-customer model): spread it in proportion to
            # each customer's risk, keeping its average (nobody can be saved beyond their own risk)
            col, sec = col * spread, sec * spread
        base[:, k] = np.minimum(col, p)
        se[:, k] = sec
        e_lo[k] = e_hi[k] = t_lo[k] = t_hi[k] = 1.0
        sources[k] = "measured"
    return EffectMatrix(assumed.codes, base, se, e_lo, e_hi, t_lo, t_hi, tuple(sources))


def compute_custom_effects(base, catalogue, se=None, source="custom"):
    """Effects from any (n, K) matrix of intent-to-treat reductions, without ranges."""
    k = len(catalogue)
    ones = np.ones(k)
    return EffectMatrix(tuple(catalogue.codes), np.asarray(base, dtype=float), se, ones, ones, ones, ones,
                        (source,) * k)


# ----------------------------------------------------------------------------- value

def compute_customer_value(df, roles=None, assumptions=None, meanings=None):
    """Yearly value of keeping each customer, and where it came from.

    The one value of the app (:func:`churn_core.analysis.value.compute_customer_value`): money
    columns x their margins from the column meanings + products x product margin - cost to serve,
    in the data's money (it can be negative: keeping a loss-making customer costs money). Source
    ``"contribution"``. Only a table with no money column and no products counts customers: 1 per
    customer, source ``"count"``. The horizon is one year of contribution (no lifetime value).

    Parameters
    ----------
    df : pandas.DataFrame
    roles : churn_core.data.roles.Roles, optional
        Used to detect the meanings when ``meanings`` is not given (label and ids mean nothing).
    assumptions : churn_core.analysis.value.ValueAssumptions, optional
    meanings : churn_core.data.meanings.ColumnMeanings, optional
        The session's (corrected) meanings with their margins; detected from ``df`` when absent.

    Returns
    -------
    (ndarray, str) : values and the source code.
    """
    from churn_core.analysis.segments import ColumnMap
    from churn_core.analysis.value import compute_customer_value as value_of, has_money
    from churn_core.data.meanings import detect_meanings

    if meanings is None:
        meanings = detect_meanings(df, roles)
    if not has_money(ColumnMap.from_meanings(meanings, roles, df)):
        return np.ones(len(df)), "count"
    return np.asarray(value_of(df, meanings, assumptions), dtype=float), "contribution"


# ----------------------------------------------------------------------------- settings, inputs

@dataclass(frozen=True)
class SimulationSettings:
    """The what-if knobs. Multipliers scale the catalogue's take-up, effect and costs."""

    budget: float
    take_up_multiplier: float = 1.0
    effect_multiplier: float = 1.0
    cost_multiplier: float = 1.0
    objective: str = "net_value"
    targeting: str = "optimiser"
    fixed_offer: str | None = None
    n_draws: int = 2000
    confidence: float = 0.9
    seed: int = 0
    # Re-plan (bisection over the value weight, ~9 optimiser runs) when a baseline keeps more
    # customers or value; the 1M-customer what-if path turns it off to answer within a second.
    beat_baselines: bool = True

    def __post_init__(self):
        for name in ("budget", "take_up_multiplier", "effect_multiplier", "cost_multiplier"):
            value = getattr(self, name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ChurnCoreError("simulate.bad_setting", f"{name} must be a number.", setting=name) from None
            if not np.isfinite(value) or value < 0:
                raise ChurnCoreError("simulate.bad_setting", f"{name} must be a number >= 0.", setting=name)
            object.__setattr__(self, name, value)
        if self.objective not in OBJECTIVES:
            raise ChurnCoreError("simulate.bad_setting", f"objective must be one of {OBJECTIVES}.", setting="objective")
        if self.targeting not in TARGETINGS:
            raise ChurnCoreError("simulate.bad_setting", f"targeting must be one of {TARGETINGS}.", setting="targeting")
        if not 0 < self.confidence < 1:
            raise ChurnCoreError("simulate.bad_setting", "confidence must be between 0 and 1.", setting="confidence")
        if int(self.n_draws) < 100:
            raise ChurnCoreError("simulate.bad_setting", "n_draws must be at least 100.", setting="n_draws")
        object.__setattr__(self, "n_draws", int(self.n_draws))


@dataclass(frozen=True, eq=False)
class SimulationInputs:
    """Everything a re-simulation needs, computed once (see :func:`prepare_inputs`)."""

    p: np.ndarray
    effects: EffectMatrix
    value: np.ndarray
    eligibility: np.ndarray
    risk_order: np.ndarray
    random_order: np.ndarray
    customer_ids: np.ndarray
    value_source: str = "count"
    warnings: tuple = ()
    value_base: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.value_base is None:  # value x effect (float32), -inf where not eligible: the optimiser's input
            vb = (self.effects.base * self.value[:, None]).astype(np.float32)
            vb[~self.eligibility] = -np.inf
            object.__setattr__(self, "value_base", vb)

    @property
    def n(self):
        return len(self.p)


def prepare_inputs(churn_probability, effects, value=None, eligibility=None, customer_ids=None, seed=0,
                   value_source=None, warnings=()):
    """Validate and freeze the per-customer arrays; compute the baseline orders once.

    Parameters
    ----------
    churn_probability : array (n,)
    effects : EffectMatrix
    value : array (n,) or None (1 per customer)
    eligibility : bool array (n, K) or None (everyone eligible for everything)
    customer_ids : array (n,) or None (row numbers)
    seed : int, seed of the random baseline order
    """
    p = _check_p(churn_probability)
    n = len(p)
    if effects.n != n:
        raise ChurnCoreError("simulate.length_mismatch", f"Effects have {effects.n} rows for {n} customers.",
                             got=effects.n, expected=n)
    if value is None:
        value, value_source = np.ones(n), value_source or "count"
    value = np.nan_to_num(np.asarray(value, dtype=float).ravel(), nan=0.0, posinf=0.0, neginf=0.0)
    if len(value) != n:
        raise ChurnCoreError("simulate.length_mismatch", f"Got {len(value)} customer values for {n} customers.",
                             got=len(value), expected=n)
    k = len(effects.codes)
    if eligibility is None:
        eligibility = np.ones((n, k), dtype=bool)
    eligibility = np.asarray(eligibility, dtype=bool)
    if eligibility.shape != (n, k):
        raise ChurnCoreError("simulate.bad_eligibility", "Eligibility needs one row per customer and one column per offer.")
    ids = np.arange(n) if customer_ids is None else np.asarray(customer_ids)
    risk_order = np.argsort(-p, kind="stable")
    random_order = np.random.default_rng(seed).permutation(n)
    return SimulationInputs(p, effects, value, eligibility, risk_order, random_order, ids,
                            value_source or "given", tuple(warnings))


def prepare_inputs_from_frame(df, catalogue, churn_probability, effects, roles=None, segments=None, id_column=None,
                              value=None, seed=0, meanings=None, assumptions=None, value_source=None):
    """:func:`prepare_inputs` from a customer table: eligibility rules, value and ids from ``df``.

    ``meanings`` (the session's column meanings) drive eligibility rules written with meanings and
    the customer value in money; ``assumptions`` are the Value page's
    :class:`~churn_core.analysis.value.ValueAssumptions`. A ``value`` computed by the caller (the
    workspace's :func:`churn_core.analysis.value.compute_customer_value`) keeps its
    ``value_source`` (``"contribution"``, ``"count"``; default ``"given"``).
    """
    if meanings is None:
        from churn_core.data.meanings import detect_meanings

        meanings = detect_meanings(df, roles)
    eligibility, warnings = compute_eligibility(df, catalogue, segments=segments, meanings=meanings)
    value_source = value_source or "given"
    if value is None:
        value, value_source = compute_customer_value(df, roles, assumptions, meanings=meanings)
    ids = df[id_column].to_numpy() if id_column and id_column in df.columns else np.asarray(df.index)
    return prepare_inputs(churn_probability, effects, value, eligibility, ids, seed=seed,
                          value_source=value_source, warnings=warnings)


# ----------------------------------------------------------------------------- optimiser

def _scaled(inputs, catalogue, settings):
    """Per-offer factors of the current sliders: effect scale s_k*m_e, take-up t'_k, cost c_k."""
    take = np.array([o.take_up for o in catalogue])
    t_new = np.clip(take * settings.take_up_multiplier, 0, 1)
    s = np.where(take > 0, t_new / np.where(take > 0, take, 1.0), 0.0)
    scale = s * settings.effect_multiplier
    unit = np.array([o.unit_cost for o in catalogue])
    contact = np.array([o.contact_cost for o in catalogue])
    cost = (contact + t_new * unit) * settings.cost_multiplier
    return scale, t_new, cost, unit * settings.cost_multiplier, contact * settings.cost_multiplier


def _capacities(catalogue):
    return np.array([np.inf if o.capacity is None else float(o.capacity) for o in catalogue])


def _benefit(inputs, scale, fixed=None):
    """Expected retained value per customer and offer (float32), -inf where not eligible."""
    vb = inputs.value_base
    out = np.multiply(vb, scale.astype(np.float32)[None, :])
    for j in np.flatnonzero(scale == 0):  # -inf * 0 would be nan
        out[:, j] = np.where(inputs.eligibility[:, j], np.float32(0), np.float32(-np.inf))
    if fixed is not None:
        out[:, np.arange(vb.shape[1]) != fixed] = -np.inf
    return out


def _choose(benefit, cost, theta, cap):
    """Lagrangian choice for price ``theta``: offer index per row (-1 = none), capacity respected."""
    score = benefit - np.float32(theta) * cost.astype(np.float32)[None, :]
    n, k = score.shape
    rows = np.arange(n)
    for _ in range(k + 1):
        choice = np.argmax(score, axis=1)
        best = score[rows, choice]
        choice = np.where(best > 0, choice, -1)
        over = False
        for j in np.flatnonzero(np.isfinite(cap)):
            idx = np.flatnonzero(choice == j)
            if len(idx) > cap[j]:
                drop = idx[np.argsort(-best[idx], kind="stable")[int(cap[j]):]]
                score[drop, j] = -np.inf
                over = True
        if not over:
            return choice
    return _enforce_capacity(choice, np.where(choice >= 0, best, 0), cap)


def _enforce_capacity(choice, priority, cap):
    """Drop the lowest-priority customers of any offer over capacity (last-resort guarantee)."""
    choice = choice.copy()
    for j in np.flatnonzero(np.isfinite(cap)):
        idx = np.flatnonzero(choice == j)
        if len(idx) > cap[j]:
            drop = idx[np.argsort(-priority[idx], kind="stable")[int(cap[j]):]]
            choice[drop] = -1
    return choice


def _plan_cost(choice, cost):
    return float(np.bincount(choice[choice >= 0], minlength=len(cost)) @ cost)


def _best_ratio(benefit, cost):
    """Per customer: best benefit per unit of cost (inf for a free offer with positive benefit,
    -inf when nothing is eligible) and the offer achieving it."""
    n, k = benefit.shape
    if (cost > 0).all():
        ratio = benefit * (1.0 / cost).astype(np.float32)[None, :]
        arg = np.argmax(ratio, axis=1)
        return ratio[np.arange(n), arg].astype(float), arg
    r = np.full(n, -np.inf)
    arg = np.zeros(n, dtype=np.int64)
    for j in range(k):
        col = benefit[:, j].astype(float)
        rj = col / cost[j] if cost[j] > 0 else np.where(col > 0, np.inf, -np.inf)
        better = rj > r
        r = np.where(better, rj, r)
        arg = np.where(better, j, arg)
    return r, arg


def _optimise(benefit, cost, cap, budget, objective, tol=1e-4):
    """Best offer (or none) per customer under budget and capacities (see module docstring).

    Customers are sorted by their best benefit/cost ratio; at price ``theta`` only those with a
    ratio above ``theta`` can take an offer, so each evaluation works on a prefix (a view). Only the
    customers the budget can reach are sorted, unless the search needs more.
    """
    n, k = benefit.shape
    choice = np.full(n, -1)
    theta_min = 1.0 if objective == "net_value" else 0.0
    r, arg = _best_ratio(benefit, cost)
    cand = np.flatnonzero(r > theta_min)
    if len(cand) == 0:
        return choice
    positive = cost[cost > 0]
    reach = len(cand)
    if len(positive) == k:
        reach = int(min(len(cand), 3 * budget / positive.min() + 1000))
    while True:
        if reach < len(cand):
            top = np.argpartition(-r[cand], reach)[:reach]
            order = cand[top[np.argsort(-r[cand[top]], kind="stable")]]
            floor = float(r[order[-1]])  # theta below this would need customers not sorted yet
        else:
            order = cand[np.argsort(-r[cand], kind="stable")]
            floor = -np.inf
        sub = _optimise_sorted(order, r, arg, benefit, cost, cap, budget, theta_min, floor, tol)
        if sub is not None:
            choice[order] = sub
            return choice
        reach = len(cand)


def _optimise_sorted(order, r, arg, benefit, cost, cap, budget, theta_min, floor, tol):
    rs = r[order]
    neg = -rs
    b = benefit[order]

    def plan_at(theta):
        m = int(np.searchsorted(neg, -theta, side="left"))  # customers with ratio > theta
        sub = np.full(len(order), -1)
        if m:
            sub[:m] = _choose(b[:m], cost, theta, cap)
        return sub

    def spend(sub):
        return _plan_cost(sub, cost)

    finite = rs[np.isfinite(rs)]
    top = float(finite[0]) * 1.0001 + 1e-12 if len(finite) else 1.0
    # first guess: fill the budget with each customer's best-ratio offer, best ratio first
    cum = np.cumsum(cost[arg[order]])
    fit = int(np.searchsorted(cum, budget, side="right"))
    guess = float(rs[fit]) if fit < len(rs) and np.isfinite(rs[fit]) else theta_min
    t = max(theta_min, guess, floor)
    sub = plan_at(t)
    if spend(sub) <= budget:
        hi, hi_plan, lo = t, sub, None
        while lo is None:
            if t <= theta_min:
                return hi_plan
            t = max(theta_min, t / 2 if t > 1e-12 else 0.0)
            if t < floor:
                return None  # the answer lies among customers not sorted yet
            sub = plan_at(t)
            if spend(sub) <= budget:
                hi, hi_plan = t, sub
            else:
                lo = t
    else:
        lo = t
        hi, hi_plan = None, None
        while hi is None:
            t = min(top, t * 2 if t > 0 else 1e-9)
            sub = plan_at(t)
            if spend(sub) <= budget:
                hi, hi_plan = t, sub
            elif t >= top:  # only free offers remain: capacity bounds them, drop the paid ones
                hi, hi_plan = t, np.where(cost[np.maximum(sub, 0)] > 0, -1, sub)
            else:
                lo = t
    for _ in range(60):
        if hi - lo <= tol * hi:
            break
        mid = 0.5 * (lo + hi) if lo <= 0 or hi / lo > 4 else float(np.sqrt(lo * hi))
        sub = plan_at(mid)
        if spend(sub) <= budget:
            hi, hi_plan = mid, sub
        else:
            lo = mid
    return _fill(hi_plan, b, cost, cap, budget, hi, theta_min)


def _fill(choice, benefit, cost, cap, budget, theta, theta_min):
    """Spend leftover budget on unassigned customers, best score first, within capacity.

    Rows are sorted by best ratio, so only the first unassigned rows are worth looking at.
    """
    left = budget - _plan_cost(choice, cost)
    positive = cost[cost > 0]
    if left <= 0 or len(positive) == 0:
        return choice
    counts = np.bincount(choice[choice >= 0], minlength=len(cost)).astype(float)
    room = cap - counts
    limit = int(min(len(choice), 4 * left / positive.min() + 1000))
    free = np.flatnonzero(choice < 0)[:limit]
    for _ in range(3):
        usable = (room > 0) & (cost <= left)
        if not usable.any() or len(free) == 0:
            break
        bf = benefit[free].astype(float)
        score = np.where(usable[None, :] & (bf - theta_min * cost[None, :] > 0), bf - theta * cost[None, :], -np.inf)
        pick = np.argmax(score, axis=1)
        best = score[np.arange(len(free)), pick]
        ok = np.isfinite(best)
        if not ok.any():
            break
        idx, pick = _best_within_capacity(free[ok], pick[ok], best[ok], room)
        take = np.cumsum(cost[pick]) <= left
        if not take.any():
            break
        choice[idx[take]] = pick[take]
        left -= float(cost[pick[take]].sum())
        counts = np.bincount(choice[choice >= 0], minlength=len(cost)).astype(float)
        room = cap - counts
        free = free[choice[free] < 0]
    return _upgrade(choice, benefit, cost, cap, left, theta_min)


def _plan_totals(choice, inputs, scale):
    """Expected customers kept and expected value kept by a plan (point estimates)."""
    agg = _aggregates(choice, inputs, scale, len(scale))
    return float((scale * agg["q1"]).sum()), float((scale * agg["v1"]).sum())


def _beat_baselines(choice, inputs, benefit, cost, cap, settings, scale, pref, net, steps=8):
    """Never hand over a plan that a baseline beats: keep at least as many customers AND as much
    value as "contact the riskiest" and "random" with the same budget.

    Maximising value can keep fewer customers than the riskiest-first plan (it prefers valuable
    customers). Then the optimiser's value weight ``w`` is lowered toward counting customers (each
    customer's value blended with the mean value: ``w * value + (1 - w) * mean``): the largest
    ``w`` (by bisection) whose plan keeps as many customers as the best baseline is taken when it also
    keeps as much value. The objective is kept: under "net value" no blend contacts a customer at an
    expected loss, so where a baseline keeps more customers only by losing money on them, the
    value-maximising plan stays (and beats the baselines on net benefit).
    Returns ``(choice, value_weight)``.
    """
    targets = [_plan_totals(_fill_in_order(order, pref, net, cost, cap, settings.budget), inputs, scale)
               for order in (inputs.risk_order, inputs.random_order)]
    need_saved = max(t[0] for t in targets) * (1 - 1e-9)
    need_value = max(t[1] for t in targets) * (1 - 1e-9)
    saved, value = _plan_totals(choice, inputs, scale)
    if saved >= need_saved and value >= need_value:
        return choice, 1.0
    finite = np.isfinite(benefit)
    mean_value = np.float32(float(np.mean(inputs.value)) or 1.0)
    count_benefit = np.where(finite, inputs.effects.base * mean_value * scale.astype(np.float32)[None, :], 0)
    safe_benefit = np.where(finite, benefit, 0)

    def plan(weight, objective):
        blended = np.where(finite, weight * safe_benefit + (1 - weight) * count_benefit, -np.inf)
        return _optimise(blended.astype(np.float32), cost, cap, settings.budget, objective)

    best = plan(0.0, settings.objective)
    if _plan_totals(best, inputs, scale)[0] < need_saved:
        return choice, 1.0  # e.g. the baselines keep more only by contacts that lose money
    low, high, best_weight = 0.0, 1.0, 0.0
    for _ in range(steps):
        mid = (low + high) / 2
        trial = plan(mid, settings.objective)
        if _plan_totals(trial, inputs, scale)[0] >= need_saved:
            low, best, best_weight = mid, trial, mid
        else:
            high = mid
    if _plan_totals(best, inputs, scale)[1] >= need_value:
        return best, best_weight
    return choice, 1.0


def _best_within_capacity(idx, pick, best, room):
    """Candidates (customer ``idx`` -> offer ``pick``) best first, cut to each offer's room left."""
    order = np.argsort(-best, kind="stable")
    idx, pick = idx[order], pick[order]
    rank = np.zeros(len(idx))
    for j in np.unique(pick):
        m = pick == j
        rank[m] = np.arange(m.sum())
    keep = rank < room[pick]
    return idx[keep], pick[keep]


def _upgrade(choice, benefit, cost, cap, left, theta_min):
    """With budget left, move contacted customers to a dearer offer that adds net value."""
    positive = cost[cost > 0]
    if left <= 0 or len(positive) == 0:
        return choice
    for _ in range(2):
        counts = np.bincount(choice[choice >= 0], minlength=len(cost)).astype(float)
        room = cap - counts
        held = np.flatnonzero(choice >= 0)[: int(4 * left / positive.min() + 1000)]
        if len(held) == 0:
            break
        cur = choice[held]
        bf = benefit[held].astype(float)
        gain = (bf - theta_min * cost[None, :]) - (bf[np.arange(len(held)), cur] - theta_min * cost[cur])[:, None]
        extra = cost[None, :] - cost[cur][:, None]
        ok = (gain > 0) & (extra > 0) & (extra <= left) & (room > 0)[None, :]
        score = np.where(ok, gain / np.where(extra > 0, extra, 1.0), -np.inf)
        pick = np.argmax(score, axis=1)
        best = score[np.arange(len(held)), pick]
        fine = np.isfinite(best)
        if not fine.any():
            break
        idx, pick = _best_within_capacity(held[fine], pick[fine], best[fine], room)
        delta = cost[pick] - cost[choice[idx]]
        take = np.cumsum(delta) <= left
        if not take.any():
            break
        choice[idx[take]] = pick[take]
        left -= float(delta[take].sum())
    return choice


def _preferred(benefit, cost):
    """Each customer's best eligible offer by expected net value (-1 when none is eligible)."""
    net = benefit - cost.astype(np.float32)[None, :]
    pref = np.argmax(net, axis=1)
    ok = np.isfinite(net[np.arange(len(pref)), pref])
    return np.where(ok, pref, -1), net


def _fill_in_order(order, pref, net, cost, cap, budget):
    """Contact customers in ``order`` until the budget runs out (the baselines and rule targeting).

    Each customer gets their preferred offer (``pref``, from :func:`_preferred`); an offer at
    capacity passes the customer to their next best one. Only a prefix of ``order`` can be reached
    with the budget: work on a prefix, longer if needed.
    """
    order = np.asarray(order)
    positive = cost[cost > 0]
    if len(positive) < len(cost) or len(order) == 0:
        length = len(order)
    else:
        length = int(min(len(order), 1.2 * budget / positive.min() + 1000))
    while True:
        choice, left = _fill_prefix(order[:length], pref, net, cost, cap, budget)
        if length >= len(order) or (len(positive) and left < positive.min()):
            return choice
        length = min(len(order), 2 * length)


def _fill_prefix(order, pref, net, cost, cap, budget):
    n = len(pref)
    choice = np.full(n, -1)
    if len(order) == 0:
        return choice, float(budget)
    sub = pref[order]
    banned = None  # (customers in order x offers): offer at capacity when the customer's turn came
    for _ in range(len(cost) + 1):
        over = False
        for j in np.flatnonzero(np.isfinite(cap)):
            idx = np.flatnonzero(sub == j)  # already in priority order
            if len(idx) > cap[j]:
                spill = idx[int(cap[j]):]
                if banned is None:
                    banned = np.zeros((len(order), len(cost)), dtype=bool)
                banned[spill, j] = True
                rows = np.where(banned[spill], -np.inf, net[order[spill]])
                nxt = np.argmax(rows, axis=1)
                ok = np.isfinite(rows[np.arange(len(spill)), nxt])
                sub[spill] = np.where(ok, nxt, -1)
                over = True
        if not over:
            break
    sub = _enforce_capacity(sub, -np.arange(len(order), dtype=float), cap)
    # budget: in order, contact if the cost still fits (three vectorised passes)
    left = float(budget)
    keep = np.zeros(len(order), dtype=bool)
    pending = np.flatnonzero(sub >= 0)
    for _ in range(3):
        if len(pending) == 0 or left <= 0:
            break
        c = cost[sub[pending]]
        pending = pending[c <= left]
        c = cost[sub[pending]]
        take = np.cumsum(c) <= left
        keep[pending[take]] = True
        left -= float(c[take].sum())
        pending = pending[~take]
    choice[order[keep]] = sub[keep]
    return choice, left


def top_n_mask(churn_probability, n_top):
    """Mask of the ``n_top`` riskiest customers (ties by row order)."""
    p = np.asarray(churn_probability, dtype=float)
    mask = np.zeros(len(p), dtype=bool)
    mask[np.argsort(-p, kind="stable")[: max(int(n_top), 0)]] = True
    return mask


# ----------------------------------------------------------------------------- Monte Carlo

def _triangular(u, low, high):
    """Inverse CDF of a triangular(low, 1, high) distribution (mode 1); constant when low == high."""
    low = np.minimum(low, 1.0)
    high = np.maximum(high, 1.0)
    width = high - low
    safe = np.where(width > 0, width, 1.0)
    f = np.where(width > 0, (1.0 - low) / safe, 0.5)
    left = low + np.sqrt(u * safe * (1.0 - low))
    right = high - np.sqrt((1.0 - u) * safe * (high - 1.0))
    out = np.where(u < f, left, right)
    return np.where(width > 0, out, 1.0)


def _aggregates(choice, inputs, scale, k):
    """Per-offer sums the Monte Carlo needs (O(contacted customers))."""
    idx = np.flatnonzero(choice >= 0)
    a = choice[idx]
    q = inputs.effects.base[idx, a]
    v = inputs.value[idx]

    def s(w):
        return np.bincount(a, weights=w, minlength=k)

    q1 = s(q)
    qa = np.abs(q)
    q1abs = s(qa) if (q < 0).any() else q1
    vq = v * q
    vvq = v * vq
    zero = np.zeros(k)
    if inputs.effects.se is not None:
        se = inputs.effects.se[idx, a]
        se1, vse = s(se), s(v * se)
    else:
        se1 = vse = zero
    return {
        "count": np.bincount(a, minlength=k).astype(float),
        "q1": q1, "q1abs": q1abs, "q2": s(q * q), "se1": se1,
        "v1": s(vq), "v2": s(np.abs(vvq)), "v3": s(vvq * q), "vse": vse,
    }


def _summaries(agg, inputs, catalogue, settings, scale, t_new, cost, unit, contact):
    """Point figures and Monte Carlo intervals of a plan from its per-offer sums."""
    k = len(cost)
    rng = np.random.default_rng(settings.seed)
    d = settings.n_draws
    eff = inputs.effects
    tmult = _triangular(rng.random((d, k)), eff.takeup_rel_low[None, :], eff.takeup_rel_high[None, :])
    # realised take-up cannot exceed 100%
    t_draw = np.minimum(t_new[None, :] * tmult, 1.0)
    tfac = np.where(t_new > 0, t_draw / np.where(t_new > 0, t_new, 1.0)[None, :], 0.0)
    emult = _triangular(rng.random((d, k)), eff.effect_rel_low[None, :], eff.effect_rel_high[None, :])
    z = rng.standard_normal((d, k))
    f = scale[None, :] * tfac * emult                       # (d, k) multiplier of base
    mean_saved = f * agg["q1"][None, :] + z * scale[None, :] * tfac * agg["se1"][None, :]
    var_saved = np.clip(f * agg["q1abs"][None, :] - f * f * agg["q2"][None, :], 0, None).sum(axis=1)
    mean_value = f * agg["v1"][None, :] + z * scale[None, :] * tfac * agg["vse"][None, :]
    var_value = np.clip(f * agg["v2"][None, :] - f * f * agg["v3"][None, :], 0, None).sum(axis=1)
    zc = rng.standard_normal(d)                              # which customers churn (common numbers)
    saved = mean_saved.sum(axis=1) + np.sqrt(var_saved) * zc
    value = mean_value.sum(axis=1) + np.sqrt(var_value) * zc
    count = agg["count"]
    takers_var = (count[None, :] * t_draw * (1 - t_draw) * unit[None, :] ** 2).sum(axis=1)
    cost_draw = (count[None, :] * (contact[None, :] + t_draw * unit[None, :])).sum(axis=1) \
        + np.sqrt(takers_var) * rng.standard_normal(d)
    p = inputs.p
    churn0 = p.sum() + np.sqrt((p * (1 - p)).sum()) * rng.standard_normal(d)
    n = max(inputs.n, 1)
    net = value - cost_draw
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = np.where(cost_draw > 0, net / cost_draw, np.nan)

    alpha = (1 - settings.confidence) / 2

    def q(x):
        x = x[np.isfinite(x)]
        if len(x) == 0:
            return float("nan"), float("nan")
        lo_, hi_ = np.quantile(x, [alpha, 1 - alpha])
        return float(lo_), float(hi_)

    exp_saved = float((scale * agg["q1"]).sum())
    exp_value = float((scale * agg["v1"]).sum())
    exp_cost = float((count * cost).sum())
    churn_before = float(p.sum())
    out = {
        "customers": int(inputs.n),
        "targeted": int(count.sum()),
        "expected_saved": exp_saved,
        "retained_value": exp_value,
        "cost": exp_cost,
        "net_benefit": exp_value - exp_cost,
        "roi": (exp_value - exp_cost) / exp_cost if exp_cost > 0 else None,
        "expected_churners": churn_before,
        "retention_before": 1 - churn_before / n,
        "retention_after": 1 - (churn_before - exp_saved) / n,
    }
    for key, draws in (("expected_saved", saved), ("retained_value", value), ("cost", cost_draw),
                       ("net_benefit", net), ("roi", roi), ("retention_before", 1 - churn0 / n),
                       ("retention_after", 1 - (churn0 - saved) / n)):
        out[key + "_low"], out[key + "_high"] = q(draws)
    return out


def _point_roi(agg, scale, t_new, unit, contact, tf=None, ef=None, cf=1.0):
    tf = np.ones_like(scale) if tf is None else tf
    ef = np.ones_like(scale) if ef is None else ef
    t = np.minimum(t_new * tf, 1.0)
    fac = np.where(t_new > 0, t / np.where(t_new > 0, t_new, 1.0), 0.0)
    value = float((scale * fac * ef * agg["v1"]).sum())
    cost = float((agg["count"] * (contact + t * unit)).sum()) * cf
    return (value - cost) / cost if cost > 0 else None


# ----------------------------------------------------------------------------- result

@dataclass(eq=False)
class SimulationResult:
    """A simulated plan: assignment, summary with intervals, per-offer table, baselines, tornado.

    Attributes
    ----------
    choice : ndarray (n,) of offer index, -1 for no contact
    summary : dict of point figures and ``<key>_low`` / ``<key>_high`` interval bounds
    by_offer : DataFrame offer, customers, cost, expected_saved, retained_value, net_benefit
    baselines : {"risk": summary, "random": summary} at the same budget
    tornado : DataFrame factor, low, high (ROI when the factor is at its low / high value), base
    """

    settings: SimulationSettings
    codes: tuple
    choice: np.ndarray
    summary: dict
    by_offer: pd.DataFrame
    baselines: dict
    tornado: pd.DataFrame
    scale: np.ndarray = field(repr=False)
    cost_per_offer: np.ndarray = field(repr=False)
    inputs: SimulationInputs = field(repr=False)

    def contact_plan(self):
        """One row per contacted customer: id, offer, churn_probability, expected_saved,
        expected_value, cost, net_value; best expected net value first."""
        idx = np.flatnonzero(self.choice >= 0)
        a = self.choice[idx]
        saved = self.inputs.effects.base[idx, a] * self.scale[a]
        value = saved * self.inputs.value[idx]
        cost = self.cost_per_offer[a]
        frame = pd.DataFrame({
            "customer_id": self.inputs.customer_ids[idx],
            "offer": np.asarray(self.codes, dtype=object)[a],
            "churn_probability": self.inputs.p[idx],
            "expected_saved": saved,
            "expected_value": value,
            "cost": cost,
            "net_value": value - cost,
        })
        return frame.sort_values("net_value", ascending=False, kind="stable").reset_index(drop=True)

    def to_dict(self):
        """JSON-ready figures (the CLI's plan.json and the saved scenarios)."""
        s = self.summary
        out = {"budget": self.settings.budget}
        out.update({k: to_jsonable(v) for k, v in s.items()})
        out["baseline_risk_saved"] = self.baselines["risk"]["expected_saved"]
        out["baseline_random_saved"] = self.baselines["random"]["expected_saved"]
        out["baseline_risk_value"] = self.baselines["risk"]["retained_value"]
        out["baseline_random_value"] = self.baselines["random"]["retained_value"]
        out["baselines"] = {name: {k: to_jsonable(v) for k, v in b.items()} for name, b in self.baselines.items()}
        out["by_offer"] = [{k: to_jsonable(v) for k, v in row.items()} for row in self.by_offer.to_dict("records")]
        out["tornado"] = [{k: to_jsonable(v) for k, v in row.items()} for row in self.tornado.to_dict("records")]
        out["settings"] = {
            "take_up_multiplier": self.settings.take_up_multiplier,
            "effect_multiplier": self.settings.effect_multiplier,
            "cost_multiplier": self.settings.cost_multiplier,
            "objective": self.settings.objective, "targeting": self.settings.targeting,
            "confidence": self.settings.confidence, "n_draws": self.settings.n_draws, "seed": self.settings.seed,
        }
        out["value_source"] = self.inputs.value_source
        out["effect_sources"] = dict(zip(self.codes, self.inputs.effects.sources))
        return out



def compute_simulation(inputs, catalogue, settings, target_mask=None, baselines=True):
    """Simulate a plan for the current sliders (pure arithmetic; see the module docstring).

    Parameters
    ----------
    inputs : SimulationInputs
    catalogue : OfferCatalogue (same offers, same order as ``inputs.effects.codes``)
    settings : SimulationSettings
    target_mask : bool array (n,) or None
        For ``targeting="mask"`` (tier, saved segment, top-N): only these customers, riskiest first.
    baselines : bool
        Also simulate "contact the riskiest" and "random" with the same budget.

    Returns
    -------
    SimulationResult
    """
    if not isinstance(catalogue, OfferCatalogue):
        raise ChurnCoreError("simulate.bad_catalogue", "Pass an OfferCatalogue.")
    if tuple(catalogue.codes) != tuple(inputs.effects.codes):
        raise ChurnCoreError("simulate.catalogue_changed",
                             "The offers changed since the effects were computed: recompute the effects.")
    k = len(catalogue)
    scale, t_new, cost, unit, contact = _scaled(inputs, catalogue, settings)
    cap = _capacities(catalogue)
    fixed = None
    if settings.fixed_offer:
        fixed = catalogue.codes.index(catalogue.get(settings.fixed_offer).code)
    benefit = _benefit(inputs, scale, fixed)
    pref = net = None
    if settings.targeting != "optimiser" or baselines:
        pref, net = _preferred(benefit, cost)
    value_weight = 1.0
    if settings.targeting == "optimiser":
        choice = _optimise(benefit, cost, cap, settings.budget, settings.objective)
        if baselines and fixed is None and settings.beat_baselines:
            choice, value_weight = _beat_baselines(choice, inputs, benefit, cost, cap, settings, scale, pref, net)
    elif settings.targeting == "random":
        choice = _fill_in_order(inputs.random_order, pref, net, cost, cap, settings.budget)
    else:
        order = inputs.risk_order
        if settings.targeting == "mask":
            if target_mask is None:
                raise ChurnCoreError("simulate.no_target", "Choose whom to target (tier, segment or top N).")
            target_mask = np.asarray(target_mask, dtype=bool)
            if len(target_mask) != inputs.n:
                raise ChurnCoreError("simulate.length_mismatch", "The target mask needs one value per customer.",
                                     got=len(target_mask), expected=inputs.n)
            order = order[target_mask[order]]
        choice = _fill_in_order(order, pref, net, cost, cap, settings.budget)
    # the guarantees, whatever happened above: budget, capacity, eligibility
    if _plan_cost(choice, cost) > settings.budget * (1 + 1e-9) + 1e-9:
        raise AssertionError("plan over budget")
    if (np.bincount(choice[choice >= 0], minlength=k) > cap).any():
        raise AssertionError("plan over capacity")
    if not inputs.eligibility[choice >= 0, choice[choice >= 0]].all():
        raise AssertionError("offer to an ineligible customer")

    agg = _aggregates(choice, inputs, scale, k)
    summary = _summaries(agg, inputs, catalogue, settings, scale, t_new, cost, unit, contact)
    summary["value_weight"] = value_weight
    by_offer = pd.DataFrame({
        "offer": list(catalogue.codes),
        "customers": agg["count"].astype(int),
        "cost": agg["count"] * cost,
        "expected_saved": scale * agg["q1"],
        "retained_value": scale * agg["v1"],
    })
    by_offer["net_benefit"] = by_offer["retained_value"] - by_offer["cost"]
    by_offer["source"] = list(inputs.effects.sources)
    base_roi = summary["roi"]
    eff = inputs.effects
    tornado = pd.DataFrame([
        {"factor": "take_up", "low": _point_roi(agg, scale, t_new, unit, contact, tf=eff.takeup_rel_low if (eff.takeup_rel_low != 1).any() else np.full(k, 0.8)),
         "high": _point_roi(agg, scale, t_new, unit, contact, tf=eff.takeup_rel_high if (eff.takeup_rel_high != 1).any() else np.full(k, 1.2))},
        {"factor": "effect", "low": _point_roi(agg, scale, t_new, unit, contact, ef=eff.effect_rel_low if (eff.effect_rel_low != 1).any() else np.full(k, 0.8)),
         "high": _point_roi(agg, scale, t_new, unit, contact, ef=eff.effect_rel_high if (eff.effect_rel_high != 1).any() else np.full(k, 1.2))},
        {"factor": "cost", "low": _point_roi(agg, scale, t_new, unit, contact, cf=1.2),
         "high": _point_roi(agg, scale, t_new, unit, contact, cf=0.8)},
    ])
    tornado["base"] = base_roi
    tornado["swing"] = (tornado["high"].astype(float) - tornado["low"].astype(float)).abs()
    tornado = tornado.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)

    base_results = {}
    if baselines:
        for name, order in (("risk", inputs.risk_order), ("random", inputs.random_order)):
            bchoice = _fill_in_order(order, pref, net, cost, cap, settings.budget)
            bagg = _aggregates(bchoice, inputs, scale, k)
            base_results[name] = _summaries(bagg, inputs, catalogue, settings, scale, t_new, cost, unit, contact)
    return SimulationResult(settings, tuple(catalogue.codes), choice, summary, by_offer, base_results, tornado,
                            scale, cost, inputs)


# ----------------------------------------------------------------------------- one customer

def compute_customer_offers(model, row, catalogue, threshold, lever_columns=None, maxima=None):
    """Risk of one customer under each offer (if taken up), cheapest first.

    Parameters
    ----------
    model : fitted ChurnModel
    row : one-row DataFrame (the customer, possibly with edited features)
    catalogue : OfferCatalogue
    threshold : float, lower bound of the High tier; an offer "works" when the risk after it is below
    lever_columns : lever columns of the full table (detect on the table, not on one row)
    maxima : {column: cap} for additive levers (e.g. the table's largest number of products)

    Returns
    -------
    (DataFrame, str | None): rows ``offer, cost, churn_probability, churn_probability_after, method,
    below``; and the code of the cheapest offer bringing the customer below ``threshold`` (None if
    no offer does).
    """
    if len(row) != 1:
        raise ChurnCoreError("simulate.one_customer", "Pass exactly one customer.")
    p = float(model.predict_proba(row)[0])
    lever_columns = detect_lever_columns(row) if lever_columns is None else lever_columns
    rows = []
    for offer in catalogue:
        moved, applied = apply_levers(row, offer, lever_columns, maxima=maxima)
        if applied:
            after, method = float(model.predict_proba(moved)[0]), "model"
        else:
            after, method = p * (1 - offer.effect_mid), "assumed"
        rows.append({"offer": offer.code, "cost": offer.contact_cost + offer.unit_cost,
                     "churn_probability": p, "churn_probability_after": after, "method": method,
                     "below": after < threshold})
    frame = pd.DataFrame(rows).sort_values(["cost", "churn_probability_after"], kind="stable").reset_index(drop=True)
    winners = frame[frame["below"]]
    best = None if p < threshold or winners.empty else str(winners.iloc[0]["offer"])
    return frame, best


# ----------------------------------------------------------------------------- charts and tables

def compute_comparison_frame(result):
    """Plan vs baselines: one row per plan (``plan`` in optimiser/risk/random) with its figures."""
    rows = [{"plan": "optimiser", **{k: result.summary[k] for k in _COMPARE}}]
    for name, summary in result.baselines.items():
        rows.append({"plan": name, **{k: summary[k] for k in _COMPARE}})
    return pd.DataFrame(rows)


_COMPARE = ("targeted", "expected_saved", "expected_saved_low", "expected_saved_high", "retained_value",
            "retained_value_low", "retained_value_high", "cost", "net_benefit", "roi")


def build_comparison_chart(result, labels, measure="retained_value", title=None):
    """Bars of ``measure`` for this plan and both baselines, with the 90% interval as a rule.

    ``labels`` maps plan codes (optimiser, risk, random) to display names.
    """
    import altair as alt

    frame = compute_comparison_frame(result)
    frame["label"] = frame["plan"].map(lambda p: labels.get(p, p))
    frame = frame.rename(columns={measure: "value", f"{measure}_low": "low", f"{measure}_high": "high"})
    frame = frame[["plan", "label", "value", "low", "high"]]
    base = alt.Chart(frame).encode(y=alt.Y("label:N", sort=None, title=None))
    bars = base.mark_bar().encode(
        x=alt.X("value:Q", title=title or measure),
        color=alt.condition(alt.datum.plan == "optimiser", alt.value("#2563eb"), alt.value("#9ca3af")),
        tooltip=[alt.Tooltip("label:N"), alt.Tooltip("value:Q", format=",.1f"),
                 alt.Tooltip("low:Q", format=",.1f"), alt.Tooltip("high:Q", format=",.1f")])
    rules = base.mark_rule(color="#111827").encode(x="low:Q", x2="high:Q")
    return (bars + rules).properties(height=140)


def build_tornado_chart(result, labels, title=None):
    """Tornado of ROI: for each assumption a bar from ROI at its low value to ROI at its high value,
    around the plan's ROI (``labels`` maps take_up / effect / cost to display names)."""
    import altair as alt

    frame = result.tornado.copy()
    frame["label"] = frame["factor"].map(lambda f: labels.get(f, f))
    for col in ("low", "high", "base"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce") * 100
    frame = frame[["factor", "label", "low", "high", "base"]].dropna(subset=["low", "high"])
    base = alt.Chart(frame).encode(y=alt.Y("label:N", sort=None, title=None))
    bars = base.mark_bar(color="#f59e0b").encode(
        x=alt.X("low:Q", title=title or "ROI %"), x2="high:Q",
        tooltip=[alt.Tooltip("label:N"), alt.Tooltip("low:Q", format=".0f"), alt.Tooltip("high:Q", format=".0f")])
    rule = alt.Chart(frame).mark_rule(color="#111827", strokeDash=[4, 3]).encode(x="mean(base):Q")
    return (bars + rule).properties(height=120)


def compute_scenario_table(scenarios, keys=("budget", "targeted", "expected_saved", "expected_saved_low",
                                            "expected_saved_high", "retention_before", "retention_after",
                                            "retained_value", "cost", "net_benefit", "roi",
                                            "baseline_risk_saved", "baseline_random_saved")):
    """Saved scenarios side by side: one row per figure, one column per scenario name."""
    if not scenarios:
        return pd.DataFrame(index=list(keys))
    return pd.DataFrame({name: [doc.get(k) for k in keys] for name, doc in scenarios.items()}, index=list(keys))
