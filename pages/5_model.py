"""Churn model: the Data page's label, the checks before training, training, and an honest verdict.

The label is the workspace's one label (chosen and confirmed on the Data page); training goes
through ``Workspace.train(require_confirmed=True)``. Plain words first (a one-line verdict, then the
charts); technical metrics with tooltips under "advanced".
"""

import io
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import streamlit as st

from churn_core.errors import ChurnCoreError
from churn_core.modeling import metrics as M
from churn_core.sharing import formatting as F
from studio import state, ui
from studio.i18n import t, t_error

PREFIXES = ("model_", "_model_")


# ------------------------------------------------------------------------------ helpers
def fmt_int(x):
    return F.number(x)


def go_to_data_page():
    state.page_link(state.DATA_PAGE, t("model.go_data"), ":material/upload_file:")


def reason_table(reasons, leak_auc):
    rows = [{t("model.col.column"): str(col), t("model.col.reason"): t(f"model.reason.{code}"),
             t("model.col.alone_auc"): (round(leak_auc[col], 3) if col in leak_auc else None)}
            for col, code in reasons.items()]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ sections
def label_section(ws):
    """The workspace's one label, read-only here: changed (and confirmed) on the Data page."""
    roles = ws.roles_
    if roles.label is None:
        st.info(t("model.no_label"))
        go_to_data_page()
        st.stop()
    st.markdown(ui.md("model.label_is", label=roles.label, positive=roles.positive))
    if not ws.label_confirmed:
        st.warning(ui.md("model.label_unconfirmed", label=roles.label, positive=roles.positive))
        go_to_data_page()
    else:
        st.caption(t("model.label_change"))


def gate_section(ws):
    """The checks the model runs before training (identifiers, leaks, label), in plain words."""
    from churn_core.modeling.prep import compute_gate

    roles = ws.roles_
    st.subheader(t("model.gate.title"))
    gate = ws.cached("model_gate", lambda: compute_gate(ws.df, label=roles.label, positive=roles.positive,
                                                         roles=roles))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("model.gate.rows"), fmt_int(gate.n_rows))
    c2.metric(t("model.gate.missing_label"), fmt_int(gate.n_missing_label))
    c3.metric(t("model.gate.churners"), fmt_int(gate.n_churners))
    c4.metric(t("model.gate.churn_rate"), F.pct(gate.churn_rate))
    if gate.n_missing_label:
        st.info(t("model.gate.dropped", n=fmt_int(gate.n_missing_label)))
    left, right = st.columns(2)
    with left:
        st.markdown(t("model.gate.excluded", n=len(gate.excluded)))
        if gate.excluded:
            st.dataframe(reason_table(gate.excluded, gate.leak_auc), hide_index=True, width="stretch")
    with right:
        st.markdown(t("model.gate.flagged", n=len(gate.flagged)))
        if gate.flagged:
            st.dataframe(reason_table(gate.flagged, gate.leak_auc), hide_index=True, width="stretch")
        st.caption(t("model.gate.features", n=len(gate.features)))
    if any(code in ("leakage", "post_outcome") for code in gate.excluded.values()):
        st.warning(t("model.gate.leak_warning"))


def train_section(ws):
    """The train button: the workspace trains on its confirmed label, with progress."""
    if not st.button(t("model.train"), type="primary", key="model_train"):
        return
    with st.status(t("model.training"), expanded=True) as status:
        bar = st.progress(0.0)

        def progress(fraction, code):
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=t(f"model.step.{code}"))

        try:
            fitted = ws.train(progress=progress, require_confirmed=True, random_state=0)
        except ChurnCoreError as exc:
            status.update(label=t("model.failed"), state="error")
            st.error(t_error(exc), icon=":material/error:")
            if exc.code in ("model.label_not_confirmed", "model.no_label"):
                go_to_data_page()
            st.stop()
        state.set_model(fitted)
        status.update(label=t("model.trained", seconds=F.number(fitted.metrics_["training_seconds"], 1)),
                      state="complete", expanded=False)


