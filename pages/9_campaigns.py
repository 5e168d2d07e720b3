"""Past campaigns: checks, measured effect per offer, who responds, and the next campaign's design.

Every string that comes from the user's file (arm names, column names, values, the file name) is
shown as plain text: in tables as cells, in sentences escaped with ``ui.md`` / ``ui.escape_md``.
An arm whose name is an offer code of the simulator's catalogue is shown by the offer's name.
"""

from pathlib import Path

import pandas as pd
import streamlit as st

from churn_core.errors import ChurnCoreError
from churn_core.retention import offers as offers_mod
from churn_core.retention import uplift as U
from churn_core.sharing.formatting import number, pct
from studio import state, ui
from studio.i18n import current_lang, t, t_error

SAMPLE_CAMPAIGN = Path(__file__).resolve().parent.parent / "sample_data" / "campaign.csv"
PREFIXES = ("campaigns_", "_campaigns_")
KEPT = "_campaigns_kept"  # codes of the translated choices (survive a language switch)
FRAME_KEY = "_campaigns_frame"
RESULT_KEY = "_campaigns_result"
ASSIGNMENT_KEY = "_campaigns_assignment"
SIM_CATALOGUE_KEY = "_sim_catalogue"  # the simulator's catalogue (offer names for arm codes)


# ---------------------------------------------------------------- helpers

def points(value, digits=1):
    """A difference of two rates in percentage points (``-0.031`` -> ``-3.1``)."""
    return "–" if pd.isna(value) else f"{float(value) * 100:+.{digits}f}"


def arm_name(arm):
    """The offer's name when the arm is an offer code of the catalogue, else the arm as written."""
    catalogue = st.session_state.get(SIM_CATALOGUE_KEY) or offers_mod.default_catalogue()
    try:
        return catalogue.get(str(arm)).name(current_lang())
    except ChurnCoreError:
        return str(arm)


def names(arms):
    return ("、" if current_lang() == "zh" else ", ").join(arm_name(a) for a in arms)


def id_column_of(df, roles=None):
    ids = list(getattr(roles, "id_columns", None) or [])
    for name in ids + ["customer_id", "客户编号", "id", "CustomerId"]:
        if name in df.columns:
            return name
    return df.columns[0]


def choose(widget, label, codes, labeler, key, default, **kw):
    """A translated choice (labels as options, so AppTest drives it in either language) returning a
    code; the code is kept, so a language switch keeps the choice."""
    kept = st.session_state.setdefault(KEPT, {})
    labels = [labeler(c) for c in codes]
    if st.session_state.get(key) not in labels:
        current = kept.get(key, default)
        st.session_state[key] = labels[codes.index(current)] if current in codes else labels[0]
    kept[key] = ui.choose(widget, label, codes, labeler, key, **kw)
    return kept[key]


def pick(where, label, options, default, key):
    options = list(options)
    index = options.index(default) if default in options else 0
    return where.selectbox(label, options, index=index, key=key)


def downloads(df, basename):
    ui.download_buttons(df, basename, key=basename)


# ---------------------------------------------------------------- sections

def campaign_frame(dataset):
    """The campaign table to analyse (kept in session state, keyed on its source)."""
    source = choose(st.radio, t("campaigns.source"), ["sample", "upload"], lambda o: t(f"campaigns.source.{o}"),
                    "campaigns_source", "sample", horizontal=True)
    if source == "sample":
        if dataset is None:
            st.info(t("campaigns.need_data"))
            state.page_link(state.DATA_PAGE, t("app.go_data"), ":material/upload_file:")
            return None
        key = ("sample", dataset.key)
        cached = st.session_state.get(FRAME_KEY)
        if not cached or cached[0] != key:
            campaign = U.load_table(SAMPLE_CAMPAIGN)
            customers = dataset.df
            cid = "customer_id" if "customer_id" in customers.columns else id_column_of(customers, dataset.roles)
            frame = U.load_campaign_frame(campaign, customers, "customer_id", cid,
                                          drop=[dataset.roles.label] if dataset.roles.label else [])
            cached = (key, frame)
            st.session_state[FRAME_KEY] = cached
        frame = cached[1]
        st.caption(t("campaigns.sample_joined", rows=number(len(frame)),
                     unmatched=number(frame.attrs.get("unmatched", 0))))
        return frame
    upload = st.file_uploader(t("campaigns.upload"), type=["csv", "txt", "xlsx"], key="campaigns_upload")
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
    st.caption(ui.md("campaigns.file", name=upload.name, rows=number(len(frame)),
                     columns=number(len(frame.columns))))
    if dataset is not None and st.checkbox(t("campaigns.join"), key="campaigns_join"):
        cid = st.selectbox(t("campaigns.id_column"), list(frame.columns),
                           index=list(frame.columns).index(id_column_of(frame)), key="campaigns_id")
        label = dataset.roles.label
        frame = U.load_campaign_frame(frame, dataset.df, cid, id_column_of(dataset.df, dataset.roles),
                                      drop=[label] if label else [])
        st.caption(t("campaigns.joined", rows=number(len(frame)), unmatched=number(frame.attrs.get("unmatched", 0))))
    return frame


