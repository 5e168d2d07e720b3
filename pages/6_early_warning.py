"""Early warning: risk tiers by capacity or profit, warning signals, and the watch-list."""

import numpy as np
import pandas as pd
import streamlit as st

from churn_core.modeling import warning as W
from churn_core.errors import ChurnCoreError
from studio import state, ui
from studio.i18n import current_lang, t

MAX_ROWS = 500  # watch-list rows shown (and explained) at once

st.title(t("warning.title"))
st.caption(t("warning.intro"))
dataset = state.require_dataset()
model = state.require_model()
df = dataset.df
lang = current_lang()
n = len(df)

# ---------------------------------------------------------------- scores (once per model + data)
score_key = f"warning_scores:{model.fingerprint_}:{dataset.key}"
proba = state.get_result(score_key)
if proba is None:
    try:
        with st.spinner(t("warning.scoring")):
            proba = model.predict_proba(df)
    except ChurnCoreError as exc:
        ui.show_error(exc)
        st.stop()
    state.set_result(score_key, proba)


# ---------------------------------------------------------------- tiers
st.subheader(t("warning.tiers.title"))
method = ui.choose(st.radio, t("warning.method"), ["capacity", "profit"], lambda c: t(f"warning.option.{c}"), key="warning_method", horizontal=True)
try:
    if method == "capacity":
        a, b = st.columns(2)
        high = a.number_input(t("warning.high_n"), 0, n, int(round(0.1 * n)), step=100, key="warning_high")
        medium = b.number_input(t("warning.medium_n"), 0, n, int(round(0.2 * n)), step=100, key="warning_medium")
        config = W.TierConfig(method="capacity", high_capacity=int(high), medium_capacity=int(medium))
    else:
        a, b, c = st.columns(3)
        value = a.number_input(t("warning.value"), 0.0, 1e9, 1000.0, step=100.0, key="warning_value")
        cost = b.number_input(t("warning.cost"), 0.0, 1e7, 50.0, step=10.0, key="warning_cost")
        save = c.slider(t("warning.save_rate"), 0.01, 1.0, 0.3, 0.01, key="warning_save")
        config = W.TierConfig(method="profit", value_per_customer=value, contact_cost=cost, save_rate=save)
except ChurnCoreError as exc:
    ui.show_error(exc)
    st.stop()

tiers = W.compute_tiers(proba, config)
counts = tiers.value_counts().reindex(list(W.TIERS), fill_value=0)
tier_label = {tier: t(f"warning.tier.{tier}") for tier in W.TIERS}
cols = st.columns(3)
for col, tier in zip(cols, W.TIERS):
    share = counts[tier] / n if n else 0
    col.metric(tier_label[tier], f"{counts[tier]:,}", t("warning.tier_share", share=f"{share:.0%}"),
               delta_color="off")

if method == "profit":
    curve = W.compute_profit_curve(proba, config.value_per_customer, config.contact_cost, config.save_rate)
    st.altair_chart(W.build_profit_curve_chart(curve, title=t("warning.chart.profit"),
                                               x_title=t("warning.chart.contacted"),
                                               y_title=t("warning.chart.profit_axis")),
                    width="stretch")
    st.markdown(t("warning.profit.best", k=f"{curve.attrs['best_k']:,}", profit=f"{curve.attrs['best_profit']:,.0f}"))

dist = W.compute_score_distribution(proba, tiers)
st.altair_chart(W.build_score_distribution_chart(dist, title=t("warning.chart.distribution"),
                                                 x_title=t("warning.chart.probability"),
                                                 y_title=t("warning.chart.customers"),
                                                 tier_labels=tier_label, tier_title=t("warning.chart.tier")),
                width="stretch")

# ---------------------------------------------------------------- signals
st.subheader(t("warning.signals.title"))
found = W.detect_signal_columns(df)
if not found:
    st.info(t("warning.signals.none"))
with st.expander(t("warning.thresholds"), expanded=False):
    a, b, c, d = st.columns(4)
    drop = a.number_input(t("warning.th.activity_drop"), 1.0, 100.0, 30.0, step=5.0, key="warning_th_drop")
    outflow = b.number_input(t("warning.th.outflow"), 1.0, 100.0, 20.0, step=5.0, key="warning_th_outflow")
    complaints = c.number_input(t("warning.th.complaints"), 1, 100, 1, key="warning_th_complaints")
    logins = d.number_input(t("warning.th.logins"), 0, 1000, 0, key="warning_th_logins")
