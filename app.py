"""Retention Studio: the entry point only routes (language switch + navigation over pages/)."""

from pathlib import Path

import streamlit as st

from studio import state
from studio.i18n import language_switch, t

ROOT = Path(__file__).resolve().parent

# (section key, page file, title key, icon); the first page is the default.
PAGES = [
    ("app.section.data", "pages/0_home.py", "app.page.home", ":material/home:"),
    ("app.section.data", "pages/1_data.py", "app.page.data", ":material/upload_file:"),
    ("app.section.analysis", "pages/2_segments.py", "app.page.segments", ":material/category:"),
    ("app.section.analysis", "pages/3_value.py", "app.page.value", ":material/payments:"),
    ("app.section.analysis", "pages/4_sql.py", "app.page.sql", ":material/terminal:"),
    ("app.section.model", "pages/5_model.py", "app.page.model", ":material/model_training:"),
    ("app.section.model", "pages/6_early_warning.py", "app.page.warning", ":material/notifications_active:"),
    ("app.section.model", "pages/7_drivers.py", "app.page.drivers", ":material/insights:"),
    ("app.section.action", "pages/8_simulator.py", "app.page.simulator", ":material/target:"),
    ("app.section.action", "pages/9_campaigns.py", "app.page.campaigns", ":material/science:"),
]

st.set_page_config(page_title="Retention Studio", page_icon=str(ROOT / "assets" / "icon.png"), layout="wide")
language_switch()

sections = {}
for section, path, title, icon in PAGES:
    if (ROOT / path).exists():
        sections.setdefault(t(section), []).append(
            st.Page(path, title=t(title), icon=icon, default=path.endswith("0_home.py"))
        )

dataset = state.get_dataset()
if dataset is None:
    st.sidebar.caption(t("app.no_data"))
else:
    st.sidebar.caption(t("app.loaded", name=dataset.load.source_name, rows=f"{dataset.load.rows_loaded:,}"))

st.navigation(sections).run()