def verdict_section(model):
    """One line a banker reads first: how often the model ranks a leaver above a stayer, the grade."""
    m = model.metrics_
    st.subheader(t("model.eval.title"))
    verdict = t("model.verdict", times=int(round(100 * m["roc_auc"])), grade=m["grade"],
                use=t(f"model.use.{m['grade']}"))
    {"A": st.success, "B": st.info}.get(m["grade"], st.warning)(verdict)
    st.markdown(t(f"model.grade.{m['grade_code']}", times=int(round(100 * m["roc_auc"])),
                  base=int(round(100 * m["baseline_roc_auc"]))))
    st.caption(t("model.eval.held_out", n=fmt_int(m["n_test"]), train=fmt_int(m["n_train"])))
    k1, k2, k3 = st.columns(3)
    k1.metric(t("model.metric.churn_rate"), F.pct(m["test_churn_rate"]), help=t("model.help.churn_rate"))
    k2.metric(t("model.metric.lift"), f"{m['top_decile_lift']:.1f}×", help=t("model.help.lift"))
    k3.metric(t("model.metric.test_rows"), fmt_int(m["n_test"]), help=t("model.help.test_rows"))


def charts_section(model):
    """Curves, cut-off, lift and gains, calibration: the charts behind the verdict."""
    m = model.metrics_
    y, p = model.test_y_, model.test_proba_
    tab_roc, tab_conf, tab_lift, tab_cal = st.tabs([
        t("model.tab.curves"), t("model.tab.confusion"), t("model.tab.lift"), t("model.tab.calibration")])
    with tab_roc:
        a, b = st.columns(2)
        a.altair_chart(M.build_roc_chart(M.compute_roc_curve(y, p), title=t("model.chart.roc", auc=f"{m['roc_auc']:.3f}"),
                                         x_title=t("model.chart.fpr"), y_title=t("model.chart.tpr")), width="stretch")
        b.altair_chart(M.build_pr_chart(M.compute_pr_curve(y, p), base_rate=float(y.mean()),
                                        title=t("model.chart.pr", auc=f"{m['pr_auc']:.3f}"),
                                        x_title=t("model.chart.recall"), y_title=t("model.chart.precision")),
                       width="stretch")
    with tab_conf:
        cutoff = st.slider(t("model.cutoff"), 1, 99, 50, 1, format="%d%%", key="model_cutoff",
                           help=t("model.help.cutoff")) / 100
        c = M.compute_confusion(y, p, cutoff)
        labels = {"actual_yes": t("model.conf.actual_yes"), "actual_no": t("model.conf.actual_no"),
                  "predicted_yes": t("model.conf.predicted_yes"), "predicted_no": t("model.conf.predicted_no"),
                  "actual": t("model.conf.actual"), "predicted": t("model.conf.predicted")}
        st.altair_chart(M.build_confusion_chart(c, labels, title=t("model.conf.title", cutoff=F.pct(cutoff, 0))),
                        width="stretch")
        st.markdown(t("model.conf.explain", flagged=fmt_int(c["flagged"]), tp=fmt_int(c["tp"]),
                      precision=F.pct(c["precision"], 0) if c["flagged"] else "–",
                      recall=F.pct(c["recall"], 0), fn=fmt_int(c["fn"])))
    with tab_lift:
        lift = M.compute_lift_table(y, p)
        a, b = st.columns(2)
        a.altair_chart(M.build_lift_chart(lift, title=t("model.chart.lift"), x_title=t("model.chart.decile"),
                                          y_title=t("model.chart.lift_axis")), width="stretch")
        b.altair_chart(M.build_gains_chart(lift, title=t("model.chart.gains"), x_title=t("model.chart.contacted"),
                                           y_title=t("model.chart.reached")), width="stretch")
        st.markdown(t("model.lift.explain", lift=f"{m['top_decile_lift']:.1f}",
                      reached=f"{lift['cum_churners_pct'].iloc[0]:.0f}"))
    with tab_cal:
        rel = M.compute_reliability(y, p)
        st.altair_chart(M.build_reliability_chart(rel, title=t("model.chart.reliability"),
                                                  x_title=t("model.chart.predicted"),
                                                  y_title=t("model.chart.observed")), width="stretch")
        st.markdown(t("model.cal.plain", ece=F.pct(m["ece"])))


