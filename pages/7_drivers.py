"""Churn drivers: why the customers to act on (the book) are at risk, in percentage points of risk.

Everything comes from the session's workspace: the book, its explanation (``ws.explanation``), the
reasons (``ws.reasons``), the risk tiers of the Early-warning settings (``ws.tiers``), customer value.
The waterfall, the sentences and the reason tables share one scale (``Explanation.points``): each
driver's share of the customer's move from the base risk to their risk.
"""

import numpy as np
import pandas as pd
import streamlit as st

from churn_core import explain
from churn_core.errors import ChurnCoreError
from churn_core.modeling.warning import TIERS
from churn_core.retention.actionable import offers_for_feature
from churn_core.retention.offers import default_catalogue
from churn_core.sharing import formatting as F
from studio import state, ui
from studio.i18n import current_lang, t

PREFIXES = ("drivers_", "_drivers_")
MAX_LIST = 50
MAX_SHOWN = 1000


# ------------------------------------------------------------------------------ helpers
def book_ids(ws):
    """Customer ids of the book as text (the id column, else the row number)."""
    book = ws.book().frame
    col = ws.id_column
    if col and col in book.columns:
        return book[col].astype(str).reset_index(drop=True)
    return pd.Series([str(i) for i in book.index])


def offer_names(column, lang):
    catalogue = default_catalogue()
    names = []
    for code in offers_for_feature(column):
        offer = catalogue.get(code)
        names.append(offer.name(lang) if offer is not None else code)
    return ", ".join(names)


def reasons_for(ws, expl, positions, opts):
    """Top-3 reasons (``reason_j``, ``driver_j``, ``points_j``) of book rows at ``positions``.

    The default view is the workspace's own reasons (the same the watch-list and exports use);
    the "actionable only" and "include protected" variants price the same explanation.
    """
    lang, only_actionable, include_protected = opts
    book = ws.book().frame
    positions = np.asarray(positions, dtype=np.int64)
    if not only_actionable and not include_protected:
        return ws.reasons("book", lang=lang, rows=book.index[positions])
    return explain.compute_top_reasons(
        ws.model_, book.iloc[positions], k=3, lang=lang, explanation=expl.subset(positions),
        actionable_only=only_actionable, include_protected=include_protected, meanings=ws.meanings_,
        with_details=True)


def segment_names(ws, frame):
    """Per row of ``frame``, the saved segments it belongs to (", "-joined; "" when none)."""
    names = [[] for _ in range(len(frame))]
    for name, seg in sorted(state.get_segments().items()):
        try:
            mask = np.asarray(seg.mask(frame), dtype=bool)
        except ChurnCoreError:  # a segment of columns this table does not have
            continue
        for i in np.flatnonzero(mask):
            names[i].append(str(name))
    return [", ".join(n) for n in names]


def segment_mask(segment, frame):
    """Rows of ``frame`` in a saved segment; a segment this table cannot evaluate (a column of an
    earlier file) says so and filters nothing."""
    try:
        return np.asarray(segment.mask(frame), dtype=bool)
    except ChurnCoreError as exc:
        ui.show_error(exc)
        return np.ones(len(frame), dtype=bool)


def tier_label(code):
    return t(f"drivers.tier.{code}")


# ------------------------------------------------------------------------------ sections
def header(ws):
    """Title, the customers this page acts on, the scale of every number."""
    st.title(t("drivers.title"))
    st.caption(t("drivers.intro"))
    state.require_dataset()
    state.require_model()
    book = ws.describe_book()
    st.info(t(f"drivers.book.{book['source']}", n=F.number(book["customers"]),
              snapshot=book["snapshot"] or ""), icon=":material/groups:")
    if not book["customers"]:
        st.stop()


def options(ws, expl):
    """The two filters every section shares; protected attributes are out of reasons by default."""
    lang = current_lang()
    c1, c2 = st.columns(2)
    only_actionable = c1.toggle(t("drivers.actionable_only"), key="drivers_actionable",
                                help=t("drivers.actionable_help"))
    protected = explain.protected_columns(expl.columns, ws.meanings_)
    include_protected = False
    if protected:
        include_protected = c2.toggle(t("drivers.include_protected"), key="drivers_protected",
                                      help=t("drivers.include_protected_help"))
        note = "drivers.protected_in" if include_protected else "drivers.protected_note"
        st.caption(ui.md(note, columns=", ".join(map(str, protected))))
    return lang, only_actionable, include_protected


