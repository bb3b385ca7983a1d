"""Tandem: delivery, collaboration and model health on one screen. `streamlit run app.py`"""

import streamlit as st

from pages import common

st.set_page_config(page_title="Tandem", page_icon=":material/join_inner:", layout="wide")

PAGES = [
    st.Page(
        "pages/weekly_retro.py",
        title="Weekly retrospective",
        icon=":material/event_repeat:",
        default=True,
    ),
    st.Page("pages/kpi_check.py", title="KPI check", icon=":material/monitoring:"),
    st.Page(
        "pages/drift_investigation.py", title="Drift investigation", icon=":material/troubleshoot:"
    ),
    st.Page("pages/model_overview.py", title="Model overview", icon=":material/model_training:"),
    st.Page("pages/data_sources.py", title="Data sources", icon=":material/database:"),
]

page = st.navigation(PAGES)
if common.ensure_warehouse():
    st.session_state["filters"] = common.sidebar_filters()
    page.run()
