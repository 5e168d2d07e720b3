"""Churn drivers (SHAP): the whole base, one customer, segments, reasons for everyone."""

import numpy as np
import pandas as pd
import streamlit as st

from churn_core import explain
from churn_core.modeling import warning as warn
from churn_core.retention.actionable import offers_for_feature
from churn_core.errors import ChurnCoreError
from studio import state, ui
from studio.i18n import current_lang, t

# above FULL_LIMIT customers, global and segment views use a stratified sample of SAMPLE_ROWS and
# one customer is explained on the fly (the session may lower the limit, e.g. to test that path)
FULL_LIMIT = int(st.session_state.get("drivers_full_limit", 100_000))
SAMPLE_ROWS = min(20_000, FULL_LIMIT)
MAX_LIST = 50

st.title(t("drivers.title"))
st.caption(t("drivers.intro"))
dataset = state.require_dataset()
model = state.require_model()
df = dataset.df
lang = current_lang()

# ---------------------------------------------------------------- one explanation per model + data
key = f"explanation:{explain.model_key(model)}:{dataset.key}"
expl = state.get_result(key)
if expl is None:
    sample = None if len(df) <= FULL_LIMIT else SAMPLE_ROWS
    with st.status(t("drivers.computing"), expanded=False) as status:
        bar = st.progress(0.0)
        try:
            expl = explain.compute_explanation(
                model, df, sample=sample, progress=lambda f, code: bar.progress(min(1.0, f))
            )
        except ChurnCoreError as exc:
            ui.show_error(exc)
            st.stop()
        status.update(label=t("drivers.computed", n=f"{len(expl):,}"), state="complete")
    state.set_result(key, expl)
    state.set_result("explanation", expl)
if len(expl) < len(df):
    st.info(t("drivers.sampled", n=f"{len(expl):,}", total=f"{len(df):,}"))
rows_df = df.loc[expl.index] if len(expl) < len(df) else df

only_actionable = st.toggle(t("drivers.actionable_only"), key="drivers_actionable",
                            help=t("drivers.actionable_help"))
tab_global, tab_customer, tab_segment, tab_all = st.tabs(
    [t("drivers.tab.global"), t("drivers.tab.customer"), t("drivers.tab.segment"), t("drivers.tab.all")]
)

# ---------------------------------------------------------------- the whole base
with tab_global:
    importance = explain.compute_global_importance(model, explanation=expl,
                                                   actionable_only=only_actionable)
    st.subheader(t("drivers.importance.title"))
    st.altair_chart(
        explain.build_importance_chart(importance, labels={
            "x": t("drivers.importance.x"), "y": t("drivers.driver"), "kind": t("drivers.kind"),
            "actionable": t("drivers.kind.actionable"), "fixed": t("drivers.kind.fixed")}),
        width="stretch",
    )
    shown = importance.assign(
        kind=np.where(importance["actionable"], t("drivers.kind.actionable"), t("drivers.kind.fixed")),
        offers=importance["column"].map(lambda c: ", ".join(offers_for_feature(c))),
    )[["feature", "mean_abs_shap", "mean_shap", "kind", "offers"]].rename(columns={
        "feature": t("drivers.driver"), "mean_abs_shap": t("drivers.importance.x"),
        "mean_shap": t("drivers.col.mean_shap"), "kind": t("drivers.kind"),
        "offers": t("drivers.col.offers")})
    with st.expander(t("drivers.importance.table")):
        st.dataframe(shown, hide_index=True, width="stretch")
        ui.download_buttons(shown, "drivers_importance")

    st.subheader(t("drivers.beeswarm.title"))
    st.caption(t("drivers.beeswarm.help"))
    bees = explain.compute_beeswarm_data(expl, top=10, actionable_only=only_actionable)
    st.altair_chart(explain.build_beeswarm_chart(bees, labels={
        "x": t("drivers.shap_value"), "y": t("drivers.driver"), "color": t("drivers.beeswarm.color"),
        "value": t("drivers.value")}), width="stretch")

    st.subheader(t("drivers.dependence.title"))
    names = dict(zip(importance["column"], importance["feature"]))
    if names:
        col = st.selectbox(t("drivers.dependence.pick"), list(names), format_func=names.get,
                           key="drivers_dep_feature")
        dep = explain.compute_dependence_data(expl, col)
        st.caption(t("drivers.dependence.help", partner=dep.attrs.get("color_feature") or "-"))
        st.altair_chart(explain.build_dependence_chart(dep, labels={
            "x": names[col], "y": t("drivers.shap_value")}), width="stretch")

    st.subheader(t("drivers.interactions.title"))
    ikey = f"interactions:{key}"
    pairs = state.get_result(ikey)
    if pairs is None and st.button(t("drivers.interactions.run"), key="drivers_interactions"):
        with st.spinner(t("drivers.interactions.running")):
            pairs = state.set_result(ikey, explain.compute_interaction_pairs(model, df, sample=300))
    if pairs is not None:
        st.altair_chart(explain.build_interaction_chart(pairs, labels={
            "x": t("drivers.interactions.x"), "y": t("drivers.interactions.pair")}),
            width="stretch")