thresholds = W.SignalThresholds(activity_drop_pct=float(drop), outflow_pct=float(outflow),
                                complaints_min=int(complaints), logins_max=int(logins))
signals = W.compute_signals(df, thresholds, columns=found)
fired = [s for s in W.SIGNALS if s in signals.columns]
if fired:
    rows = []
    for sig in fired:
        col = found[sig]
        used = " / ".join(col) if isinstance(col, tuple) else str(col)
        hits = int(signals[sig].sum())
        rows.append({t("warning.col.signal"): t(f"warning.signal.{sig}"), t("warning.col.columns"): used,
                     t("warning.col.customers"): hits,
                     t("warning.col.high_risk"): int((signals[sig] & (tiers == "High").to_numpy()).sum())})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

# ---------------------------------------------------------------- watch-list
st.subheader(t("warning.list.title"))
a, b, c = st.columns(3)
tier_codes = list(W.TIERS)
tier_pick = a.multiselect(t("warning.filter.tier"), [tier_label[x] for x in tier_codes],
                          default=[tier_label["High"]], key="warning_filter_tier", placeholder=t("app.choose_options"))
tier_filter = [x for x in tier_codes if tier_label[x] in tier_pick]
sig_labels = {t(f"warning.signal.{s}"): s for s in fired}
sig_pick = b.multiselect(t("warning.filter.signal"), list(sig_labels), key="warning_filter_signal", placeholder=t("app.choose_options"))
segments = state.get_segments()
none_label = t("warning.filter.all_customers")
seg_name = c.selectbox(t("warning.filter.segment"), [none_label] + list(segments), key="warning_filter_segment")
mask = None
if seg_name != none_label:
    try:
        mask = np.asarray(segments[seg_name].mask(df), dtype=bool)
    except ChurnCoreError as exc:
        ui.show_error(exc)
        mask = None

watch = W.compute_watch_list(df, proba, tiers, signals, id_column=model.id_column_, mask=mask,
                             tier_filter=tier_filter or None, signal_filter=[sig_labels[s] for s in sig_pick],
                             lang=lang)
st.caption(t("warning.list.count", n=f"{len(watch):,}", shown=f"{min(len(watch), MAX_ROWS):,}"))
shown = watch.head(MAX_ROWS)
if len(shown):
    reason_key = f"warning_reasons:{model.fingerprint_}:{dataset.key}:{lang}"
    cache = state.get_result(reason_key) or {}
    todo = [i for i in shown.index if i not in cache]
    if todo:
        try:
            with st.spinner(t("warning.list.explaining")):
                reasons = W.compute_reasons(model, df.loc[todo], k=3, lang=lang)
        except ChurnCoreError as exc:
            ui.show_error(exc)
            reasons = pd.DataFrame(index=todo, data={f"reason_{j}": "" for j in (1, 2, 3)})
        for i, row in zip(todo, reasons[["reason_1", "reason_2", "reason_3"]].itertuples(index=False)):
            cache[i] = tuple(row)
        state.set_result(reason_key, cache)
    shown = shown.copy()
    for j in (1, 2, 3):
        shown[f"reason_{j}"] = [cache[i][j - 1] for i in shown.index]

view = pd.DataFrame({
    t("warning.col.customer"): shown["customer_id"].to_numpy(),
    t("warning.col.probability"): (shown["churn_probability"] * 100).round(1).to_numpy(),
    t("warning.col.tier"): [tier_label[str(x)] for x in shown["risk_tier"]],
    t("warning.col.reason_1"): shown["reason_1"].to_numpy(),
    t("warning.col.reason_2"): shown["reason_2"].to_numpy(),
    t("warning.col.reason_3"): shown["reason_3"].to_numpy(),
    t("warning.col.signals"): shown["signals_text"].to_numpy(),
})
st.dataframe(view, hide_index=True, width="stretch")
ui.download_buttons(view, "watch_list", key="warning_watch_list")