def whole_base(ws, expl, opts):
    """Which drivers matter most across the book, how they move the risk, one driver in detail."""
    lang, only_actionable, _ = opts
    importance = explain.compute_global_importance(ws.model_, explanation=expl, actionable_only=only_actionable)
    points = np.abs(expl.points()).mean(axis=0)
    importance["mean_abs_points"] = importance["column"].map(dict(zip(expl.columns, points)))
    st.subheader(t("drivers.importance.title"))
    st.altair_chart(explain.build_importance_chart(importance, labels={
        "x": t("drivers.importance.x"), "y": t("drivers.driver"), "kind": t("drivers.kind"),
        "actionable": t("drivers.kind.actionable"), "fixed": t("drivers.kind.fixed")}), width="stretch")
    st.caption(t("drivers.shap_help"))
    shown = pd.DataFrame({
        t("drivers.driver"): importance["feature"].astype(str),
        t("drivers.col.mean_points"): importance["mean_abs_points"].round(1),
        t("drivers.kind"): np.where(importance["actionable"], t("drivers.kind.actionable"), t("drivers.kind.fixed")),
        t("drivers.col.offers"): [offer_names(c, lang) for c in importance["column"]],
        t("drivers.importance.x"): importance["mean_abs_shap"].round(3),
    })
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
    names = dict(zip(importance["column"], importance["feature"].astype(str)))
    if names:
        col = ui.choose(st.selectbox, t("drivers.dependence.pick"), list(names), names.get, key="drivers_dep_feature")
        dep = explain.compute_dependence_data(expl, col)
        st.caption(ui.md("drivers.dependence.help", partner=dep.attrs.get("color_feature") or "–"))
        st.altair_chart(explain.build_dependence_chart(dep, labels={
            "x": names[col], "y": t("drivers.shap_value")}), width="stretch")

    st.subheader(t("drivers.interactions.title"))
    if st.toggle(t("drivers.interactions.run"), key="drivers_interactions"):
        with st.spinner(t("drivers.interactions.running")):
            pairs = ws.cached("drivers_interactions", lambda: explain.compute_interaction_pairs(
                ws.model_, ws.book().frame, sample=300))
        st.altair_chart(explain.build_interaction_chart(pairs, labels={
            "x": t("drivers.interactions.x"), "y": t("drivers.interactions.pair")}), width="stretch")


def one_customer(ws, expl, opts):
    """Find a customer of the book (id, segment, tier, risk) and show why: waterfall and sentences."""
    st.subheader(t("drivers.customer.find"))
    book = ws.book().frame
    proba = np.asarray(expl.proba, dtype=np.float64)
    tiers = ws.tiers().to_numpy().astype(str)
    ids = book_ids(ws)
    query = st.text_input(t("drivers.customer.search"), key="drivers_search").strip()
    c1, c2, c3 = st.columns(3)
    segments = state.get_segments()
    seg_name = ui.choose(c1.selectbox, t("drivers.customer.segment"), [""] + sorted(segments),
                         lambda s: s or t("drivers.all_customers"), key="drivers_cust_seg")
    tier_labels = [tier_label(x) for x in TIERS]
    picked = c2.multiselect(t("drivers.customer.tier"), tier_labels, key="drivers_cust_tier",
                            placeholder=t("app.choose_options"), help=t("drivers.tier_help"))
    lo, hi = c3.slider(t("drivers.customer.score"), 0, 100, (0, 100), key="drivers_cust_score")
    keep = (proba * 100 >= lo) & (proba * 100 <= hi)
    if query:
        keep &= ids.str.contains(query, case=False, regex=False).to_numpy()
    if seg_name:
        keep &= segment_mask(segments[seg_name], book)
    if picked:
        keep &= np.isin(tiers, [TIERS[tier_labels.index(x)] for x in picked])
    found = np.flatnonzero(keep)
    found = found[np.argsort(-proba[found], kind="stable")]
    st.caption(t("drivers.customer.found", n=F.number(len(found)), shown=F.number(min(len(found), MAX_LIST))))
    if not len(found):
        st.info(t("drivers.customer.none"))
        return
    top = [int(i) for i in found[:MAX_LIST]]
    labels = {i: f"{ids.iloc[i]} · {F.pct(proba[i])}" for i in top}
    pos = ui.choose(st.selectbox, t("drivers.customer.pick"), top, labels.get, key="drivers_cust_pick")
    customer_view(ws, expl, pos, opts, tiers[pos])


