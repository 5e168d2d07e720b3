"""Safe SQL: analysts query ``customers`` (and other loaded tables); one SELECT, capped rows and time."""

import streamlit as st

from churn_core.analysis import sqlguard
from churn_core.errors import ChurnCoreError
from studio import state, ui
from studio.i18n import t

MAX_ROWS = 10_000
TIMEOUT_S = 10.0


def example_label(code):
    return t("sql.examples.pick") if code is None else t(f"sql.example.{code}")


def use_example():
    picked = st.session_state.get("sql_example")
    examples = st.session_state.get("_sql_examples", {})
    for code, sql in examples.items():
        if example_label(code) == picked:
            st.session_state["sql_text"] = sql


ds = state.require_dataset()
st.title(t("sql.title"))
st.caption(t("sql.intro", rows=f"{MAX_ROWS:,}", seconds=f"{TIMEOUT_S:g}"))
store = state.get_store()
cols = state.get_column_map(ds)

tables = store.tables()
with st.expander(t("sql.tables"), expanded=False):
    for name in tables:
        st.markdown(f"**{name}**: " + ", ".join(f"`{c}`" for c in store.columns(name)))

examples = sqlguard.example_queries(list(ds.df.columns), label=cols.label, positive=cols.positive,
                                    group=cols.region or (cols.products if cols.products else None),
                                    balance=cols.balance or cols.assets)
st.session_state["_sql_examples"] = examples
st.selectbox(t("sql.examples"), [example_label(c) for c in [None] + list(examples)], key="sql_example",
             on_change=use_example)
if "sql_text" not in st.session_state:
    st.session_state["sql_text"] = examples["first_rows"]
query = st.text_area(t("sql.query"), key="sql_text", height=160)
if st.button(t("sql.run"), type="primary", key="sql_run", icon=":material/play_arrow:"):
    try:
        with st.spinner(t("sql.running")):
            result = sqlguard.run_user_sql(store, query, max_rows=MAX_ROWS, timeout_s=TIMEOUT_S)
        st.session_state["_sql_result"] = (ds.key, query, result)
        st.session_state.pop("_sql_error", None)
    except ChurnCoreError as exc:
        st.session_state["_sql_error"] = exc
        st.session_state.pop("_sql_result", None)

error = st.session_state.get("_sql_error")
if error is not None:
    ui.show_error(error)
    st.caption(t("sql.refusal_help"))
saved = st.session_state.get("_sql_result")
if saved and saved[0] == ds.key:
    _, ran, result = saved
    st.caption(t("sql.summary", rows=f"{len(result.frame):,}", seconds=f"{result.elapsed_s:.2f}"))
    if result.truncation:
        st.warning(t(result.truncation[0], **result.truncation[1]))
    st.dataframe(result.frame, hide_index=True, width="stretch")
    ui.download_buttons(result.frame, "sql_result", key="sql_result")