def advanced_section(model):
    """Technical metrics, each with a tooltip; cross-validation, backtest, model size."""
    m = model.metrics_
    with st.expander(t("model.advanced"), icon=":material/science:"):
        k1, k2, k3, k4 = st.columns(4)
        k1.metric(t("model.metric.roc_auc"), f"{m['roc_auc']:.3f}", help=t("model.help.roc_auc"))
        k2.metric(t("model.metric.pr_auc"), f"{m['pr_auc']:.3f}", help=t("model.help.pr_auc"))
        k3.metric(t("model.metric.brier"), f"{m['brier']:.3f}", help=t("model.help.brier"))
        k4.metric(t("model.metric.ece"), F.pct(m["ece"]), help=t("model.help.ece"))
        b1, b2, b3, b4 = st.columns(4)
        b1.metric(t("model.metric.baseline"), f"{m['baseline_roc_auc']:.3f}", help=t("model.help.baseline"))
        method = m["calibration"]["method"]
        b2.metric(t("model.metric.calibration"), t(f"model.calibration.{method}"),
                  help=t("model.help.calibration"))
        b3.metric(t("model.metric.trees"), fmt_int(model.n_trees_), help=t("model.help.trees"))
        b4.metric(t("model.metric.depth"), fmt_int(m["max_depth"]), help=t("model.help.trees"))
        st.caption(t("model.help.log_odds"))
        cv = m.get("cv")
        if cv:
            st.markdown(t("model.cv.text", k=cv["folds"], mean=f"{cv['roc_auc_mean']:.3f}",
                          sd=f"{cv['roc_auc_sd']:.3f}"))
        else:
            st.markdown(t("model.cv.none"))
        bt = m.get("backtest")
        if bt:
            st.markdown(t("model.backtest.text", snapshot=ui.escape_md(bt["test_snapshot"]),
                          auc=f"{bt['roc_auc']:.3f}", n=fmt_int(bt["n_test"]), k=bt["train_snapshots"]))
        else:
            st.markdown(t("model.backtest.none"))


def model_zip(model):
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(Path(tmp).iterdir()):
                zf.write(path, arcname=path.name)
        return buf.getvalue()


def card_section(ws, model):
    """The model card (what it learnt from, which columns) and the model as a zip."""
    with st.expander(t("model.tab.card"), icon=":material/badge:"):
        card = model.model_card()
        st.markdown(ui.md("model.card.data", rows=fmt_int(card["data"]["rows"]), label=card["data"]["label"],
                          positive=card["data"]["positive"], rate=F.pct(card["data"]["churn_rate"]),
                          trained=card["trained_at"]))
        st.markdown(t("model.card.features", n=len(card["features"])))
        st.dataframe(pd.DataFrame([{t("model.col.column"): str(f["column"]),
                                    t("model.col.kind"): t(f"model.kind.{f['kind']}"),
                                    t("model.col.alone_auc"): f["alone_auc"]} for f in card["features"]]),
                     hide_index=True, width="stretch")
        if card["excluded"]:
            st.markdown(t("model.gate.excluded", n=len(card["excluded"])))
            st.dataframe(reason_table(model.excluded_, model.gate_.leak_auc), hide_index=True, width="stretch")
        st.json(card, expanded=False)
    data = ws.cached("model_zip", lambda: model_zip(model))
    st.download_button(t("model.download"), data=data, file_name="churn_model.zip",
                       mime="application/zip", key="model_download", icon=":material/download:")


# ------------------------------------------------------------------------------ the page
def page():
    st.title(t("model.title"))
    st.caption(t("model.intro"))
    state.require_dataset()
    ws = state.get_workspace()
    label_section(ws)
    gate_section(ws)
    train_section(ws)
    model = ws.model_
    if model is None:
        st.info(t("model.not_trained"))
        return
    verdict_section(model)
    charts_section(model)
    advanced_section(model)
    card_section(ws, model)


with ui.error_boundary("model", prefixes=PREFIXES):
    page()
