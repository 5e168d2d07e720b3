"""Retention Studio: the entry point only routes (language switch + navigation over pages/)."""

from pathlib import Path

import streamlit as st

from churn_core.errors import ChurnCoreError
from churn_core.sharing.formatting import number
from studio import state, ui
from studio.i18n import language_switch, t
from studio.session_ui import sidebar_tools

ROOT = Path(__file__).resolve().parent

# (section key, page file, title key, icon); the first page is the default.
PAGES = [
    ("app.section.data", "pages/0_home.py", "app.page.home", ":material/home:"),
    ("app.section.data", "pages/1_data.py", "app.page.data", ":material/upload_file:"),
    ("app.section.data", "pages/12_workshop.py", "app.page.workshop", ":material/school:"),
    ("app.section.analysis", "pages/2_segments.py", "app.page.segments", ":material/category:"),
    ("app.section.analysis", "pages/3_value.py", "app.page.value", ":material/payments:"),
    ("app.section.analysis", "pages/4_sql.py", "app.page.sql", ":material/terminal:"),
    ("app.section.model", "pages/5_model.py", "app.page.model", ":material/model_training:"),
    ("app.section.model", "pages/6_early_warning.py", "app.page.warning", ":material/notifications_active:"),
    ("app.section.model", "pages/10_winback.py", "app.page.winback", ":material/person_add:"),
    ("app.section.model", "pages/7_drivers.py", "app.page.drivers", ":material/insights:"),
    ("app.section.action", "pages/8_simulator.py", "app.page.simulator", ":material/target:"),
    ("app.section.action", "pages/9_campaigns.py", "app.page.campaigns", ":material/science:"),
    ("app.section.monitor", "pages/11_monitoring.py", "app.page.monitoring", ":material/monitoring:"),
]

st.set_page_config(page_title="Retention Studio", page_icon=str(ROOT / "assets" / "icon.png"), layout="wide")
language_switch()

sections = {}
for section, path, title, icon in PAGES:
    if (ROOT / path).exists():
        sections.setdefault(t(section), []).append(
            st.Page(path, title=t(title), icon=icon, default=path.endswith("0_home.py"))
        )


def sidebar_status():
    """Which file is loaded (and which customers are acted on); file names escaped, never Markdown."""
    ws = state.get_workspace()
    if not ws.has_data:
        st.sidebar.caption(t("app.no_data"))
        return
    st.sidebar.caption(t("app.loaded", name=ui.escape_md(ws.load_.source_name), rows=number(ws.load_.rows_loaded)))
    if ws.current_ is not None:
        st.sidebar.caption(t("app.current_loaded", name=ui.escape_md(ws.current_.source_name),
                             rows=number(ws.current_.rows_loaded)))
        return
    try:
        book = ws.describe_book()
    except ChurnCoreError:
        return
    st.sidebar.caption(t(f"app.book.{book['source']}", customers=number(book["customers"]),
                         snapshot=book["snapshot"] or "–"))


sidebar_status()
sidebar_tools()

st.navigation(sections).run()
