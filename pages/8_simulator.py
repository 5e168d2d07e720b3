"""Retention simulator: offers, effects, targeting, what-if sliders, scenarios, one customer."""

import numpy as np
import pandas as pd
import streamlit as st

from churn_core.retention import offers as offers_mod
from churn_core.retention import simulate as sim
from churn_core.errors import ChurnCoreError
from churn_core.sharing.report import build_report_html
from churn_core.modeling.warning import compute_tiers
from studio import state, ui
from studio.i18n import current_lang, t

# Above this many customers the what-if skips the re-planning that guarantees beating the baselines
# (it costs ~2 s at 1M customers; the sliders must answer within a second).
BEAT_BASELINES_MAX_ROWS = 200_000

st.title(t("simulator.title"))
st.caption(t("simulator.intro"))
dataset = state.require_dataset()
model = state.require_model()
df = dataset.df
lang = current_lang()

# ---------------------------------------------------------------- offer catalogue
# the user's catalogue is kept under the page's own key: it survives a retrained model
CATALOGUE_KEY = "simulator_catalogue"
catalogue = st.session_state.get(CATALOGUE_KEY) or offers_mod.default_catalogue()
st.subheader(t("simulator.offers.title"))
st.caption(t("simulator.offers.help"))
with st.form("sim_offers_form"):
    edited = st.data_editor(
        offers_mod.catalogue_to_frame(catalogue), num_rows="dynamic", hide_index=True, key="sim_offers_editor",
        column_config={
            "code": st.column_config.TextColumn(t("simulator.col.code"), required=True),
            "name_en": t("simulator.col.name_en"), "name_zh": t("simulator.col.name_zh"),
            "description_en": t("simulator.col.description_en"), "description_zh": t("simulator.col.description_zh"),
            "unit_cost": st.column_config.NumberColumn(t("simulator.col.unit_cost"), min_value=0.0),
            "contact_cost": st.column_config.NumberColumn(t("simulator.col.contact_cost"), min_value=0.0),
            "take_up": st.column_config.NumberColumn(t("simulator.col.take_up"), min_value=0.0, max_value=1.0),
            "take_up_low": st.column_config.NumberColumn(t("simulator.col.take_up_low"), min_value=0.0, max_value=1.0),
            "take_up_high": st.column_config.NumberColumn(t("simulator.col.take_up_high"), min_value=0.0, max_value=1.0),
            "effect_low": st.column_config.NumberColumn(t("simulator.col.effect_low"), min_value=0.0, max_value=1.0),
            "effect_mid": st.column_config.NumberColumn(t("simulator.col.effect_mid"), min_value=0.0, max_value=1.0),
            "effect_high": st.column_config.NumberColumn(t("simulator.col.effect_high"), min_value=0.0, max_value=1.0),
            "eligibility": t("simulator.col.eligibility"),
            "capacity": st.column_config.NumberColumn(t("simulator.col.capacity"), min_value=0, step=1),
            "levers": t("simulator.col.levers"),
        },
    )
    apply_offers = st.form_submit_button(t("simulator.offers.apply"), icon=":material/check:")
if apply_offers:
    try:
        catalogue = offers_mod.catalogue_from_frame(edited)
        st.session_state[CATALOGUE_KEY] = catalogue
        st.success(t("simulator.offers.saved", n=len(catalogue)))
    except ChurnCoreError as exc:
        ui.show_error(exc)
