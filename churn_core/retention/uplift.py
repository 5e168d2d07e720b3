"""Learning from past campaigns: measured uplift per offer, for whom, and campaign design.

Input is one frame with a treatment (arm) column and a binary outcome column, optionally built
by :func:`load_campaign_frame` from a campaign table joined to the customer table on an id.

:class:`UpliftResult` (an estimator, scikit-learn style) computes

* checks: arm sizes, outcome rate per arm, standardised mean differences (SMD) of the features
  between each arm and control, with warning codes when ``|SMD| > 0.1`` or an arm is small;
* the average effect (ATE) of each offer against control with a 95% interval (normal
  approximation of a difference of proportions); ``ate`` is always
  ``rate_treated - rate_control`` of the *positive* outcome value;
* heterogeneous uplift per customer for all offers at once: a bagged T-learner on small XGBoost
  models trained on a stratified training split; Qini and uplift curves, ``qini_auc`` / ``auuc``
  (normalised so that a random ranking scores about 0) and uplift@k on the held-out split;
* :meth:`UpliftResult.predict_effects` for the simulator: one column per offer with the
  predicted *benefit* (for a bad outcome such as churn: the reduction of its probability, so
  positive = fewer churners; for a good outcome: the increase) and ``<offer>_se`` its standard
  error (spread over the bagged models, at least the standard error of the offer's ATE).

Sign conventions: ``ate`` follows the positive outcome value (churned: negative = the offer cuts
churn). ``effect`` / ``benefit`` columns and :func:`effect_sentence` speak in benefit terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError

__all__ = [
    "UpliftResult",
    "build_ate_chart",
    "build_curve_chart",
    "compute_assignment",
    "compute_power",
    "compute_sample_size",
    "effect_sentence",
    "load_campaign_frame",
    "load_table",
]

Z95 = NormalDist().inv_cdf(0.975)
SMD_THRESHOLD = 0.1
SMALL_ARM = 100
_TRUE_WORDS = {"1", "1.0", "true", "yes", "y", "是", "churned", "yes_churn", "attrited customer"}


# ---- loading ---------------------------------------------------------------------------
def load_table(path):
    """Read a CSV/Excel file through the ingestion layer (pandas CSV fallback until it exists)."""
    try:
        from churn_core.data import ingest  # noqa: PLC0415 - optional until ingestion lands
    except ImportError:
        ingest = None
    if ingest is not None and hasattr(ingest, "load_file"):
        return ingest.load_file(path).df
    return _read_csv_fallback(path)


def _read_csv_fallback(path):
    try:
        return pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig")
    except UnicodeDecodeError:
        return pd.read_csv(path, sep=None, engine="python", encoding="gb18030")
    except FileNotFoundError:
        raise ChurnCoreError("uplift.file_not_found", f"File not found: {path}.", path=str(path))


def load_campaign_frame(campaign, customers, id_column, customer_id_column=None, drop=()):
    """Join a campaign table (id, arm, outcome) to the customer table on an id column.

    Columns present in both tables are taken from the campaign (the customer copies are dropped
    and listed in ``frame.attrs["dropped_columns"]``), as are the customer columns in ``drop``
    (e.g. the customer table's own churn label: an outcome of another period, not a feature).
    Campaign rows without a customer are kept with missing features
    (``frame.attrs["unmatched"]`` counts them).
    """
    cid = customer_id_column or id_column
    for table, column, code in ((campaign, id_column, "campaign"), (customers, cid, "customers")):
        if column not in table.columns:
            raise ChurnCoreError(
                "uplift.unknown_id_column",
                f"The {code} table has no column {column!r}; choose the id column.",
                column=str(column), table=code)
    if customers[cid].duplicated().any():
        raise ChurnCoreError(
            "uplift.duplicate_ids",
            f"Customer ids in {cid!r} are not unique; the campaign cannot be joined.",
            column=str(cid))
    dropped = [c for c in customers.columns
               if (c in campaign.columns or c in set(drop or ())) and c != cid]
    right = customers.drop(columns=dropped)
    left_key = campaign[id_column].astype("string").str.strip()
    right_key = right[cid].astype("string").str.strip()
    right = right.assign(__key=right_key.to_numpy())
    if cid != id_column and cid in right.columns:
        right = right.drop(columns=[cid])
    else:
        right = right.drop(columns=[id_column])
    merged = campaign.assign(__key=left_key.to_numpy()).merge(right, on="__key", how="left",
                                                             validate="many_to_one")
    merged = merged.drop(columns=["__key"])
    merged.index = campaign.index
    merged.attrs["dropped_columns"] = dropped
    merged.attrs["unmatched"] = int((~left_key.isin(set(right_key.dropna()))).sum())
    return merged


# ---- helpers ---------------------------------------------------------------------------
def _label(value):
    """Arm values as text: ints without '.0', stripped strings."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else str(float(value))
    return str(value).strip()


def _arm_labels(series):
    return pd.Series([_label(v) for v in series.tolist()], index=series.index, dtype=object)


def _binary_outcome(series, positive):
    """0/1 array of the positive outcome (NaN where missing) and the positive value used."""
    labels = _arm_labels(series)
    present = labels.dropna()
    values = sorted(present.unique().tolist())
    if positive is None:
        if len(values) > 2:
            raise ChurnCoreError(
                "uplift.outcome_not_binary",
                f"The outcome has {len(values)} values; give the positive value "
                "(e.g. --positive-outcome 1).", values=len(values))
        lowered = [v for v in values if v.lower() in _TRUE_WORDS]
        if len(values) == 2 and len(lowered) == 1:
            positive_label = lowered[0]
        elif len(values) == 2 and set(values) <= {"0", "1"}:
            positive_label = "1"
        elif len(values) == 1 and values[0].lower() in _TRUE_WORDS | {"0", "false", "no", "否"}:
            positive_label = values[0] if values[0].lower() in _TRUE_WORDS else None
        else:
            raise ChurnCoreError(
                "uplift.positive_ambiguous",
                "Say which outcome value is the positive one: "
                + ", ".join(values[:5]) + ".", values=", ".join(values[:5]))
    else:
        positive_label = _label(positive)
        if isinstance(positive, str):
            try:
                positive_label = _label(float(positive)) if present.map(_is_number).all() \
                    else positive.strip()
            except ValueError:
                positive_label = positive.strip()
        if positive_label not in values:
            raise ChurnCoreError(
                "uplift.positive_absent",
                f"The outcome value {positive!r} does not occur in the outcome column; values: "
                + ", ".join(values[:5]) + ".", value=str(positive), values=", ".join(values[:5]))
    y = np.where(labels.isna(), np.nan, (labels == positive_label).astype(float))
    return y, positive_label


def _is_number(text):
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False


def _diff_ci(y1, y0):
    n1, n0 = len(y1), len(y0)
    p1, p0 = float(np.mean(y1)), float(np.mean(y0))
    se = float(np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0))
    ate = p1 - p0
    return p1, p0, ate, se, ate - Z95 * se, ate + Z95 * se