def customer_view(ws, expl, pos, opts, tier):
    lang = opts[0]
    base = expl.base_risk
    risk = float(expl.proba[pos])
    value = np.asarray(ws.customer_value("book"), dtype=np.float64)[pos]
    m1, m2, m3 = st.columns(3)
    m1.metric(t("drivers.customer.risk"), F.pct(risk), delta=F.points(100 * (risk - base), lang),
              delta_color="inverse", help=t("drivers.points_help", base=F.pct(base)[:-1]))
    m2.metric(t("drivers.customer.tier"), tier_label(tier))
    m3.metric(t("drivers.customer.value"), F.money(value, ws.settings.currency, lang))
    wf = explain.compute_waterfall(expl, pos, top=8, other_label=t("drivers.other"))
    st.altair_chart(explain.build_waterfall_chart(wf, labels={
        "x": t("drivers.risk_pct"), "base": t("drivers.base_risk"), "total": t("drivers.this_customer"),
        "raises": t("drivers.raises"), "lowers": t("drivers.lowers")}), width="stretch")
    row = reasons_for(ws, expl, [pos], opts).iloc[0]
    heading = "drivers.customer.reasons" if risk >= base else "drivers.customer.protects"
    st.markdown(f"**{t(heading)}**")
    texts = [(j, row[f"reason_{j}"]) for j in range(1, 4) if row[f"reason_{j}"]]
    if not texts:
        st.write(t("drivers.customer.no_reason"))
    for j, text in texts:
        offers = offer_names(row[f"driver_{j}"], lang) if risk >= base else ""
        suffix = f"  → {ui.escape_md(offers)}" if offers else ""
        st.markdown(f"{j}\\. {ui.escape_md(text)}{suffix}")


def segment_drivers(ws, expl, opts):
    """Drivers inside a saved segment of the book, and one segment against another, in points."""
    lang, only_actionable, _ = opts
    segments = state.get_segments()
    if not segments:
        st.info(t("drivers.segment.none"))
        return
    book = ws.book().frame
    names = sorted(segments)
    st.subheader(t("drivers.segment.title"))
    name = st.selectbox(t("drivers.segment.pick"), names, key="drivers_seg")
    try:
        mask = np.asarray(segments[name].mask(book), dtype=bool)
        seg = explain.compute_segment_drivers(expl, mask, actionable_only=only_actionable)
        st.caption(t("drivers.segment.size", n=F.number(int(mask.sum())), risk=F.pct(expl.proba[mask].mean())))
        seg = seg.sort_values("points", key=np.abs, ascending=False, kind="stable")
        st.altair_chart(explain.build_segment_chart(seg, value="points", labels={
            "x": t("drivers.segment.points"), "y": t("drivers.driver")}), width="stretch")
        with st.expander(t("drivers.advanced")):
            st.caption(t("drivers.shap_help"))
            st.dataframe(pd.DataFrame({
                t("drivers.driver"): seg["feature"].astype(str), t("drivers.segment.points"): seg["points"].round(1),
                t("drivers.segment.mean"): seg["mean_contribution"].round(3),
                t("drivers.segment.mean_all"): seg["mean_contribution_all"].round(3),
                t("drivers.segment.difference"): seg["difference"].round(3)}), hide_index=True, width="stretch")
    except ChurnCoreError as exc:
        ui.show_error(exc)
    st.subheader(t("drivers.compare.title"))
    c1, c2 = st.columns(2)
    a = c1.selectbox(t("drivers.compare.a"), names, key="drivers_cmp_a")
    b = c2.selectbox(t("drivers.compare.b"), names, index=min(1, len(names) - 1), key="drivers_cmp_b")
    if a == b:
        st.info(t("drivers.compare.same"))
        return
    try:
        cmp = explain.compute_segment_comparison(expl, segments[a].mask(book), segments[b].mask(book))
        st.markdown(ui.escape_md(explain.describe_segment_comparison(cmp, a, b, lang=lang)))
        st.altair_chart(explain.build_segment_chart(cmp.table, value="points", labels={
            "x": t("drivers.points"), "y": t("drivers.driver")}), width="stretch")
    except ChurnCoreError as exc:
        ui.show_error(exc)


