"""Win-back (流失客户回访): the customers who left, the most valuable loss first, why they left, the
win-back offer and its cost; value lost by segment and by cause. Every figure is asked from the
workspace (``ws.winback``, ``ws.lost``) and the engine's win-back module.
"""

import pandas as pd
import streamlit as st

from churn_core.data.meanings import CAUSES
from churn_core.retention.winback import compute_value_lost_by, compute_value_lost_by_cause
from churn_core.sharing.formatting import money, number, pct
from studio import state, ui
from studio.i18n import current_lang, t

MAX_ROWS = 5000  # rows shown on screen (the download holds every churned customer)
PREFIXES = ("winback_",)
K = 3


def cause_word(cause):
    return t(f"monitoring.cause.{cause}") if cause in CAUSES else t("monitoring.cause.none")


def fmt_money(ws, x):
    return money(x, ws.settings.currency, current_lang())


# ---------------------------------------------------------------- sections

def acting_on(ws):
    """Which customers this page is about, and how many."""
    n = len(ws.lost())
    st.info(t("monitoring.winback.acting_on", customers=number(n)), icon=":material/person_off:")
    return n


def summary(ws, wb):
    """Customers lost, value lost, the offer's cost for all of them."""
    a, b, c, d = st.columns(4)
    a.metric(t("monitoring.winback.customers"), number(len(wb)))
    b.metric(t("monitoring.winback.total_value_lost"), fmt_money(ws, wb["value_lost"].sum()))
    c.metric(t("monitoring.winback.avg_value_lost"), fmt_money(ws, wb["value_lost"].mean()))
    d.metric(t("monitoring.winback.total_offer_cost"), fmt_money(ws, wb["offer_cost"].sum()),
             help=t("monitoring.winback.total_offer_cost.help", offer=wb["offer_name"].iloc[0]))


def winback_frame(ws, wb, export=False):
    """The list with translated headers: money as text on screen, numbers in the download."""
    id_col = wb.columns[0]
    out = pd.DataFrame(index=wb.index)
    out[t("monitoring.winback.rank")] = range(1, len(wb) + 1)
    out[t("monitoring.winback.customer")] = wb[id_col].to_numpy()
    value = wb["value_lost"].to_numpy(dtype=float)
    out[t("monitoring.winback.value_lost")] = value.round(2) if export else [fmt_money(ws, v) for v in value]
    out[t("monitoring.winback.main_cause")] = [cause_word(c) for c in wb["main_cause"]]
    for j in range(1, K + 1):
        if f"reason_{j}" not in wb.columns:
            continue
        out[t(f"monitoring.winback.reason_{j}")] = wb[f"reason_{j}"].fillna("").to_numpy()
        if export:
            out[t(f"monitoring.winback.cause_{j}")] = [cause_word(c) if isinstance(c, str) and c else ""
                                                       for c in wb[f"cause_{j}"]]
            out[t(f"monitoring.winback.points_{j}")] = pd.to_numeric(wb[f"points_{j}"], errors="coerce").round(2).to_numpy()
    out[t("monitoring.winback.offer")] = wb["offer_name"].to_numpy()
    cost = wb["offer_cost"].to_numpy(dtype=float)
    out[t("monitoring.winback.offer_cost")] = cost.round(2) if export else [fmt_money(ws, v) for v in cost]
    return out.reset_index(drop=True)


def winback_list(ws, wb):
    """Every churned customer, value lost first, with why they left and the offer."""
    st.subheader(t("monitoring.winback.list_title"))
    st.caption(t("monitoring.winback.list_count", n=number(len(wb)), shown=number(min(len(wb), MAX_ROWS))))
    st.dataframe(winback_frame(ws, wb.head(MAX_ROWS)), hide_index=True, width="stretch")
    if st.toggle(t("monitoring.winback.prepare"), key="winback_export", help=t("monitoring.winback.prepare.help")):
        ui.download_buttons(winback_frame(ws, wb, export=True), "winback_list", key="winback_list")


