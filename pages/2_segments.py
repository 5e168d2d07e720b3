"""Segments: no-code builder, saved segments, ready-made segmentations, side by side, deciles."""

import datetime as dt

import pandas as pd
import streamlit as st

from churn_core.analysis import segments as S
from churn_core.errors import ChurnCoreError
from churn_core.sharing import formatting as F
from studio import state, ui
from studio.i18n import current_lang, load_catalogue, t

#: Session keys of this page: its widgets and its own results (reset with the page, or when the data changes).
PREFIXES = ("seg_", "_seg_")
MONEY = {"avg_balance", "total_balance", "avg_assets", "total_assets"}

METRICS = ["customers", "churned", "churn_rate", "lift", "avg_balance", "total_balance", "avg_assets",
           "total_assets", "products_per_customer", "share_inactive", "complaints_per_customer",
           "share_with_complaints", "share_of_base"]
PERCENT = {"churn_rate", "share_inactive", "share_with_complaints", "share_of_base"}


def metric_label(name):
    return t(f"segments.metric.{name}")


def dim_label(key):
    """Header of a ready-made dimension (``value_band`` -> "Value band"); a raw column keeps its name."""
    code = f"segments.dim.{key}"
    return t(code) if code in load_catalogue("en") else key


def fmt_metric(name, x):
    """One metric as a banker reads it: money with the currency, rates as %, counts as integers."""
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    if name in MONEY:
        return F.money(x, state.get_workspace().settings.currency, current_lang())
    if name in PERCENT:
        return F.pct(x)
    if name in ("customers", "churned"):
        return F.number(x)
    return F.number(x, 2)


def display(frame, keys=()):
    """A display copy: translated headers, formatted numbers (downloads keep the numbers)."""
    out = frame.copy()
    for c in out.columns:
        if c in METRICS:
            out[c] = [fmt_metric(c, v) for v in out[c]]
    names = {c: metric_label(c) for c in out.columns if c in METRICS}
    names.update({k: dim_label(k) for k in keys})
    return out.rename(columns=names)


def show_profile_metrics(profile):
    cols = st.columns(4)
    cols[0].metric(metric_label("customers"), f"{int(profile['customers']):,}",
                   help=t("segments.share_of_base", share=f"{profile['share_of_base']:.1%}"))
    if profile.get("churn_rate") is not None:
        cols[1].metric(metric_label("churn_rate"), f"{profile['churn_rate']:.1%}")
        cols[2].metric(metric_label("lift"), f"{profile['lift']:.2f}×" if profile.get("lift") is not None else "–")
    money = profile.get("avg_balance", profile.get("avg_assets"))
    if money is not None:
        key = "avg_balance" if "avg_balance" in profile else "avg_assets"
        cols[3].metric(metric_label(key), fmt_metric(key, money))


# ---------------------------------------------------------------------------------- builder
def value_widget(df, store, column, op, key):
    """The right input for the column type and operator; returns the value (or None)."""
    series = df[column]
    kind = S.column_kind(series)
    if op in S.NO_VALUE_OPERATORS:
        return None
    if kind == "number":
        valid = series.dropna()
        lo, hi = (float(valid.min()), float(valid.max())) if len(valid) else (0.0, 0.0)
        mid = float(valid.median()) if len(valid) else 0.0
        if op == "between":
            a, b = st.columns(2)
            v1 = a.number_input(t("segments.builder.low"), value=lo, key=f"{key}_lo")
            v2 = b.number_input(t("segments.builder.high"), value=hi, key=f"{key}_hi")
            return (v1, v2)
        if op in S.LIST_OPERATORS:
            text = st.text_input(t("segments.builder.values_numbers"), key=f"{key}_list")
            return [x for x in S.parse_edges(text)] if text.strip() else []
        return st.number_input(t("segments.builder.value"), value=mid, key=f"{key}_num")
    if kind == "bool":
        return ui.choose(st.selectbox, t("segments.builder.value"), [True, False],
                      lambda v: t("segments.yes") if v else t("segments.no"), f"{key}_bool")
    if kind == "date":
        v = st.date_input(t("segments.builder.value"), value=pd.Timestamp(series.max()).date(), key=f"{key}_date")
        if op == "between":
            v2 = st.date_input(t("segments.builder.high"), value=pd.Timestamp(series.max()).date(), key=f"{key}_date2")
            return (v, v2)
        return v
    if op == "contains":
        return st.text_input(t("segments.builder.text"), key=f"{key}_text")
    top = store.query(
        f"SELECT {S.quote_ident(column)} AS v, COUNT(*) AS n FROM customers WHERE {S.quote_ident(column)} IS NOT NULL "
        "GROUP BY 1 ORDER BY n DESC, v LIMIT 200"
    )["v"].tolist()
    if op in S.LIST_OPERATORS:
        return st.multiselect(t("segments.builder.values"), top, key=f"{key}_multi", placeholder=t("app.choose_options"))
    return st.selectbox(t("segments.builder.value"), top, key=f"{key}_one")


