"""Is the data behind these screens complete and fresh?

Per source: whether it is fresh (its last successful sync within the interval it is expected to
sync at), when it last synced and how that went, the rows it holds per feed with their latest
event, and every row it could not load, with the reason.
"""

import pandas as pd
import streamlit as st

from metrics import session
from metrics.formats import is_missing, timestamp
from metrics.registry import label
from metrics.sources import LEVELS
from metrics.status import BADGES
from pages import signin
from pages.filters import current_filters
from pages.loaders import load, load_access_log
from pages.tables import table


def freshness_line(fresh: pd.Series) -> str:
    """The source's freshness badge and why: "fresh · last synced 5.0 h ago, expected…"."""
    badge = BADGES[LEVELS[fresh["verdict"]]]
    return f":{badge}-badge[{fresh['verdict']}] {fresh['reason'][0].upper()}{fresh['reason'][1:]}."


def source_box(fresh: pd.Series, rows: pd.DataFrame) -> None:
    """One source: its freshness, its last sync, and the rows it holds per feed."""
    source = fresh["source"]
    with st.container(border=True):
        st.subheader(label("source_status", source=source, kind=fresh["kind"]))
        st.markdown(freshness_line(fresh))
        if rows.empty:
            st.caption("No sync of this source has run: `python -m connectors sync`.")
            return
        first = rows.iloc[0]
        if first["last_status"] != "ok":
            st.error(f"The last sync failed: {first['last_error']}")
        succeeded = (
            f"last successful {timestamp(first['last_success_at'])} UTC"
            if not is_missing(first["last_success_at"])
            else "never successful"
        )
        st.caption(f"Last sync {timestamp(first['last_sync_at'])} UTC · {succeeded}")
        table(
            rows[rows["feed"].notna()],
            ["feed", "row_count", "quarantined", "latest_at"],
            f"source_{source}",
            empty="This source holds no rows yet.",
        )


def quarantine() -> None:
    """Quarantined rows per source, feed and reason, and the rows of one source."""
    st.subheader(label("quarantine_reasons"))
    reasons = load("quarantine_reasons")
    if reasons.empty:
        st.success("No row has been quarantined: everything read was loaded.")
        return
    table(reasons, ["source", "feed", "reason", "row_count"], "quarantine_reasons")
    sources = sorted(reasons["source"].unique())
    chosen = st.selectbox(label("quarantine_rows"), sources, key="quarantine_source")
    admin = signin.current().admin
    shown = ["row_key", "feed", "reason", "origin", "row_number", "quarantined_at"]
    table(
        load("quarantine_rows", None, chosen),
        [*shown[:5], "raw", shown[5]] if admin else shown,
        f"quarantine_rows_{chosen}",
        caption="The newest 500."
        + ("" if admin else " What each row said is shown to admins only."),
        empty=f"No row of {chosen} is quarantined.",
    )


def access_log() -> None:
    """Admins: who signed in, who was refused, what was downloaded, and in which scope."""
    st.subheader("Access log")
    entries = load_access_log()
    if not entries:
        st.info("Nobody has signed in yet (in open mode nothing is logged but downloads).")
        return
    table(
        pd.DataFrame([entry.as_dict() for entry in entries]).assign(
            at=lambda f: pd.to_datetime(f["at"], utc=True)
        ),
        ["at", "who", "event", "scope", "detail"],
        "access_log",
        caption="The newest 500 entries.",
    )


def layout() -> None:
    current_filters()  # honours no filter (app.py shows none), but runs through app.py
    st.title("Data sources")
    # To the minute: the verdicts move with the clock, the cache with the minute.
    now = session.now().replace(second=0, microsecond=0)
    freshness = load("source_freshness", None, now)
    status = load("source_status")
    if freshness.empty:
        st.info("No source is configured and nothing has been synced yet.")
        st.stop()
    for _, fresh in freshness.iterrows():
        source_box(fresh, status[status["source"] == fresh["source"]])
    quarantine()
    if signin.current().admin:
        access_log()


layout()