# ---------------------------------------------------------------- one customer
with tab_customer:
    st.subheader(t("drivers.customer.find"))
    full = len(expl) == len(df)
    if full:
        proba_all = expl.proba
    else:  # big table: search every customer, explain the picked one on the fly
        proba_all = state.get_result(f"proba:{key}")
        if proba_all is None:
            proba_all = state.set_result(f"proba:{key}", np.asarray(model.predict_proba(df)))
    id_col = getattr(model, "id_column_", None)
    ids = (df[id_col] if id_col and id_col in df.columns else df.index.to_series()).astype(str)
    ids = ids.reset_index(drop=True)
    query = st.text_input(t("drivers.customer.search"), key="drivers_search").strip()
    c1, c2, c3 = st.columns(3)
    segments = state.get_segments()
    seg_name = c1.selectbox(t("drivers.customer.segment"), [""] + sorted(segments),
                            format_func=lambda s: s or t("drivers.all_customers"), key="drivers_cust_seg")
    tiers = warn.compute_tiers(proba_all)
    tier_pick = c2.multiselect(t("drivers.customer.tier"), list(warn.TIERS), key="drivers_cust_tier",
                               format_func=lambda x: t(f"drivers.tier.{x}"), placeholder=t("app.choose_options"))
    lo, hi = c3.slider(t("drivers.customer.score"), 0, 100, (0, 100), key="drivers_cust_score")
    keep = (proba_all * 100 >= lo) & (proba_all * 100 <= hi)
    if query:
        keep &= ids.str.contains(query, case=False, regex=False).to_numpy()
    if seg_name:
        try:
            keep &= np.asarray(segments[seg_name].mask(df), dtype=bool)
        except ChurnCoreError as exc:
            ui.show_error(exc)
    if tier_pick:
        keep &= np.asarray(pd.Series(tiers).isin(tier_pick), dtype=bool)
    found = np.flatnonzero(keep)
    found = found[np.argsort(-proba_all[found], kind="stable")]
    st.caption(t("drivers.customer.found", n=f"{len(found):,}", shown=min(len(found), MAX_LIST)))
    if len(found):
        top = found[:MAX_LIST]
        pick = st.selectbox(t("drivers.customer.pick"), list(top), key="drivers_cust_pick",
                            format_func=lambda i: f"{ids.iloc[i]} · {100 * proba_all[i]:.1f}%")
        one = expl.subset([pick]) if full else explain.compute_explanation(model, df.iloc[[pick]])
        st.metric(t("drivers.customer.risk"), f"{100 * one.proba[0]:.1f}%",
                  delta=f"{100 * (one.proba[0] - one.base_proba):+.1f} {t('drivers.points')}",
                  delta_color="inverse")
        wf = explain.compute_waterfall(one, 0, top=8, other_label=t("drivers.other"))
        st.altair_chart(explain.build_waterfall_chart(wf, labels={
            "x": t("drivers.risk_pct"), "base": t("drivers.base_risk"), "total": t("drivers.this_customer"),
            "raises": t("drivers.raises"), "lowers": t("drivers.lowers")}), width="stretch")
        frame = pd.DataFrame(index=[0])
        st.markdown(f"**{t('drivers.customer.reasons')}**")
        for code, label in (("en", "English"), ("zh", "中文")):
            detail = explain.compute_top_reasons(model, frame, k=3, lang=code, explanation=one,
                                                 actionable_only=only_actionable, with_details=True)
            st.caption(label)
            texts = [detail.iloc[0][f"reason_{j}"] for j in range(1, 4)]
            if not any(texts):
                st.write(t("drivers.customer.no_reason"))
            for j, text in enumerate(texts, start=1):
                if text:
                    offers = offers_for_feature(detail.iloc[0][f"driver_{j}"])
                    suffix = f"  → {', '.join(offers)}" if offers and code == lang else ""
                    st.write(f"{j}. {text}{suffix}")
    else:
        st.info(t("drivers.customer.none"))