def builder_tab(ds, store, cols):
    df = ds.df
    conds = st.session_state.setdefault("_seg_conditions", [])
    st.caption(t("segments.builder.help"))
    with st.container(border=True):
        c1, c2 = st.columns(2)
        column = c1.selectbox(t("segments.builder.column"), list(df.columns), key="seg_b_column")
        ops = S.operators_for(df[column])
        op = ui.choose(c2.selectbox, t("segments.builder.operator"), ops,
                       lambda o: t(f"segments.op.{o.replace(' ', '_')}"), "seg_b_op")
        value = value_widget(df, store, column, op, "seg_b_value")
        if st.button(t("segments.builder.add"), key="seg_b_add", icon=":material/add:"):
            try:
                if isinstance(value, (dt.date,)) and not isinstance(value, dt.datetime):
                    value = pd.Timestamp(value)
                if isinstance(value, tuple):
                    value = tuple(pd.Timestamp(v) if isinstance(v, dt.date) else v for v in value)
                cond = S.validate_condition(S.Condition(column, op, value), df)
                conds.append(cond)
            except ChurnCoreError as exc:
                show_error(exc)
    mode = ui.choose(st.radio, t("segments.builder.mode"), ["and", "or"], lambda m: t(f"segments.mode.{m}"),
                     "seg_b_mode", horizontal=True)
    for i, cond in enumerate(list(conds)):
        a, b = st.columns([6, 1])
        a.markdown(f"- {ui.escape_md(cond.describe(current_lang()))}")
        if b.button(t("segments.builder.remove"), key=f"seg_b_rm_{i}"):
            conds.pop(i)
            st.rerun()
    segment = S.Segment("", tuple(conds), mode)
    st.markdown(ui.md("segments.builder.description_line", text=segment.describe(current_lang())))
    with st.expander(t("segments.builder.sql")):
        where, params = segment.where_sql()
        st.code(f"SELECT * FROM customers\nWHERE {where}", language="sql")
        st.caption(ui.md("segments.builder.params", params=", ".join(repr(p) for p in params) or "–"))
    profile = S.compute_segment_profile(store, cols, segment)
    show_profile_metrics(profile)
    with st.form("seg_save_form", clear_on_submit=False, border=False):
        name = st.text_input(t("segments.builder.name"), key="seg_b_name")
        if st.form_submit_button(t("segments.builder.save"), icon=":material/save:"):
            if not name.strip():
                st.warning(t("segments.builder.need_name"))
            elif not conds:
                st.warning(t("segments.builder.need_condition"))
            else:
                state.save_segment(name.strip(), S.Segment(name.strip(), tuple(conds), mode))
                st.success(ui.md("segments.builder.saved", name=name.strip()))


def show_error(exc):
    """A translated error box; user text inside it (column names, typed values) is escaped."""
    st.error(error_markdown(exc), icon=":material/error:")


def error_markdown(exc):
    code, params = getattr(exc, "code", None), getattr(exc, "params", {}) or {}
    if code and f"error.{code}" in load_catalogue("en"):
        return ui.md(f"error.{code}", **params)
    return t("app.error.unexpected")


def error_plain(exc):
    """The translated message as plain text (a dataframe cell is not Markdown: nothing to escape)."""
    code, params = getattr(exc, "code", None), getattr(exc, "params", {}) or {}
    if code and f"error.{code}" in load_catalogue("en"):
        return t(f"error.{code}", **params)
    return t("app.error.unexpected")


def usable(segment, df):
    """``(segment checked against this file, None)`` or ``(None, the engine error saying why not)``."""
    if segment is None:
        return None, None
    try:
        conds = tuple(S.validate_condition(c, df) for c in segment.conditions)
    except ChurnCoreError as exc:
        return None, exc
    return S.Segment(segment.name, conds, segment.mode), None