def _feature_frame(df, features, categories=None):
    """Model matrix: numeric as float, text as category (fixed categories, unseen -> NaN)."""
    out = {}
    cats = {} if categories is None else categories
    for column in features:
        s = df[column] if column in df.columns else pd.Series(np.nan, index=df.index)
        if column in cats:
            values = s.astype("string").str.strip()
            out[column] = pd.Categorical(values.where(values.isin(cats[column])),
                                         categories=cats[column])
        elif categories is None and not _numeric_like(s):
            values = s.astype("string").str.strip()
            levels = sorted(values.dropna().unique().tolist())
            cats[column] = levels
            out[column] = pd.Categorical(values, categories=levels)
        else:
            v = pd.to_numeric(s if not pd.api.types.is_bool_dtype(s) else s.astype(float),
                              errors="coerce").astype(float)
            out[column] = v.replace([np.inf, -np.inf], np.nan).to_numpy()
    frame = pd.DataFrame(out, index=df.index)
    frame.columns = [f"f{i}" for i in range(len(features))]  # XGBoost-safe names
    return frame, cats


def _numeric_like(s):
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return True
    converted = pd.to_numeric(s, errors="coerce")
    return converted.notna().sum() >= 0.98 * s.notna().sum() and s.notna().any()


def _smd(a, b):
    va, vb = np.nanvar(a), np.nanvar(b)
    pooled = np.sqrt((va + vb) / 2)
    diff = np.nanmean(a) - np.nanmean(b)
    if not np.isfinite(pooled) or pooled == 0:
        return 0.0
    return float(diff / pooled)


def _curve(benefit, treated, score, points=100):
    """Qini and uplift curves of one offer on held-out customers (benefit-oriented outcome)."""
    order = np.argsort(-score, kind="mergesort")
    b, t = benefit[order], treated[order]
    n = len(b)
    ct = np.cumsum(t)
    cc = np.cumsum(1 - t)
    yt = np.cumsum(b * t)
    yc = np.cumsum(b * (1 - t))
    idx = np.unique(np.clip(np.round(np.linspace(0, n, points + 1)).astype(int), 0, n))
    rows = []
    for k in idx:
        if k == 0:
            rows.append((0.0, 0.0, 0.0))
            continue
        i = k - 1
        qini = yt[i] - (yc[i] * ct[i] / cc[i] if cc[i] else 0.0)
        rt = yt[i] / ct[i] if ct[i] else 0.0
        rc = yc[i] / cc[i] if cc[i] else 0.0
        uplift = (rt - rc) * k
        rows.append((k / n, qini / n, uplift / n))
    curve = pd.DataFrame(rows, columns=["fraction", "qini", "uplift"])
    curve["random_qini"] = curve["fraction"] * curve["qini"].iloc[-1]
    curve["random_uplift"] = curve["fraction"] * curve["uplift"].iloc[-1]
    x = curve["fraction"].to_numpy()
    qini_auc = float(np.trapezoid(curve["qini"] - curve["random_qini"], x))
    auuc = float(np.trapezoid(curve["uplift"] - curve["random_uplift"], x))
    return curve, qini_auc, auuc


