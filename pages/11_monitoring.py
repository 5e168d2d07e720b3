"""KPI monitoring: compare two snapshots of the same bank (two snapshot dates of this file, or a
second upload): retention, lost and new customers, churn rate, customer value and its growth,
product holding, tier migration (with the model) and drift per column.

The Comparison is computed by the workspace (``ws.compare``) once per set of inputs, kept in session
state under those inputs, and handed to the report (``state.set_result("compare", ...)``).
"""

import pandas as pd
import streamlit as st

from churn_core.analysis.compare import DRIFT_FLAGS, LEFT, build_drift_chart, build_migration_chart
from churn_core.data.ingest import load_file
from churn_core.errors import ChurnCoreError
from churn_core.modeling.warning import TIERS
from churn_core.sharing.formatting import money, number, pct
from studio import state, ui
from studio.i18n import current_lang, t

PREFIXES = ("monitoring_",)
RESULT_KEY = "monitoring_comparison"  # (inputs, Comparison)
LOADED_KEY = "monitoring_loaded"  # (upload file_id, LoadResult or ChurnCoreError)
UPLOAD_KEY = "monitoring_upload"
TABLE_TYPES = ["csv", "txt", "tsv", "xlsx"]


def tier_word(tier):
    return t(f"monitoring.tier.{tier}")


def flag_word(flag):
    return t(f"monitoring.flag.{flag}") if flag in DRIFT_FLAGS else "–"


def fmt_money(ws, x):
    return money(x, ws.settings.currency, current_lang())


def snapshot_dates(ws):
    """The file's snapshot dates (ISO text, oldest first), from the snapshot_date meaning."""
    col = ws.meanings_.column("snapshot_date")
    if col is None or col not in ws.df.columns:
        return []
    dates = pd.to_datetime(ws.df[col], errors="coerce").dropna().unique()
    return [pd.Timestamp(d).date().isoformat() for d in sorted(dates)]


# ---------------------------------------------------------------- inputs

def choose_source(dates):
    """Two snapshot dates of this file, or a second upload (dates first when the file has them)."""
    codes = ["dates", "upload"]
    labels = [t(f"monitoring.compare.source.{c}") for c in codes]
    if st.session_state.get("monitoring_source") not in labels:
        st.session_state["monitoring_source"] = labels[0 if len(dates) >= 2 else 1]
    return ui.choose(st.radio, t("monitoring.compare.source"), codes,
                     lambda c: t(f"monitoring.compare.source.{c}"), "monitoring_source", horizontal=True)


def pick_dates(dates):
    """``(old, new)`` ISO dates, the two latest by default."""
    if len(dates) < 2:
        st.info(t("monitoring.compare.no_dates"))
        return None
    a, b = st.columns(2)
    old = a.selectbox(t("monitoring.compare.old"), dates, index=len(dates) - 2, key="monitoring_old")
    new = b.selectbox(t("monitoring.compare.new"), dates, index=len(dates) - 1, key="monitoring_new")
    return old, new


def pick_upload():
    """The later snapshot as a second upload (read once per file), or None."""
    st.caption(t("monitoring.compare.upload.help"))
    upload = st.file_uploader(t("monitoring.compare.upload"), type=TABLE_TYPES, key=UPLOAD_KEY)
    if upload is None:
        st.session_state.pop(LOADED_KEY, None)  # the file was removed: do not hold its table
        return None
    kept = st.session_state.get(LOADED_KEY)
    if not kept or kept[0] != upload.file_id:
        try:
            with st.spinner(t("monitoring.compare.reading")):
                kept = (upload.file_id, load_file(upload.getvalue(), upload.name))
        except ChurnCoreError as exc:
            kept = (upload.file_id, exc)
        st.session_state[LOADED_KEY] = kept
    if isinstance(kept[1], ChurnCoreError):
        ui.show_error(kept[1])
        return None
    st.caption(ui.md("monitoring.compare.upload.loaded", name=kept[1].source_name,
                     rows=number(kept[1].rows_loaded)))
    return kept[1]


