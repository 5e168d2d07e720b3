"""Churn model: confirm the label, read the gate's report, train, and judge the model honestly."""

import io
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import streamlit as st

from churn_core.modeling import metrics as M
from churn_core.errors import ChurnCoreError
from churn_core.modeling.model import ChurnModel
from churn_core.modeling.prep import compute_gate, detect_positive
from studio import state, ui
from studio.i18n import t

st.title(t("model.title"))
st.caption(t("model.intro"))
dataset = state.require_dataset()
df = dataset.df
roles = dataset.roles

# ---------------------------------------------------------------- label and positive value
columns = list(df.columns)
default_label = roles.label if roles.label in columns else columns[-1]
label = st.selectbox(t("model.label"), columns, index=columns.index(default_label), key="model_label")
values = df[label].dropna().unique().tolist()
if len(values) > 20:
    st.warning(t("model.label_many_values", n=len(values)))
    values = df[label].value_counts().index[:20].tolist()
if not values:
    st.error(t("model.label_empty"))
    st.stop()
value_texts = [str(v) for v in values]
guess = roles.positive if label == roles.label and roles.positive in values else detect_positive(df[label])
pos_index = value_texts.index(str(guess)) if str(guess) in value_texts else 0
positive_text = st.selectbox(t("model.positive"), value_texts, index=pos_index, key=f"model_positive_{label}")
positive = values[value_texts.index(positive_text)]
fit_roles = roles.with_label(label, positive) if hasattr(roles, "with_label") else roles

# ---------------------------------------------------------------- gate report (before training)
st.subheader(t("model.gate.title"))
gate_key = f"model_gate:{dataset.key}:{label}:{positive_text}"
gate = state.get_result(gate_key)
if gate is None:
    try:
        with st.spinner(t("model.gate.running")):
            gate = compute_gate(df, label=label, positive=positive, roles=fit_roles)
    except ChurnCoreError as exc:
        ui.show_error(exc)
        st.stop()
    state.set_result(gate_key, gate)

st.markdown(t("model.gate.positive", label=gate.label, positive=gate.positive))
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("model.gate.rows"), f"{gate.n_rows:,}")
c2.metric(t("model.gate.missing_label"), f"{gate.n_missing_label:,}")
c3.metric(t("model.gate.churners"), f"{gate.n_churners:,}")
c4.metric(t("model.gate.churn_rate"), f"{gate.churn_rate:.1%}")
if gate.n_missing_label:
    st.info(t("model.gate.dropped", n=f"{gate.n_missing_label:,}"))


def reason_table(reasons, leak_auc):
    rows = [{t("model.col.column"): col, t("model.col.reason"): t(f"model.reason.{code}"),
             t("model.col.alone_auc"): (round(leak_auc[col], 3) if col in leak_auc else None)}
            for col, code in reasons.items()]
    return pd.DataFrame(rows)


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

# ---------------------------------------------------------------- train
if st.button(t("model.train"), type="primary", key="model_train"):
    with st.status(t("model.training"), expanded=True) as status:
        bar = st.progress(0.0)

        def progress(fraction, code):
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=t(f"model.step.{code}"))

        try:
            fitted = ChurnModel(random_state=0).fit(df, fit_roles, progress=progress)
        except ChurnCoreError as exc:
            status.update(label=t("model.failed"), state="error")
            ui.show_error(exc)
            st.stop()
        state.set_model(fitted)
        status.update(label=t("model.trained", seconds=fitted.metrics_["training_seconds"]),
                      state="complete", expanded=False)

model = state.get_model()
if model is None:
    st.info(t("model.not_trained"))
    st.stop()

# ---------------------------------------------------------------- evaluation
m = model.metrics_
st.subheader(t("model.eval.title"))
st.caption(t("model.eval.held_out", n=f"{m['n_test']:,}", train=f"{m['n_train']:,}"))
k1, k2, k3, k4, k5 = st.columns(5)
k1.metric(t("model.metric.roc_auc"), f"{m['roc_auc']:.3f}")
k2.metric(t("model.metric.pr_auc"), f"{m['pr_auc']:.3f}")
k3.metric(t("model.metric.brier"), f"{m['brier']:.3f}")
k4.metric(t("model.metric.ece"), f"{m['ece']:.3f}")
k5.metric(t("model.metric.lift"), f"{m['top_decile_lift']:.2f}×")

