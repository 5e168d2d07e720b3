"""Views of an explanation: global (importance, beeswarm, dependence, interactions), one customer
(waterfall) and segments, each as data (``compute_*``) and an Altair chart (``build_*_chart``).

Chart labels are passed in, so the app translates them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError
from churn_core.explain.explanation import (
    _check_frame, _check_model, _groups, _label_column, compute_explanation,
    stratified_sample_index,
)
from churn_core.explain.sentences import MINUS, _check_lang, format_value
from churn_core.explain.treeshap import _raw_contribs

MAX_CHART_POINTS = 5000


def compute_global_importance(model, df=None, *, explanation=None, sample=None, actionable_only=False):
    """Mean absolute SHAP value per business feature, largest first.

    Returns
    -------
    pandas.DataFrame
        ``feature`` (display name), ``mean_abs_shap``, ``mean_shap``, ``column``, ``actionable``.
    """
    from churn_core.retention.actionable import is_actionable

    if explanation is None:
        explanation = compute_explanation(model, df, sample=sample)
    c = explanation.contributions  # float32; the means accumulate in float64 without a copy
    out = pd.DataFrame(
        {
            "feature": list(explanation.features),
            "mean_abs_shap": np.abs(c).mean(axis=0, dtype=np.float64),
            "mean_shap": c.mean(axis=0, dtype=np.float64),
            "column": list(explanation.columns),
            "actionable": [is_actionable(col) for col in explanation.columns],
        }
    )
    if actionable_only:
        out = out[out["actionable"]]
    return out.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# global views: data + Altair charts (labels passed in, so the app translates them)
# --------------------------------------------------------------------------------------------
def _labels(labels, **defaults):
    out = dict(defaults)
    out.update(labels or {})
    return out


def _value_codes(values):
    """Values as numbers for colouring: numbers as is, categories as their sorted codes."""
    s = pd.Series(values)
    num = pd.to_numeric(s, errors="coerce")
    if num.notna().sum() >= max(1, int(0.9 * s.notna().sum())):
        return num.to_numpy(dtype=np.float64)
    codes, _ = pd.factorize(s.astype(str), sort=True)
    return np.where(s.isna(), np.nan, codes).astype(np.float64)


def _scaled_rank(x):
    """Values scaled to 0..1 by rank (colour scale robust to outliers); NaN stays NaN."""
    s = pd.Series(x)
    r = s.rank(pct=True)
    return r.to_numpy(dtype=np.float64)


def _sample_positions(explanation, n, seed=0):
    """Up to ``n`` row positions, stratified on risk deciles (keeps the high-risk tail)."""
    total = len(explanation)
    if total <= n:
        return np.arange(total)
    deciles = pd.qcut(pd.Series(explanation.proba).rank(method="first"), 10, labels=False)
    return stratified_sample_index(pd.DataFrame({"d": deciles.to_numpy()}), n, by="d", seed=seed)


def compute_beeswarm_data(explanation, top=10, max_points=MAX_CHART_POINTS, seed=0,
                          actionable_only=False):
    """Points of a beeswarm: at most ``max_points`` (customer, feature) pairs in total.

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``contribution``, ``value`` (as text), ``value_rank`` (0..1 within the
        feature, for colour), ``customer_id``, ``order`` (feature rank by mean |SHAP|).
    """
    imp = compute_global_importance(None, explanation=explanation, actionable_only=actionable_only)
    feats = imp["column"].head(top).tolist()
    if not feats:
        return pd.DataFrame(columns=["feature", "contribution", "value", "value_rank",
                                     "customer_id", "order"])
    rows = _sample_positions(explanation, max(1, max_points // len(feats)), seed=seed)
    parts = []
    for order, col in enumerate(feats):
        j = explanation.columns.index(col)
        vals = explanation.values[col].to_numpy()[rows]
        parts.append(pd.DataFrame({
            "feature": explanation.features[j],
            "contribution": explanation.contributions[rows, j].astype(np.float64),
            "value": pd.Series(vals, dtype=object).map(lambda v: format_value(v)).to_numpy(),
            "value_rank": _scaled_rank(_value_codes(vals)),
            "customer_id": explanation.customer_ids[rows].astype(str),
            "order": order,
        }))
    return pd.concat(parts, ignore_index=True)


def build_importance_chart(importance, labels=None, top=15):
    """Horizontal bars of mean |SHAP| per feature (actionable ones coloured)."""
    import altair as alt

    lab = _labels(labels, x="Mean |SHAP| (log-odds)", y="Driver", kind="Kind",
                  actionable="Actionable", fixed="Fixed", title="")
    data = importance.head(top).copy()
    data["kind"] = np.where(data["actionable"], lab["actionable"], lab["fixed"])
    data = data[["feature", "mean_abs_shap", "kind"]]
    return (
        alt.Chart(data, title=lab["title"])
        .mark_bar()
        .encode(
            x=alt.X("mean_abs_shap:Q", title=lab["x"]),
            y=alt.Y("feature:N", sort="-x", title=lab["y"]),
            color=alt.Color("kind:N", title=lab["kind"],
                            scale=alt.Scale(domain=[lab["actionable"], lab["fixed"]],
                                            range=["#d62728", "#7f7f7f"])),
            tooltip=[alt.Tooltip("feature:N", title=lab["y"]),
                     alt.Tooltip("mean_abs_shap:Q", title=lab["x"], format=".3f")],
        )
    )


def build_beeswarm_chart(data, labels=None):
    """SHAP beeswarm: one dot per customer and driver, coloured by the customer's value."""
    import altair as alt

    lab = _labels(labels, x="SHAP value (log-odds)", y="Driver", color="Value (low → high)",
                  value="Value", title="")
    data = data.head(MAX_CHART_POINTS)
    order = data.drop_duplicates("feature").sort_values("order")["feature"].tolist()
    return (
        alt.Chart(data, title=lab["title"])
        .mark_circle(size=14, opacity=0.6)
        .encode(
            x=alt.X("contribution:Q", title=lab["x"]),
            y=alt.Y("feature:N", sort=order, title=lab["y"]),
            yOffset="jitter:Q",
            color=alt.Color("value_rank:Q", title=lab["color"],
                            scale=alt.Scale(scheme="redblue", reverse=True)),
            tooltip=[alt.Tooltip("customer_id:N"), alt.Tooltip("feature:N", title=lab["y"]),
                     alt.Tooltip("value:N", title=lab["value"]),
                     alt.Tooltip("contribution:Q", title=lab["x"], format=".3f")],
        )
        .transform_calculate(jitter="random()")
        .properties(height=max(200, 32 * len(order)))
    )


