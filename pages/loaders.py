"""Cached loaders: every number a page shows, by its name in metrics.registry.

One `load(name, filters, *extra)` for all of them. Its cache key holds the warehouse's version,
so a sync shows up without a restart, and the scope of the person signed in (scope()), so no one
is ever served another's numbers; each load opens a short-lived read-only connection restricted
to that scope: the app never holds the warehouse open (a sync writes a copy and swaps it in).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import streamlit as st

from metrics import access, privacy, registry, samples, session, writeback
from metrics.filters import Filters

TTL_SECONDS = 3600
# Where app.py keeps the signed-in person's access.Scope (see scope()).
SCOPE_KEY = "scope"
# Entries that take the model as their first extra argument rather than in the filters.
MODEL_FIRST = frozenset({"model_versions", "drift_distributions", "drift_daily"})


@st.cache_resource(max_entries=4)
def _config(stamp: tuple | None) -> Any:
    # `stamp` is unused here: it is in the arguments so that an edited file is read again.
    return session.config()


def config() -> Any:
    """The configuration, read again when its file changes: `[access]` edits (someone removed)
    apply on the next click, without a restart (tests clear it with st.cache_resource.clear)."""
    return _config(session.config_stamp())


def warehouse_path() -> Path:
    return config().warehouse


def scope() -> access.Scope:
    """The scope of the person signed in (st.session_state["scope"]); without one, access.LOCAL
    when `[access]` is not configured (the open mode), else access.NotAllowed: with `[access]`,
    nothing is shown to someone not signed in."""
    found = st.session_state.get(SCOPE_KEY)
    if isinstance(found, access.Scope):
        return found
    if config().access.configured:
        raise access.NotAllowed("not signed in")
    return access.LOCAL


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=64)
def _pairs(path: str, version: tuple | None) -> frozenset:
    # `version` is unused here: it is in the arguments so that it is in the cache key.
    return session.catalog_pairs(Path(path), config().contracts)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=512)
def _load(
    name: str,
    path: str,
    version: tuple | None,
    scope_key: str,
    filters: Filters | None,
    extra: tuple,
    _scope: access.Scope,
) -> Any:
    # `version` and `scope_key` are unused here: they are in the arguments so that they are in
    # the cache key (`_scope`, left out of it, is what scope_key names).
    with reading(Path(path), version, _scope) as con:
        return registry.run(name, con, filters, config(), *extra)


# The connections of the run in progress (see one_connection_per_run), by warehouse file,
# version and scope; None outside a run.
_RUN_CONNECTIONS: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "tandem_run_connections", default=None
)


@contextlib.contextmanager
def one_connection_per_run() -> Iterator[None]:
    """Within the block (one run of app.py), the loads that miss the cache share one read-only
    connection, opened at the first miss and closed when the block ends, instead of one each:
    a cold page loads ten figures or more, and each connection costs 0.1-0.25 s at the
    reference scale (a new DuckDB, the file attached, its schema read, the macros created).
    A sync that swaps a new file in meanwhile gets a connection of its own (the version is
    in the key), so no figure is cached under a version it was not read from."""
    opened: dict = {}
    token = _RUN_CONNECTIONS.set(opened)
    try:
        # Each window's people counted once for all the figures of the run that they withhold,
        # and each model's sample rows, estimated performance and drift timeline read once (the
        # drift page's contract status and drift impact both estimate the performance of the
        # same model; its timeline and drift impact both need each day against the reference).
        with privacy.counted_once(), samples.remembered():
            yield
    finally:
        _RUN_CONNECTIONS.reset(token)
        with contextlib.ExitStack() as closing:
            for stack, _ in opened.values():
                closing.push(stack)


@contextlib.contextmanager
def reading(path: Path, version: tuple | None, scope_: access.Scope) -> Iterator[Any]:
    """The run's shared connection for (path, version, scope), else a connection of its own:
    for a page's cached reads of the warehouse (`_load`, the notes' known teams and models)."""
    opened = _RUN_CONNECTIONS.get()
    if opened is None:
        with session.reading(path, scope_, config().contracts) as con:
            yield con
        return
    key = (str(path), version, scope_.key())
    if key not in opened:
        stack = contextlib.ExitStack()
        con = stack.enter_context(session.reading(path, scope_, config().contracts))
        opened[key] = (stack, con)
    yield opened[key][1]


def _named_model(name: str, extra: tuple) -> str | None:
    """The model an entry takes apart from the filters (the drift readings), if any."""
    metric = registry.METRICS[name]
    takes_model = metric.call is registry.Call.DRIFT or name in MODEL_FIRST
    return extra[0] if takes_model and extra and isinstance(extra[0], str) else None


def load(name: str, filters: Filters | None = None, *extra: Any) -> Any:
    """The registry entry `name` for `filters` (and the page's `extra` arguments), from the
    cache while the warehouse is unchanged; access.NotInScope ("not in your teams") before
    anything is computed when they name a team or a model outside the signed-in scope."""
    path = warehouse_path()
    version = session.warehouse_version(path)
    current = scope()
    if not current.admin:
        model = _named_model(name, tuple(extra))
        access.check(filters, current, _pairs(str(path), version), model)
    return _load(name, str(path), version, current.key(), filters, tuple(extra), current)


def load_access_log() -> list:
    """The access log's newest entries (admins only; never cached: it is written as people go)."""
    if not scope().admin:
        raise access.NotInScope("the access log")
    return writeback.access_log(config())