def saved_tab(ds, store, cols):
    saved = state.get_segments()
    if not saved:
        st.info(t("segments.saved.none"))
        return
    rows, raw = [], []
    for name, seg in saved.items():
        checked, problem = usable(seg, ds.df)
        prof = S.compute_segment_profile(store, cols, checked) if checked is not None else {}
        rate, lift = prof.get("churn_rate"), prof.get("lift")
        rows.append({t("segments.saved.name"): name, t("segments.saved.description"): seg.describe(current_lang()),
                     metric_label("customers"): fmt_metric("customers", prof["customers"]) if prof else "–",
                     metric_label("churn_rate"): fmt_metric("churn_rate", rate),
                     metric_label("lift"): fmt_metric("lift", lift),
                     t("segments.saved.status"): error_plain(problem) if problem else t("segments.saved.ok")})
        raw.append({t("segments.saved.name"): name, t("segments.saved.description"): seg.describe(current_lang()),
                    metric_label("customers"): prof.get("customers"), metric_label("churn_rate"): rate,
                    metric_label("lift"): lift})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    ui.download_buttons(pd.DataFrame(raw), "saved_segments", key="saved_segments")
    drop = st.selectbox(t("segments.saved.delete_pick"), list(saved), key="seg_saved_drop")
    if st.button(t("segments.saved.delete"), key="seg_saved_delete", icon=":material/delete:"):
        state.delete_segment(drop)
        st.rerun()


# ---------------------------------------------------------------------------- ready-made
def ready_tab(ds, store, cols):
    ready = st.session_state.get("_seg_ready")
    if not ready or ready[0] != ds.key:
        ready = (ds.key, S.build_ready_made(store, cols))
        st.session_state["_seg_ready"] = ready
    options = ready[1]
    if not options:
        st.info(t("segments.ready.none"))
        return
    code = ui.choose(st.selectbox, t("segments.ready.pick"), list(options), lambda c: t(f"segments.ready.{c}"),
                     "seg_ready_pick")
    seg = options[code]
    st.caption(t(f"segments.ready.{code}.help"))
    for dim in seg.dims:
        if isinstance(dim, S.Banding) and not dim.column.startswith("__"):
            text = st.text_input(ui.md("segments.ready.edges", column=dim.column),
                                 value=", ".join(f"{e:g}" for e in dim.edges), key=f"seg_edges_{code}_{dim.key}")
            try:
                edges = S.parse_edges(text)
                if edges != dim.edges:
                    seg = S.edit_edges(seg, dim.key, edges)
            except ChurnCoreError as exc:
                show_error(exc)
    prof = S.compute_profiles(store, cols, seg)
    keys = list(seg.keys())
    key = keys[0] if len(keys) == 1 else "group"
    if len(keys) > 1:
        prof.insert(0, "group", prof[keys].astype(str).agg(" · ".join, axis=1))
    if "churn_rate" in prof.columns:
        base = S.compute_segment_profile(store, cols, None).get("churn_rate")
        st.altair_chart(
            S.build_profile_chart(prof, key, "churn_rate", title_x=t(f"segments.ready.{code}"),
                                  title_y=metric_label("churn_rate"), base_rate=base),
            width="stretch",
        )
    table = prof.drop(columns=["group"], errors="ignore")
    st.dataframe(display(table, keys), hide_index=True, width="stretch")
    names = {c: metric_label(c) for c in table.columns if c in METRICS}
    names.update({k: dim_label(k) for k in keys})
    ui.download_buttons(table.rename(columns=names), f"segments_{code}", key=f"ready_{code}")