def pick_interaction_partner(explanation, column, max_rows=2000):
    """The feature whose value best explains the spread of ``column``'s SHAP values.

    Same idea as ``shap.utils.approximate_interactions``: sort rows by the feature's value, cut
    them in bins, and sum per bin the absolute correlation between the feature's SHAP values and
    each other feature's value. Every other feature is scored at once per bin (the value codes of
    the sampled rows are computed once per explanation and reused for every feature's plot).
    """
    j = explanation.columns.index(column)
    rows, codes = _partner_codes(explanation, max_rows)
    x = codes[:, j]
    order = np.argsort(np.nan_to_num(x, nan=np.inf), kind="stable")
    shap_f = explanation.contributions[rows, j].astype(np.float64)[order]
    values = codes[order]
    score = np.zeros(values.shape[1])
    for b in np.array_split(np.arange(len(order)), max(1, len(order) // 50)):
        score += _bin_abs_correlation(values[b], shap_f[b])
    score[j] = -np.inf
    if len(score) < 2:
        return None
    return explanation.columns[int(np.argmax(score))]


def _partner_codes(explanation, max_rows):
    """``(rows, codes)``: the sampled rows and every feature's value codes there (cached)."""
    cache = explanation.extra.setdefault("_partner_codes", {})
    if max_rows not in cache:
        rows = _sample_positions(explanation, max_rows)
        codes = np.column_stack([_value_codes(explanation.values[col].to_numpy()[rows])
                                 for col in explanation.columns]) if explanation.columns else \
            np.empty((len(rows), 0))
        cache[max_rows] = (rows, codes)
    return cache[max_rows]


def _bin_abs_correlation(values, shap):
    """|Pearson correlation| of each column of ``values`` with ``shap`` over the rows where that
    column is known; 0 where fewer than 3 rows are known or either side does not vary."""
    ok = ~np.isnan(values)
    n = ok.sum(axis=0)
    safe_n = np.maximum(n, 1)
    s = np.broadcast_to(shap[:, None], values.shape)
    mv = np.where(ok, values, 0.0).sum(axis=0) / safe_n
    ms = np.where(ok, s, 0.0).sum(axis=0) / safe_n
    dv = np.where(ok, values - mv, 0.0)
    ds = np.where(ok, s - ms, 0.0)
    var_v = (dv * dv).sum(axis=0) / safe_n
    var_s = (ds * ds).sum(axis=0) / safe_n
    good = (n > 2) & (var_v > 0) & (var_s > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (dv * ds).sum(axis=0) / safe_n / np.sqrt(var_v * var_s)
    return np.where(good, np.abs(np.clip(corr, -1.0, 1.0)), 0.0)


def compute_dependence_data(explanation, column, color_column=None, max_points=2000, seed=0):
    """Points of a dependence plot: the feature's value against its SHAP value, coloured by a
    second feature (the strongest interaction partner unless given)."""
    if column not in explanation.columns:
        raise ChurnCoreError("explain.unknown_feature", f"Unknown driver: {column}.", feature=column)
    if color_column is None:
        color_column = pick_interaction_partner(explanation, column)
    j = explanation.columns.index(column)
    rows = _sample_positions(explanation, max_points, seed=seed)
    vals = explanation.values[column].to_numpy()[rows]
    num = pd.to_numeric(pd.Series(vals), errors="coerce")
    is_num = num.notna().sum() >= max(1, int(0.9 * pd.Series(vals).notna().sum()))
    out = pd.DataFrame({
        "value": num.to_numpy() if is_num else pd.Series(vals, dtype=object).astype(str).to_numpy(),
        "contribution": explanation.contributions[rows, j].astype(np.float64),
        "customer_id": explanation.customer_ids[rows].astype(str),
    })
    if color_column is not None:
        cv = explanation.values[color_column].to_numpy()[rows]
        out["color_value"] = pd.Series(cv, dtype=object).map(lambda v: format_value(v)).to_numpy()
        out["color_rank"] = _scaled_rank(_value_codes(cv))
    out.attrs.update(
        feature=explanation.features[j],
        color_feature=(explanation.features[explanation.columns.index(color_column)]
                       if color_column is not None else None),
        numeric=bool(is_num),
    )
    return out


def build_dependence_chart(data, labels=None):
    """Scatter of a driver's value against its SHAP value, coloured by the partner feature."""
    import altair as alt

    lab = _labels(labels, x=data.attrs.get("feature", "value"), y="SHAP value (log-odds)",
                  color=data.attrs.get("color_feature") or "", title="")
    data = data.head(MAX_CHART_POINTS)
    xtype = "value:Q" if data.attrs.get("numeric", True) else "value:N"
    enc = {
        "x": alt.X(xtype, title=lab["x"]),
        "y": alt.Y("contribution:Q", title=lab["y"]),
        "tooltip": [alt.Tooltip("customer_id:N"), alt.Tooltip(xtype, title=lab["x"]),
                    alt.Tooltip("contribution:Q", title=lab["y"], format=".3f")],
    }
    if "color_rank" in data.columns:
        enc["color"] = alt.Color("color_rank:Q", title=lab["color"],
                                 scale=alt.Scale(scheme="redblue", reverse=True))
        enc["tooltip"].append(alt.Tooltip("color_value:N", title=lab["color"]))
    return alt.Chart(pd.DataFrame(data), title=lab["title"]).mark_circle(size=16, opacity=0.6).encode(**enc)


def compute_interaction_pairs(model, df, sample=300, top=10, seed=0):
    """Strongest pairwise interactions from SHAP interaction values on a stratified sample.

    Returns
    -------
    pandas.DataFrame
        ``feature_a``, ``feature_b`` (display names), ``column_a``, ``column_b``,
        ``mean_abs_interaction`` (mean |phi_ab + phi_ba| in log-odds), largest first.
    """
    _check_model(model)
    _check_frame(df)
    pos = stratified_sample_index(df, int(sample), by=_label_column(model, df), seed=seed)
    X = model.transform(df.iloc[pos])
    raw = _raw_contribs(model, X, interactions=True)[:, :-1, :-1]  # (n, m, m), bias dropped
    columns, features, groups = _groups(model)
    f = len(columns)
    agg = np.zeros((raw.shape[0], f, f))
    for a, ga in enumerate(groups):
        for b, gb in enumerate(groups):
            agg[:, a, b] = raw[:, ga][:, :, gb].sum(axis=(1, 2))
    strength = np.abs(agg + agg.transpose(0, 2, 1)).mean(axis=0)
    rows = [
        (features[a], features[b], columns[a], columns[b], float(strength[a, b]))
        for a in range(f) for b in range(a + 1, f)
    ]
    out = pd.DataFrame(rows, columns=["feature_a", "feature_b", "column_a", "column_b",
                                      "mean_abs_interaction"])
    return out.sort_values("mean_abs_interaction", ascending=False, kind="stable").head(top).reset_index(drop=True)


def build_interaction_chart(pairs, labels=None):
    """Bars of the strongest interaction pairs."""
    import altair as alt

    lab = _labels(labels, x="Mean |interaction| (log-odds)", y="Pair", title="")
    data = pairs.assign(pair=pairs["feature_a"] + " × " + pairs["feature_b"])
    data = data[["pair", "mean_abs_interaction"]]
    return (
        alt.Chart(data, title=lab["title"]).mark_bar(color="#9467bd")
        .encode(x=alt.X("mean_abs_interaction:Q", title=lab["x"]),
                y=alt.Y("pair:N", sort="-x", title=lab["y"]),
                tooltip=[alt.Tooltip("pair:N", title=lab["y"]),
                         alt.Tooltip("mean_abs_interaction:Q", title=lab["x"], format=".3f")])
    )


# --------------------------------------------------------------------------------------------
# one customer
# --------------------------------------------------------------------------------------------
def compute_waterfall(explanation, position, top=8, other_label="other"):
    """Steps from the base risk to one customer's risk, in percentage points of risk.

    Each driver's bar is its points on the one scale of :meth:`Explanation.points` (its share of
    the customer's move from the base risk, the number its reason sentence shows). The ``top``
    largest drivers (by |contribution|) are shown, the rest are one ``other_label`` step at the end;
    the bars add up exactly to the customer's risk minus the base risk. Drivers come largest first,
    except that a bar that would run the path off the 0-100% scale waits until it fits (a driver
    raising a risk by 86 points and one lowering it by 30 can cancel out, and a risk of 116% on the
    way would read as nonsense).

    Returns
    -------
    pandas.DataFrame
        ``step`` (0..), ``label`` (driver name with the customer's value), ``feature``, ``value``,
        ``contribution`` (log-odds), ``start``, ``end`` (risk in %), ``points`` (end - start),
        ``kind`` in {"base", "driver", "other", "total"}.
    """
    c = explanation.contributions[position].astype(np.float64)
    pts = explanation.points([position])[0]
    order = np.argsort(-np.abs(c), kind="stable")
    shown, rest = order[:top], order[top:]
    base_p = 100 * explanation.base_risk
    shown = shown[_steps_on_scale(pts[shown], base_p)]
    rows = [dict(label="base", feature="", value="", contribution=0.0, start=0.0, end=base_p,
                 points=base_p, kind="base")]
    cum = base_p
    for j in shown:
        col = explanation.columns[j]
        value = format_value(explanation.values[col].iloc[position])
        rows.append(dict(label=f"{explanation.features[j]} = {value}", feature=explanation.features[j],
                         value=value, contribution=float(c[j]), start=cum, end=cum + pts[j],
                         points=float(pts[j]), kind="driver"))
        cum += pts[j]
    if len(rest):
        step = float(pts[rest].sum())
        rows.append(dict(label=other_label, feature="", value="", contribution=float(c[rest].sum()),
                         start=cum, end=cum + step, points=step, kind="other"))
    final = 100 * float(explanation.proba[position])
    rows.append(dict(label="risk", feature="", value="", contribution=0.0, start=0.0, end=final,
                     points=final, kind="total"))
    out = pd.DataFrame(rows)
    out.insert(0, "step", np.arange(len(out)))
    return out[["step", "label", "feature", "value", "contribution", "start", "end", "points", "kind"]]


def _steps_on_scale(points, start, low=0.0, high=100.0):
    """Order of steps (given largest first) that keeps ``start + cumulative points`` in
    ``[low, high]``: at each step the first remaining one that stays in range (the one going out
    the least when none does)."""
    left = list(range(len(points)))
    order, cum = [], float(start)
    while left:
        fits = [i for i in left if low - 1e-9 <= cum + points[i] <= high + 1e-9]
        pick = fits[0] if fits else min(left, key=lambda i: max(cum + points[i] - high, low - cum - points[i]))
        order.append(pick)
        left.remove(pick)
        cum += points[pick]
    return np.asarray(order, dtype=np.int64)


def build_waterfall_chart(waterfall, labels=None):
    """Waterfall bars from the base risk to the customer's risk (red raises, green lowers)."""
    import altair as alt

    lab = _labels(labels, x="Churn risk (%)", y="", base="Base risk", total="This customer",
                  raises="Raises", lowers="Lowers", title="")
    data = waterfall.copy()
    data.loc[data["kind"] == "base", "label"] = lab["base"]
    data.loc[data["kind"] == "total", "label"] = lab["total"]
    data["effect"] = np.where(data["kind"].isin(["base", "total"]), lab["total"],
                              np.where(data["points"] >= 0, lab["raises"], lab["lowers"]))
    data["label"] = [f"{i:02d} {t}" for i, t in zip(data["step"], data["label"])]
    data = data[["label", "start", "end", "points", "effect"]]
    return (
        alt.Chart(data, title=lab["title"]).mark_bar()
        .encode(
            y=alt.Y("label:N", sort=None, title=lab["y"]),
            x=alt.X("start:Q", title=lab["x"]),
            x2="end:Q",
            color=alt.Color("effect:N", title="",
                            scale=alt.Scale(domain=[lab["raises"], lab["lowers"], lab["total"]],
                                            range=["#d62728", "#2ca02c", "#1f77b4"])),
            tooltip=[alt.Tooltip("label:N", title=lab["y"] or " "),
                     alt.Tooltip("points:Q", format="+.1f"), alt.Tooltip("end:Q", format=".1f")],
        )
    )


# --------------------------------------------------------------------------------------------
# segments
# --------------------------------------------------------------------------------------------
def _mask(explanation, mask):
    m = np.asarray(mask, dtype=bool)
    if m.shape != (len(explanation),):
        raise ChurnCoreError("explain.bad_mask", "The segment must select rows of the explained table.")
    if not m.any():
        raise ChurnCoreError("explain.empty_segment", "The segment has no customers.")
    return m


def compute_segment_drivers(explanation, mask, actionable_only=False):
    """Mean contribution of each driver inside a segment, next to the whole base.

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``column``, ``mean_contribution`` (segment), ``mean_contribution_all``,
        ``difference``, ``mean_abs``, ``points`` (mean percentage points of risk inside the segment),
        sorted by ``mean_contribution`` (largest risk raisers first).
    """
    from churn_core.retention.actionable import is_actionable

    m = _mask(explanation, mask)
    c = explanation.contributions.astype(np.float64)
    pts = explanation.points(np.flatnonzero(m))
    out = pd.DataFrame({
        "feature": list(explanation.features),
        "column": list(explanation.columns),
        "mean_contribution": c[m].mean(axis=0),
        "mean_contribution_all": c.mean(axis=0),
        "mean_abs": np.abs(c[m]).mean(axis=0),
        "points": pts.mean(axis=0),
        "actionable": [is_actionable(col) for col in explanation.columns],
    })
    out["difference"] = out["mean_contribution"] - out["mean_contribution_all"]
    if actionable_only:
        out = out[out["actionable"]]
    return out.sort_values("mean_contribution", ascending=False, kind="stable").reset_index(drop=True)


@dataclass
class SegmentComparison:
    """Which drivers explain the difference in mean risk between segments A and B.

    ``table``: ``feature``, ``column``, ``mean_a``, ``mean_b``, ``margin_difference`` (log-odds,
    sums to the difference of mean margins), ``points`` (share of the risk difference, in points),
    sorted by ``points`` in the direction of the difference.
    """

    table: pd.DataFrame
    risk_a: float
    risk_b: float
    n_a: int
    n_b: int

    @property
    def difference_points(self):
        return 100 * (self.risk_a - self.risk_b)


def compute_segment_comparison(explanation, mask_a, mask_b):
    """Split the difference in mean risk between two segments over the drivers.

    Mean margins are additive (``mean margin = base + sum of mean contributions``), so the
    difference of mean margins splits exactly over drivers. The difference in mean risk (points)
    is shared out in proportion to those margin differences.
    """
    a, b = _mask(explanation, mask_a), _mask(explanation, mask_b)
    c = explanation.contributions.astype(np.float64)
    mean_a, mean_b = c[a].mean(axis=0), c[b].mean(axis=0)
    diff = mean_a - mean_b
    risk_a, risk_b = float(explanation.proba[a].mean()), float(explanation.proba[b].mean())
    total = diff.sum()
    share = diff / total if abs(total) > 1e-12 else np.zeros_like(diff)
    table = pd.DataFrame({
        "feature": list(explanation.features),
        "column": list(explanation.columns),
        "mean_a": mean_a,
        "mean_b": mean_b,
        "margin_difference": diff,
        "points": 100 * (risk_a - risk_b) * share,
    })
    sign = 1.0 if risk_a >= risk_b else -1.0
    table = table.iloc[np.argsort(-sign * table["points"].to_numpy(), kind="stable")].reset_index(drop=True)
    return SegmentComparison(table=table, risk_a=risk_a, risk_b=risk_b, n_a=int(a.sum()), n_b=int(b.sum()))


def describe_segment_comparison(comparison, name_a, name_b, lang="en", top=3):
    """The comparison in words, e.g. ``"Dormant: mean churn risk 31.2% vs Active: 9.8% (21.4
    points higher). Most of the difference comes from txn_this_quarter (+12.0 points), ..."``."""
    _check_lang(lang)
    diff = comparison.difference_points
    sign = 1.0 if diff >= 0 else -1.0
    drivers = comparison.table[sign * comparison.table["points"] > 0].head(top)
    ra, rb = 100 * comparison.risk_a, 100 * comparison.risk_b

    def pts(p):
        return f"{'+' if p >= 0 else MINUS}{abs(p):.1f}"

    if lang == "en":
        direction = "higher" if diff >= 0 else "lower"
        text = (f"{name_a}: mean churn risk {ra:.1f}% vs {name_b}: {rb:.1f}% "
                f"({abs(diff):.1f} points {direction}).")
        if len(drivers):
            items = ", ".join(f"{r.feature} ({pts(r.points)} points)" for r in drivers.itertuples())
            text += f" Most of the difference comes from {items}."
        return text
    direction = "高" if diff >= 0 else "低"
    text = (f"{name_a}的平均流失风险为{ra:.1f}%，{name_b}为{rb:.1f}%，"
            f"{name_a}{direction}{abs(diff):.1f}个百分点。")
    if len(drivers):
        items = "、".join(f"{r.feature}（{pts(r.points)}个百分点）" for r in drivers.itertuples())
        text += f"差异主要来自{items}。"
    return text


def build_segment_chart(table, value="points", labels=None, top=12):
    """Diverging bars of a per-driver figure (segment drivers or a segment comparison)."""
    import altair as alt

    lab = _labels(labels, x="Points", y="Driver", title="")
    data = table.reindex(table[value].abs().sort_values(ascending=False).index).head(top)
    data = data[["feature", value]].rename(columns={value: "v"})
    return (
        alt.Chart(data, title=lab["title"]).mark_bar()
        .encode(x=alt.X("v:Q", title=lab["x"]), y=alt.Y("feature:N", sort="-x", title=lab["y"]),
                color=alt.condition("datum.v >= 0", alt.value("#d62728"), alt.value("#2ca02c")),
                tooltip=[alt.Tooltip("feature:N", title=lab["y"]),
                         alt.Tooltip("v:Q", title=lab["x"], format="+.2f")])
    )