def loss_table(ws, frame, group_title):
    """A value-lost table (``group, customers, value_lost, share``) with translated headers."""
    first = frame.columns[0]
    return pd.DataFrame({
        group_title: frame[first].to_numpy(),
        t("monitoring.winback.customers"): frame["customers"].astype(int).to_numpy(),
        t("monitoring.winback.value_lost"): [fmt_money(ws, v) for v in frame["value_lost"]],
        t("monitoring.winback.share"): [pct(v) for v in frame["share_of_value_lost"]],
    })


def loss_chart(frame, group_title, field):
    """Bars of value lost per group (largest first); ``field`` is a translated name without the
    characters Vega reads as paths (a user's column name only titles the axis)."""
    first = frame.columns[0]
    value = t("monitoring.winback.value_lost")
    data = pd.DataFrame({field: frame[first].astype(str).to_numpy(),
                         value: frame["value_lost"].to_numpy(dtype=float)})
    st.bar_chart(data, x=field, y=value, horizontal=True, sort=f"-{value}", x_label=group_title, y_label=value)


def segment_columns(ws):
    """Columns to group the lost value by (not the id or the label): categories first, those that
    are not protected attributes (gender, age...) before those that are."""
    lost = ws.lost()
    skip = {ws.id_column, ws.roles_.label}
    snap = ws.meanings_.column("snapshot_date")
    cols = [c for c in lost.columns if c not in skip]
    small = [c for c in cols if c != snap and not pd.api.types.is_numeric_dtype(lost[c])
             and 2 <= lost[c].nunique() <= 12]
    small.sort(key=ws.meanings_.is_protected)  # stable: file order otherwise
    return small + [c for c in cols if c not in small]


def by_segment(ws, wb):
    """Value lost per group of a column the user picks."""
    st.subheader(t("monitoring.winback.by_segment"))
    cols = segment_columns(ws)
    if not cols:
        return
    column = st.selectbox(t("monitoring.winback.segment_column"), cols, key="winback_segment_column")
    frame = compute_value_lost_by(wb, ws.lost(), column)
    frame[column] = frame[column].astype(object).where(frame[column].notna(), t("monitoring.winback.missing"))
    title = str(column)
    loss_chart(frame, title, t("monitoring.winback.group"))
    table = loss_table(ws, frame, title)
    st.dataframe(table, hide_index=True, width="stretch")


def by_cause(ws, wb):
    """Value lost per main cause (the five causes, and 'not explained')."""
    st.subheader(t("monitoring.winback.by_cause"))
    frame = compute_value_lost_by_cause(wb)
    frame["cause"] = [cause_word(c) for c in frame["cause"]]
    title = t("monitoring.winback.main_cause")
    loss_chart(frame, title, title)
    table = loss_table(ws, frame, title)
    st.dataframe(table, hide_index=True, width="stretch")
    ui.download_buttons(frame.rename(columns={"cause": title, "customers": t("monitoring.winback.customers"),
                                              "value_lost": t("monitoring.winback.value_lost"),
                                              "share_of_value_lost": t("monitoring.winback.share")}),
                        "value_lost_by_cause", key="winback_by_cause")


def page():
    state.require_dataset()
    state.require_model()
    ws = state.get_workspace()
    if ws.roles_.label is None:
        st.info(t("monitoring.winback.no_label"))
        return
    if not acting_on(ws):
        st.info(t("monitoring.winback.none"))
        return
    with st.spinner(t("monitoring.winback.explaining")):
        wb = ws.winback(lang=current_lang())
    summary(ws, wb)
    winback_list(ws, wb)
    by_cause(ws, wb)
    by_segment(ws, wb)


st.title(t("monitoring.winback.title"))
st.caption(t("monitoring.winback.intro"))
with ui.error_boundary("winback", prefixes=PREFIXES):
    page()