grade_text = t(f"model.grade.{m['grade_code']}", grade=m["grade"], auc=f"{m['roc_auc']:.3f}",
               base=f"{m['baseline_roc_auc']:.3f}", gain=f"{m['auc_gain_vs_baseline']:+.3f}")
{"A": st.success, "B": st.info}.get(m["grade"], st.warning)(
    t("model.grade.title", grade=m["grade"]) + " " + grade_text)

y, p = model.test_y_, model.test_proba_
tab_roc, tab_conf, tab_lift, tab_cal, tab_cv, tab_card = st.tabs([
    t("model.tab.curves"), t("model.tab.confusion"), t("model.tab.lift"), t("model.tab.calibration"),
    t("model.tab.validation"), t("model.tab.card")])

with tab_roc:
    a, b = st.columns(2)
    a.altair_chart(M.build_roc_chart(M.compute_roc_curve(y, p), title=t("model.chart.roc", auc=f"{m['roc_auc']:.3f}"),
                                     x_title=t("model.chart.fpr"), y_title=t("model.chart.tpr")),
                   width="stretch")
    b.altair_chart(M.build_pr_chart(M.compute_pr_curve(y, p), base_rate=float(y.mean()),
                                    title=t("model.chart.pr", auc=f"{m['pr_auc']:.3f}"),
                                    x_title=t("model.chart.recall"), y_title=t("model.chart.precision")),
                   width="stretch")

with tab_conf:
    cutoff = st.slider(t("model.cutoff"), 0.01, 0.99, 0.5, 0.01, key="model_cutoff")
    c = M.compute_confusion(y, p, cutoff)
    labels = {"actual_yes": t("model.conf.actual_yes"), "actual_no": t("model.conf.actual_no"),
              "predicted_yes": t("model.conf.predicted_yes"), "predicted_no": t("model.conf.predicted_no"),
              "actual": t("model.conf.actual"), "predicted": t("model.conf.predicted")}
    st.altair_chart(M.build_confusion_chart(c, labels, title=t("model.conf.title", cutoff=f"{cutoff:.2f}")),
                    width="stretch")
    st.markdown(t("model.conf.explain", flagged=f"{c['flagged']:,}", tp=f"{c['tp']:,}",
                  precision=f"{c['precision']:.0%}" if c["flagged"] else "-",
                  recall=f"{c['recall']:.0%}", fn=f"{c['fn']:,}"))

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
    st.markdown(t("model.cal.explain", brier=f"{m['brier']:.3f}", ece=f"{m['ece']:.3f}",
                  method=m["calibration"]["method"]))

with tab_cv:
    cv = m.get("cv")
    if cv:
        st.markdown(t("model.cv.text", k=cv["folds"], mean=f"{cv['roc_auc_mean']:.3f}",
                      sd=f"{cv['roc_auc_sd']:.3f}"))
    else:
        st.markdown(t("model.cv.none"))
    bt = m.get("backtest")
    if bt:
        st.markdown(t("model.backtest.text", snapshot=bt["test_snapshot"], auc=f"{bt['roc_auc']:.3f}",
                      n=f"{bt['n_test']:,}", k=bt["train_snapshots"]))
    else:
        st.markdown(t("model.backtest.none"))
    st.caption(t("model.size", trees=model.n_trees_, depth=m["max_depth"]))

with tab_card:
    card = model.model_card()
    st.markdown(t("model.card.data", rows=f"{card['data']['rows']:,}", label=card["data"]["label"],
                  positive=card["data"]["positive"], rate=f"{card['data']['churn_rate']:.1%}",
                  trained=card["trained_at"]))
    st.markdown(t("model.card.features", n=len(card["features"])))
    st.dataframe(pd.DataFrame([{t("model.col.column"): f["column"], t("model.col.kind"): t(f"model.kind.{f['kind']}"),
                                t("model.col.alone_auc"): f["alone_auc"]} for f in card["features"]]),
                 hide_index=True, width="stretch")
    if card["excluded"]:
        st.markdown(t("model.gate.excluded", n=len(card["excluded"])))
        st.dataframe(reason_table(model.excluded_, model.gate_.leak_auc), hide_index=True, width="stretch")
    with st.expander(t("model.card.json")):
        st.json(card, expanded=False)

    zip_key = f"model_zip:{model.fingerprint_}"
    data = state.get_result(zip_key)
    if data is None:
        with tempfile.TemporaryDirectory() as tmp:
            model.save(tmp)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for path in sorted(Path(tmp).iterdir()):
                    zf.write(path, arcname=path.name)
            data = buf.getvalue()
        state.set_result(zip_key, data)
    st.download_button(t("model.download"), data=data, file_name="churn_model.zip",
                       mime="application/zip", key="model_download", icon=":material/download:")