def comparison(ws, source, dates=None, load=None):
    """The Comparison for these inputs (computed once; kept for the report), or None on an error."""
    inputs = (ws.key("compare"), source, tuple(dates or ()), load.fingerprint if load is not None else None)
    kept = st.session_state.get(RESULT_KEY)
    if kept and kept[0] == inputs:
        return kept[1]
    try:
        with st.spinner(t("monitoring.compare.computing")):
            if source == "upload":
                result = ws.compare(other=load.df)
            else:
                result = ws.compare(old=dates[0], new=dates[1])
    except ChurnCoreError as exc:
        ui.show_error(exc)
        return None
    st.session_state[RESULT_KEY] = (inputs, result)
    state.set_result("compare", result.to_dict())
    return result


# ---------------------------------------------------------------- sections

def customers_section(f):
    """Customers before and now, retained, lost, new, retention and churn rates."""
    st.subheader(t("monitoring.compare.customers"))
    a, b, c, d, e = st.columns(5)
    a.metric(t("monitoring.compare.customers_old"), number(f["customers_old"]))
    b.metric(t("monitoring.compare.customers_new"), number(f["customers_new"]),
             t("monitoring.compare.growth", growth=pct(f["customer_growth"])) if f["customer_growth"] is not None else None,
             delta_color="off")
    c.metric(t("monitoring.compare.retained"), number(f["retained"]))
    d.metric(t("monitoring.compare.lost"), number(f["lost"]))
    e.metric(t("monitoring.compare.new_customers"), number(f["new"]))
    a, b, c = st.columns(3)
    a.metric(t("monitoring.compare.retention_rate"), pct(f["retention_rate"]),
             help=t("monitoring.compare.retention_rate.help"))
    b.metric(t("monitoring.compare.churn_rate_old"), pct(f["churn_rate_old"]))
    c.metric(t("monitoring.compare.churn_rate_new"), pct(f["churn_rate_new"]))
    if f["retained"] == 0:
        st.warning(t("monitoring.compare.no_overlap"), icon=":material/info:")
    elif f.get("retained_marked_churned"):
        st.caption(t("monitoring.compare.marked_churned", n=number(f["retained_marked_churned"])))


def value_section(ws, f):
    """Total and average customer value, before and now, and their growth."""
    st.subheader(t("monitoring.compare.value"))
    a, b, c, d = st.columns(4)
    a.metric(t("monitoring.compare.value_old"), fmt_money(ws, f["value_old"]))
    b.metric(t("monitoring.compare.value_new"), fmt_money(ws, f["value_new"]),
             pct(f["value_growth"]) if f["value_growth"] is not None else None)
    c.metric(t("monitoring.compare.avg_value_old"), fmt_money(ws, f["avg_value_old"]))
    d.metric(t("monitoring.compare.avg_value_new"), fmt_money(ws, f["avg_value_new"]),
             pct(f["avg_value_growth"]) if f["avg_value_growth"] is not None else None)
    st.caption(t("monitoring.compare.value_moves", lost=fmt_money(ws, f["value_of_lost"]),
                 new=fmt_money(ws, f["value_of_new"])))


def products_section(comp):
    """Average products held and the share holding each product, before and now."""
    products = comp.products
    if not len(products):
        return
    st.subheader(t("monitoring.compare.products"))

    def show(measure, v):
        return number(v, 2) if measure == "mean" else pct(v)

    table = pd.DataFrame({
        t("monitoring.compare.column"): products["column"].astype(str).to_numpy(),
        t("monitoring.compare.measure"): [t(f"monitoring.compare.products.{m}") for m in products["measure"]],
        t("monitoring.compare.before"): [show(m, v) for m, v in zip(products["measure"], products["old"])],
        t("monitoring.compare.now"): [show(m, v) for m, v in zip(products["measure"], products["new"])],
        t("monitoring.compare.change"): [number(v, 2) if m == "mean" else t("monitoring.compare.pts", v=f"{v * 100:+.1f}")
                                         for m, v in zip(products["measure"], products["change"])],
    })
    st.dataframe(table, hide_index=True, width="stretch")


