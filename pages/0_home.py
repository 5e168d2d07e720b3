"""Home: what the product does, in six steps, and where to start (the Data page)."""

import streamlit as st

from studio import state, ui
from studio.i18n import t


def introduction():
    st.title(t("app.title"))
    st.markdown(f"##### {t('app.tagline')}")
    st.write(t("app.home.intro"))


def steps():
    for step in range(1, 7):
        st.markdown(t(f"app.home.step{step}"))


def start():
    state.page_link(state.DATA_PAGE, t("app.home.start"), ":material/upload_file:")
    st.caption(t("app.home.privacy"))


with ui.error_boundary("home", prefixes=("home_",)):
    introduction()
    steps()
    start()
