"""Early warning: who to call first among the customers still here (the workspace's book).

Risk tiers and signal thresholds are workspace settings (the simulator, the drivers page and the
CLI follow them); every number here is asked from the workspace, for the book only.
"""

from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from churn_core.errors import ChurnCoreError
from churn_core.modeling import warning as W
from churn_core.sharing.formatting import money, number, pct
from studio import state, ui
from studio.i18n import current_lang, t

MAX_ROWS = 500  # watch-list rows shown on screen (the downloads hold every matching customer)
PREFIXES = ("warning_",)

# signal -> (SignalThresholds field, label key, min, max, step); inactivity depends on its column
THRESHOLDS = {
    "activity_drop": ("activity_drop_pct", "warning.th.activity_drop", 1.0, 100.0, 5.0),
    "fund_outflow": ("outflow_pct", "warning.th.outflow", 1.0, 100.0, 5.0),
    "complaints": ("complaints_min", "warning.th.complaints", 1, 1000, 1),
    "logins_stopped": ("logins_max", "warning.th.logins", 0, 100000, 1),
    "service_contacts": ("contacts_min", "warning.th.contacts", 1, 1000, 1),
    ("inactivity", "months"): ("inactive_months_min", "warning.th.inactive_months", 1, 12, 1),
    ("inactivity", "days"): ("inactive_days_min", "warning.th.inactive_days", 1, 100000, 1),
}


def tier_word(tier):
    return t(f"warning.tier.{tier}")


def signal_word(sig):
    return t(f"warning.signal.{sig}")


# ---------------------------------------------------------------- widgets whose state follows the workspace

def init_state(key, value):
    """Start a widget at the workspace's setting (widget keys are dropped when the page is left)."""
    if key not in st.session_state:
        st.session_state[key] = value


def choose_code(widget, label, codes, labeler, key, current, **kw):
    """``ui.choose`` that starts at ``current`` and survives a language switch."""
    labels = [labeler(c) for c in codes]
    if st.session_state.get(key) not in labels:
        st.session_state[key] = labels[codes.index(current)] if current in codes else labels[0]
    return ui.choose(widget, label, codes, labeler, key, **kw)


def multi_codes(container, label, codes, labeler, key, default=()):
    """A multiselect over translated labels returning codes; the choice survives a language switch."""
    labels = {c: labeler(c) for c in codes}
    memo = f"_{key}_codes"
    picked = st.session_state.get(key)
    if picked is None or any(p not in labels.values() for p in picked):
        kept = st.session_state.get(memo, list(default))
        st.session_state[key] = [labels[c] for c in kept if c in labels]
    chosen = container.multiselect(label, list(labels.values()), key=key, placeholder=t("app.choose_options"))
    out = [c for c in codes if labels[c] in chosen]
    st.session_state[memo] = out
    return out


# ---------------------------------------------------------------- sections

def acting_on(ws):
    """Which customers this page acts on, and how many."""
    book = ws.describe_book()
    st.info(t(f"warning.book.{book['source']}", customers=number(book["customers"]),
              snapshot=book["snapshot"] or "–"), icon=":material/groups:")
    return book["customers"]


def tier_settings(ws, n):
    """Capacity or profit tiers, written to the workspace so every page and the CLI follow."""
    st.subheader(t("warning.tiers.title"))
    cur = ws.settings.tiers
    method = choose_code(st.radio, t("warning.method"), ["capacity", "profit"],
                         lambda c: t(f"warning.option.{c}"), "warning_method", cur.method, horizontal=True)
    changes = {"method": method}
    if method == "capacity":
        high_now = int(round(0.1 * n)) if cur.high_capacity is None else int(cur.high_capacity)
        medium_now = int(round(0.2 * n)) if cur.medium_capacity is None else int(cur.medium_capacity)
        init_state("warning_high", high_now)
        init_state("warning_medium", medium_now)
        a, b = st.columns(2)
        high = int(a.number_input(t("warning.high_n"), min_value=0, step=100, key="warning_high"))
        medium = int(b.number_input(t("warning.medium_n"), min_value=0, step=100, key="warning_medium"))
        if high != high_now or cur.method != "capacity":
            changes["high_capacity"] = high
        if medium != medium_now or cur.method != "capacity":
            changes["medium_capacity"] = medium
    else:
        init_state("warning_cost", float(cur.contact_cost))
        init_state("warning_save", float(cur.save_rate))
        a, b = st.columns(2)
        changes["contact_cost"] = float(a.number_input(t("warning.cost"), min_value=0.0, step=10.0,
                                                       key="warning_cost"))
        changes["save_rate"] = float(b.slider(t("warning.save_rate"), 0.01, 1.0, step=0.01, key="warning_save"))
        st.caption(t("warning.profit.values"))
    new = replace(cur, **changes)
    if new != cur:
        ws.update_settings(tiers=new)
    return new