def settings(frame):
    """Which column holds the arms, which arm is control, which outcome counts and whether it is bad."""
    columns = list(frame.columns)
    a, b, c = st.columns(3)
    treatment = pick(a, t("campaigns.treatment"), columns, "arm", "campaigns_treatment")
    values = [U._label(v) for v in frame[treatment].dropna().unique().tolist()[:50]]
    values = sorted({v for v in values if v is not None})
    control = b.selectbox(t("campaigns.control"), values, index=values.index("control") if "control" in values else 0,
                          key=f"campaigns_control_{treatment}")
    outcome = c.selectbox(t("campaigns.outcome"), columns,
                          index=columns.index("churned") if "churned" in columns else 0, key="campaigns_outcome")
    outcome_values = sorted({v for v in (U._label(x) for x in frame[outcome].dropna().unique().tolist()[:50])
                             if v is not None})
    d, e = st.columns(2)
    positive = d.selectbox(t("campaigns.positive"), outcome_values,
                           index=outcome_values.index("1") if "1" in outcome_values else 0,
                           key=f"campaigns_positive_{outcome}")
    kind = choose(e.radio, t("campaigns.kind"), ["bad", "good"], lambda k: t(f"campaigns.kind.{k}"),
                  "campaigns_kind", "bad", horizontal=True)
    return dict(treatment=treatment, control=control, outcome=outcome, positive=positive, bad_outcome=kind == "bad")


def run_analysis(frame, chosen, dataset):
    id_column = None
    if dataset is not None and "customer_id" in frame.columns:
        id_column = id_column_of(frame, dataset.roles)
    with st.status(t("campaigns.running"), expanded=False) as status:
        bar = st.progress(0.0)
        result = U.UpliftResult(id_column=id_column, **chosen).fit(
            frame, progress=lambda f, code: bar.progress(min(max(f, 0.0), 1.0)))
        status.update(label=t("campaigns.done"), state="complete")
    return result


def analysis(frame, dataset):
    """Settings, the run button and the kept result (None until run with these settings)."""
    chosen = settings(frame)
    key = (st.session_state.get(FRAME_KEY, (None,))[0], tuple(sorted(chosen.items())))
    if st.button(t("campaigns.run"), type="primary", key="campaigns_run"):
        st.session_state.pop(RESULT_KEY, None)
        try:
            st.session_state[RESULT_KEY] = (key, run_analysis(frame, chosen, dataset))
        except ChurnCoreError as exc:  # a wrong column choice: say so, keep the rest of the page
            ui.show_error(exc)
    stored = st.session_state.get(RESULT_KEY)
    if stored and stored[0] == key:
        return stored[1]
    if stored:
        st.info(t("campaigns.rerun"))
    return None


def show_checks(result):
    st.subheader(t("campaigns.checks"))
    a = result.arms_
    st.dataframe(pd.DataFrame({
        t("campaigns.col.arm"): [arm_name(x) for x in a["arm"]],
        t("campaigns.col.customers"): [number(x) for x in a["customers"]],
        t("campaigns.col.rate"): [pct(x) for x in a["rate"]],
        t("campaigns.col.share"): [pct(x) for x in a["share"]],
    }), hide_index=True, key="campaigns_arms")
    st.caption(t("campaigns.arm_count", arms=len(a), offers=len(result.offers_)))
    for warning in result.warnings_:
        params = dict(warning["params"])
        if "arm" in params:
            params["arm"] = arm_name(params["arm"])
        for k in ("rows", "customers", "features"):
            if k in params:
                params[k] = number(params[k])
        st.warning(ui.md(f"campaigns.warn.{warning['code']}", **params))
    if len(result.balance_):
        worst = (result.balance_.assign(abs_smd=result.balance_["smd"].abs())
                 .sort_values("abs_smd", ascending=False).head(10))
        with st.expander(t("campaigns.balance", smd=f"{worst['abs_smd'].iloc[0]:.3f}")):
            st.dataframe(pd.DataFrame({
                t("campaigns.col.arm"): [arm_name(x) for x in worst["arm"]],
                t("campaigns.col.feature"): worst["feature"].astype(str),
                t("campaigns.col.smd"): [f"{x:.3f}" for x in worst["smd"]]}), hide_index=True)
        if not result.balance_["flagged"].any():
            st.success(t("campaigns.balanced"))


