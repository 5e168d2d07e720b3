"""Safe SQL: analysts query ``customers`` (and other loaded tables); one SELECT, capped rows, bytes and time.

Everything the user typed or the data holds is shown as text or a dataframe, never as Markdown.
"""

import pandas as pd
import streamlit as st

from churn_core.analysis import sqlguard
from churn_core.errors import ChurnCoreError
from churn_core.sharing import formatting as F
from studio import state, ui
from studio.i18n import load_catalogue, t

PREFIXES = ("sql_", "_sql_")
MAX_ROWS = 10_000
TIMEOUT_S = 10.0
#: DuckDB error classes (start of the database's message) and the translated sentence for each.
DB_ERRORS = (("Binder Error", "sql.db.binder"), ("Catalog Error", "sql.db.catalog"),
             ("Parser Error", "sql.db.parser"), ("Conversion Error", "sql.db.conversion"),
             ("Out of Range Error", "sql.db.out_of_range"), ("Invalid Input Error", "sql.db.invalid_input"),
             ("Not implemented Error", "sql.db.not_implemented"))


def example_label(code):
    return t("sql.examples.pick") if code is None else t(f"sql.example.{code}")


def use_example():
    picked = st.session_state.get("sql_example")
    for code, sql in st.session_state.get("_sql_examples", {}).items():
        if example_label(code) == picked:
            st.session_state["sql_text"] = sql


def show_error(exc):
    """A translated message; user text in it is escaped and the database's own words go in a code box."""
    code = getattr(exc, "code", "") or ""
    params = dict(getattr(exc, "params", {}) or {})
    detail = str(params.get("detail", ""))
    if code in ("sql.query_failed", "sql.syntax"):
        fallback = "sql.db.parser" if code == "sql.syntax" else "sql.db.other"
        key = next((k for prefix, k in DB_ERRORS if detail.startswith(prefix)), fallback)
        st.error(t(key), icon=":material/error:")
        if detail:
            st.caption(t("sql.db.detail"))
            st.code(detail, language=None)
    elif f"error.{code}" in load_catalogue("en"):
        st.error(ui.md(f"error.{code}", **params), icon=":material/error:")
    else:
        st.error(t("sql.db.other"), icon=":material/error:")
    st.caption(t("sql.refusal_help"))


def tables_section(store):
    with st.expander(t("sql.tables"), expanded=False):
        rows = [{t("sql.col.table"): name, t("sql.col.column"): c} for name in store.tables()
                for c in store.columns(name)]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def query_section(ds, store, cols):
    examples = sqlguard.example_queries(list(ds.df.columns), label=cols.label, positive=cols.positive,
                                        group=cols.region or (cols.products if cols.products else None),
                                        balance=cols.balance or cols.assets or cols.value_column)
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
            st.session_state["_sql_result"] = (ds.key, result)
            st.session_state.pop("_sql_error", None)
        except ChurnCoreError as exc:
            st.session_state["_sql_error"] = exc
            st.session_state.pop("_sql_result", None)


def result_section(ds):
    error = st.session_state.get("_sql_error")
    if error is not None:
        show_error(error)
    saved = st.session_state.get("_sql_result")
    if not saved or saved[0] != ds.key:
        return
    result = saved[1]
    st.caption(t("sql.summary", rows=F.number(len(result.frame)), seconds=f"{result.elapsed_s:.2f}"))
    if result.truncation:
        code, params = result.truncation
        st.warning(t(code, **params))
    st.dataframe(result.frame, hide_index=True, width="stretch")
    ui.download_buttons(result.frame, "sql_result", key="sql_result")


def sql_page():
    ds = state.require_dataset()
    st.title(t("sql.title"))
    st.caption(t("sql.intro", rows=F.number(MAX_ROWS), seconds=f"{TIMEOUT_S:g}"))
    store = state.get_store()
    cols = state.get_column_map(ds)
    tables_section(store)
    query_section(ds, store, cols)
    result_section(ds)


with ui.error_boundary("sql", prefixes=PREFIXES):
    sql_page()
