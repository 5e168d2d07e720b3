"""Customer value: margins per money column, contribution, lifetime value and value at risk.

Every setting is written to the session's workspace (margins to the column meanings, the rest to
``ws.settings``), so the simulator, profit tiers, value at risk and the CLI mapping follow.
"""

import numpy as np
import streamlit as st

from churn_core.analysis import segments as S
from churn_core.analysis import value as V
from churn_core.data.meanings import MEANINGS
from churn_core.errors import ChurnCoreError
from churn_core.sharing import formatting as F
from studio import state, ui
from studio.i18n import current_lang, t

PREFIXES = ("value_", "_value_", "FormSubmitter:value_")
MONEY = {"avg_contribution", "total_contribution", "avg_ltv", "total_ltv", "value_at_risk"}
PERCENT = {"churn_rate", "risk", "retention_per_year", "share_of_value_at_risk", "share_active", "txn_trend"}
SHOWN = ["customers", "churn_rate", "risk", "avg_contribution", "total_contribution", "retention_per_year",
         "avg_ltv", "total_ltv", "value_at_risk", "share_of_value_at_risk", "avg_tenure_years", "share_active",
         "avg_balance_change", "txn_trend"]


# ------------------------------------------------------------------------------ formatting
def fmt_money(x):
    return F.money(x, state.get_workspace().settings.currency, current_lang())


def fmt_cell(name, x):
    if name in MONEY or name in ("contribution", "ltv"):
        return fmt_money(x)
    if name in PERCENT or name == "churn_probability":
        return F.pct(x)
    if name in ("customers", "row_number"):
        return F.number(x)
    return F.number(x, 2)


def display(frame):
    """A display copy: banker-formatted text cells and translated headers (downloads keep numbers)."""
    out = frame.copy()
    for c in out.columns:
        if c in SHOWN or c in ("contribution", "churn_probability", "ltv", "row_number"):
            out[c] = [fmt_cell(c, v) for v in out[c]]
    return translate_headers(out)


def translate_headers(frame):
    names = {c: t(f"value.metric.{c}") for c in frame.columns if c in SHOWN}
    names.update({c: t(f"value.col.{c}") for c in ("segment", "group") if c in frame.columns})
    return frame.rename(columns=names)


def meaning_name(code):
    m = MEANINGS.get(code)
    if m is None:
        return ""
    return (m.zh_name or m.en) if current_lang() == "zh" else m.en


# ------------------------------------------------------------------------------ sections
def assumptions_form(ws):
    """Margins per money column, product margin, cost to serve, discounting, currency."""
    a = ws.settings.value
    money = ws.meanings_.money()
    fp = ws.load_.fingerprint[:12]
    with st.form("value_assumptions"):
        st.markdown(f"**{t('value.money.title')}**")
        st.caption(t("value.money.help"))
        if not money:
            st.info(t("value.money.none"))
        margins = {}
        grid = st.columns(3)
        for i, (col, margin) in enumerate(money.items()):
            label = ui.md("value.money.margin", column=col, meaning=meaning_name(ws.meanings_.meaning_of(col)))
            margins[col] = grid[i % 3].number_input(
                label, min_value=0.0, max_value=10_000.0, step=0.1, format="%.2f",
                value=round(float(margin) * 100, 4), key=f"value_margin:{fp}:{col}")
        st.markdown(f"**{t('value.assumptions')}**")
        a1, a2, a3 = st.columns(3)
        pm = a1.number_input(t("value.product_margin"), min_value=0.0, step=10.0, value=float(a.product_margin),
                             key="value_product_margin")
        cs = a2.number_input(t("value.cost_to_serve"), min_value=0.0, step=10.0, value=float(a.cost_to_serve),
                             key="value_cost_to_serve")
        dr = a3.number_input(t("value.discount_rate"), min_value=0.0, max_value=99.0, step=1.0, format="%.1f",
                             value=round(float(a.discount_rate) * 100, 4), key="value_discount_rate")
        b1, b2, b3 = st.columns(3)
        hz = b1.number_input(t("value.horizon_years"), min_value=1, max_value=50, step=1,
                             value=int(a.horizon_years), key="value_horizon_years")
        months = b2.number_input(t("value.churn_period_months"), min_value=1, max_value=60, step=1,
                                 value=int(a.churn_period_months), help=t("value.churn_period_months.help"),
                                 key="value_churn_period_months")
        symbols = list(F.CURRENCIES) + ([ws.settings.currency] if ws.settings.currency not in F.CURRENCIES else [])
        currency = ui.choose(b3.selectbox, t("value.currency"), symbols,
                             lambda s: s or t("value.currency.none"), "value_currency",
                             index=symbols.index(ws.settings.currency), help=t("value.currency.help"))
        if st.form_submit_button(t("value.apply"), icon=":material/calculate:"):
            apply_assumptions(ws, margins, pm, cs, dr, hz, months, currency)