def show_effects(result):
    st.subheader(t("campaigns.effects"))
    lang = current_lang()
    label = None if result.bad_outcome_ else str(result.outcome_)
    for r in result.offers_.itertuples():
        sentence = U.effect_sentence(arm_name(r.offer), r.ate, r.ate_low, r.ate_high, result.bad_outcome_,
                                     outcome_label=label, lang=lang)
        st.markdown("- " + ui.escape_md(sentence))
    o = result.offers_
    table = pd.DataFrame({
        t("campaigns.col.offer"): [arm_name(x) for x in o["offer"]],
        t("campaigns.col.n_treated"): [number(x) for x in o["n_treated"]],
        t("campaigns.col.n_control"): [number(x) for x in o["n_control"]],
        t("campaigns.col.rate_treated"): [pct(x) for x in o["rate_treated"]],
        t("campaigns.col.rate_control"): [pct(x) for x in o["rate_control"]],
        t("campaigns.col.effect"): [points(x, 2) for x in o["effect"]],
        t("campaigns.col.effect_low"): [points(x, 2) for x in o["effect_low"]],
        t("campaigns.col.effect_high"): [points(x, 2) for x in o["effect_high"]],
    })
    st.dataframe(table, hide_index=True, key="campaigns_effects")
    st.caption(t("campaigns.effect_help_bad" if result.bad_outcome_ else "campaigns.effect_help_good"))
    chart = o.assign(offer=[arm_name(x) for x in o["offer"]])
    st.altair_chart(U.build_ate_chart(chart, x_title=t("campaigns.chart.effect"), y_title=t("campaigns.col.offer")),
                    width="stretch")
    # the download keeps numbers (points), so a spreadsheet can compute with them
    downloads(pd.DataFrame({
        t("campaigns.col.offer"): table[t("campaigns.col.offer")],
        t("campaigns.col.n_treated"): o["n_treated"], t("campaigns.col.n_control"): o["n_control"],
        t("campaigns.col.rate_treated"): (o["rate_treated"] * 100).round(2),
        t("campaigns.col.rate_control"): (o["rate_control"] * 100).round(2),
        t("campaigns.col.effect"): (o["effect"] * 100).round(2),
        t("campaigns.col.effect_low"): (o["effect_low"] * 100).round(2),
        t("campaigns.col.effect_high"): (o["effect_high"] * 100).round(2)}), "campaign_effects")


def show_heterogeneity(result):
    st.subheader(t("campaigns.who"))
    if not result.curves_:
        st.info(t("campaigns.no_model"))
        return
    st.caption(t("campaigns.who_help"))
    with st.expander(t("campaigns.advanced"), icon=":material/science:"):
        kind = choose(st.radio, t("campaigns.curve"), ["qini", "uplift"], lambda k: t(f"campaigns.curve.{k}"),
                      "campaigns_curve", "qini", horizontal=True, help=t("campaigns.curve_help"))
        curves = {arm_name(k): v for k, v in result.curves_.items()}
        st.altair_chart(U.build_curve_chart(curves, kind=kind, x_title=t("campaigns.chart.targeted"),
                                            y_title=t(f"campaigns.chart.{kind}"),
                                            random_label=t("campaigns.chart.random")), width="stretch")
        o = result.offers_
        st.dataframe(pd.DataFrame({
            t("campaigns.col.offer"): [arm_name(x) for x in o["offer"]],
            t("campaigns.col.qini_auc"): [f"{x:.4f}" if pd.notna(x) else "–" for x in o["qini_auc"]],
            t("campaigns.col.auuc"): [f"{x:.4f}" if pd.notna(x) else "–" for x in o["auuc"]],
            t("campaigns.col.uplift_at_10"): [points(x) for x in o["uplift_at_10"]],
            t("campaigns.col.uplift_at_30"): [points(x) for x in o["uplift_at_30"]],
            t("campaigns.col.effect"): [points(x) for x in o["effect"]],
        }), hide_index=True, key="campaigns_uplift_table",
            column_config={t("campaigns.col.qini_auc"): st.column_config.TextColumn(help=t("campaigns.qini_help")),
                           t("campaigns.col.auuc"): st.column_config.TextColumn(help=t("campaigns.auuc_help"))})


