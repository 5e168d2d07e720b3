"""Retention simulator: with this budget, whom do we contact with which offer, and what do we keep?

Acts on the workspace's book (the customers still here), with its tiers (Early warning settings),
its customer value (Value page margins) and its objective. The plan is ``ws.plan(...)``: the one
the CLI ``simulate`` prints for the same budget, offers, effects, draws and seed.

Settings (budget, multipliers, targeting, offer catalogue) live under this page's own session keys
(``_sim_kept``, ``_sim_catalogue``), not only under widget keys, which Streamlit drops when another
page is shown: they survive page changes and language switches.
"""

import hashlib
import io

import numpy as np
import pandas as pd
import streamlit as st

from churn_core.errors import ChurnCoreError
from churn_core.retention import offers as offers_mod
from churn_core.retention import simulate as sim
from churn_core.sharing.formatting import money, number, pct
from studio import state, ui
from studio.i18n import current_lang, t

PREFIXES = ("sim_", "_sim_")
KEPT = "_sim_kept"                # {setting: value or code}: the page's settings, kept across pages
CATALOGUE_KEY = "_sim_catalogue"  # the user's offer catalogue
SOURCES = ("assumed", "model", "measured")
TARGETINGS = ("optimiser", "top_n", "tier", "segment")
TIERS = ("High", "Medium", "Low")
PLANS = ("optimiser", "risk", "random")


# ---------------------------------------------------------------- settings that outlive the widgets

def kept():
    return st.session_state.setdefault(KEPT, {})


def start(key, default):
    """Start widget ``key`` at its kept value (or ``default``); returns the key."""
    if key not in st.session_state:
        st.session_state[key] = kept().get(key, default)
    return key


def keep(key, value):
    kept()[key] = value
    return value


def choose_kept(widget, label, codes, labeler, key, default, **kw):
    """A translated choice returning a code; the code is kept, so it survives a language switch."""
    codes = list(codes)
    labels = [labeler(c) for c in codes]
    current = kept().get(key, default)
    if st.session_state.get(key) not in labels:
        st.session_state[key] = labels[codes.index(current)] if current in codes else labels[0]
    return keep(key, ui.choose(widget, label, codes, labeler, key, **kw))


def multi_kept(widget, label, codes, labeler, key, default):
    """A translated multiselect returning codes, kept across pages and languages."""
    labels = {c: labeler(c) for c in codes}
    picked = st.session_state.get(key)
    if picked is None or any(p not in labels.values() for p in picked):
        st.session_state[key] = [labels[c] for c in kept().get(key, list(default)) if c in labels]
    chosen = widget(label, list(labels.values()), key=key, placeholder=t("app.choose_options"))
    return keep(key, [c for c in codes if labels[c] in chosen])


# ---------------------------------------------------------------- small formatting helpers

def offer_name(catalogue, code, lang):
    try:
        return catalogue.get(code).name(lang)
    except ChurnCoreError:
        return str(code)


def cur_money(ws, x):
    return money(x, ws.settings.currency, current_lang())


def kept_customers(x):
    """Expected customers kept: a mean, so one decimal (14.3), never a misleading tie."""
    return number(x, 1)


def interval(ws, s, key, fmt):
    return t("simulator.interval", low=fmt(s.get(f"{key}_low")), high=fmt(s.get(f"{key}_high")))


# ---------------------------------------------------------------- sections

def acting_on(ws):
    """Which customers the plan acts on, and how many."""
    book = ws.describe_book()
    st.info(t(f"simulator.book.{book['source']}", customers=number(book["customers"]),
              snapshot=book["snapshot"] or "–"), icon=":material/groups:")
    return book["customers"]


