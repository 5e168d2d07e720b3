"""Past campaigns: checks, measured effect per offer, who responds, and the next campaign's design."""

import importlib.util
from pathlib import Path

import pandas as pd
import streamlit as st

from churn_core.retention import uplift as U
from churn_core.errors import ChurnCoreError
from studio import state, ui
from studio.i18n import current_lang, t

SAMPLE_CAMPAIGN = Path(__file__).resolve().parent.parent / "sample_data" / "campaign.csv"
FRAME_KEY = "_campaigns_frame"
RESULT_KEY = "_campaigns_result"


def pct(value, digits=1):
    return None if pd.isna(value) else round(float(value) * 100, digits)


def id_column_of(df, roles=None):
    ids = list(getattr(roles, "id_columns", None) or [])
    for name in ids + ["customer_id", "客户编号", "id", "CustomerId"]:
        if name in df.columns:
            return name
    return df.columns[0]


def campaign_frame(dataset):
    """The campaign table to analyse (kept in session state, keyed on its source)."""
    options = ["sample", "upload"]
    source = st.radio(t("campaigns.source"), options, horizontal=True,
                      format_func=lambda o: t(f"campaigns.source.{o}"), key="campaigns_source")
    if source == "sample":
        if dataset is None:
            st.info(t("campaigns.need_data"))
            state.page_link(state.DATA_PAGE, t("app.go_data"), "📂")
            st.stop()
        key = ("sample", dataset.key)
        cached = st.session_state.get(FRAME_KEY)
        if not cached or cached[0] != key:
            campaign = U.load_table(SAMPLE_CAMPAIGN)
            customers = dataset.df
            cid = "customer_id" if "customer_id" in customers.columns else id_column_of(
                customers, dataset.roles)
            frame = U.load_campaign_frame(campaign, customers, "customer_id", cid,
                                          drop=[dataset.roles.label] if dataset.roles.label else [])
            cached = (key, frame)
            st.session_state[FRAME_KEY] = cached
        frame = cached[1]
        st.caption(t("campaigns.sample_joined", rows=f"{len(frame):,}",
                     unmatched=f"{frame.attrs.get('unmatched', 0):,}"))
        return frame
    upload = st.file_uploader(t("campaigns.upload"), type=["csv", "txt", "xlsx"],
                              key="campaigns_upload")
    if upload is None:
        st.info(t("campaigns.upload_hint"))
        return None
    from churn_core.data.ingest import load_file

    key = ("upload", upload.file_id)
    cached = st.session_state.get(FRAME_KEY)
    if not cached or cached[0] != key:
        load = load_file(upload.getvalue(), filename=upload.name)
        cached = (key, load.df)
        st.session_state[FRAME_KEY] = cached
    frame = cached[1]
    if dataset is not None and st.checkbox(t("campaigns.join"), key="campaigns_join"):
        cid = st.selectbox(t("campaigns.id_column"), list(frame.columns),
                           index=list(frame.columns).index(id_column_of(frame))
                           if id_column_of(frame) in frame.columns else 0, key="campaigns_id")
        customers_id = id_column_of(dataset.df, dataset.roles)
        label = dataset.roles.label
        frame = U.load_campaign_frame(frame, dataset.df, cid, customers_id,
                                      drop=[label] if label else [])
        st.caption(t("campaigns.joined", rows=f"{len(frame):,}",
                     unmatched=f"{frame.attrs.get('unmatched', 0):,}"))
    return frame


def downloads(df, basename):
    """Safe CSV/Excel downloads (skipped until the export module is installed)."""
    if importlib.util.find_spec("churn_core.sharing.export") is None:
        return
    ui.download_buttons(df, basename, key=basename)


def pick(where, label, options, default, key):
    options = list(options)
    index = options.index(default) if default in options else 0
    return where.selectbox(label, options, index=index, key=key)


def settings(frame):
    columns = list(frame.columns)
    a, b, c = st.columns(3)
    treatment = pick(a, t("campaigns.treatment"), columns, "arm", "campaigns_treatment")
    values = [U._label(v) for v in frame[treatment].dropna().unique().tolist()[:50]]
    values = sorted({v for v in values if v is not None})
    control = b.selectbox(t("campaigns.control"), values,
                          index=values.index("control") if "control" in values else 0,
                          key=f"campaigns_control_{treatment}")
    outcome = c.selectbox(t("campaigns.outcome"), columns,
                          index=columns.index("churned") if "churned" in columns else 0,
                          key="campaigns_outcome")
    outcome_values = sorted({v for v in (U._label(x) for x in
                                         frame[outcome].dropna().unique().tolist()[:50])
                             if v is not None})
    d, e = st.columns(2)
    positive = d.selectbox(t("campaigns.positive"), outcome_values,
                           index=outcome_values.index("1") if "1" in outcome_values else 0,
                           key=f"campaigns_positive_{outcome}")
    kind = e.radio(t("campaigns.kind"), ["bad", "good"], horizontal=True,
                   format_func=lambda k: t(f"campaigns.kind.{k}"), key="campaigns_kind")
    return dict(treatment=treatment, control=control, outcome=outcome, positive=positive,
                bad_outcome=kind == "bad")