def _uplift_at(benefit, treated, score, fraction):
    order = np.argsort(-score, kind="mergesort")
    k = max(1, int(round(len(order) * fraction)))
    top = order[:k]
    t = treated[top].astype(bool)
    if t.sum() == 0 or (~t).sum() == 0:
        return float("nan")
    return float(benefit[top][t].mean() - benefit[top][~t].mean())


# ---- the estimator ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Settings:
    treatment: str
    control: object
    outcome: str
    positive: object = None
    bad_outcome: bool = True
    features: tuple | None = None
    exclude: tuple = ()
    id_column: str | None = None
    n_folds: int = 5
    n_estimators: int = 120
    max_depth: int = 3
    learning_rate: float = 0.08
    min_child_weight: float = 10.0
    seed: int = 0
    heterogeneous: bool = True

    def __post_init__(self):
        if self.n_folds < 2 or self.n_estimators < 1 or self.max_depth < 1:
            raise ChurnCoreError("uplift.bad_setting",
                                 "n_folds must be at least 2, n_estimators and max_depth at "
                                 "least 1.", setting="n_folds")


class UpliftResult:
    """Measured effects of a randomised campaign (ATE per offer + per-customer uplift).

    Parameters
    ----------
    treatment, outcome : str
        Arm column and outcome column.
    control : object
        The control value of the arm column (compared as text, ``0`` and ``0.0`` are equal).
    positive : object, optional
        The outcome value counted as 1; detected for 0/1, yes/no, true/false, 是/否.
    bad_outcome : bool
        True when the positive outcome is bad (churned), False when good (retained, visited).
    features : sequence of str, optional
        Features of the heterogeneous model and balance checks; default: every other column
        except ``exclude``, the id column and id-like text columns.
    exclude : sequence of str
        Columns never used as features (e.g. other outcomes such as spend).
    id_column : str, optional
    n_folds : int
        Cross-fitting folds (stratified by arm). Each fold's T-learner is trained on a
        bootstrap resample of the other folds; Qini/AUUC/uplift@k use every customer's
        held-out (out-of-fold) score; new customers get the mean over the fold models and
        the spread over them as the standard error.
    n_estimators, max_depth, learning_rate, min_child_weight, seed
        The small XGBoost models of the T-learner.
    heterogeneous : bool
        False skips the per-customer models (checks and ATE only).

    Attributes (after ``fit``)
    --------------------------
    arms_ : DataFrame ``arm, customers, positive, rate, share, is_control``
    offers_ : DataFrame, one row per offer: ``offer, n_treated, n_control, rate_treated,
        rate_control, ate, ate_se, ate_low, ate_high, effect, effect_low, effect_high,
        significant, qini_auc, auuc, uplift_at_10, uplift_at_20, uplift_at_30,
        mean_predicted_effect``
    balance_ : DataFrame ``arm, feature, smd, flagged``
    warnings_ : list of ``{"code": str, "params": dict}``
    curves_ : dict offer -> DataFrame ``fraction, qini, uplift, random_qini, random_uplift``
    features_, offers_names_, control_, positive_, n_rows_, dropped_rows_, test_index_ (rows
    with a held-out score), heldout_effects_ (out-of-fold benefit per offer)
    """

    def __init__(self, treatment, control, outcome, positive=None, bad_outcome=True,
                 features=None, exclude=(), id_column=None, n_folds=5,
                 n_estimators=120, max_depth=3, learning_rate=0.08, min_child_weight=10.0,
                 seed=0, heterogeneous=True):
        self.treatment = treatment
        self.control = control
        self.outcome = outcome
        self.positive = positive
        self.bad_outcome = bad_outcome
        self.features = features
        self.exclude = exclude
        self.id_column = id_column
        self.n_folds = n_folds
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.min_child_weight = min_child_weight
        self.seed = seed
        self.heterogeneous = heterogeneous

    # -- validation ---------------------------------------------------------------------
    def _settings(self):
        return _Settings(
            treatment=self.treatment, control=self.control, outcome=self.outcome,
            positive=self.positive, bad_outcome=bool(self.bad_outcome),
            features=None if self.features is None else tuple(self.features),
            exclude=tuple(self.exclude or ()), id_column=self.id_column,
            n_folds=int(self.n_folds),
            n_estimators=int(self.n_estimators), max_depth=int(self.max_depth),
            learning_rate=float(self.learning_rate),
            min_child_weight=float(self.min_child_weight), seed=int(self.seed),
            heterogeneous=bool(self.heterogeneous))

    def _validate(self, df, s):
        if not isinstance(df, pd.DataFrame) or df.empty:
            raise ChurnCoreError("uplift.empty", "The campaign table is empty.")
        for column, what in ((s.treatment, "treatment"), (s.outcome, "outcome")):
            if column not in df.columns:
                raise ChurnCoreError(
                    "uplift.unknown_column",
                    f"There is no column {column!r} for the {what}; columns: "
                    + ", ".join(map(str, df.columns[:12])) + ".", column=str(column), role=what)
        if s.treatment == s.outcome:
            raise ChurnCoreError("uplift.same_column",
                                 "The treatment and the outcome must be different columns.",
                                 column=str(s.treatment))
        arms = _arm_labels(df[s.treatment])
        control = _label(s.control)
        present = sorted(arms.dropna().unique().tolist())
        if control not in present:
            raise ChurnCoreError(
                "uplift.control_absent",
                f"The control value {s.control!r} does not occur in {s.treatment!r}; values: "
                + ", ".join(present[:8]) + ".", value=str(s.control), column=str(s.treatment),
                values=", ".join(present[:8]))
        if len(present) < 2:
            raise ChurnCoreError(
                "uplift.single_arm",
                f"{s.treatment!r} has only one value; a campaign needs control and at least one "
                "offer.", column=str(s.treatment))
        if len(present) > 30:
            raise ChurnCoreError(
                "uplift.too_many_arms",
                f"{s.treatment!r} has {len(present)} values; choose the column with the arms.",
                column=str(s.treatment), arms=len(present))
        y, positive = _binary_outcome(df[s.outcome], s.positive)
        return arms, control, y, positive

    def _choose_features(self, df, s):
        skip = {s.treatment, s.outcome, s.id_column, *s.exclude}
        if s.features is not None:
            missing = [c for c in s.features if c not in df.columns]
            if missing:
                raise ChurnCoreError("uplift.unknown_feature",
                                     "Unknown feature columns: " + ", ".join(missing) + ".",
                                     columns=", ".join(missing))
            return [c for c in s.features if c not in skip]
        chosen = []
        for column in df.columns:
            if column in skip:
                continue
            series = df[column]
            if pd.api.types.is_datetime64_any_dtype(series) or series.notna().sum() == 0:
                continue
            name = str(column).lower()
            if (name == "id" or name.endswith("_id") or name.endswith("id")) and \
                    series.nunique(dropna=True) >= 0.9 * series.notna().sum():
                continue  # an identifier, even when numeric
            if not _numeric_like(series):
                distinct = series.nunique(dropna=True)
                if distinct > 50 or distinct >= 0.5 * series.notna().sum():
                    continue  # id-like or free text
                if _looks_like_date(series):
                    continue
            chosen.append(column)
        return chosen

    # -- fit ------------------------------------------------------------------------------
    def fit(self, df, progress=None):
        """Check the campaign, measure each offer's effect and learn per-customer uplift."""
        s = self._settings()
        report = progress or (lambda fraction, code: None)
        arms, control, y, positive = self._validate(df, s)
        keep = arms.notna().to_numpy() & ~np.isnan(y)
        self.dropped_rows_ = int((~keep).sum())
        data = df.loc[keep]
        arms = arms[keep]
        y = y[keep].astype(int)
        self.n_rows_ = int(len(data))
        self.control_ = control
        self.positive_ = positive
        self.bad_outcome_ = s.bad_outcome
        self.treatment_ = s.treatment
        self.outcome_ = s.outcome
        self.warnings_ = []
        if self.dropped_rows_:
            self.warnings_.append({"code": "uplift.rows_dropped",
                                   "params": {"rows": self.dropped_rows_}})
        if len(np.unique(y)) < 2:
            raise ChurnCoreError("uplift.outcome_constant",
                                 "The outcome has the same value for every customer; nothing "
                                 "to compare.", column=str(s.outcome))
        offer_names = [a for a in sorted(arms.unique().tolist()) if a != control]
        self.offers_names_ = offer_names
        report(0.05, "uplift.checks")

        # arms
        arm_rows = []
        for arm in [control, *offer_names]:
            mask = (arms == arm).to_numpy()
            arm_rows.append({"arm": arm, "customers": int(mask.sum()),
                             "positive": int(y[mask].sum()), "rate": float(y[mask].mean()),
                             "share": float(mask.mean()), "is_control": arm == control})
            if mask.sum() < SMALL_ARM:
                self.warnings_.append({"code": "uplift.small_arm",
                                       "params": {"arm": arm, "customers": int(mask.sum())}})
        self.arms_ = pd.DataFrame(arm_rows)

        # features and balance
        self.features_ = self._choose_features(data, s)
        x, self.categories_ = _feature_frame(data, self.features_)
        self.balance_ = self._balance(data, arms, control, offer_names)
        flagged = self.balance_.loc[self.balance_["flagged"].astype(bool).to_numpy()]
        if s.heterogeneous and not self.features_:
            # average effects and intervals still hold; effects per customer need customer columns
            self.warnings_.append({"code": "uplift.no_features", "params": {}})
        for arm, group in flagged.groupby("arm", sort=False):
            worst = group.loc[group["smd"].abs().idxmax()]
            self.warnings_.append({"code": "uplift.imbalanced", "params": {
                "arm": arm, "feature": worst["feature"], "smd": round(float(worst["smd"]), 3),
                "features": int(len(group))}})

        # average effects (all customers)
        control_mask = (arms == control).to_numpy()
        sign = -1.0 if s.bad_outcome else 1.0
        rows = []
        for offer in offer_names:
            m = (arms == offer).to_numpy()
            p1, p0, ate, se, lo, hi = _diff_ci(y[m], y[control_mask])
            benefit_lo, benefit_hi = sorted((sign * lo, sign * hi))
            rows.append({
                "offer": offer, "n_treated": int(m.sum()), "n_control": int(control_mask.sum()),
                "rate_treated": p1, "rate_control": p0, "ate": ate, "ate_se": se,
                "ate_low": lo, "ate_high": hi, "effect": sign * ate,
                "effect_low": benefit_lo, "effect_high": benefit_hi,
                "significant": bool(lo > 0 or hi < 0),
            })
        offers = pd.DataFrame(rows)
        self.offers_ = offers
        report(0.15, "uplift.ate")

        # heterogeneous uplift: bagged T-learner, held-out evaluation
        self.curves_ = {}
        self.models_ = None
        extra = {c: np.nan for c in ("qini_auc", "auuc", "uplift_at_10", "uplift_at_20",
                                     "uplift_at_30", "mean_predicted_effect")}
        for column, value in extra.items():
            offers[column] = value
        if s.heterogeneous and self.features_:
            folds = self._folds(arms, s)
            arm_values = arms.to_numpy()
            self.models_ = []
            heldout = pd.DataFrame(index=x.index, columns=offer_names, dtype=float)
            for f in range(s.n_folds):
                train = folds != f
                fold_models = self._fit_models(
                    x[train], arm_values[train], y[train], [control, *offer_names], s, f,
                    lambda frac, code, f=f: report(0.15 + 0.8 * (f + frac) / s.n_folds, code))
                self.models_.append(fold_models)
                heldout.loc[~train, :] = self._predict(x[~train], [fold_models])[0].to_numpy()
            self.test_index_ = data.index
            self.heldout_effects_ = heldout
            benefit = y if not s.bad_outcome else 1 - y
            effects = self.predict_effects(data)
            for i, offer in enumerate(offer_names):
                pair = (arm_values == offer) | control_mask
                treated = (arm_values[pair] == offer).astype(int)
                score = heldout[offer].to_numpy()[pair]
                curve, qini_auc, auuc = _curve(benefit[pair], treated, score)
                self.curves_[offer] = curve
                offers.loc[i, "qini_auc"] = qini_auc
                offers.loc[i, "auuc"] = auuc
                for k in (10, 20, 30):
                    offers.loc[i, f"uplift_at_{k}"] = _uplift_at(benefit[pair], treated, score,
                                                                 k / 100)
                offers.loc[i, "mean_predicted_effect"] = float(effects[offer].mean())
        else:
            self.test_index_ = data.index[:0]
            self.heldout_effects_ = None
        self.offers_ = offers
        self.data_ = data.assign(**{"__arm": arms.to_numpy(), "__y": y})
        report(1.0, "uplift.done")
        return self

    def _balance(self, data, arms, control, offer_names):
        rows = []
        control_mask = (arms == control).to_numpy()
        for column in self.features_:
            s = data[column]
            if _numeric_like(s):
                cols = {column: pd.to_numeric(s, errors="coerce").astype(float).to_numpy()}
            else:
                text = s.astype("string").str.strip()
                top = text.value_counts().index[:10]
                cols = {f"{column}={v}": (text == v).fillna(False).astype(float).to_numpy()
                        for v in top}
            for name, values in cols.items():
                for offer in offer_names:
                    m = (arms == offer).to_numpy()
                    smd = _smd(values[m], values[control_mask])
                    rows.append({"arm": offer, "feature": name, "smd": smd,
                                 "flagged": abs(smd) > SMD_THRESHOLD})
        return pd.DataFrame(rows, columns=["arm", "feature", "smd", "flagged"])

    def _folds(self, arms, s):
        rng = np.random.default_rng(s.seed)
        folds = np.zeros(len(arms), dtype=int)
        values = arms.to_numpy()
        for arm in sorted(set(values)):
            idx = rng.permutation(np.flatnonzero(values == arm))
            folds[idx] = np.arange(len(idx)) % s.n_folds
        return folds

    def _fit_models(self, x, arms, y, arm_names, s, fold, report):
        import xgboost  # noqa: PLC0415 - heavy import only when needed

        rng = np.random.default_rng([s.seed, fold])
        models = {}
        for done, arm in enumerate(arm_names, start=1):
            idx = np.flatnonzero(arms == arm)
            idx = rng.choice(idx, len(idx), replace=True)  # bootstrap: spread = uncertainty
            yy = y[idx]
            if len(yy) == 0 or yy.min() == yy.max():
                models[arm] = float(yy[0]) if len(yy) else 0.0
            else:
                model = xgboost.XGBClassifier(
                    n_estimators=s.n_estimators, max_depth=s.max_depth,
                    learning_rate=s.learning_rate, min_child_weight=s.min_child_weight,
                    subsample=0.8, colsample_bytree=0.8, reg_lambda=5.0,
                    enable_categorical=True, tree_method="hist", n_jobs=1, max_bin=64,
                    random_state=s.seed + fold, max_cat_to_onehot=8)
                model.fit(x.iloc[idx], yy)
                models[arm] = model
            report(done / len(arm_names), "uplift.models")
        return models

    def _predict(self, x, models=None):
        """Benefit per offer (mean over fold models) and its spread over them."""
        sign = -1.0 if self.bad_outcome_ else 1.0

        def proba(model):
            if isinstance(model, float):
                return np.full(len(x), model)
            return model.predict_proba(x)[:, 1]

        per_bag = {offer: [] for offer in self.offers_names_}
        for bag in (self.models_ if models is None else models):
            base = proba(bag[self.control_])
            for offer in self.offers_names_:
                per_bag[offer].append(sign * (proba(bag[offer]) - base))
        mean = pd.DataFrame({o: np.mean(v, axis=0) for o, v in per_bag.items()}, index=x.index)
        spread = pd.DataFrame({o: (np.std(v, axis=0, ddof=1) if len(v) > 1 else np.zeros(len(x)))
                               for o, v in per_bag.items()}, index=x.index)
        return mean, spread

    def _check_fitted(self):
        if not hasattr(self, "offers_"):
            raise ChurnCoreError("uplift.not_fitted", "Run the campaign analysis first.")

    # -- public results -------------------------------------------------------------------
    def predict_effects(self, customers_df):
        """Predicted benefit of each offer per customer, with standard errors.

        Returns
        -------
        DataFrame, index aligned with ``customers_df``: one column per offer (reduction of
        the bad outcome's probability, or increase of the good one: positive = better) and
        ``<offer>_se``. Without per-customer models every customer gets the offer's ATE.
        """
        self._check_fitted()
        if not isinstance(customers_df, pd.DataFrame):
            raise ChurnCoreError("uplift.not_a_table", "Pass the customers as a DataFrame.")
        out = {}
        ate_se = dict(zip(self.offers_["offer"], self.offers_["ate_se"]))
        effect = dict(zip(self.offers_["offer"], self.offers_["effect"]))
        if self.models_ is None:
            for offer in self.offers_names_:
                out[offer] = np.full(len(customers_df), effect[offer])
                out[f"{offer}_se"] = np.full(len(customers_df), ate_se[offer])
            return pd.DataFrame(out, index=customers_df.index)
        missing = [c for c in self.features_ if c not in customers_df.columns]
        if len(missing) == len(self.features_):
            raise ChurnCoreError(
                "uplift.missing_features",
                "The customers table has none of the campaign model's features: "
                + ", ".join(self.features_[:8]) + ".", columns=", ".join(self.features_[:8]))
        x, _ = _feature_frame(customers_df, self.features_, self.categories_)
        mean, spread = self._predict(x)
        for offer in self.offers_names_:
            out[offer] = mean[offer].to_numpy(dtype=float)
            out[f"{offer}_se"] = np.maximum(spread[offer].to_numpy(dtype=float), ate_se[offer])
        return pd.DataFrame(out, index=customers_df.index)

    def segment_effects(self, mask):
        """ATE per offer inside a segment of the analysed campaign rows.

        Parameters
        ----------
        mask : boolean array (one per analysed row) or boolean Series (aligned on the index of
            the campaign frame that was fitted).
        """
        self._check_fitted()
        data = self.data_
        if isinstance(mask, pd.Series):
            m = mask.reindex(data.index).fillna(False).astype(bool).to_numpy()
        else:
            m = np.asarray(mask, dtype=bool)
            if len(m) != len(data):
                raise ChurnCoreError(
                    "uplift.mask_length",
                    f"The segment has {len(m)} flags for {len(data)} campaign customers.",
                    flags=len(m), customers=len(data))
        arms, y = data["__arm"].to_numpy(), data["__y"].to_numpy()
        control = m & (arms == self.control_)
        sign = -1.0 if self.bad_outcome_ else 1.0
        rows = []
        for offer in self.offers_names_:
            t = m & (arms == offer)
            if t.sum() == 0 or control.sum() == 0:
                rows.append({"offer": offer, "n_treated": int(t.sum()),
                             "n_control": int(control.sum())})
                continue
            p1, p0, ate, se, lo, hi = _diff_ci(y[t], y[control])
            rows.append({"offer": offer, "n_treated": int(t.sum()),
                         "n_control": int(control.sum()), "rate_treated": p1,
                         "rate_control": p0, "ate": ate, "ate_low": lo, "ate_high": hi,
                         "effect": sign * ate})
        return pd.DataFrame(rows, columns=["offer", "n_treated", "n_control", "rate_treated",
                                           "rate_control", "ate", "ate_low", "ate_high",
                                           "effect"])

    def sentences(self, lang="en", outcome_label=None):
        """One plain-language sentence per offer (see :func:`effect_sentence`).

        A good outcome is named after its column unless ``outcome_label`` is given.
        """
        self._check_fitted()
        if outcome_label is None and not self.bad_outcome_:
            outcome_label = str(self.outcome_)
        return [effect_sentence(r.offer, r.ate, r.ate_low, r.ate_high, self.bad_outcome_,
                                outcome_label=outcome_label, lang=lang)
                for r in self.offers_.itertuples()]

    def to_dict(self):
        """JSON-ready summary (the CLI's ``uplift.json``)."""
        self._check_fitted()

        def clean(value):
            if isinstance(value, (np.floating, float)):
                return None if not np.isfinite(value) else round(float(value), 6)
            if isinstance(value, (np.integer,)):
                return int(value)
            if isinstance(value, np.bool_):
                return bool(value)
            return value

        def records(frame):
            return [{k: clean(v) for k, v in row.items()} for row in frame.to_dict("records")]

        return {
            "treatment": self.treatment_, "outcome": self.outcome_, "control": self.control_,
            "positive_outcome": self.positive_, "outcome_is_bad": self.bad_outcome_,
            "rows": self.n_rows_, "rows_dropped": self.dropped_rows_,
            "features": list(self.features_),
            "arms": records(self.arms_),
            "offers": records(self.offers_),
            "balance": {
                "threshold": SMD_THRESHOLD,
                "max_abs_smd": clean(self.balance_["smd"].abs().max())
                if len(self.balance_) else 0.0,
                "flagged": records(self.balance_[self.balance_["flagged"]]),
            },
            "warnings": [{"code": w["code"], "params": {k: clean(v) for k, v in
                                                        w["params"].items()}}
                         for w in self.warnings_],
            "sentences": {"en": self.sentences("en"), "zh": self.sentences("zh")},
            "heldout_customers": int(len(self.test_index_)),
        }


