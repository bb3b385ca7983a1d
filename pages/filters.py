"""The shared filters: window, team and model in the sidebar, kept in the URL.

app.py calls `sidebar_filters()` once per run and keeps the result; a page reads it back with
`current_filters()`.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from metrics.filters import Filters, today_end
from pages.loaders import load

WINDOWS = {"7d": 7, "28d": 28, "90d": 90, "365d": 365}
WINDOW_LABELS = {
    "7d": "Last 7 days",
    "28d": "Last 28 days",
    "90d": "Last 90 days",
    "365d": "Last 365 days",
}
ALL = "All"


def sidebar_filters() -> Filters:
    """Window, team and model in the sidebar, kept in the URL so a view can be shared."""
    params = st.query_params
    catalog = load("catalog")
    teams = sorted(t for t in catalog["team"].dropna().unique())
    window_key = params.get("window", "28d")
    if window_key not in WINDOWS:
        window_key = "28d"
    team = params.get("team", ALL)
    team = team if team in teams else ALL
    with st.sidebar:
        window_key = st.selectbox(
            "Window",
            list(WINDOWS),
            index=list(WINDOWS).index(window_key),
            format_func=WINDOW_LABELS.get,
            key="filter_window",
        )
        team = st.selectbox(
            "Team", [ALL, *teams], index=([ALL, *teams]).index(team), key="filter_team"
        )
        scoped = catalog if team == ALL else catalog[catalog["team"] == team]
        model_choices = sorted(m for m in scoped["model"].dropna().unique())
        model = params.get("model", ALL)
        model = model if model in model_choices else ALL
        model = st.selectbox(
            "Model",
            [ALL, *model_choices],
            index=([ALL, *model_choices]).index(model),
            key="filter_model",
        )
    for name, value, default in (
        ("window", window_key, None),
        ("team", team, ALL),
        ("model", model, ALL),
    ):
        if value == default:
            if name in params:
                del params[name]
        elif params.get(name) != value:
            params[name] = value
    until = today_end()
    since = until - dt.timedelta(days=WINDOWS[window_key])
    return Filters(since, until, None if team == ALL else team, None if model == ALL else model)


def current_filters() -> Filters:
    """The filters app.py set for this run; a page reached without app.py hands back to it."""
    _through_app()
    return st.session_state["filters"]


def _through_app() -> None:
    # A `pages/` folder next to the entry point makes Streamlit start in its old multipage
    # mode, where a URL that names a page runs that file alone, without app.py (no sidebar,
    # no filters) until some run has called st.navigation. Switch that mode off and rerun:
    # the rerun goes through app.py, whose navigation resolves the same URL to the same page.
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory or "filters" not in st.session_state:
        PagesManager.uses_pages_directory = False
        st.rerun()


def models_in_scope(filters: Filters) -> list[str]:
    """The models the filters allow, for pages that show one model at a time."""
    if filters.model:
        return [filters.model]
    catalog = load("catalog")
    if filters.team:
        catalog = catalog[catalog["team"] == filters.team]
    return sorted(m for m in catalog["model"].dropna().unique())
