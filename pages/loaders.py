"""Cached loaders: every number a page shows, by its name in metrics.registry.

One `load(name, filters, *extra)` for all of them. Its cache key holds the warehouse's version,
so a sync shows up without a restart, and each load opens a short-lived read-only connection:
the app never holds the warehouse open (a sync writes a copy and swaps it in).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from metrics import registry, session
from metrics.filters import Filters

TTL_SECONDS = 3600


@st.cache_resource
def config() -> Any:
    """The configuration, read once per server (tests clear it with st.cache_resource.clear)."""
    return session.config()


def warehouse_path() -> Path:
    return config().warehouse


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=512)
def _load(
    name: str, path: str, version: tuple | None, filters: Filters | None, extra: tuple
) -> Any:
    # `version` is unused here: it is in the arguments so that it is in the cache key.
    with session.reading(Path(path)) as con:
        return registry.run(name, con, filters, config(), *extra)


def load(name: str, filters: Filters | None = None, *extra: Any) -> Any:
    """The registry entry `name` for `filters` (and the page's `extra` arguments), from the
    cache while the warehouse is unchanged."""
    path = warehouse_path()
    return _load(name, str(path), session.warehouse_version(path), filters, tuple(extra))