def _looks_like_date(series):
    sample = series.dropna().astype(str).head(50)
    if sample.empty:
        return False
    return bool(sample.str.match(r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}").mean() > 0.9)


# ---- sentences --------------------------------------------------------------------------
def effect_sentence(offer, ate, ate_low, ate_high, bad_outcome=True, outcome_label=None,
                    lang="en"):
    """Plain-language effect with an unambiguous sign.

    ``ate`` is rate_treated - rate_control of the positive outcome (a fraction). For a bad
    outcome (churn) a negative ``ate`` reads "cuts churn by 3.1 points (95% interval 1.2 to
    5.0 points)." / "使流失率降低3.1个百分点(95%区间1.2至5.0个百分点)。"; the interval is
    given in the direction of the verb, so a lower bound below 0 means "maybe the opposite".
    """
    if lang not in ("en", "zh"):
        raise ChurnCoreError("uplift.bad_language", "lang must be 'en' or 'zh'.", lang=str(lang))
    direction = 1.0 if ate > 0 else -1.0
    points = abs(ate) * 100
    lo, hi = sorted((direction * ate_low * 100, direction * ate_high * 100))
    clear = ate_low > 0 or ate_high < 0
    up = ate > 0
    if lang == "en":
        thing = "churn" if bad_outcome and outcome_label is None else \
            f"the {outcome_label or 'outcome'} rate"
        verb = "raises" if up else ("cuts" if bad_outcome else "lowers")
        if ate == 0:
            text = f"{offer} does not change {thing} (95% interval {ate_low * 100:.1f} to " \
                   f"{ate_high * 100:.1f} points)"
        else:
            text = f"{offer} {verb} {thing} by {points:.1f} points (95% interval {lo:.1f} to " \
                   f"{hi:.1f} points)"
        if not clear:
            text += ": not clearly different from no effect"
        return text + "."
    thing = "流失率" if bad_outcome and outcome_label is None else f"{outcome_label or '结果'}比例"
    if ate == 0:
        text = f"{offer}未改变{thing}（95%区间{ate_low * 100:.1f}至{ate_high * 100:.1f}个百分点）"
    else:
        verb = "上升" if up else "降低"
        text = f"{offer}使{thing}{verb}{points:.1f}个百分点（95%区间{lo:.1f}至{hi:.1f}个百分点）"
    if not clear:
        text += "，与无效果没有明显差别"
    return text + "。"


# ---- campaign design --------------------------------------------------------------------
def compute_sample_size(p_control, uplift, alpha=0.05, power=0.8, ratio=1.0):
    """Customers per arm to detect an absolute change ``uplift`` of a rate ``p_control``.

    Two-sided test of two proportions (normal approximation). ``ratio`` = treated per control.

    Returns
    -------
    dict ``n_control, n_treated, total``
    """
    _check_design(p_control, uplift, alpha, power, ratio)
    p0, p1 = p_control, p_control + uplift
    z_a = NormalDist().inv_cdf(1 - alpha / 2)
    z_b = NormalDist().inv_cdf(power)
    pbar = (p0 + ratio * p1) / (1 + ratio)
    num = (z_a * np.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio))
           + z_b * np.sqrt(p0 * (1 - p0) + p1 * (1 - p1) / ratio)) ** 2
    n_control = int(np.ceil(num / uplift ** 2))
    n_treated = int(np.ceil(n_control * ratio))
    return {"n_control": n_control, "n_treated": n_treated, "total": n_control + n_treated}