def tier_overview(ws, n, config):
    """Customers per tier, the profit curve (profit method) and the score distribution."""
    lang = current_lang()
    tiers = ws.tiers()
    counts = tiers.astype(str).value_counts().reindex(list(W.TIERS), fill_value=0)
    for col, tier in zip(st.columns(3), W.TIERS):
        col.metric(tier_word(tier), number(counts[tier]),
                   t("warning.tier_share", share=pct(counts[tier] / n if n else 0, 0)), delta_color="off",
                   delta_arrow="off")
    proba = ws.proba("book").to_numpy()
    if config.method == "profit":
        curve = W.compute_profit_curve(proba, config.value_per_customer, config.contact_cost, config.save_rate,
                                       values=np.asarray(ws.customer_value("book"), dtype=float))
        st.altair_chart(W.build_profit_curve_chart(curve, title=t("warning.chart.profit"),
                                                   x_title=t("warning.chart.contacted"),
                                                   y_title=t("warning.chart.profit_axis")), width="stretch")
        st.markdown(t("warning.profit.best", k=number(curve.attrs["best_k"]),
                      profit=money(curve.attrs["best_profit"], ws.settings.currency, lang)))
    dist = W.compute_score_distribution(proba, tiers)
    st.altair_chart(W.build_score_distribution_chart(
        dist, title=t("warning.chart.distribution"), x_title=t("warning.chart.probability"),
        y_title=t("warning.chart.customers"), tier_labels={x: tier_word(x) for x in W.TIERS},
        tier_title=t("warning.chart.tier")), width="stretch")


def threshold_settings(ws):
    """Signal thresholds for the signals this file has columns for, written to the workspace."""
    found = ws.signal_columns()
    cur = ws.settings.signals
    fields = []
    for sig, col in found.items():
        rule = THRESHOLDS.get((sig, col[0]) if sig == "inactivity" else sig)
        if rule is not None:
            fields.append(rule)
    if not fields:
        return
    changes = {}
    with st.expander(t("warning.thresholds"), expanded=False):
        for col, (field, label, lo, hi, step) in zip(st.columns(len(fields)), fields):
            kind = float if isinstance(lo, float) else int
            init_state(f"warning_th_{field}", kind(getattr(cur, field)))
            changes[field] = kind(col.number_input(t(label), min_value=lo, max_value=hi, step=step,
                                                   key=f"warning_th_{field}"))
    new = replace(cur, **changes)
    if new != cur:
        ws.update_settings(signals=new)


def signals_section(ws):
    """Which rules fire, on which columns, for how many customers (and how many of them High)."""
    st.subheader(t("warning.signals.title"))
    found = ws.signal_columns()
    if not found:
        st.info(t("warning.signals.none"))
        return []
    threshold_settings(ws)
    signals = ws.signals("book")
    high = (ws.tiers().astype(str) == "High").to_numpy()
    fired = [s for s in W.SIGNALS if s in signals.columns]
    rows = []
    for sig in fired:
        col = found[sig]
        if isinstance(col, tuple) and col[0] in ("change", "months", "days"):
            col = col[1]
        used = " / ".join(map(str, col)) if isinstance(col, tuple) else str(col)
        hits = signals[sig].to_numpy(dtype=bool)
        rows.append({t("warning.col.signal"): signal_word(sig), t("warning.col.columns"): used,
                     t("warning.col.customers"): int(hits.sum()),
                     t("warning.col.high_risk"): int((hits & high).sum())})
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    return fired


def segment_names(ws, book):
    """Saved segments each book customer belongs to (``"A; B"``), by the segments' own rules."""
    names = pd.Series("", index=book.index, dtype=object)
    for name, seg in state.get_segments().items():
        try:
            hit = np.asarray(seg.mask(book), dtype=bool)
        except ChurnCoreError:  # a segment of another file: it names no customer here
            continue
        names[hit] = [f"{s}; {name}" if s else str(name) for s in names[hit]]
    return names


