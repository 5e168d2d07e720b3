"""Sidebar tools on every page: the one-click board report and save / restore of the session."""

import streamlit as st

from churn_core.errors import ChurnCoreError
from studio import state
from studio.i18n import current_lang, t, t_error
from studio.ui import escape_md

PENDING_KEY = "_pending_session"  # a read session file waiting for its data
REPORT_KEY = "_board_report"      # (workspace key, lang, html)
SESSION_BYTES_KEY = "_session_bytes"


def sidebar_tools():
    """The sidebar's board report and session save/restore (one expander each)."""
    ws = state.get_workspace()
    _apply_pending(ws)
    with st.sidebar.expander(t("app.tools.report"), icon=":material/summarize:"):
        _board_report(ws)
    with st.sidebar.expander(t("app.tools.session"), icon=":material/save:"):
        _save_session(ws)
        _restore_session(ws)


def _board_report(ws):
    from churn_core.sharing.board_report import build_board_report

    if ws.model_ is None:
        st.caption(t("app.tools.report_needs_model"))
        return
    lang = current_lang()
    key = (ws.key("board_report"), lang, str(state.get_result("last_plan_key")))
    cached = st.session_state.get(REPORT_KEY)
    if st.button(t("app.tools.report_prepare"), key="_report_prepare", icon=":material/description:"):
        try:
            with st.spinner(t("app.tools.report_building")):
                page = build_board_report(ws, lang=lang, plan=state.get_result("last_plan"),
                                          compare=state.get_result("compare"))
            cached = (key, page)
            st.session_state[REPORT_KEY] = cached
        except ChurnCoreError as exc:
            st.error(t_error(exc))
            return
    if cached and cached[0] == key:
        st.download_button(t("app.tools.report_download"), data=cached[1].encode("utf-8"),
                           file_name="board_report.html", mime="text/html", key="_report_download",
                           icon=":material/download:")


def _save_session(ws):
    from churn_core.sharing.session import save_session

    if not ws.has_data:
        st.caption(t("app.tools.session_needs_data"))
        return
    if st.button(t("app.tools.session_prepare"), key="_session_prepare", icon=":material/save:"):
        try:
            data = save_session(ws, segments=state.get_segments(), scenarios=state.get_result("scenarios") or {},
                                extra=_page_settings())
            st.session_state[SESSION_BYTES_KEY] = (ws.key("session"), data)
        except ChurnCoreError as exc:
            st.error(t_error(exc))
    saved = st.session_state.get(SESSION_BYTES_KEY)
    if saved and saved[0] == ws.key("session"):
        st.download_button(t("app.tools.session_download"), data=saved[1], file_name="retention_session.rsession",
                           mime="application/zip", key="_session_download", icon=":material/download:")


SIM_KEPT, SIM_CATALOGUE = "_sim_kept", "_sim_catalogue"  # the simulator page's own kept settings


def _page_settings():
    """Page settings worth restoring: the language, the simulator's settings and offer catalogue."""
    from churn_core.retention.offers import catalogue_to_records

    extra = {"lang": current_lang()}
    if SIM_KEPT in st.session_state:
        extra["simulator"] = dict(st.session_state[SIM_KEPT])
    if st.session_state.get(SIM_CATALOGUE) is not None:
        extra["offers"] = catalogue_to_records(st.session_state[SIM_CATALOGUE])
    return extra


def _restore_page_settings(extra):
    import json

    from churn_core.retention.offers import catalogue_from_json

    if extra.get("simulator"):
        st.session_state[SIM_KEPT] = dict(extra["simulator"])
    if extra.get("offers"):
        try:
            st.session_state[SIM_CATALOGUE] = catalogue_from_json(json.dumps({"offers": extra["offers"]}))
        except ChurnCoreError:
            pass


def _restore_session(ws):
    from churn_core.sharing.session import read_session

    upload = st.file_uploader(t("app.tools.session_restore"), type=["rsession"], key="_session_upload")
    if upload is None:
        return
    if st.session_state.get("_session_upload_seen") == upload.file_id:
        return
    st.session_state["_session_upload_seen"] = upload.file_id
    try:
        session = read_session(upload.getvalue())
    except ChurnCoreError as exc:
        st.error(t_error(exc))
        return
    st.session_state[PENDING_KEY] = session
    _apply_pending(ws, announce=True)


def _apply_pending(ws, announce=False):
    """Apply a read session once the same data is loaded (it asks for the file otherwise)."""
    from churn_core.sharing.session import restore_session

    session = st.session_state.get(PENDING_KEY)
    if session is None:
        return
    if not ws.has_data or ws.load_.fingerprint != session.fingerprint:
        if announce or ws.has_data:
            st.sidebar.info(t("app.tools.session_load_file", name=escape_md(session.source_name)))
        return
    try:
        restore_session(ws, session)
    except ChurnCoreError as exc:
        st.sidebar.error(t_error(exc))
        st.session_state.pop(PENDING_KEY, None)
        return
    for name, seg in session.segments.items():
        state.save_segment(name, seg)
    if session.scenarios:
        state.set_result("scenarios", session.scenarios)
    _restore_page_settings(session.extra or {})
    st.session_state.pop(PENDING_KEY, None)
    st.sidebar.success(t("app.tools.session_restored"))