# ---------------------------------------------------------------- segments
with tab_segment:
    segments = state.get_segments()
    if not segments:
        st.info(t("drivers.segment.none"))
    else:
        st.subheader(t("drivers.segment.title"))
        name = st.selectbox(t("drivers.segment.pick"), sorted(segments), key="drivers_seg")
        try:
            mask = np.asarray(segments[name].mask(rows_df), dtype=bool)
            seg = explain.compute_segment_drivers(expl, mask, actionable_only=only_actionable)
            st.caption(t("drivers.segment.size", n=f"{int(mask.sum()):,}",
                         risk=f"{100 * expl.proba[mask].mean():.1f}"))
            st.altair_chart(explain.build_segment_chart(seg, value="difference", labels={
                "x": t("drivers.segment.difference"), "y": t("drivers.driver")}), width="stretch")
            table = seg[["feature", "mean_contribution", "mean_contribution_all", "difference", "points"]]
            st.dataframe(table.rename(columns={
                "feature": t("drivers.driver"), "mean_contribution": t("drivers.segment.mean"),
                "mean_contribution_all": t("drivers.segment.mean_all"),
                "difference": t("drivers.segment.difference"), "points": t("drivers.points")}),
                hide_index=True, width="stretch")
        except ChurnCoreError as exc:
            ui.show_error(exc)
        st.subheader(t("drivers.compare.title"))
        c1, c2 = st.columns(2)
        names = sorted(segments)
        a = c1.selectbox(t("drivers.compare.a"), names, key="drivers_cmp_a")
        b = c2.selectbox(t("drivers.compare.b"), names, index=min(1, len(names) - 1), key="drivers_cmp_b")
        if a == b:
            st.info(t("drivers.compare.same"))
        else:
            try:
                cmp = explain.compute_segment_comparison(
                    expl, segments[a].mask(rows_df), segments[b].mask(rows_df))
                st.write(explain.describe_segment_comparison(cmp, a, b, lang=lang))
                st.altair_chart(explain.build_segment_chart(cmp.table, value="points", labels={
                    "x": t("drivers.points"), "y": t("drivers.driver")}), width="stretch")
            except ChurnCoreError as exc:
                ui.show_error(exc)

# ---------------------------------------------------------------- reasons for every customer
with tab_all:
    st.caption(t("drivers.all.help", n=f"{len(df):,}"))
    rkey = f"reasons:{key}:{lang}:{only_actionable}"
    reasons = state.get_result(rkey)
    if st.button(t("drivers.all.run"), key="drivers_all_run", type="primary"):
        bar = st.progress(0.0, text=t("drivers.all.running"))

        def _progress(fraction, code):
            bar.progress(min(1.0, fraction), text=t(f"drivers.progress.{code.split('.')[-1]}"))

        try:
            if len(expl) == len(df):  # the session's explanation covers everyone: reuse it
                reasons = explain.compute_top_reasons(
                    model, df, k=3, lang=lang, actionable_only=only_actionable, explanation=expl,
                    with_details=True)
                bar.progress(1.0)
            else:
                margin = model.predict_margin(df)
                watch = np.argsort(-margin)[: max(1, len(df) // 10)]  # the riskiest tenth first
                reasons = explain.compute_top_reasons(
                    model, df, k=3, lang=lang, actionable_only=only_actionable, priority=watch,
                    chunk_size=100_000, progress=_progress, with_details=True)
            id_col = getattr(model, "id_column_", None)
            if id_col and id_col in df.columns:
                reasons.insert(0, id_col, df[id_col].to_numpy())
            reasons = state.set_result(rkey, reasons)
        except ChurnCoreError as exc:
            ui.show_error(exc)
    if reasons is not None:
        st.dataframe(reasons.head(1000), hide_index=True, width="stretch")
        ui.download_buttons(reasons, "churn_reasons")