def watch_filters(ws, fired):
    """Tier, signal and saved-segment filters: ``(tier_filter, signal_filter, mask)``."""
    a, b, c = st.columns(3)
    tier_filter = multi_codes(a, t("warning.filter.tier"), list(W.TIERS), tier_word, "warning_filter_tier",
                              default=["High"])
    signal_filter = multi_codes(b, t("warning.filter.signal"), fired, signal_word, "warning_filter_signal")
    segments = state.get_segments()
    everyone = t("warning.filter.all_customers")
    seg_name = c.selectbox(t("warning.filter.segment"), [everyone] + list(segments), key="warning_filter_segment")
    mask = None
    if seg_name != everyone and seg_name in segments:
        try:
            mask = np.asarray(segments[seg_name].mask(ws.book().frame), dtype=bool)
        except ChurnCoreError as exc:
            ui.show_error(exc)
    return tier_filter or None, signal_filter, mask


def list_frame(ws, watch, lang, export=False):
    """The watch-list with translated headers: on screen (money text) or for a download (numbers)."""
    reasons = ws.reasons("book", lang=lang, rows=list(watch.index))
    cur = ws.settings.currency
    out = pd.DataFrame(index=watch.index)
    out[t("warning.col.customer")] = watch["customer_id"].to_numpy()
    out[t("warning.col.probability")] = (watch["churn_probability"].to_numpy(dtype=float) * 100).round(2 if export else 1)
    out[t("warning.col.tier")] = [tier_word(str(x)) for x in watch["risk_tier"]]
    value = watch["value"].to_numpy(dtype=float)
    out[t("warning.col.value")] = value.round(2) if export else [money(v, cur, lang) for v in value]
    if export:
        out[t("warning.col.segments")] = segment_names(ws, ws.book().frame).loc[watch.index].to_numpy()
    for j in (1, 2, 3):
        out[t(f"warning.col.reason_{j}")] = reasons[f"reason_{j}"].fillna("").to_numpy()
        if export:
            out[t(f"warning.col.points_{j}")] = pd.to_numeric(reasons[f"points_{j}"], errors="coerce").round(2).to_numpy()
    out[t("warning.col.signals")] = watch["signals_text"].to_numpy()
    return out.reset_index(drop=True)


def watch_list(ws, fired):
    """The book's customers riskiest first, with value, reasons (with points) and signals."""
    lang = current_lang()
    st.subheader(t("warning.list.title"))
    tier_filter, signal_filter, mask = watch_filters(ws, fired)
    watch = ws.watchlist(lang=lang, tier_filter=tier_filter, signal_filter=signal_filter, mask=mask)
    st.caption(t("warning.list.count", n=number(len(watch)), shown=number(min(len(watch), MAX_ROWS))))
    with st.spinner(t("warning.list.explaining")):
        shown = list_frame(ws, watch.head(MAX_ROWS), lang)
    st.dataframe(shown, hide_index=True, width="stretch")
    return watch


def downloads(ws, watch):
    """Full downloads: every matching customer, and everyone's reasons, riskiest first."""
    lang = current_lang()
    st.subheader(t("warning.export.title"))
    if not st.toggle(t("warning.export.prepare"), key="warning_exports", help=t("warning.export.help")):
        return
    with st.spinner(t("warning.list.explaining")):
        st.markdown(t("warning.export.list", n=number(len(watch))))
        ui.download_buttons(list_frame(ws, watch, lang, export=True), "watch_list", key="warning_watch_list")
        everyone = ws.watchlist(lang=lang)
        st.markdown(t("warning.export.everyone", n=number(len(everyone))))
        ui.download_buttons(list_frame(ws, everyone, lang, export=True), "reasons_everyone",
                            key="warning_reasons_all")


def page():
    state.require_dataset()
    state.require_model()
    ws = state.get_workspace()
    n = acting_on(ws)
    if not n:
        st.info(t("warning.book.empty"))
        return
    config = tier_settings(ws, n)
    tier_overview(ws, n, config)
    fired = signals_section(ws)
    watch = watch_list(ws, fired)
    downloads(ws, watch)


st.title(t("warning.title"))
st.caption(t("warning.intro"))
with ui.error_boundary("warning", prefixes=PREFIXES):
    page()