def compute_power(p_control, uplift, n_control, n_treated, alpha=0.05):
    """Power of a two-sided two-proportion test with these arm sizes."""
    _check_design(p_control, uplift, alpha, 0.5, 1.0)
    if n_control < 1 or n_treated < 1:
        raise ChurnCoreError("uplift.bad_design", "Arm sizes must be at least 1.")
    p0, p1 = p_control, p_control + uplift
    se = np.sqrt(p0 * (1 - p0) / n_control + p1 * (1 - p1) / n_treated)
    z_a = NormalDist().inv_cdf(1 - alpha / 2)
    z = abs(uplift) / se
    return float(NormalDist().cdf(z - z_a) + NormalDist().cdf(-z - z_a))


def _check_design(p_control, uplift, alpha, power, ratio):
    if not 0 < p_control < 1:
        raise ChurnCoreError("uplift.bad_design", "The control rate must be between 0 and 1.",
                             value=p_control)
    if uplift == 0 or not 0 < p_control + uplift < 1:
        raise ChurnCoreError(
            "uplift.bad_design",
            "The uplift must be non-zero and keep the treated rate between 0 and 1.",
            value=uplift)
    if not 0 < alpha < 0.5 or not 0 < power < 1 or ratio <= 0:
        raise ChurnCoreError("uplift.bad_design",
                             "alpha must be in (0, 0.5), power in (0, 1), ratio > 0.")


