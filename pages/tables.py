"""Every table the pages show, drawn one way: human headers with units, formatted cells, the
key columns first and pinned, the time zone said once, and a "Download CSV" of the raw values.

The only module that calls `st.dataframe` (tests/test_formats.py checks it). Headers, units,
formats and widths come from `metrics.columns`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from metrics import access, formats, privacy
from metrics import columns as column_specs
from pages import signin

DOWNLOAD_LABEL = "Download CSV"
# What a viewer sees in place of a table that lists single changes, tickets or incidents.
ROWS_WITHHELD = (
    "The rows behind these figures (single changes, tickets, incidents) are for the team's "
    "members; as a viewer you see the figures."
)


def download_name(key: str, window: Any = None) -> str:
    """The CSV's file name: the table's key and the days of its window (both included)."""
    if window is None:
        return formats.csv_name(key)
    return formats.csv_name(key, window.since, window.until)


def withheld(value: Any) -> bool:
    """Whether `value` (a registry entry's result) is withheld; if so, say why in its place."""
    if isinstance(value, privacy.Withheld):
        st.caption(f"Hidden: {value.reason}.")
        return True
    return False


def withheld_reason(value: Any) -> str | None:
    """Why a registry entry's result is withheld, or None when it is shown."""
    return value.reason if isinstance(value, privacy.Withheld) else None


def table(
    frame: pd.DataFrame | privacy.Withheld | None,
    columns: Sequence[str],
    key: str,
    window: Any = None,
    caption: str | None = None,
    empty: str = "No rows to show.",
    pinned: int = 1,
) -> None:
    """Show `frame`'s `columns` (in that order) for people, with a CSV download of them.

    Args:
        frame: the rows; a privacy.Withheld (the rows behind a withheld figure) shows why.
        columns: the frame's column names to show, key columns first; names the frame lacks
            are skipped.
        key: names the table: its widget keys and its CSV file (delivery_changes →
            delivery_changes_2026-10-23_to_2026-11-19.csv).
        window: anything with `since` and `until` (Filters, a drift window) the rows are for.
        caption: said under the table; "Times in UTC." is added when a column is an instant.
        empty: the sentence shown instead of an empty table, saying why it is empty.
        pinned: how many of the first columns stay in view when the table scrolls sideways.
    """
    if withheld(frame):
        return
    if frame is None or frame.empty:
        st.info(empty)
        return
    if access.lists_items(columns) and not signin.sees_rows():
        st.caption(ROWS_WITHHELD)
        return
    chosen = column_specs.specs(frame, columns)
    shown = column_specs.display(frame, list(chosen))
    config = {
        header: st.column_config.TextColumn(
            spec.header,
            width=column_specs.width(spec, header, shown[header].tolist()),
            pinned=True if index < pinned else None,
            alignment="right" if spec.is_numeric else None,
        )
        for index, (header, spec) in enumerate(zip(shown.columns, chosen.values(), strict=True))
    }
    st.dataframe(shown, hide_index=True, column_config=config, key=f"table_{key}")
    notes = [caption] if caption else []
    if column_specs.has_times(frame, list(chosen)):
        notes.append("Times in UTC.")
    if notes:
        st.caption(" ".join(notes))
    name = download_name(key, window)
    signin.download_button(
        st,
        DOWNLOAD_LABEL,
        # Written when the button is clicked, not on every run: a page of tables would
        # otherwise build (and keep in memory) every CSV each time it is drawn.
        lambda: csv(frame, list(chosen)),
        file_name=name,
        mime="text/csv",
        key=f"download_{key}",
        help=f"The raw values of these rows as {name}",
    )


def csv(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    """The raw values of `frame`'s `columns` as the CSV a table's download offers."""
    values = column_specs.raw(frame, list(columns))
    return values.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