def everyone_table(ws, expl, opts):
    """Every book customer, riskiest first: id, risk, value, tier, segments, reasons and their points
    (numbers, translated headers: the full export)."""
    book = ws.book().frame
    reasons = reasons_for(ws, expl, np.arange(len(book)), opts)
    table = pd.DataFrame({
        t("drivers.col.id"): book_ids(ws).to_numpy(),
        t("drivers.col.risk"): np.round(100 * np.asarray(expl.proba, dtype=np.float64), 1),
        t("drivers.col.value"): np.round(np.asarray(ws.customer_value("book"), dtype=np.float64), 2),
        t("drivers.col.tier"): [tier_label(x) for x in ws.tiers().to_numpy().astype(str)],
        t("drivers.col.segment"): segment_names(ws, book),
    })
    for j in range(1, 4):
        table[t("drivers.col.reason", j=j)] = reasons[f"reason_{j}"].to_numpy()
        table[t("drivers.col.points", j=j)] = np.round(reasons[f"points_{j}"].to_numpy(dtype=np.float64), 2)
    order = np.argsort(-np.asarray(expl.proba), kind="stable")
    return table.iloc[order].reset_index(drop=True), order


def reasons_for_everyone(ws, expl, opts):
    """The top three reasons of every book customer, filtered by tier and segment, fully exported."""
    lang = opts[0]
    st.caption(t("drivers.all.help", n=F.number(len(expl))))
    table, order = everyone_table(ws, expl, opts)
    c1, c2 = st.columns(2)
    tier_labels = [tier_label(x) for x in TIERS]
    picked = c1.multiselect(t("drivers.customer.tier"), tier_labels, key="drivers_all_tier",
                            placeholder=t("app.choose_options"), help=t("drivers.tier_help"))
    segments = state.get_segments()
    seg_name = ui.choose(c2.selectbox, t("drivers.customer.segment"), [""] + sorted(segments),
                         lambda s: s or t("drivers.all_customers"), key="drivers_all_seg")
    keep = np.ones(len(table), dtype=bool)
    if picked:
        keep &= table[t("drivers.col.tier")].isin(picked).to_numpy()
    if seg_name:
        keep &= segment_mask(segments[seg_name], ws.book().frame)[order]
    table = table[keep].reset_index(drop=True)
    st.caption(t("drivers.all.count", n=F.number(len(table)), shown=F.number(min(len(table), MAX_SHOWN))))
    shown = table.head(MAX_SHOWN).copy()
    risk, value = t("drivers.col.risk"), t("drivers.col.value")
    shown[risk] = [F.pct(v / 100) for v in shown[risk]]
    shown[value] = [F.money(v, ws.settings.currency, lang) for v in shown[value]]
    for j in range(1, 4):
        col = t("drivers.col.points", j=j)
        shown[col] = [F.points(v, lang) if pd.notna(v) else "" for v in shown[col]]
    st.dataframe(shown, hide_index=True, width="stretch")
    saved = repr(sorted(segments.items(), key=lambda kv: str(kv[0])))  # the "Segments" column follows them
    export_buttons(ws, table, (lang, opts[1], opts[2], tuple(picked), seg_name, saved))


def export_buttons(ws, table, parts):
    """CSV and Excel of the whole filtered table (built once per state by the workspace's cache)."""
    from churn_core.sharing.export import to_safe_csv_bytes, to_safe_excel_bytes

    left, right = st.columns(2)
    left.download_button(t("app.download_csv"), data=ws.cached("drivers_csv", lambda: to_safe_csv_bytes(table), *parts),
                         file_name="churn_reasons.csv", mime="text/csv", key="dl_csv_churn_reasons",
                         icon=":material/download:")
    right.download_button(t("app.download_excel"), key="dl_xlsx_churn_reasons", icon=":material/table:",
                          data=ws.cached("drivers_xlsx", lambda: to_safe_excel_bytes(table), *parts),
                          file_name="churn_reasons.xlsx", mime=ui.XLSX_MIME)


# ------------------------------------------------------------------------------ the page
def page():
    ws = state.get_workspace()
    header(ws)
    with st.spinner(t("drivers.computing")):
        expl = ws.explanation("book")
    opts = options(ws, expl)
    tab_global, tab_customer, tab_segment, tab_all = st.tabs(
        [t("drivers.tab.global"), t("drivers.tab.customer"), t("drivers.tab.segment"), t("drivers.tab.all")])
    with tab_global:
        whole_base(ws, expl, opts)
    with tab_customer:
        one_customer(ws, expl, opts)
    with tab_segment:
        segment_drivers(ws, expl, opts)
    with tab_all:
        reasons_for_everyone(ws, expl, opts)


with ui.error_boundary("drivers", prefixes=PREFIXES):
    page()
