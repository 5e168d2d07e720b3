"""Customer value: editable margins, contribution, lifetime value and value at risk by segment."""

import numpy as np
import streamlit as st

from churn_core.analysis import segments as S
from churn_core.analysis import value as V
from churn_core.errors import ChurnCoreError
from studio import state, ui
from studio.i18n import t

SHOWN = ["customers", "churn_rate", "risk", "avg_contribution", "total_contribution", "retention_per_year",
         "avg_ltv", "total_ltv", "value_at_risk", "share_of_value_at_risk", "avg_tenure_years", "share_active",
         "avg_balance_change", "txn_trend"]
PERCENT = {"churn_rate", "risk", "retention_per_year", "share_of_value_at_risk", "share_active", "txn_trend"}


def display(frame):
    out = frame.copy()
    for c in out.columns:
        if c in PERCENT:
            out[c] = (out[c].astype(float) * 100).round(1)
        elif c in SHOWN and c != "customers":
            out[c] = out[c].astype(float).round(2)
    return out.rename(columns={c: t(f"value.metric.{c}") for c in out.columns if c in SHOWN})


def assumptions_form():
    current = st.session_state.get("_value_assumptions") or V.ValueAssumptions()
    with st.form("value_assumptions"):
        st.markdown(f"**{t('value.assumptions')}**")
        a, b, c = st.columns(3)
        bm = a.number_input(t("value.balance_margin"), min_value=0.0, max_value=1.0, step=0.001, format="%.3f",
                            value=current.balance_margin, help=t("value.balance_margin.help"))
        am = b.number_input(t("value.asset_margin"), min_value=0.0, max_value=1.0, step=0.001, format="%.3f",
                            value=current.asset_margin, help=t("value.asset_margin.help"))
        pm = c.number_input(t("value.product_margin"), min_value=0.0, step=10.0, value=float(current.product_margin))
        fs = a.number_input(t("value.fee_share"), min_value=0.0, max_value=1.0, step=0.1, value=float(current.fee_share))
        cs = b.number_input(t("value.cost_to_serve"), min_value=0.0, step=10.0, value=float(current.cost_to_serve))
        dr = c.number_input(t("value.discount_rate"), min_value=0.0, max_value=0.99, step=0.01, value=float(current.discount_rate))
        hz = a.number_input(t("value.horizon_years"), min_value=1, max_value=50, step=1, value=int(current.horizon_years))
        pm_months = b.number_input(t("value.churn_period_months"), min_value=1, max_value=60, step=1,
                                   value=int(current.churn_period_months), help=t("value.churn_period_months.help"))
        if st.form_submit_button(t("value.apply"), icon=":material/calculate:"):
            try:
                current = V.ValueAssumptions(bm, am, pm, fs, cs, dr, int(hz), int(pm_months))
                st.session_state["_value_assumptions"] = current
            except ChurnCoreError as exc:
                ui.show_error(exc)
    return current


def model_probability(ds):
    model = state.get_model()
    if model is None:
        return None
    use = st.toggle(t("value.use_model"), value=True, key="value_use_model", help=t("value.use_model.help"))
    if not use:
        return None
    cached = st.session_state.get("_value_proba")
    token = (ds.key, id(model))
    if cached and cached[0] == token:
        return cached[1]
    try:
        proba = np.asarray(model.predict_proba(ds.df), dtype=float)
    except Exception as exc:  # noqa: BLE001 - a model problem must not break the page
        ui.show_error(exc)
        return None
    if proba.ndim == 2:
        proba = proba[:, -1]
    st.session_state["_value_proba"] = (token, proba)
    return proba


ds = state.require_dataset()
st.title(t("value.title"))
st.caption(t("value.intro"))
store = state.get_store()
cols = state.get_column_map(ds)
assumptions = assumptions_form()
with st.expander(t("value.formula.title")):
    st.markdown(t("value.formula.body"))

proba = model_probability(ds)
st.caption(t("value.source_model") if proba is not None else t("value.source_history"))

ready = S.build_ready_made(store, cols)
saved = state.get_segments()
categorical = [c for c in ds.df.columns if S.column_kind(ds.df[c]) == "text" and ds.df[c].nunique() <= 60]
choices = (["__saved__"] if saved else []) + [f"ready:{k}" for k in ready] + [f"col:{c}" for c in categorical]
if not choices:
    choices = ["__none__"]


def choice_label(c):
    if c == "__saved__":
        return t("value.by_saved")
    if c == "__none__":
        return t("segments.all_customers")
    kind, name = c.split(":", 1)
    return t(f"segments.ready.{name}") if kind == "ready" else t("value.by_column", column=name)


pick = ui.choose(st.selectbox, t("value.group_by"), choices, choice_label, "value_group_by")
try:
    if pick == "__saved__":
        frame = V.compute_value_for_segments(store, cols, saved, assumptions, proba)
        frame["segment"] = frame["segment"].replace({"__all__": t("segments.all_customers")})
        key = "segment"
    elif pick == "__none__":
        frame = V.compute_value(store, cols, assumptions, None, proba)
        frame.insert(0, "segment", t("segments.all_customers"))
        key = "segment"
    else:
        kind, name = pick.split(":", 1)
        grouping = ready[name] if kind == "ready" else [name]
        frame = V.compute_value(store, cols, assumptions, grouping, proba)
        keys = grouping.keys() if kind == "ready" else [name]
        if len(keys) > 1:
            frame.insert(0, "group", frame[keys].astype(str).agg(" · ".join, axis=1))
            key = "group"
        else:
            key = keys[0]
except ChurnCoreError as exc:
    ui.show_error(exc)
    st.stop()

total = frame if pick in ("__saved__",) else None
whole = V.compute_value(store, cols, assumptions, None, proba).iloc[0]
m = st.columns(4)
m[0].metric(t("value.metric.total_contribution"), f"{whole['total_contribution']:,.0f}")
m[1].metric(t("value.metric.total_ltv"), f"{whole['total_ltv']:,.0f}")
m[2].metric(t("value.metric.value_at_risk"), f"{whole['value_at_risk']:,.0f}")
m[3].metric(t("value.metric.risk"), f"{whole['risk']:.1%}" if whole["risk"] == whole["risk"] else "–")

chart_frame = frame if pick != "__saved__" else frame[frame["segment"] != t("segments.all_customers")]
if len(chart_frame):
    left, right = st.columns(2)
    left.altair_chart(V.build_value_at_risk_chart(chart_frame, key, title_x=choice_label(pick),
                                                  title_y=t("value.metric.value_at_risk"),
                                                  title_ltv=t("value.metric.avg_ltv")), width="stretch")
    right.altair_chart(V.build_risk_value_chart(chart_frame, key, title_x=t("value.metric.risk"),
                                                title_y=t("value.metric.avg_ltv")), width="stretch")
shown = display(frame)
st.dataframe(shown, hide_index=True, width="stretch")
ui.download_buttons(shown, "customer_value", key="value_groups")

st.subheader(t("value.top.title"))
limit = st.number_input(t("value.top.limit"), min_value=10, max_value=5000, value=100, step=10, key="value_top_limit")
id_col = (ds.roles.id_columns[0] if getattr(ds.roles, "id_columns", None) else None)
top = V.compute_top_at_risk(store, cols, assumptions, proba, limit=int(limit), id_column=id_col)
top_shown = top.rename(columns={c: t(f"value.top.{c}") for c in top.columns if c != id_col})
st.dataframe(top_shown.head(200), hide_index=True, width="stretch")
ui.download_buttons(top_shown, "value_at_risk_customers", key="value_top")