def apply_assumptions(ws, margins, pm, cs, dr, hz, months, currency):
    """Write the form into the workspace: margins to the meanings, the rest to the settings."""
    try:
        meanings = ws.meanings_
        for col, pct_value in margins.items():
            meanings = meanings.with_margin(col, float(pct_value) / 100.0)
        assumptions = V.ValueAssumptions(float(pm), float(cs), float(dr) / 100.0, int(hz), int(months))
    except ChurnCoreError as exc:
        params = getattr(exc, "params", {}) or {}
        st.error(ui.md(f"error.{exc.code}", **params), icon=":material/error:")
        return
    if meanings != ws.meanings_:
        state.set_meanings(meanings)
    ws.update_settings(value=assumptions, currency=currency)
    st.success(t("value.applied"))


def model_probability(ws):
    """The model's probability for every row of the file, or None (history's churn rates then)."""
    if ws.model_ is None:
        return None
    if not st.toggle(t("value.use_model"), value=True, key="value_use_model", help=t("value.use_model.help")):
        return None
    return np.asarray(ws.proba("history"), dtype=float)


def book_section(ws):
    """Value at risk on the book: the customers to act on, as the other pages count them."""
    st.subheader(t("value.book.title"))
    info = ws.describe_book()
    st.caption(t(f"value.book.source.{info['source']}", customers=F.number(info["customers"]),
                 snapshot=info["snapshot"] or ""))
    value = np.asarray(ws.customer_value("book"), dtype=float)
    counted = ws.value_source() == "contribution"
    cols = st.columns(3)
    cols[0].metric(t("value.book.customers"), F.number(info["customers"]))
    cols[1].metric(t("value.book.yearly_value"), fmt_money(value.sum()) if counted else F.number(value.sum()))
    if ws.model_ is None:
        cols[2].metric(t("value.book.at_risk"), "–")
        st.caption(t("value.book.need_model"))
        return
    p = np.asarray(ws.proba("book"), dtype=float)
    at_risk = float((p * value).sum())
    cols[2].metric(t("value.book.at_risk"), fmt_money(at_risk) if counted else F.number(at_risk, 1),
                   help=t("value.book.at_risk.help", months=ws.settings.value.churn_period_months))


def headline(store, cols, assumptions, proba, customers):
    st.subheader(t("value.file.title"))
    st.caption(t("value.file.caption", customers=F.number(customers)))
    whole = V.compute_value(store, cols, assumptions, None, proba).iloc[0]
    m = st.columns(4)
    m[0].metric(t("value.metric.total_contribution"), fmt_money(whole["total_contribution"]))
    m[1].metric(t("value.metric.total_ltv"), fmt_money(whole["total_ltv"]))
    m[2].metric(t("value.metric.value_at_risk"), fmt_money(whole["value_at_risk"]))
    m[3].metric(t("value.metric.risk"), F.pct(whole["risk"]))


def grouping_choices(ds, store, cols):
    ready = S.build_ready_made(store, cols)
    saved = state.get_segments()
    categorical = [c for c in ds.df.columns if S.column_kind(ds.df[c]) == "text" and ds.df[c].nunique() <= 60]
    choices = (["__saved__"] if saved else []) + [f"ready:{k}" for k in ready] + [f"col:{c}" for c in categorical]
    return (choices or ["__none__"]), ready, saved


