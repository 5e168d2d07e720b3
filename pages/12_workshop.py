"""Workshop mode: a guided tour over the bundled sample, a reset, and "reveal the truth".

A trainer runs the room from here: each step says what to look at and why it matters to a banker,
with trainer notes; its "Next" sets the next page up (sample loaded, label confirmed, segment saved,
model trained, plan run) and opens it. The engine is :mod:`churn_core.sharing.workshop`.
"""

import pandas as pd
import streamlit as st

from churn_core.errors import ChurnCoreError
from churn_core.sharing import workshop as W
from churn_core.sharing.formatting import number
from studio import state, ui
from studio.i18n import current_lang, t

STEP_KEY = "workshop_step"
REVEAL_KEY = "workshop_reveal"
PLAN_RESULT = "workshop_plan"  # {"plan": figures, "offers": offer per book customer} (for the replay)
KEPT_ON_RESET = ("lang", "_lang_choice")  # the language survives a reset; nothing else does


# ----------------------------------------------------------------------------- set-up

def set_up(needs):
    """Everything a step needs, cumulative (data -> segment -> model -> plan), stored where the
    other pages read it."""
    lang = current_lang()
    ws = state.get_workspace()
    for need in W.needs_up_to(needs):
        if need == "data":
            if not W.is_sample_loaded(ws):
                from churn_core.data.ingest import load_file

                state.set_dataset(load_file(W.sample_path(lang)), None)
                st.session_state["_data_loaded_from"] = ("sample", "zh" if lang == "zh" else "en", ())
            W.setup_data(ws, lang)
        elif need == "segment":
            segment = W.build_workshop_segment(ws, lang)
            if segment.name not in state.get_segments():
                state.save_segment(segment.name, segment)
        elif need == "model":
            if ws.model_ is None:
                state.set_model(W.setup_model(ws))
        elif need == "plan":
            if state.get_result(PLAN_RESULT) is None:
                # the simulator page opens on the same budget (its settings kept across pages)
                st.session_state.setdefault("_sim_kept", {})["sim_budget"] = float(W.DEFAULT_BUDGET)
                result = W.setup_plan(ws)
                figures = result.to_dict()
                state.set_result("last_plan", figures)  # where the simulator and the board report read it
                state.set_result("last_plan_key", ws.key("workshop_plan", W.DEFAULT_BUDGET))
                state.set_result(PLAN_RESULT, {"plan": figures, "offers": W.plan_offers(result)})


def reset_workshop():
    """Back to the starting state: no data, no model, no results, no segments, tour at step 1."""
    for key in [k for k in st.session_state if k not in KEPT_ON_RESET]:
        del st.session_state[key]
    st.session_state[STEP_KEY] = 0


# ----------------------------------------------------------------------------- sections

def introduction():
    st.title(t("workshop.title"))
    st.write(t("workshop.intro"))
    sample = W.sample_path(current_lang()).name
    st.caption(t("workshop.sample", name=ui.escape_md(sample)))


def current_step():
    index = st.session_state.get(STEP_KEY, 0)
    if not isinstance(index, int) or not 0 <= index < len(W.STEPS):
        index = 0
    st.session_state[STEP_KEY] = index
    return index


def tour(index):
    step = W.STEPS[index]
    st.progress((index + 1) / len(W.STEPS), text=t("workshop.progress", step=index + 1, steps=len(W.STEPS)))
    st.subheader(t(f"workshop.step.{step.code}.title"))
    st.markdown(f"**{t('workshop.look')}** {t(f'workshop.step.{step.code}.look')}")
    st.markdown(f"**{t('workshop.why')}** {t(f'workshop.step.{step.code}.why')}")
    with st.expander(t("workshop.notes"), icon=":material/school:"):
        st.markdown(t(f"workshop.step.{step.code}.notes"))
    back, forward = st.columns(2)
    if index > 0 and back.button(t("workshop.back"), key="workshop_back", icon=":material/arrow_back:"):
        st.session_state[STEP_KEY] = index - 1
        st.rerun()
    label = t("workshop.next_reveal") if step.page is None else \
        t("workshop.next", page=t(f"workshop.step.{step.code}.page"))
    if forward.button(label, key="workshop_next", type="primary", icon=":material/arrow_forward:"):
        with st.spinner(t("workshop.setting_up")):
            set_up(step.needs)
        st.session_state[STEP_KEY] = min(index + 1, len(W.STEPS) - 1)
        if step.page is None:
            st.session_state[REVEAL_KEY] = True
        else:
            st.switch_page(step.page)