left, right = st.columns(2)
uploaded = left.file_uploader(t("simulator.offers.upload"), type=["json", "csv"], key="sim_offers_upload")
if uploaded is not None and st.session_state.get("sim_offers_upload_id") != uploaded.file_id:
    st.session_state["sim_offers_upload_id"] = uploaded.file_id
    try:
        text = uploaded.getvalue().decode("utf-8-sig")
        if uploaded.name.lower().endswith(".json"):
            new = offers_mod.catalogue_from_json(text)
        else:
            import io

            new = offers_mod.catalogue_from_frame(pd.read_csv(io.StringIO(text), dtype={"eligibility": str, "levers": str}))
        st.session_state[CATALOGUE_KEY] = new
        st.rerun()
    except (ChurnCoreError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        ui.show_error(exc)
right.download_button(t("simulator.offers.download"), offers_mod.catalogue_to_json(catalogue).encode("utf-8"),
                      file_name="offers.json", mime="application/json", key="sim_offers_download",
                      icon=":material/download:")

# ---------------------------------------------------------------- effects (scored once per catalogue change)
st.subheader(t("simulator.effects.title"))
uplift = state.get_result("uplift")
sources = ["assumed", "model"] + (["measured"] if uplift is not None else [])
source = st.radio(t("simulator.effects.source"), sources, format_func=lambda s: t(f"simulator.effects.{s}"),
                  horizontal=True, key="sim_effect_source")
st.caption(t(f"simulator.effects.{source}_help"))

cache = state.get_result("simulator_cache") or {}
score_key = (dataset.key, id(model))
if cache.get("score_key") != score_key:
    with st.spinner(t("simulator.scoring")):
        p = np.asarray(model.predict_proba(df), dtype=float)
    cache = {"score_key": score_key, "p": p}
p = cache["p"]
effects_key = (score_key, catalogue.fingerprint(), source, id(uplift) if source == "measured" else None,
               tuple(sorted(state.get_segments())))
if cache.get("effects_key") != effects_key:
    try:
        with st.status(t("simulator.effects.computing"), expanded=False) as status:
            bar = st.progress(0.0)
            if source == "model":
                effects = sim.compute_model_effects(
                    model, df, catalogue, churn_probability=p,
                    progress=lambda f, code: bar.progress(min(max(f, 0.0), 1.0), text=code))
            elif source == "measured":
                effects = sim.compute_measured_effects(uplift.predict_effects(df), catalogue, p)
            else:
                effects = sim.compute_assumed_effects(p, catalogue)
            bar.progress(1.0)
            inputs = sim.prepare_inputs_from_frame(df, catalogue, p, effects, roles=dataset.roles,
                                                   segments=state.get_segments(),
                                                   id_column=getattr(model, "id_column_", None))
            status.update(label=t("simulator.effects.ready"), state="complete")
    except ChurnCoreError as exc:
        ui.show_error(exc)
        st.stop()
    cache.update({"effects_key": effects_key, "inputs": inputs})
state.set_result("simulator_cache", cache)
inputs = cache["inputs"]
for code, offer_code, column in inputs.warnings:
    st.warning(t("error." + code, offer=offer_code, column=column))
st.caption(t("simulator.value_source", source=t(f"simulator.value.{inputs.value_source}")))

# ---------------------------------------------------------------- targeting and what-if
st.subheader(t("simulator.whatif.title"))
c1, c2 = st.columns(2)
targeting = c1.radio(t("simulator.target.label"), ["optimiser", "top_n", "tier", "segment"],
                     format_func=lambda s: t(f"simulator.target.{s}"), key="sim_targeting")
offer_choice = c2.selectbox(t("simulator.target.offer"), ["best"] + catalogue.codes,
                            format_func=lambda c: t("simulator.target.best") if c == "best" else catalogue.get(c).name(lang),
                            key="sim_fixed_offer")
target_mask = None
if "tiers" not in cache:  # the Early warning page's tiers (default: top 10% High, next 20% Medium)
    cache["tiers"] = compute_tiers(p).astype(str).to_numpy()
tier_of = cache["tiers"]
high_default = float(np.round(p[tier_of == "High"].min(), 3)) if (tier_of == "High").any() else 0.5
high_thr = c2.number_input(t("simulator.tier.high_from"), 0.0, 1.0, high_default, 0.001, format="%.3f",
                           key="sim_high_thr")
if targeting == "top_n":
    top_n = c1.number_input(t("simulator.target.n"), 1, len(df), min(1000, len(df)), 100, key="sim_top_n")
    target_mask = sim.top_n_mask(p, top_n)
elif targeting == "tier":
    tiers = c1.multiselect(t("simulator.target.tiers"), ["high", "medium", "low"], default=["high"],
                           format_func=lambda s: t(f"simulator.tier.{s}"), key="sim_tiers", placeholder=t("app.choose_options"))
    target_mask = np.isin(tier_of, [x.capitalize() for x in tiers])
elif targeting == "segment":
    segments = state.get_segments()
    if not segments:
        c1.info(t("simulator.target.no_segments"))
        st.stop()
    name = c1.selectbox(t("simulator.target.segment"), sorted(segments), key="sim_segment")
    target_mask = np.asarray(segments[name].mask(df), dtype=bool)

costs = np.array([o.expected_cost for o in catalogue])
budget_max = float(max(1000.0, np.ceil(len(df) * costs.max() / 1000) * 1000))
budget_default = float(min(budget_max, max(1000.0, round(len(df) * costs.mean() * 0.05, -3))))
budget = st.slider(t("simulator.budget"), 0.0, budget_max, budget_default, step=max(budget_max / 1000, 1.0),
                   format="%.0f", key="sim_budget")
s1, s2, s3, s4 = st.columns(4)
take_mult = s1.slider(t("simulator.take_up_multiplier"), 0.0, 2.0, 1.0, 0.05, key="sim_take")
effect_mult = s2.slider(t("simulator.effect_multiplier"), 0.0, 2.0, 1.0, 0.05, key="sim_effect")
cost_mult = s3.slider(t("simulator.cost_multiplier"), 0.0, 2.0, 1.0, 0.05, key="sim_cost")
objective = s4.radio(t("simulator.objective"), list(sim.OBJECTIVES), format_func=lambda o: t(f"simulator.objective.{o}"),
                     key="sim_objective")

settings = sim.SimulationSettings(
    budget=budget, take_up_multiplier=take_mult, effect_multiplier=effect_mult, cost_multiplier=cost_mult,
    objective=objective, targeting="optimiser" if targeting == "optimiser" else "mask",
    fixed_offer=None if offer_choice == "best" else offer_choice,
    beat_baselines=inputs.n <= BEAT_BASELINES_MAX_ROWS)
result = sim.compute_simulation(inputs, catalogue, settings, target_mask=target_mask)
s = result.summary


# ---------------------------------------------------------------- results
def _money(x):
    return "—" if x is None or not np.isfinite(x) else f"{x:,.0f}"


def _pct(x, d=1):
    return "—" if x is None or not np.isfinite(x) else f"{100 * x:.{d}f}%"


st.subheader(t("simulator.results.title"))
m = st.columns(4)
m[0].metric(t("simulator.m.targeted"), f"{s['targeted']:,}")
m[1].metric(t("simulator.m.saved"), f"{s['expected_saved']:,.1f}",
            help=t("simulator.interval", low=f"{s['expected_saved_low']:,.1f}", high=f"{s['expected_saved_high']:,.1f}"))
m[2].metric(t("simulator.m.retention"), _pct(s["retention_after"], 2),
            delta=t("simulator.points", x=f"{100 * (s['retention_after'] - s['retention_before']):+.2f}"),
            help=t("simulator.retention_help", before=_pct(s["retention_before"], 2)))
m[3].metric(t("simulator.m.roi"), _pct(s["roi"], 0),
            help=t("simulator.interval", low=_pct(s["roi_low"], 0), high=_pct(s["roi_high"], 0)))
figures = pd.DataFrame(
    [(t("simulator.m.saved"), f"{s['expected_saved']:,.1f}", f"{s['expected_saved_low']:,.1f}", f"{s['expected_saved_high']:,.1f}"),
     (t("simulator.m.retention_before"), _pct(s["retention_before"], 2), _pct(s["retention_before_low"], 2), _pct(s["retention_before_high"], 2)),
     (t("simulator.m.retention"), _pct(s["retention_after"], 2), _pct(s["retention_after_low"], 2), _pct(s["retention_after_high"], 2)),
     (t("simulator.m.value"), _money(s["retained_value"]), _money(s["retained_value_low"]), _money(s["retained_value_high"])),
     (t("simulator.m.cost"), _money(s["cost"]), _money(s["cost_low"]), _money(s["cost_high"])),
     (t("simulator.m.net"), _money(s["net_benefit"]), _money(s["net_benefit_low"]), _money(s["net_benefit_high"])),
     (t("simulator.m.roi"), _pct(s["roi"], 0), _pct(s["roi_low"], 0), _pct(s["roi_high"], 0))],
    columns=[t("simulator.col.figure"), t("simulator.col.expected"), t("simulator.col.low"), t("simulator.col.high")])
st.dataframe(figures, hide_index=True, key="sim_figures")

plan_labels = {k: t(f"simulator.plan.{k}") for k in ("optimiser", "risk", "random")}
g1, g2 = st.columns(2)
g1.altair_chart(sim.build_comparison_chart(result, plan_labels, "retained_value", t("simulator.m.value")),
                width="stretch")
g2.altair_chart(sim.build_comparison_chart(result, plan_labels, "expected_saved", t("simulator.m.saved")),
                width="stretch")
by_offer = result.by_offer.round({"cost": 0, "retained_value": 0, "net_benefit": 0}).assign(offer=lambda f: f["offer"].map(lambda c: catalogue.get(c).name(lang)),
                                  source=lambda f: f["source"].map(lambda x: t(f"simulator.effects.{x}")))
money = st.column_config.NumberColumn(format="localized")
st.dataframe(by_offer.rename(columns={c: t(f"simulator.col.{c}") for c in by_offer.columns}), hide_index=True,
             key="sim_by_offer", column_config={
                 t("simulator.col.cost"): money, t("simulator.col.retained_value"): money,
                 t("simulator.col.net_benefit"): money,
                 t("simulator.col.expected_saved"): st.column_config.NumberColumn(format="%.1f")})
st.markdown(f"**{t('simulator.tornado.title')}**")
st.altair_chart(sim.build_tornado_chart(result, {k: t(f"simulator.tornado.{k}") for k in ("take_up", "effect", "cost")},
                                        t("simulator.m.roi")), width="stretch")

# ---------------------------------------------------------------- scenarios and exports
st.subheader(t("simulator.scenarios.title"))
scenarios = dict(state.get_result("scenarios") or {})
n1, n2 = st.columns([3, 1])
scenario_name = n1.text_input(t("simulator.scenarios.name"), value=t("simulator.scenarios.default", n=len(scenarios) + 1),
                              key="sim_scenario_name")
if n2.button(t("simulator.scenarios.save"), key="sim_save_scenario", icon=":material/bookmark_add:"):
    doc = result.to_dict()
    doc["offers"] = offers_mod.catalogue_to_records(catalogue)
    doc["effects"] = source
    scenarios[scenario_name.strip() or t("simulator.scenarios.default", n=len(scenarios) + 1)] = doc
    state.set_result("scenarios", scenarios)
    st.success(t("simulator.scenarios.saved", name=scenario_name))
if scenarios:
    table = sim.compute_scenario_table(scenarios).astype(object)
    for key in table.index:  # one unit per row: show each as the user reads it
        fmt = (lambda x: _pct(x, 2)) if key.startswith("retention") else _pct if key == "roi" else (
            lambda x: "—" if x is None else f"{x:,.1f}") if "saved" in key else _money
        table.loc[key] = [fmt(None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v))
                          for v in table.loc[key]]
    table.index = [t(f"simulator.key.{k}") for k in table.index]
    st.dataframe(table, key="sim_scenarios_table")
    if st.button(t("simulator.scenarios.clear"), key="sim_clear_scenarios"):
        state.set_result("scenarios", {})
        st.rerun()

