"""Tandem: delivery, collaboration and model health on one screen. `streamlit run app.py`"""

from pathlib import Path
from typing import Any

import streamlit as st

import settings
import warehouse
from metrics import access
from pages import filters, loaders, notes, signin

# Each page with the shared filters it honours: the sidebar offers only those, so every filter
# shown changes what the page shows. The retro picks its own week; sources are not filtered.
PAGES = {
    st.Page(
        "pages/weekly_retro.py",
        title="Weekly retrospective",
        icon=":material/event_repeat:",
        default=True,
    ): ("team", "model"),
    st.Page("pages/kpi_check.py", title="KPI check", icon=":material/monitoring:"): filters.SHARED,
    st.Page(
        "pages/drift_investigation.py", title="Drift investigation", icon=":material/troubleshoot:"
    ): filters.SHARED,
    st.Page(
        "pages/model_overview.py", title="Model overview", icon=":material/model_training:"
    ): filters.SHARED,
    st.Page("pages/data_sources.py", title="Data sources", icon=":material/database:"): (),
}
# What a viewer (a business owner) may open: the figures, not the rows behind them.
VIEWER_PAGES = ("Weekly retrospective", "KPI check", "Model overview")


def pages_for(scope: access.Scope) -> list[st.Page]:
    """The pages the scope may open: a viewer's three, everyone else's five."""
    if scope.role == "viewer":
        return [page for page in PAGES if page.title in VIEWER_PAGES]
    return list(PAGES)


def first_sync(cfg: settings.Config, box: Any) -> Any:
    """Sync the configured sources into the warehouse, the progress written into `box`."""
    # Imported here: the connectors bring SQLAlchemy, sqlglot and every source's client, about
    # 0.7 s of CPU on a process's first page view, and only a first sync needs them.
    from connectors import sync

    class StatusProgress(sync.Progress):
        def source_started(self, name: str, total_batches: int | None) -> None:
            box.write(f"Reading source **{name}**…")

        def source_skipped(self, name: str) -> None:
            box.write(f"Source **{name}**: unchanged since the last sync, skipped")

        def batch_done(self, name: str, batch: Any, stats: Any) -> None:
            box.write(
                f"{batch.feed}: {stats.loaded:,} rows loaded, {stats.quarantined:,} quarantined"
            )

    return sync.run(cfg, progress=StatusProgress())


@st.cache_resource(max_entries=4)
def _needs_upgrade(path: str, version: tuple | None) -> bool:
    # Once per warehouse version, not on every run: opening the file to read its schema version
    # is ~0.1 s at the reference scale, warm views included. `version` is in the cache key.
    return warehouse.needs_upgrade(Path(path))


def ensure_warehouse() -> bool:
    """Fill an empty warehouse (or upgrade an old one) by syncing, with a visible status.

    Returns False, having said why on the page, when there is nothing to show.
    """
    try:
        cfg = loaders.config()
    except settings.ConfigError as error:
        st.error(f"The configuration cannot be used: {error}")
        return False
    path = cfg.warehouse
    try:
        needed = not path.exists() or _needs_upgrade(str(path), warehouse.version(path))
    except warehouse.WarehouseError as error:
        st.error(f"The warehouse cannot be read: {error}")
        return False
    if not needed:
        return True
    label = (
        "Loading the demo year"
        if any(s.kind == "demo" for s in cfg.sources)
        else "Syncing the configured sources"
    )
    with st.status(f"{label} into {path.name}…", expanded=True) as box:
        try:
            report = first_sync(cfg, box)
        except (settings.ConfigError, warehouse.WarehouseError) as error:
            box.update(label="The first sync failed", state="error")
            st.error(str(error))
            return False
        for notice in report.notices:
            st.info(notice)
        for source in report.sources:
            if not source.ok:
                st.warning(source.error)
        box.update(label="Warehouse ready", state="complete", expanded=False)
    return path.exists()


st.set_page_config(page_title="Tandem", page_icon=":material/join_inner:", layout="wide")
scope = signin.gate()
if scope is None:
    # Refused or signed out: no page links either (a person removed from [access] while
    # signed in would otherwise keep the previous run's list in the sidebar).
    st.navigation(list(PAGES), position="hidden")
else:
    page = st.navigation(pages_for(scope))
    if ensure_warehouse():
        try:
            with loaders.one_connection_per_run():
                st.session_state["filters"] = filters.sidebar_filters(PAGES[page])
                notes.sidebar_author()
                page.run()
        except access.NotInScope as refused:
            signin.not_in_scope(refused)