def compute_assignment(ids, arms, seed=0, weights=None):
    """Random assignment of customers to arms for the next campaign (deterministic per seed).

    Arm sizes follow ``weights`` (default equal) exactly, by largest remainder.

    Returns
    -------
    DataFrame ``customer_id, arm`` in the order of ``ids``.
    """
    ids = pd.Series(list(ids))
    arms = [str(a) for a in arms]
    if len(arms) < 2 or len(set(arms)) != len(arms):
        raise ChurnCoreError("uplift.bad_arms",
                             "Give at least two different arms (control and an offer).")
    if ids.empty:
        raise ChurnCoreError("uplift.no_customers", "There are no customers to assign.")
    if ids.duplicated().any():
        raise ChurnCoreError("uplift.duplicate_ids", "Customer ids must be unique.",
                             column="customer_id")
    w = np.ones(len(arms)) if weights is None else np.asarray(weights, dtype=float)
    if len(w) != len(arms) or (w < 0).any() or w.sum() <= 0:
        raise ChurnCoreError("uplift.bad_arms", "Give one non-negative weight per arm.")
    exact = w / w.sum() * len(ids)
    sizes = np.floor(exact).astype(int)
    rest = len(ids) - sizes.sum()
    sizes[np.argsort(-(exact - sizes), kind="mergesort")[:rest]] += 1
    labels = np.repeat(arms, sizes)
    rng = np.random.default_rng(seed)
    rng.shuffle(labels)
    return pd.DataFrame({"customer_id": ids.to_numpy(), "arm": labels})