def choice_label(c):
    if c == "__saved__":
        return t("value.by_saved")
    if c == "__none__":
        return t("segments.all_customers")
    kind, name = c.split(":", 1)
    return t(f"segments.ready.{name}") if kind == "ready" else t("value.by_column", column=name)


def by_group_section(ds, store, cols, assumptions, proba):
    st.subheader(t("value.groups.title"))
    choices, ready, saved = grouping_choices(ds, store, cols)
    pick = ui.choose(st.selectbox, t("value.group_by"), choices, choice_label, "value_group_by")
    if pick == "__saved__":
        valid = {n: s for n, s in saved.items() if all(c.column in ds.df.columns for c in s.conditions)}
        if len(valid) < len(saved):
            st.warning(t("value.saved_skipped", count=len(saved) - len(valid)))
        frame = V.compute_value_for_segments(store, cols, valid, assumptions, proba)
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
            frame = frame.drop(columns=list(keys))
            key = "group"
        else:
            key = keys[0]
    chart_frame = frame if pick != "__saved__" else frame[frame["segment"] != t("segments.all_customers")]
    if len(chart_frame):
        left, right = st.columns(2)
        left.altair_chart(V.build_value_at_risk_chart(chart_frame, key, title_x=choice_label(pick),
                                                      title_y=t("value.metric.value_at_risk"),
                                                      title_ltv=t("value.metric.avg_ltv")), width="stretch")
        right.altair_chart(V.build_risk_value_chart(chart_frame, key, title_x=t("value.metric.risk"),
                                                    title_y=t("value.metric.avg_ltv")), width="stretch")
    st.dataframe(display(frame), hide_index=True, width="stretch")
    ui.download_buttons(translate_headers(frame), "customer_value", key="value_groups")


def top_section(ds, store, cols, assumptions, proba):
    st.subheader(t("value.top.title"))
    limit = st.number_input(t("value.top.limit"), min_value=10, max_value=5000, value=100, step=10,
                            key="value_top_limit")
    id_col = ds.roles.id_columns[0] if getattr(ds.roles, "id_columns", None) else None
    top = V.compute_top_at_risk(store, cols, assumptions, proba, limit=int(limit), id_column=id_col)
    names = {c: t(f"value.top.{c}") for c in top.columns if c != id_col}
    shown = top.copy()
    for c in shown.columns:
        if c != id_col:
            shown[c] = [fmt_cell(c, v) for v in shown[c]]
    st.dataframe(shown.rename(columns=names).head(200), hide_index=True, width="stretch")
    ui.download_buttons(top.rename(columns=names), "value_at_risk_customers", key="value_top")


def forget_other_data(ds):
    """Choices made on another file (its columns, its groupings) do not apply to this one."""
    if st.session_state.get("_value_data") != ds.load.fingerprint:
        ui.reset_page(PREFIXES)
        st.session_state["_value_data"] = ds.load.fingerprint


def value_page():
    ds = state.require_dataset()
    forget_other_data(ds)
    ws = state.get_workspace()
    st.title(t("value.title"))
    st.caption(t("value.intro"))
    assumptions_form(ws)
    with st.expander(t("value.formula.title")):
        st.markdown(t("value.formula.body"))
    ds = state.get_dataset()  # margins may have changed: the map follows the meanings
    store = state.get_store()
    cols = state.get_column_map(ds)
    assumptions = ws.settings.value
    if not V.has_money(cols):
        st.info(t("value.money.none"))
        return
    st.caption(t("value.source_money"))
    book_section(ws)
    proba = model_probability(ws)
    st.caption(t("value.source_model") if proba is not None else t("value.source_history"))
    headline(store, cols, assumptions, proba, len(ds.df))
    by_group_section(ds, store, cols, assumptions, proba)
    top_section(ds, store, cols, assumptions, proba)


with ui.error_boundary("value", prefixes=PREFIXES):
    value_page()