def migration_table(tier_migration):
    """The 3 x 4 migration counts with translated headers (rows: tier before; columns: tier now)."""
    rows = []
    for old in TIERS:
        row = {t("monitoring.compare.tier_old"): tier_word(old)}
        for new in (*TIERS, LEFT):
            row[tier_word(new)] = int(tier_migration[old][new])
        row[t("monitoring.compare.total")] = int(sum(tier_migration[old].values()))
        rows.append(row)
    return pd.DataFrame(rows)


def customer_moves(comp):
    """One row per customer: id, status, tier before, tier now (translated), for the download."""
    m = comp.migration
    id_col = m.columns[0]

    def word(x):
        return tier_word(x) if x in (*TIERS, LEFT, "New") else ""

    return pd.DataFrame({
        t("monitoring.compare.customer"): m[id_col].to_numpy(),
        t("monitoring.compare.status"): [t(f"monitoring.status.{s}") for s in m["status"]],
        t("monitoring.compare.tier_old"): [word(x) for x in m["tier_old"]],
        t("monitoring.compare.tier_new"): [word(x) for x in m["tier_new"]],
    })


def migration_section(comp):
    """How the risk tiers of the earlier customers moved (with the model), chart and table."""
    st.subheader(t("monitoring.compare.migration"))
    st.caption(t("monitoring.compare.migration.help"))
    moves = comp.figures.get("tier_migration")
    if moves is None:
        st.info(t("monitoring.compare.migration.need_model"))
    else:
        words = {x: tier_word(x) for x in (*TIERS, LEFT)}
        st.altair_chart(build_migration_chart(moves, words=words, title_old=t("monitoring.compare.tier_old"),
                                              title_new=t("monitoring.compare.tier_new")), width="stretch")
        table = migration_table(moves)
        st.dataframe(table, hide_index=True, width="stretch")
        ui.download_buttons(table, "tier_migration", key="monitoring_migration")
    if st.toggle(t("monitoring.compare.customers_export"), key="monitoring_export",
                 help=t("monitoring.compare.customers_export.help")):
        ui.download_buttons(customer_moves(comp), "migration", key="monitoring_customers")


def drift_section(comp):
    """PSI per column with its plain-language flag, chart and table."""
    st.subheader(t("monitoring.compare.drift"))
    st.caption(t("monitoring.compare.drift.help"))
    drift = comp.drift
    if not len(drift):
        st.info(t("monitoring.compare.drift.none"))
        return
    counts = comp.figures.get("drift_flags", {})
    st.markdown(t("monitoring.compare.drift.summary", major=number(counts.get("major_shift", 0)),
                  moderate=number(counts.get("moderate_shift", 0)), stable=number(counts.get("stable", 0))))
    words = {f: flag_word(f) for f in DRIFT_FLAGS}
    st.altair_chart(build_drift_chart(drift, words=words, title_column=t("monitoring.compare.column"),
                                      title_psi=t("monitoring.compare.psi")), width="stretch")
    table = pd.DataFrame({
        t("monitoring.compare.column"): drift["column"].astype(str).to_numpy(),
        t("monitoring.compare.psi"): drift["psi"].astype(float).round(4).to_numpy(),
        t("monitoring.compare.flag"): [flag_word(f) for f in drift["flag"]],
    })
    st.dataframe(table, hide_index=True, width="stretch")
    ui.download_buttons(table, "drift", key="monitoring_drift")


def page():
    state.require_dataset()
    ws = state.get_workspace()
    st.subheader(t("monitoring.compare.title"))
    dates = snapshot_dates(ws)
    source = choose_source(dates)
    if source == "dates":
        picked = pick_dates(dates)
        comp = comparison(ws, source, dates=picked) if picked else None
    else:
        load = pick_upload()
        comp = comparison(ws, source, load=load) if load is not None else None
    if comp is None:
        return
    f = comp.figures
    customers_section(f)
    value_section(ws, f)
    products_section(comp)
    migration_section(comp)
    drift_section(comp)


st.title(t("monitoring.title"))
st.caption(t("monitoring.intro"))
with ui.error_boundary("monitoring", prefixes=PREFIXES):
    page()