def contents(index):
    with st.expander(t("workshop.contents")):
        for i, step in enumerate(W.STEPS):
            mark = "▶" if i == index else "·"
            st.markdown(f"{mark} {t(f'workshop.step.{step.code}.title')}")


def reset_button():
    st.divider()
    if st.button(t("workshop.reset"), key="workshop_reset", icon=":material/restart_alt:",
                 help=t("workshop.reset_help")):
        reset_workshop()
        st.rerun()


def reveal():
    st.header(t("workshop.reveal.title"))
    st.caption(t("workshop.reveal.intro"))
    ws = state.get_workspace()
    ready = W.is_sample_loaded(ws) and ws.model_ is not None and state.get_result(PLAN_RESULT) is not None
    if not (st.session_state.get(REVEAL_KEY) and ready):
        if st.button(t("workshop.reveal.button"), key="workshop_reveal_button", icon=":material/visibility:"):
            with st.spinner(t("workshop.setting_up")):
                set_up("plan")
            st.session_state[REVEAL_KEY] = True
            st.rerun()
        return
    truth = W.load_ground_truth()
    reveal_drivers(ws, truth)
    reveal_effects(truth)
    reveal_plan(ws)


def reveal_drivers(ws, truth):
    st.subheader(t("workshop.reveal.drivers"))
    table, overlap = W.compute_driver_truth(ws, truth, k=5)
    st.markdown(t("workshop.reveal.drivers_found", found=overlap, k=5))
    names = [_column(ws, d) for d in table["driver"]]
    st.dataframe(pd.DataFrame({
        t("workshop.reveal.col.driver"): names,
        t("workshop.reveal.col.planted_rank"): table["planted_rank"],
        t("workshop.reveal.col.planted"): table["planted_importance"].round(3),
        t("workshop.reveal.col.model_rank"): table["model_rank"],
        t("workshop.reveal.col.model"): table["model_importance"].round(3),
    }), hide_index=True, width="stretch")
    st.caption(t("workshop.reveal.drivers_note"))


def reveal_effects(truth):
    from churn_core.retention.offers import default_catalogue

    st.subheader(t("workshop.reveal.effects"))
    table = W.compute_effect_truth(truth)
    catalogue = default_catalogue()
    zh = current_lang() == "zh"
    names = [(catalogue.get(o).name_zh if zh else catalogue.get(o).name_en) for o in table["offer"]]
    st.dataframe(pd.DataFrame({
        t("workshop.reveal.col.offer"): names,
        t("workshop.reveal.col.measured"): [f"{m:+.2f}" for m in table["measured"]],
        t("workshop.reveal.col.interval"): [f"{lo:+.1f} … {hi:+.1f}" for lo, hi in
                                            zip(table["measured_low"], table["measured_high"])],
        t("workshop.reveal.col.true"): [f"{v:+.2f}" for v in table["true"]],
    }), hide_index=True, width="stretch")
    st.caption(t("workshop.reveal.effects_note", inside=int(table["inside"].sum()), offers=len(table)))


def reveal_plan(ws):
    st.subheader(t("workshop.reveal.plan"))
    kept = state.get_result(PLAN_RESULT)
    pt = W.compute_plan_truth(ws.book().frame, kept["offers"], kept["plan"])
    a, b, c = st.columns(3)
    a.metric(t("workshop.reveal.projected"), number(pt.projected, 1),
             help=t("workshop.reveal.projected_help"))
    b.metric(t("workshop.reveal.true_expected"), number(pt.true_expected, 1))
    c.metric(t("workshop.reveal.replayed"), number(pt.replayed))
    st.markdown(t("workshop.reveal.plan_figures", contacted=number(pt.contacted),
                  low=number(pt.projected_low, 1), high=number(pt.projected_high, 1),
                  tlow=number(pt.true_low, 1), thigh=number(pt.true_high, 1),
                  without=number(pt.churned_without), with_plan=number(pt.churned_with)))
    st.info(t(f"workshop.reveal.verdict.{pt.verdict}"), icon=":material/lightbulb:")


def _column(ws, english):
    try:
        return W.sample_column(ws, english)
    except ChurnCoreError:
        return english


with ui.error_boundary("workshop", prefixes=("workshop_",)):
    introduction()
    index = current_step()
    tour(index)
    contents(index)
    reveal()
    reset_button()