def show_segments(result, frame):
    st.subheader(t("campaigns.segments"))
    saved = state.get_segments()
    choice = choose(st.selectbox, t("campaigns.segment_pick"), ["__column__"] + list(saved),
                    lambda c: t("campaigns.segment_by_column") if c == "__column__" else str(c),
                    "campaigns_segment", "__column__")
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
            st.warning(t("campaigns.segment_failed", error=t_error(exc)))  # t_error escapes
            return
        name = choice
    effects = result.segment_effects(mask.reindex(result.data_.index).fillna(False))
    st.caption(ui.md("campaigns.segment_size", name=name, rows=number(int(mask.sum()))))
    low = -effects["ate_high"] if result.bad_outcome_ else effects["ate_low"]
    high = -effects["ate_low"] if result.bad_outcome_ else effects["ate_high"]
    st.dataframe(pd.DataFrame({
        t("campaigns.col.offer"): [arm_name(x) for x in effects["offer"]],
        t("campaigns.col.n_treated"): [number(x) for x in effects["n_treated"]],
        t("campaigns.col.n_control"): [number(x) for x in effects["n_control"]],
        t("campaigns.col.effect"): [points(x) for x in effects["effect"]],
        t("campaigns.col.effect_low"): [points(x) for x in low],
        t("campaigns.col.effect_high"): [points(x) for x in high],
    }), hide_index=True, key="campaigns_segment_table")


def show_use(result):
    st.subheader(t("campaigns.use"))
    st.caption(t("campaigns.use_help"))
    if st.button(t("campaigns.use_button"), key="campaigns_use", icon=":material/send:"):
        state.set_result("uplift", result)
    if state.get_result("uplift") is result:
        st.success(ui.md("campaigns.use_done", offers=names(result.offers_names_)))


def show_design(dataset, result):
    st.subheader(t("campaigns.design"))
    base = 0.15
    if result is not None:
        base = float(result.arms_.loc[result.arms_["is_control"], "rate"].iloc[0]) or 0.15
    a, b, c, d = st.columns(4)
    rate = a.number_input(t("campaigns.design.rate"), 0.1, 99.9, min(max(round(base * 100, 1), 0.1), 99.9), 0.5,
                          key="campaigns_design_rate")
    change = b.number_input(t("campaigns.design.change"), -50.0, 50.0, -3.0, 0.5, key="campaigns_design_change",
                            help=t("campaigns.design.change_help"))
    alpha = c.selectbox(t("campaigns.design.alpha"), [0.05, 0.01, 0.1], key="campaigns_alpha",
                        help=t("campaigns.design.alpha_help"))
    power = d.selectbox(t("campaigns.design.power"), [0.8, 0.9, 0.95], key="campaigns_power",
                        format_func=lambda x: pct(x, 0), help=t("campaigns.design.power_help"))
    try:
        size = U.compute_sample_size(rate / 100, change / 100, alpha=alpha, power=power)
    except ChurnCoreError as exc:
        ui.show_error(exc)
    else:
        st.metric(t("campaigns.design.per_arm"), number(size["n_control"]))
        st.caption(t("campaigns.design.explain", n=number(size["n_control"]), rate=rate, change=change,
                     power=int(round(power * 100)), alpha=alpha))
    if dataset is None:
        return
    default_arms = "control, " + ", ".join(result.offers_names_ if result is not None else ["rm_call", "fee_waiver"])
    with st.form("campaigns_assign"):
        arms_text = st.text_input(t("campaigns.assign.arms"), default_arms, key="campaigns_assign_arms")
        seed = st.number_input(t("campaigns.assign.seed"), 0, 2**31 - 1, 42, 1, key="campaigns_assign_seed")
        go = st.form_submit_button(t("campaigns.assign.button"))
    if go:
        arms = [x.strip() for x in arms_text.split(",") if x.strip()]
        id_col = id_column_of(dataset.df, dataset.roles)
        try:
            st.session_state[ASSIGNMENT_KEY] = U.compute_assignment(dataset.df[id_col], arms, seed=int(seed))
        except ChurnCoreError as exc:
            ui.show_error(exc)
    assignment = st.session_state.get(ASSIGNMENT_KEY)
    if assignment is not None:
        counts = assignment["arm"].value_counts()
        st.dataframe(pd.DataFrame({t("campaigns.col.arm"): [str(x) for x in counts.index],
                                   t("campaigns.col.customers"): [number(x) for x in counts.to_numpy()]}),
                     hide_index=True, key="campaigns_assignment_counts")
        downloads(assignment, "campaign_assignment")


# ---------------------------------------------------------------- the page

def page():
    st.title(t("campaigns.title"))
    st.write(t("campaigns.intro"))
    dataset = state.get_dataset()
    try:
        frame = campaign_frame(dataset)
    except ChurnCoreError as exc:  # an unreadable file or a failed join
        ui.show_error(exc)
        frame = None
    result = analysis(frame, dataset) if frame is not None else None
    if result is not None:
        show_checks(result)
        show_effects(result)
        show_heterogeneity(result)
        show_segments(result, result.data_)
        show_use(result)
    show_design(dataset, result)


with ui.error_boundary("campaigns", prefixes=PREFIXES):
    page()