# ---- charts -----------------------------------------------------------------------------
def build_ate_chart(offers, title=None, x_title="effect (points)", y_title="offer"):
    """Altair point-and-interval chart of each offer's benefit in points (from ``offers_``)."""
    import altair as alt  # noqa: PLC0415

    data = pd.DataFrame({
        "offer": offers["offer"].astype(str),
        "effect": offers["effect"] * 100,
        "low": offers["effect_low"] * 100,
        "high": offers["effect_high"] * 100,
    })
    base = alt.Chart(data)
    bars = base.mark_rule(strokeWidth=3).encode(
        y=alt.Y("offer:N", title=y_title, sort="-x"), x=alt.X("low:Q", title=x_title),
        x2="high:Q")
    points = base.mark_point(filled=True, size=80).encode(
        y=alt.Y("offer:N", sort="-x"), x="effect:Q",
        tooltip=["offer", alt.Tooltip("effect:Q", format=".1f"),
                 alt.Tooltip("low:Q", format=".1f"), alt.Tooltip("high:Q", format=".1f")])
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    chart = (bars + points + zero)
    if title:
        chart = chart.properties(title=title)
    return chart


def build_curve_chart(curves, kind="qini", x_title="share of customers targeted",
                      y_title="incremental outcome per customer", random_label="random"):
    """Altair line chart of Qini (``kind="qini"``) or uplift curves, one line per offer."""
    import altair as alt  # noqa: PLC0415

    frames = []
    for offer, curve in curves.items():
        frames.append(pd.DataFrame({"offer": offer, "fraction": curve["fraction"],
                                    "value": curve[kind]}))
    if curves:
        frames.append(pd.DataFrame({"offer": random_label, "fraction": [0.0, 1.0],
                                    "value": [0.0, 0.0]}))
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {"offer": [], "fraction": [], "value": []})
    if kind in ("qini", "uplift") and curves:
        # draw curves minus their random line so that random is the zero line
        for offer, curve in curves.items():
            sel = data["offer"] == offer
            data.loc[sel, "value"] = (curve[kind] - curve[f"random_{kind}"]).to_numpy()
    return alt.Chart(data).mark_line().encode(
        x=alt.X("fraction:Q", title=x_title, axis=alt.Axis(format="%")),
        y=alt.Y("value:Q", title=y_title),
        color=alt.Color("offer:N", title=None),
        tooltip=["offer", alt.Tooltip("fraction:Q", format=".0%"),
                 alt.Tooltip("value:Q", format=".4f")])