def run_analysis(frame, chosen, dataset):
    id_column = None
    if dataset is not None:
        id_column = id_column_of(frame, dataset.roles) if "customer_id" in frame.columns else None
    with st.status(t("campaigns.running"), expanded=False) as status:
        bar = st.progress(0.0)
        result = U.UpliftResult(id_column=id_column, **chosen).fit(
            frame, progress=lambda f, code: bar.progress(min(max(f, 0.0), 1.0)))
        status.update(label=t("campaigns.done"), state="complete")
    return result


def show_checks(result):
    st.subheader(t("campaigns.checks"))
    arms = pd.DataFrame({
        t("campaigns.col.arm"): result.arms_["arm"],
        t("campaigns.col.customers"): result.arms_["customers"],
        t("campaigns.col.rate"): result.arms_["rate"].map(pct),
        t("campaigns.col.share"): result.arms_["share"].map(pct),
    })
    st.dataframe(arms, hide_index=True)
    st.caption(t("campaigns.arm_count", arms=len(result.arms_), offers=len(result.offers_)))
    for warning in result.warnings_:
        st.warning(t(f"campaigns.warn.{warning['code']}", **warning["params"]))
    if len(result.balance_):
        worst = (result.balance_.assign(abs_smd=result.balance_["smd"].abs())
                 .sort_values("abs_smd", ascending=False).head(10))
        with st.expander(t("campaigns.balance", smd=f"{worst['abs_smd'].iloc[0]:.3f}")):
            st.dataframe(pd.DataFrame({
                t("campaigns.col.arm"): worst["arm"], t("campaigns.col.feature"): worst["feature"],
                t("campaigns.col.smd"): worst["smd"].round(3)}), hide_index=True)
        if not result.balance_["flagged"].any():
            st.success(t("campaigns.balanced"))


def show_effects(result):
    st.subheader(t("campaigns.effects"))
    lang = current_lang()
    label = None if result.bad_outcome_ else str(result.outcome_)
    for sentence in result.sentences(lang, outcome_label=label):
        st.markdown(f"- {sentence}")
    o = result.offers_
    table = pd.DataFrame({
        t("campaigns.col.offer"): o["offer"],
        t("campaigns.col.n_treated"): o["n_treated"],
        t("campaigns.col.n_control"): o["n_control"],
        t("campaigns.col.rate_treated"): o["rate_treated"].map(pct),
        t("campaigns.col.rate_control"): o["rate_control"].map(pct),
        t("campaigns.col.effect"): o["effect"].map(lambda v: pct(v, 2)),
        t("campaigns.col.effect_low"): o["effect_low"].map(lambda v: pct(v, 2)),
        t("campaigns.col.effect_high"): o["effect_high"].map(lambda v: pct(v, 2)),
    })
    st.dataframe(table, hide_index=True)
    st.caption(t("campaigns.effect_help_bad" if result.bad_outcome_ else "campaigns.effect_help_good"))
    st.altair_chart(U.build_ate_chart(o, x_title=t("campaigns.chart.effect"),
                                      y_title=t("campaigns.col.offer")), width="stretch")
    downloads(table, "campaign_effects")


def show_heterogeneity(result):
    st.subheader(t("campaigns.who"))
    if not result.curves_:
        st.info(t("campaigns.no_model"))
        return
    st.caption(t("campaigns.who_help"))
    kind = st.radio(t("campaigns.curve"), ["qini", "uplift"], horizontal=True,
                    format_func=lambda k: t(f"campaigns.curve.{k}"), key="campaigns_curve")
    chart = U.build_curve_chart(result.curves_, kind=kind, x_title=t("campaigns.chart.targeted"),
                                y_title=t(f"campaigns.chart.{kind}"),
                                random_label=t("campaigns.chart.random"))
    st.altair_chart(chart, width="stretch")
    o = result.offers_
    st.dataframe(pd.DataFrame({
        t("campaigns.col.offer"): o["offer"],
        t("campaigns.col.qini_auc"): o["qini_auc"].round(4),
        t("campaigns.col.auuc"): o["auuc"].round(4),
        t("campaigns.col.uplift_at_10"): o["uplift_at_10"].map(pct),
        t("campaigns.col.uplift_at_30"): o["uplift_at_30"].map(pct),
        t("campaigns.col.effect"): o["effect"].map(pct),
    }), hide_index=True)