# ----------------------------------------------------------------------------- compare
def compare_tab(ds, store, cols):
    saved = state.get_segments()
    names = ["__all__"] + list(saved)
    label = lambda n: t("segments.all_customers") if n == "__all__" else n  # noqa: E731
    if len(saved) < 1:
        st.info(t("segments.compare.need_saved"))
    a, b = st.columns(2)
    pick_a = ui.choose(a.selectbox, t("segments.compare.a"), names, label, "seg_cmp_a", index=min(1, len(names) - 1))
    pick_b = ui.choose(b.selectbox, t("segments.compare.b"), names, label, "seg_cmp_b", index=min(2, len(names) - 1))
    seg_a, problem_a = usable(saved.get(pick_a), ds.df)
    seg_b, problem_b = usable(saved.get(pick_b), ds.df)
    for text in dict.fromkeys(error_markdown(p) for p in (problem_a, problem_b) if p):
        st.warning(text)
    if problem_a or problem_b:
        return
    frame = S.compare_segments(store, cols, seg_a, seg_b)
    # headers are always distinct: "A · name", "B · name", "All customers" (a side may be All customers)
    col_a = t("segments.compare.col_a", name=label(pick_a))
    col_b = t("segments.compare.col_b", name=label(pick_b))
    headers = {"metric": t("segments.compare.metric"), "a": col_a, "b": col_b, "all": t("segments.all_customers")}
    shown = frame.copy()
    for c in ("a", "b", "all"):
        shown[c] = [fmt_metric(m, v) for m, v in zip(frame["metric"], frame[c])]
    shown["metric"] = shown["metric"].map(metric_label)
    st.dataframe(shown.rename(columns=headers), hide_index=True, width="stretch")
    raw = frame.assign(metric=frame["metric"].map(metric_label)).rename(columns=headers)
    ui.download_buttons(raw, "segments_compare", key="compare")


# ----------------------------------------------------------------------------- deciles
def deciles_tab(ds, store, cols):
    st.caption(t("segments.deciles.help"))
    if not cols.label:
        st.info(t("error.segments.no_label"))
        return
    cached = st.session_state.get("_seg_deciles")
    if st.button(t("segments.deciles.run"), key="seg_deciles_run", icon=":material/bar_chart:") or (
        cached and cached[0] == ds.key
    ):
        if not cached or cached[0] != ds.key:
            with st.status(t("segments.deciles.running")):
                cached = (ds.key, S.compute_decile_cohorts(store, cols))
            st.session_state["_seg_deciles"] = cached
        deciles = cached[1]
        spread = S.rank_decile_spread(deciles)
        if spread.empty:
            st.info(t("segments.deciles.none"))
            return
        column = st.selectbox(t("segments.deciles.column"), spread["column"].tolist(), key="seg_deciles_col")
        st.altair_chart(S.build_decile_chart(deciles, column, title_x=t("segments.deciles.decile"),
                                             title_y=metric_label("churn_rate")), width="stretch")
        lang = current_lang()
        shown = pd.DataFrame({
            t("segments.deciles.column"): spread["column"],
            t("segments.deciles.min"): [F.pct(v) for v in spread["min_rate"]],
            t("segments.deciles.max"): [F.pct(v) for v in spread["max_rate"]],
            t("segments.deciles.spread"): [F.points(v * 100, lang, signed=False) for v in spread["spread"]],
        })
        st.dataframe(shown, hide_index=True, width="stretch")
        headers = {"column": t("segments.deciles.column"), "decile": t("segments.deciles.decile"),
                   "low": t("segments.deciles.low"), "high": t("segments.deciles.high"),
                   "customers": metric_label("customers"), "churn_rate": metric_label("churn_rate"),
                   "lift": metric_label("lift")}
        ui.download_buttons(deciles.rename(columns=headers), "decile_cohorts", key="deciles")


def forget_other_data(ds):
    """Widgets and conditions of another file do not apply to this one: reset them when the data changes."""
    fingerprint = ds.load.fingerprint
    previous = st.session_state.get("_seg_data")
    if previous != fingerprint:
        ui.reset_page(PREFIXES)
        st.session_state["_seg_data"] = fingerprint
        if previous is not None:
            st.info(t("segments.stale"))


def segments_page():
    ds = state.require_dataset()
    forget_other_data(ds)
    st.title(t("segments.title"))
    st.caption(t("segments.intro"))
    store = state.get_store()
    cols = state.get_column_map(ds)
    if not cols.label:
        st.warning(t("segments.no_label"))
    tabs = st.tabs([t("segments.tab.builder"), t("segments.tab.saved"), t("segments.tab.ready"),
                    t("segments.tab.compare"), t("segments.tab.deciles")])
    for tab, section in zip(tabs, (builder_tab, saved_tab, ready_tab, compare_tab, deciles_tab)):
        with tab, ui.error_boundary(f"segments_{section.__name__}", prefixes=PREFIXES):
            section(ds, store, cols)


with ui.error_boundary("segments", prefixes=PREFIXES):
    segments_page()
