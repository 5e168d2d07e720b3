"""Home: what the product does, in six steps, and where to start."""

import streamlit as st

from studio import state
from studio.i18n import t

st.title(t("app.title"))
st.markdown(f"##### {t('app.tagline')}")
st.write(t("app.home.intro"))
for step in range(1, 7):
    st.markdown(t(f"app.home.step{step}"))
state.page_link("pages/1_data.py", t("app.home.start"), ":material/upload_file:")
st.caption(t("app.home.privacy"))
