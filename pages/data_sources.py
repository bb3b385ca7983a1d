"""Is the data behind these screens complete and fresh?

Per source: when it last synced and how that went, the rows it holds per feed, its latest
event, and every row it could not load, with the reason.
"""

import pandas as pd
import streamlit as st

from metrics.registry import label
from pages.filters import current_filters
from pages.loaders import load


def source_box(source: str, rows: pd.DataFrame) -> None:
    """One source: its last sync, and the rows it holds per feed with their latest event."""
    first = rows.iloc[0]
    with st.container(border=True):
        st.subheader(label("source_status", source=source, kind=first["kind"]))
        if first["last_status"] != "ok":
            st.error(f"The last sync failed: {first['last_error']}")
        st.caption(
            f"Last sync {first['last_sync_at']:%Y-%m-%d %H:%M} UTC · "
            f"last successful {first['last_success_at']:%Y-%m-%d %H:%M} UTC"
            if first["last_success_at"] == first["last_success_at"]
            else f"Last sync {first['last_sync_at']:%Y-%m-%d %H:%M} UTC · never successful"
        )
        held = rows[rows["feed"].notna()]
        if not held.empty:
            st.dataframe(
                held[["feed", "row_count", "quarantined", "latest_at"]].rename(
                    columns={"row_count": "rows", "latest_at": "latest event (UTC)"}
                ),
                hide_index=True,
            )


def quarantine() -> None:
    """Quarantined rows per source, feed and reason, and the rows of one source."""
    st.subheader(label("quarantine_reasons"))
    reasons = load("quarantine_reasons")
    if reasons.empty:
        st.success("No row has been quarantined: everything read was loaded.")
        return
    st.dataframe(reasons, hide_index=True)
    sources = sorted(reasons["source"].unique())
    chosen = st.selectbox(label("quarantine_rows"), sources, key="quarantine_source")
    st.dataframe(load("quarantine_rows", None, chosen), hide_index=True)


def layout() -> None:
    current_filters()  # honours no filter (app.py shows none), but runs through app.py
    st.title("Data sources")
    status = load("source_status")
    if status.empty:
        st.info("Nothing has been synced yet. Run `python -m connectors sync`.")
        st.stop()
    for source, rows in status.groupby("source", sort=True):
        source_box(source, rows)
    quarantine()


layout()