def offer_catalogue():
    """The editable offer catalogue (names in both languages); returns the catalogue in use."""
    lang = current_lang()
    catalogue = st.session_state.get(CATALOGUE_KEY) or offers_mod.default_catalogue()
    st.subheader(t("simulator.offers.title"))
    st.caption(t("simulator.offers.help"))
    with st.form("sim_offers_form"):
        edited = st.data_editor(
            offers_mod.catalogue_to_frame(catalogue), num_rows="dynamic", hide_index=True, key="sim_offers_editor",
            column_config={
                "code": st.column_config.TextColumn(t("simulator.col.code"), required=True),
                "name_en": t("simulator.col.name_en"), "name_zh": t("simulator.col.name_zh"),
                "description_en": t("simulator.col.description_en"),
                "description_zh": t("simulator.col.description_zh"),
                "unit_cost": st.column_config.NumberColumn(t("simulator.col.unit_cost"), min_value=0.0,
                                                           format="localized"),
                "contact_cost": st.column_config.NumberColumn(t("simulator.col.contact_cost"), min_value=0.0,
                                                              format="localized"),
                "take_up": st.column_config.NumberColumn(t("simulator.col.take_up"), min_value=0.0, max_value=1.0),
                "take_up_low": st.column_config.NumberColumn(t("simulator.col.take_up_low"), min_value=0.0,
                                                             max_value=1.0),
                "take_up_high": st.column_config.NumberColumn(t("simulator.col.take_up_high"), min_value=0.0,
                                                              max_value=1.0),
                "effect_low": st.column_config.NumberColumn(t("simulator.col.effect_low"), min_value=0.0,
                                                            max_value=1.0),
                "effect_mid": st.column_config.NumberColumn(t("simulator.col.effect_mid"), min_value=0.0,
                                                            max_value=1.0),
                "effect_high": st.column_config.NumberColumn(t("simulator.col.effect_high"), min_value=0.0,
                                                             max_value=1.0),
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
            st.success(t("simulator.offers.saved", n=number(len(catalogue))))
        except ChurnCoreError as exc:
            ui.show_error(exc)
    left, right = st.columns(2)
    uploaded = left.file_uploader(t("simulator.offers.upload"), type=["json", "csv"], key="sim_offers_upload")
    if uploaded is not None and st.session_state.get("_sim_offers_upload_id") != uploaded.file_id:
        st.session_state["_sim_offers_upload_id"] = uploaded.file_id
        try:
            text = uploaded.getvalue().decode("utf-8-sig")
            if uploaded.name.lower().endswith(".json"):
                new = offers_mod.catalogue_from_json(text)
            else:
                new = offers_mod.catalogue_from_frame(
                    pd.read_csv(io.StringIO(text), dtype={"eligibility": str, "levers": str}))
            st.session_state[CATALOGUE_KEY] = new
            st.rerun()
        except (UnicodeDecodeError, pd.errors.ParserError):
            ui.show_error(ChurnCoreError("offers.bad_csv", "Cannot read the offers file."))
    right.download_button(t("simulator.offers.download"), offers_mod.catalogue_to_json(catalogue).encode("utf-8"),
                          file_name="offers.json", mime="application/json", key="sim_offers_download",
                          icon=":material/download:")
    sep = "、" if lang == "zh" else ", "
    st.caption(ui.md("simulator.offers.in_use", offers=sep.join(offer_name(catalogue, c, lang) for c in catalogue.codes)))
    return catalogue


def measured_effects(ws, catalogue, uplift):
    """The campaign's measured effects for the book, kept by the workspace (one per catalogue/campaign)."""
    return ws.cached("simulator_measured", lambda: sim.compute_measured_effects(
        uplift.predict_effects(ws.book().frame), catalogue, ws.proba("book").to_numpy()),
        catalogue_key(catalogue), id(uplift))


def catalogue_key(catalogue):
    return hashlib.sha256(catalogue.fingerprint().encode("utf-8")).hexdigest()[:16]


def effects_section(ws, catalogue):
    """Where each offer's effect comes from; returns ``(source, measured)`` for ``ws.plan``."""
    st.subheader(t("simulator.effects.title"))
    uplift = state.get_result("uplift")
    sources = [s for s in SOURCES if s != "measured" or uplift is not None]
    source = choose_kept(st.radio, t("simulator.effects.source"), sources, lambda s: t(f"simulator.effects.{s}"),
                         "sim_effect_source", "assumed", horizontal=True)
    st.caption(t(f"simulator.effects.{source}_help"))
    measured = measured_effects(ws, catalogue, uplift) if source == "measured" else None
    return source, measured, st.container()


def inputs_notes(where, ws, result, catalogue):
    """Under the effects: offers nobody is eligible for, and the customer value the plan uses."""
    lang = current_lang()
    inputs = result.inputs
    for code, offer_code, column in inputs.warnings:
        where.warning(ui.md("error." + code, offer=offer_name(catalogue, offer_code, lang), column=column))
    value = np.asarray(inputs.value, dtype=float)
    where.caption(t("simulator.value_caption", total=cur_money(ws, value.sum()), customers=number(len(value)),
                    average=cur_money(ws, value.mean() if len(value) else 0)))


def targeting_section(ws, catalogue):
    """Whom to contact: ``(targeting, fixed_offer, target_mask)``."""
    lang = current_lang()
    st.subheader(t("simulator.whatif.title"))
    c1, c2 = st.columns(2)
    targeting = choose_kept(c1.radio, t("simulator.target.label"), TARGETINGS,
                            lambda s: t(f"simulator.target.{s}"), "sim_targeting", "optimiser")
    codes = ["best"] + list(catalogue.codes)
    offer = choose_kept(c2.selectbox, t("simulator.target.offer"), codes,
                        lambda c: t("simulator.target.best") if c == "best" else offer_name(catalogue, c, lang),
                        "sim_fixed_offer", "best")
    p = ws.proba("book").to_numpy()
    mask = None
    if targeting == "top_n":
        n = max(len(p), 1)
        key = start("sim_top_n", min(1000, n))
        if st.session_state[key] > n:
            st.session_state[key] = n
        top_n = keep(key, int(c1.number_input(t("simulator.target.n"), 1, n, step=100, key=key)))
        mask = sim.top_n_mask(p, top_n)
    elif targeting == "tier":
        tiers = multi_kept(c1.multiselect, t("simulator.target.tiers"), TIERS,
                           lambda x: t(f"simulator.tier.{x.lower()}"), "sim_tiers", ["High"])
        mask = np.isin(ws.tiers().astype(str).to_numpy(), tiers)
        c1.caption(t("simulator.target.tiers_help", n=number(mask.sum())))
    elif targeting == "segment":
        segments = state.get_segments()
        if not segments:
            c1.info(t("simulator.target.no_segments"))
            return "optimiser", None if offer == "best" else offer, None
        names = sorted(segments)
        name = choose_kept(c1.selectbox, t("simulator.target.segment"), names, str, "sim_segment", names[0])
        mask = np.asarray(segments[name].mask(ws.book().frame), dtype=bool)
        c1.caption(t("simulator.target.segment_help", n=number(mask.sum())))
    return ("optimiser" if targeting == "optimiser" else "mask"), (None if offer == "best" else offer), mask


def default_budget(catalogue, n):
    costs = np.array([o.expected_cost for o in catalogue])
    return float(max(1000.0, round(n * costs.mean() * 0.05, -3)))


def budget_section(ws, catalogue, n):
    """Budget (typed, money caption), multipliers and the shared objective: the plan's settings."""
    key = start("sim_budget", default_budget(catalogue, n))
    budget = keep(key, float(st.number_input(t("simulator.budget"), min_value=0.0, step=1000.0, format="%.0f",
                                             key=key, help=t("simulator.budget_help"))))
    st.caption(t("simulator.budget_caption", budget=cur_money(ws, budget)))
    s1, s2, s3 = st.columns(3)
    mult = {}
    for col, name in zip((s1, s2, s3), ("take_up", "effect", "cost")):
        key = start(f"sim_{name}", 1.0)
        mult[f"{name}_multiplier"] = keep(key, float(col.slider(t(f"simulator.{name}_multiplier"), 0.0, 2.0,
                                                                step=0.05, key=key)))
    objective = choose_kept(st.radio, t("simulator.objective"), list(sim.OBJECTIVES)[::-1],
                            lambda o: t(f"simulator.objective.{o}"), "sim_objective", ws.settings.objective,
                            horizontal=True, help=t("simulator.objective_help"))
    if objective != ws.settings.objective:
        ws.update_settings(objective=objective)  # one objective for every page and the CLI
    with st.expander(t("simulator.advanced.title"), icon=":material/tune:"):
        a, b = st.columns(2)
        draws = keep("sim_draws", int(a.number_input(t("simulator.advanced.draws"), 100, 20000, step=500,
                                                      key=start("sim_draws", 2000),
                                                      help=t("simulator.advanced.draws_help"))))
        seed = keep("sim_seed", int(b.number_input(t("simulator.advanced.seed"), 0, 2**31 - 1, step=1,
                                                    key=start("sim_seed", 0),
                                                    help=t("simulator.advanced.seed_help"))))
    return dict(budget=budget, n_draws=draws, seed=seed, **mult)


def compute_plan(ws, catalogue, source, measured, settings, targeting, fixed_offer, mask):
    """The one plan (``Workspace.plan``, as the CLI): everything shown below comes from it."""
    budget = settings.pop("budget")
    return ws.plan(budget, catalogue, effects=source, measured=measured, target_mask=mask,
                   segments=state.get_segments(), targeting=targeting, fixed_offer=fixed_offer, **settings)


def comparison_rows(ws, result):
    """Plan, riskiest and random side by side: spend, customers kept, value kept, net benefit."""
    plans = {"optimiser": result.summary, **result.baselines}
    rows = []
    for code in PLANS:
        s = plans.get(code)
        if s is None:
            continue
        m = lambda k: cur_money(ws, s.get(k))  # noqa: E731
        n1 = lambda k: kept_customers(s.get(k))  # noqa: E731
        rows.append({
            t("simulator.cmp.plan"): t(f"simulator.plan.{code}"),
            t("simulator.cmp.spend"): m("cost"),
            t("simulator.cmp.unspent"): cur_money(ws, result.settings.budget - s["cost"]),
            t("simulator.cmp.contacted"): number(s["targeted"]),
            t("simulator.cmp.kept"): n1("expected_saved"),
            t("simulator.cmp.kept_interval"): f"{n1('expected_saved_low')} – {n1('expected_saved_high')}",
            t("simulator.cmp.value"): m("retained_value"),
            t("simulator.cmp.value_interval"): f"{m('retained_value_low')} – {m('retained_value_high')}",
            t("simulator.cmp.net"): m("net_benefit"),
            t("simulator.cmp.net_interval"): f"{m('net_benefit_low')} – {m('net_benefit_high')}",
        })
    return pd.DataFrame(rows)


def verdict(ws, result, catalogue):
    """One plain sentence: what the plan keeps, against contacting the riskiest, with its main offer."""
    lang = current_lang()
    s, risk = result.summary, result.baselines.get("risk", {})
    if not s["targeted"]:
        return t("simulator.verdict.nobody")
    top = result.by_offer.sort_values("customers", ascending=False).iloc[0]
    return t("simulator.verdict.plan", kept=kept_customers(s["expected_saved"]), value=cur_money(ws, s["retained_value"]),
             cost=cur_money(ws, s["cost"]), contacted=number(s["targeted"]),
             more_kept=kept_customers(s["expected_saved"] - risk.get("expected_saved", 0)),
             more_value=cur_money(ws, s["retained_value"] - risk.get("retained_value", 0)),
             offer=ui.escape_md(offer_name(catalogue, top["offer"], lang)), offer_n=number(top["customers"]))


def results_section(ws, result, catalogue):
    """Headline figures, the plan against both baselines, the per-offer breakdown."""
    lang = current_lang()
    s = result.summary
    st.subheader(t("simulator.results.title"))
    m = st.columns(5)
    m[0].metric(t("simulator.m.spend"), cur_money(ws, s["cost"]),
                help=t("simulator.spend_help", budget=cur_money(ws, result.settings.budget)))
    m[1].metric(t("simulator.m.unspent"), cur_money(ws, result.settings.budget - s["cost"]))
    m[2].metric(t("simulator.m.saved"), kept_customers(s["expected_saved"]),
                help=interval(ws, s, "expected_saved", kept_customers))
    m[3].metric(t("simulator.m.value"), cur_money(ws, s["retained_value"]),
                help=interval(ws, s, "retained_value", lambda x: cur_money(ws, x)))
    m[4].metric(t("simulator.m.net"), cur_money(ws, s["net_benefit"]),
                help=interval(ws, s, "net_benefit", lambda x: cur_money(ws, x)))
    st.markdown(verdict(ws, result, catalogue))
    st.markdown(f"**{t('simulator.cmp.title')}**")
    st.dataframe(comparison_rows(ws, result), hide_index=True, key="sim_comparison")
    labels = {k: t(f"simulator.plan.{k}") for k in PLANS}
    g1, g2 = st.columns(2)
    g1.altair_chart(sim.build_comparison_chart(result, labels, "retained_value", t("simulator.m.value")),
                    width="stretch")
    g2.altair_chart(sim.build_comparison_chart(result, labels, "expected_saved", t("simulator.m.saved")),
                    width="stretch")
    b = result.by_offer
    st.markdown(f"**{t('simulator.by_offer.title')}**")
    st.dataframe(pd.DataFrame({
        t("simulator.col.offer"): [offer_name(catalogue, c, lang) for c in b["offer"]],
        t("simulator.col.customers"): [number(x) for x in b["customers"]],
        t("simulator.col.cost"): [cur_money(ws, x) for x in b["cost"]],
        t("simulator.col.expected_saved"): [kept_customers(x) for x in b["expected_saved"]],
        t("simulator.col.retained_value"): [cur_money(ws, x) for x in b["retained_value"]],
        t("simulator.col.net_benefit"): [cur_money(ws, x) for x in b["net_benefit"]],
        t("simulator.col.source"): [t(f"simulator.effects.{x}") for x in b["source"]],
    }), hide_index=True, key="sim_by_offer")


def advanced_section(ws, result):
    """Technical figures (ROI and retention intervals, Monte Carlo, tornado) for those who want them."""
    s = result.summary
    with st.expander(t("simulator.advanced.figures"), icon=":material/science:"):
        st.caption(t("simulator.advanced.mc_help", draws=number(result.settings.n_draws),
                     seed=result.settings.seed))
        rows = [("retention_before", lambda x: pct(x, 2)), ("retention_after", lambda x: pct(x, 2)),
                ("roi", lambda x: pct(x, 0)), ("cost", lambda x: cur_money(ws, x))]
        st.dataframe(pd.DataFrame(
            [(t(f"simulator.key.{k}"), f(s.get(k)), f(s.get(f"{k}_low")), f(s.get(f"{k}_high"))) for k, f in rows],
            columns=[t("simulator.col.figure"), t("simulator.col.expected"), t("simulator.col.low"),
                     t("simulator.col.high")]), hide_index=True, key="sim_advanced_figures")
        st.markdown(f"**{t('simulator.tornado.title')}**")
        st.caption(t("simulator.tornado.help"))
        st.altair_chart(sim.build_tornado_chart(result, {k: t(f"simulator.tornado.{k}")
                                                         for k in ("take_up", "effect", "cost")},
                                                t("simulator.m.roi")), width="stretch")


def scenarios_section(ws, result, catalogue, source):
    """Save the current plan as a scenario and compare scenarios side by side."""
    st.subheader(t("simulator.scenarios.title"))
    saved = state.get_result("scenarios")
    scenarios = dict(saved) if isinstance(saved, dict) else {}  # {name: plan document}
    n1, n2 = st.columns([3, 1])
    default = t("simulator.scenarios.default", n=len(scenarios) + 1)
    name = n1.text_input(t("simulator.scenarios.name"), value=default, key="sim_scenario_name")
    if n2.button(t("simulator.scenarios.save"), key="sim_save_scenario", icon=":material/bookmark_add:"):
        doc = plan_document(result, catalogue)
        doc["effects"] = source
        name = name.strip() or default
        scenarios[name] = doc
        state.set_result("scenarios", scenarios)
        st.success(ui.md("simulator.scenarios.saved", name=name))
    if not scenarios:
        return
    table = sim.compute_scenario_table(scenarios)
    formats = {"retention_before": lambda x: pct(x, 2), "retention_after": lambda x: pct(x, 2),
               "roi": lambda x: pct(x, 0), "targeted": number}
    shown = pd.DataFrame({col: [(formats.get(k) or (kept_customers if "saved" in k else (lambda x: cur_money(ws, x))))(v)
                                for k, v in table[col].items()] for col in table.columns})
    shown.index = [t(f"simulator.key.{k}") for k in table.index]
    st.dataframe(shown, key="sim_scenarios_table")
    if st.button(t("simulator.scenarios.clear"), key="sim_clear_scenarios"):
        state.set_result("scenarios", {})
        st.rerun()


def plan_document(result, catalogue):
    """The plan as JSON (what the CLI writes to plan.json), with the offers and their names."""
    doc = result.to_dict()
    doc["offers"] = [dict(r, name=r["name_en"]) for r in offers_mod.catalogue_to_records(catalogue)]
    return doc


def export_section(ws, result, catalogue):
    """The board report (one click) and the contact plan with offer names."""
    lang = current_lang()
    st.subheader(t("simulator.export.title"))
    from churn_core.sharing.board_report import build_board_report

    doc = plan_document(result, catalogue)
    state.set_result("last_plan", doc)  # the sidebar's board report shows the plan last seen here
    compare = state.get_result("compare")

    def report():  # built when clicked, not on every rerun
        return build_board_report(ws, lang, plan=doc, compare=compare).encode("utf-8")

    st.download_button(t("simulator.export.board"), report, file_name="board_report.html", mime="text/html",
                       key="sim_board_report", icon=":material/description:", on_click="ignore",
                       help=t("simulator.export.board_help"))
    if st.toggle(t("simulator.export.prepare", n=number(result.summary["targeted"])), key="sim_prepare_plan"):
        plan = result.contact_plan()
        plan["offer"] = plan["offer"].map(lambda c: offer_name(catalogue, c, lang))
        ui.download_buttons(plan.rename(columns={c: t(f"simulator.plan_col.{c}") for c in plan.columns}),
                            "contact_plan")


def high_threshold(ws):
    """Lowest churn probability of the High tier (the Early warning page's tiers)."""
    p = ws.proba("book").to_numpy()
    high = ws.tiers().astype(str).to_numpy() == "High"
    return float(p[high].min()) if high.any() else 1.0


@st.fragment
def one_customer(ws, catalogue):
    """Change what the bank can influence for one customer; edits rerun only this section."""
    lang = current_lang()
    st.subheader(t("simulator.one.title"))
    st.caption(t("simulator.one.help"))
    book = ws.book().frame
    p = ws.proba("book").to_numpy()
    if not len(book):
        return
    model = ws.model_
    id_col = ws.id_column
    ids = book[id_col].astype(str) if id_col and id_col in book.columns else pd.Series(book.index.astype(str),
                                                                                       index=book.index)
    top = np.argsort(-p, kind="stable")[:200]
    options = [ids.iloc[i] for i in top]
    key = start("sim_one_customer", options[0])
    if st.session_state[key] not in options:
        st.session_state[key] = options[0]
    who = keep(key, st.selectbox(t("simulator.one.customer"), options, key=key))
    pos = int(np.flatnonzero((ids == who).to_numpy())[0])
    row = book.iloc[[pos]].copy()
    levers = ws.lever_columns()
    used = set(getattr(model, "features_", None) or book.columns)
    editable = [c for k, c in levers.items() if k != "product_flag" and isinstance(c, str) and c in used]
    editable += [c for c in levers.get("product_flag", []) if c in used]
    if editable:
        cols = st.columns(min(4, len(editable)))
        for i, col in enumerate(editable):
            current = float(pd.to_numeric(row[col], errors="coerce").fillna(0).iloc[0])
            new = cols[i % len(cols)].number_input(str(col), value=current, key=f"sim_one_{who}_{col}")
            if new != current:
                row[col] = pd.Series([new], index=row.index).astype(row[col].dtype, errors="ignore")
    threshold = high_threshold(ws)
    p_now = float(model.predict_proba(row)[0])
    moved = 100 * (p_now - float(p[pos]))
    o1, o2 = st.columns(2)
    o1.metric(t("simulator.one.risk"), pct(p_now),
              delta=t("simulator.points", x=f"{moved:+.1f}") if abs(moved) >= 0.05 else None, delta_color="inverse")
    maxima = {c: float(pd.to_numeric(book[c], errors="coerce").max()) for c in editable}
    frame, best = sim.compute_customer_offers(model, row, catalogue, threshold, lever_columns=levers, maxima=maxima)
    if p_now < threshold:
        o2.info(t("simulator.one.already_below", threshold=pct(threshold, 0)))
    elif best is None:
        o2.warning(t("simulator.one.none", threshold=pct(threshold, 0)))
    else:
        hit = frame.set_index("offer").loc[best]
        o2.success(ui.md("simulator.one.best", offer=offer_name(catalogue, best, lang), cost=cur_money(ws, hit["cost"]),
                         risk=pct(hit["churn_probability_after"]), threshold=pct(threshold, 0)))
    st.dataframe(pd.DataFrame({
        t("simulator.one_col.offer"): [offer_name(catalogue, c, lang) for c in frame["offer"]],
        t("simulator.one_col.cost"): [cur_money(ws, x) for x in frame["cost"]],
        t("simulator.one_col.churn_probability"): [pct(x) for x in frame["churn_probability"]],
        t("simulator.one_col.churn_probability_after"): [pct(x) for x in frame["churn_probability_after"]],
        t("simulator.one_col.method"): [t(f"simulator.effects.{x}") for x in frame["method"]],
        t("simulator.one_col.below"): [t("simulator.yes") if x else t("simulator.no") for x in frame["below"]],
    }), hide_index=True, key="sim_one_table")


# ---------------------------------------------------------------- the page

def page():
    st.title(t("simulator.title"))
    st.caption(t("simulator.intro"))
    state.require_dataset()
    state.require_model()
    ws = state.get_workspace()
    n = acting_on(ws)
    if not n:
        st.warning(t("simulator.book.empty"))
        return
    catalogue = offer_catalogue()
    source, measured, notes = effects_section(ws, catalogue)
    targeting, fixed_offer, mask = targeting_section(ws, catalogue)
    settings = budget_section(ws, catalogue, n)
    with st.spinner(t("simulator.effects.computing")):
        result = compute_plan(ws, catalogue, source, measured, settings, targeting, fixed_offer, mask)
    inputs_notes(notes, ws, result, catalogue)
    results_section(ws, result, catalogue)
    advanced_section(ws, result)
    scenarios_section(ws, result, catalogue, source)
    export_section(ws, result, catalogue)
    one_customer(ws, catalogue)


with ui.error_boundary("simulator", prefixes=PREFIXES):
    page()
