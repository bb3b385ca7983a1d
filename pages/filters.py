"""The shared filters: window, team and model in the sidebar, kept in the URL.

app.py calls `sidebar_filters(honoured)` once per run, with the filters the page about to run
honours (its page list declares them), and keeps the result; a page reads it back with
`current_filters()`. The sidebar shows only the honoured filters: a filter that would change
nothing on a page is not offered there. A filter not shown keeps its value in the URL, so it
is still set when the reader goes back to a page that honours it.
"""

from __future__ import annotations

from collections.abc import Collection

import streamlit as st

from metrics import access
from metrics.filters import DEFAULT_WINDOW_DAYS, Filters, last_days
from pages import signin
from pages.loaders import load

WINDOWS = {"7d": 7, "28d": 28, "90d": 90, "365d": 365}
WINDOW_LABELS = {
    "7d": "Last 7 days",
    "28d": "Last 28 days",
    "90d": "Last 90 days",
    "365d": "Last 365 days",
}
ALL = "All"
SHARED = ("window", "team", "model")
DEFAULT_WINDOW = f"{DEFAULT_WINDOW_DAYS}d"


def sidebar_filters(honoured: Collection[str] = SHARED) -> Filters:
    """The `honoured` filters (of window, team, model) in the sidebar, kept in the URL so a
    view can be shared. The window is the last N days as everywhere (`last_days`)."""
    params = st.query_params
    catalog = load("catalog")
    teams = sorted(t for t in catalog["team"].dropna().unique())
    window_key = params.get("window", DEFAULT_WINDOW)
    window_key = window_key if window_key in WINDOWS else DEFAULT_WINDOW
    team = params.get("team", ALL)
    _refuse_outside_scope(team, teams)
    team = team if team in teams else ALL
    scoped = catalog if team == ALL else catalog[catalog["team"] == team]
    model_choices = sorted(m for m in scoped["model"].dropna().unique())
    model = params.get("model", ALL)
    _refuse_outside_scope(model, catalog["model"].dropna().unique())
    model = model if model in model_choices else ALL
    with st.sidebar:
        if "window" in honoured:
            window_key = st.selectbox(
                "Window",
                list(WINDOWS),
                index=list(WINDOWS).index(window_key),
                format_func=WINDOW_LABELS.get,
                key="filter_window",
            )
        if "team" in honoured:
            team = st.selectbox(
                "Team", [ALL, *teams], index=([ALL, *teams]).index(team), key="filter_team"
            )
            scoped = catalog if team == ALL else catalog[catalog["team"] == team]
            model_choices = sorted(m for m in scoped["model"].dropna().unique())
            model = model if model in model_choices else ALL
        if "model" in honoured:
            model = st.selectbox(
                "Model",
                [ALL, *model_choices],
                index=([ALL, *model_choices]).index(model),
                key="filter_model",
            )
    for name, value, default in (
        ("window", window_key, DEFAULT_WINDOW),
        ("team", team, ALL),
        ("model", model, ALL),
    ):
        if name not in honoured:
            continue  # not shown here: the URL keeps it for the pages that honour it
        if value == default:
            if name in params:
                del params[name]
        elif params.get(name) != value:
            params[name] = value
    return last_days(
        WINDOWS[window_key],
        team=None if team == ALL or "team" not in honoured else team,
        model=None if model == ALL or "model" not in honoured else model,
    )


def _refuse_outside_scope(chosen: str, visible: Collection[str]) -> None:
    """A signed-in person's link naming a team or model they do not see is refused, not
    quietly widened to "All" (which would hide that the link was for someone else)."""
    if chosen != ALL and chosen not in set(visible) and not signin.current().admin:
        raise access.NotInScope()


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