def show_segments(result, frame):
    st.subheader(t("campaigns.segments"))
    saved = state.get_segments()
    choices = ["__column__"] + list(saved)
    choice = st.selectbox(t("campaigns.segment_pick"), choices, key="campaigns_segment",
                          format_func=lambda c: t("campaigns.segment_by_column")
                          if c == "__column__" else c)
    if choice == "__column__":
        usable = [c for c in result.features_ if frame[c].nunique() <= 30]
        if not usable:
            st.caption(t("campaigns.segment_none"))
            return
        column = st.selectbox(t("campaigns.segment_column"), usable, key="campaigns_seg_col")
        values = sorted(frame[column].dropna().astype(str).unique().tolist())
        value = st.selectbox(t("campaigns.segment_value"), values, key=f"campaigns_seg_val_{column}")
        mask = frame[column].astype(str) == value
        name = f"{column} = {value}"
    else:
        try:
            mask = saved[choice].mask(frame)
        except (ChurnCoreError, KeyError, ValueError, TypeError) as exc:
            st.warning(t("campaigns.segment_failed", error=str(exc)))
            return
        name = choice
    effects = result.segment_effects(mask.reindex(result.data_.index).fillna(False))
    st.caption(t("campaigns.segment_size", name=name, rows=f"{int(mask.sum()):,}"))
    st.dataframe(pd.DataFrame({
        t("campaigns.col.offer"): effects["offer"],
        t("campaigns.col.n_treated"): effects["n_treated"],
        t("campaigns.col.n_control"): effects["n_control"],
        t("campaigns.col.effect"): effects["effect"].map(pct),
        t("campaigns.col.effect_low"): (-effects["ate_high"] if result.bad_outcome_
                                        else effects["ate_low"]).map(pct),
        t("campaigns.col.effect_high"): (-effects["ate_low"] if result.bad_outcome_
                                         else effects["ate_high"]).map(pct),
    }), hide_index=True)


def show_use(result):
    st.subheader(t("campaigns.use"))
    st.caption(t("campaigns.use_help"))
    if st.button(t("campaigns.use_button"), key="campaigns_use", icon=":material/send:"):
        state.set_result("uplift", result)
    if state.get_result("uplift") is result:
        st.success(t("campaigns.use_done", offers=", ".join(result.offers_names_)))


def show_design(dataset, result):
    st.subheader(t("campaigns.design"))
    base = 0.15
    if result is not None:
        base = float(result.arms_.loc[result.arms_["is_control"], "rate"].iloc[0]) or 0.15
    a, b, c, d = st.columns(4)
    rate = a.number_input(t("campaigns.design.rate"), 0.1, 99.9,
                          min(max(round(base * 100, 1), 0.1), 99.9), 0.5,
                          key="campaigns_design_rate")
    change = b.number_input(t("campaigns.design.change"), -50.0, 50.0, -3.0, 0.5,
                            key="campaigns_design_change", help=t("campaigns.design.change_help"))
    alpha = c.selectbox(t("campaigns.design.alpha"), [0.05, 0.01, 0.1], key="campaigns_alpha")
    power = d.selectbox(t("campaigns.design.power"), [0.8, 0.9, 0.95], key="campaigns_power")
    try:
        size = U.compute_sample_size(rate / 100, change / 100, alpha=alpha, power=power)
    except ChurnCoreError as exc:
        ui.show_error(exc)
    else:
        st.metric(t("campaigns.design.per_arm"), f"{size['n_control']:,}")
        st.caption(t("campaigns.design.explain", n=f"{size['n_control']:,}", rate=rate,
                     change=change, power=int(power * 100), alpha=alpha))
    if dataset is None:
        return
    default_arms = "control, " + ", ".join(result.offers_names_ if result is not None
                                           else ["rm_call", "fee_waiver"])
    with st.form("campaigns_assign"):
        arms_text = st.text_input(t("campaigns.assign.arms"), default_arms)
        seed = st.number_input(t("campaigns.assign.seed"), 0, 2**31 - 1, 42, 1)
        go = st.form_submit_button(t("campaigns.assign.button"))
    if go:
        arms = [x.strip() for x in arms_text.split(",") if x.strip()]
        id_col = id_column_of(dataset.df, dataset.roles)
        try:
            st.session_state["_campaigns_assignment"] = U.compute_assignment(
                dataset.df[id_col], arms, seed=int(seed))
        except ChurnCoreError as exc:
            ui.show_error(exc)
    assignment = st.session_state.get("_campaigns_assignment")
    if assignment is not None:
        counts = assignment["arm"].value_counts().rename_axis(t("campaigns.col.arm"))
        st.dataframe(counts.rename(t("campaigns.col.customers")).reset_index(), hide_index=True)
        downloads(assignment, "campaign_assignment")


st.title(t("campaigns.title"))
st.write(t("campaigns.intro"))
dataset = state.get_dataset()
try:
    frame = campaign_frame(dataset)
except ChurnCoreError as exc:
    ui.show_error(exc)
    frame = None

result = None
if frame is not None:
    chosen = settings(frame)
    key = (st.session_state.get(FRAME_KEY, (None,))[0], tuple(sorted(chosen.items())))
    if st.button(t("campaigns.run"), type="primary", key="campaigns_run"):
        try:
            st.session_state[RESULT_KEY] = (key, run_analysis(frame, chosen, dataset))
        except ChurnCoreError as exc:
            st.session_state.pop(RESULT_KEY, None)
            ui.show_error(exc)
    stored = st.session_state.get(RESULT_KEY)
    if stored and stored[0] == key:
        result = stored[1]
    elif stored:
        st.info(t("campaigns.rerun"))
if result is not None:
    show_checks(result)
    show_effects(result)
    show_heterogeneity(result)
    show_segments(result, result.data_)
    show_use(result)
show_design(dataset, result)