st.subheader(t("simulator.export.title"))
report_html = build_report_html(result, catalogue, lang=lang, scenario_name=scenario_name,
                                data_name=getattr(dataset.load, "source_name", None))
st.download_button(t("simulator.export.report"), report_html.encode("utf-8"), file_name="retention_plan.html",
                   mime="text/html", key="sim_report", icon=":material/description:")
if st.toggle(t("simulator.export.prepare", n=f"{s['targeted']:,}"), key="sim_prepare_plan"):
    plan = result.contact_plan()
    plan["offer"] = plan["offer"].map(lambda c: catalogue.get(c).name(lang))
    ui.download_buttons(plan.rename(columns={c: t(f"simulator.plan_col.{c}") for c in plan.columns}), "contact_plan")

# ---------------------------------------------------------------- one customer
@st.fragment
def one_customer(df, model, p, catalogue, high_thr, lang):
    """Edits here rerun only this section, not the whole plan."""
    st.subheader(t("simulator.one.title"))
    st.caption(t("simulator.one.help"))
    id_col = getattr(model, "id_column_", None)
    ids = df[id_col].astype(str) if id_col and id_col in df.columns else pd.Series(df.index.astype(str), index=df.index)
    top = np.argsort(-p, kind="stable")[:200]
    who = st.selectbox(t("simulator.one.customer"), [ids.iloc[i] for i in top], key="sim_one_customer")
    row = df.loc[ids == who].head(1).copy()
    lever_cols = offers_mod.detect_lever_columns(df, exclude=[c for c in (getattr(model, "label_", None), id_col) if c])
    used = set(getattr(model, "features_", None) or df.columns)
    editable = [c for key, c in lever_cols.items() if key != "product_flag" and c in used]
    editable += [c for c in lever_cols.get("product_flag", []) if c in used]
    if editable:
        cols = st.columns(min(4, len(editable)))
        for i, col in enumerate(editable):
            current = float(pd.to_numeric(row[col], errors="coerce").fillna(0).iloc[0])
            new = cols[i % len(cols)].number_input(str(col), value=current, key=f"sim_one_{who}_{col}")
            if new != current:
                row[col] = pd.Series([new], index=row.index).astype(row[col].dtype, errors="ignore")
    p_before = float(p[int(np.flatnonzero((ids == who).to_numpy())[0])])
    p_now = float(model.predict_proba(row)[0])
    o1, o2 = st.columns(2)
    moved_by = 100 * (p_now - p_before)
    o1.metric(t("simulator.one.risk"), _pct(p_now), delta=t("simulator.points", x=f"{moved_by:+.1f}") if abs(moved_by) >= 0.05 else None,
              delta_color="inverse")
    maxima = {c: float(pd.to_numeric(df[c], errors="coerce").max()) for c in editable}
    frame, best = sim.compute_customer_offers(model, row, catalogue, high_thr, lever_columns=lever_cols, maxima=maxima)
    if p_now < high_thr:
        o2.info(t("simulator.one.already_below", threshold=_pct(high_thr, 0)))
    elif best is None:
        o2.warning(t("simulator.one.none", threshold=_pct(high_thr, 0)))
    else:
        hit = frame.set_index("offer").loc[best]
        o2.success(t("simulator.one.best", offer=catalogue.get(best).name(lang), cost=_money(hit["cost"]),
                     risk=_pct(hit["churn_probability_after"]), threshold=_pct(high_thr, 0)))
    shown = frame.assign(offer=frame["offer"].map(lambda c: catalogue.get(c).name(lang)),
                         method=frame["method"].map(lambda x: t(f"simulator.effects.{x}")))
    pct_col = st.column_config.NumberColumn(format="percent")
    st.dataframe(shown.rename(columns={c: t(f"simulator.one_col.{c}") for c in shown.columns}), hide_index=True,
                 key="sim_one_table", column_config={t("simulator.one_col.churn_probability"): pct_col,
                                                     t("simulator.one_col.churn_probability_after"): pct_col,
                                                     t("simulator.one_col.cost"): money})


one_customer(df, model, p, catalogue, high_thr, lang)
