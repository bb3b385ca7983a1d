"""A sync: every configured source through its connector and the shared loader, atomically.

All sources load into one copy of the warehouse that is swapped in at the end (warehouse.py),
each source in its own transaction: a source that fails is rolled back and recorded, and the
others still land.

People are stored as the `[privacy]` config says (connectors/identity.py): the sync resolves
the key first (making the key file on a first sync, which it reports in `notices`), and
records the identity mode and the key's fingerprint in `tandem_meta`. When either differs from
what the warehouse recorded, every row of the feeds that name people is deleted with the
quarantine rows of those feeds, and their sources' sync state with it, so the sync reads them
again whole: a pseudonym cannot be turned back into a name, and the warehouse never mixes two
ways of naming people. That needs every such source in the sync (no `--source` subset).

A source whose files are unchanged since its last successful sync is skipped (connectors/files.py
FileTracker; `reread` reads them all again). When every source is skipped and nothing else needs
writing (schema, identity mode, a source whose last sync failed), the sync writes nothing: no
copy of the warehouse is made, and the sync runs it would record are not recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field

import duckdb

import warehouse
from connectors import registry
from connectors.feeds import identity_feeds
from connectors.files import FILES_STATE
from connectors.identity import Identities, load_key
from connectors.loader import Batch, Loader, LoadStats, SourceError
from profiling import store as profile_store
from profiling.stored_steps import STORED
from settings import Config, ConfigError, SourceConfig
from warehouse import quote

log = logging.getLogger("tandem.sync")
# tandem_meta keys: how people are stored (names or pseudonyms), and the key's fingerprint.
IDENTITY_MODE_KEY = "identity_mode"
IDENTITY_KEY_FINGERPRINT = "identity_key_fingerprint"
# Sync state key beside a source's file fingerprints: the digest of the config the loader read
# them with ([work_categories]); another one reads the files again.
LOADER_STATE = "loader"


class Progress:
    """What a sync tells whoever watches it. The default tells no one."""

    def source_started(self, name: str, total_batches: int | None) -> None: ...

    def batch_done(self, name: str, batch: Batch, stats: LoadStats) -> None: ...

    def source_finished(self, name: str, result: SourceResult) -> None: ...

    def source_skipped(self, name: str) -> None: ...

    def profiling(self, model: str, done: int, total: int) -> None: ...


@dataclass
class SourceResult:
    """What one source's sync did: per feed, rows read, loaded, duplicate, quarantined."""

    name: str
    kind: str
    feeds: dict[str, LoadStats] = field(default_factory=dict)
    error: str | None = None
    # Model-days whose drift profiles the source's own engine computed (spark, sql profiles).
    profiled_days: int = 0
    # Every file unchanged since the last successful sync: nothing was read.
    skipped: bool = False
    # What the connector said about how it was read (Connector.notices).
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class SyncReport:
    """The outcome of one sync over all the sources it ran."""

    sync_id: str
    sources: list[SourceResult]
    # Model-days whose drift profiles this sync computed.
    profiled_days: int = 0
    # One line each for whoever runs the sync: a key file made, identities read again.
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(source.ok for source in self.sources)

    def as_dict(self) -> dict:
        rows = []
        for source in self.sources:
            if not source.feeds and (not source.ok or source.skipped):
                rows.append(
                    {
                        "name": source.name,
                        "feed": None,
                        "read": 0,
                        "loaded": 0,
                        "duplicates": 0,
                        "quarantined": 0,
                        "error": source.error,
                        "skipped": source.skipped,
                    }
                )
            for feed_name, stats in source.feeds.items():
                rows.append(
                    {
                        "name": source.name,
                        "feed": feed_name,
                        "read": stats.read,
                        "loaded": stats.loaded,
                        "duplicates": stats.duplicates,
                        "quarantined": stats.quarantined,
                        "error": source.error,
                        "skipped": False,
                    }
                )
        return {
            "sync_id": self.sync_id,
            "ok": self.ok,
            "sources": rows,
            "profiled_days": self.profiled_days,
            "notices": list(self.notices),
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sync_source(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    source: SourceConfig,
    sync_id: str,
    progress: Progress,
    identities: Identities,
    reread: bool = False,
) -> SourceResult:
    result = SourceResult(source.name, source.kind)
    started = _now()
    clock = time.perf_counter()
    con.begin()
    try:
        connector = registry.create(source, _state_for(con, config, source.name, reread))
        result.skipped = connector.unchanged()
        if result.skipped:
            progress.source_skipped(source.name)
        else:
            progress.source_started(source.name, connector.estimate())
            result.notices = connector.notices()
        loader = Loader(con, source, sync_id, config.work_categories, identities)
        for batch in connector.batches():
            stats = loader.load(batch)
            result.feeds.setdefault(batch.feed, LoadStats()).add(stats)
            progress.batch_done(source.name, batch, stats)
        loader.finish()  # every batch is in: the quarantine rows this sync superseded go
        result.profiled_days = connector.write_profiles(con)
        state = connector.state
        if FILES_STATE in state:
            state = {**state, LOADER_STATE: _loader_digest(config)}
        write_state(con, source.name, state)
        for feed_name, stats in result.feeds.items():
            _record(con, sync_id, source, feed_name, started, "ok", stats, None)
        if not result.feeds:  # a source that only wrote profiles, or read nothing new
            _record(con, sync_id, source, None, started, "ok", LoadStats(), None)
        con.commit()
    except Exception as error:  # one bad source must not stop the others
        con.rollback()
        result.feeds = {}
        result.profiled_days = 0
        result.skipped = False
        result.error = _error_text(source, error, config.sync_memory_limit)
        _record(con, sync_id, source, None, started, "failed", LoadStats(), result.error)
    _timed(f"source {source.name}", clock)
    progress.source_finished(source.name, result)
    return result


def _error_text(source: SourceConfig, error: Exception, memory_limit: str) -> str:
    """What the sync report says of a source that failed: the source, and what to do."""
    if isinstance(error, SourceError | ConfigError):
        return str(error)
    if isinstance(error, duckdb.OutOfMemoryException):
        return (
            f"source {source.name!r}: loading it {_out_of_memory(memory_limit, error)}, or "
            "split the source's files; nothing of this source was written"
        )
    return f"source {source.name!r}: {type(error).__name__}: {error}"


def _out_of_memory(memory_limit: str, error: duckdb.OutOfMemoryException) -> str:
    """DuckDB's own advice (SET memory_limit, threads) names settings a user of Tandem does not
    have: the one that is theirs is the sync's memory limit. DuckDB's first line is kept."""
    said = str(error).split("\n", 1)[0]
    return (
        f'needs more memory than a sync may hold ([warehouse] sync_memory_limit = "{memory_limit}"'
        f"; DuckDB: {said}): raise that limit in the config"
    )


def _timed(phase: str, since: float) -> None:
    seconds = time.perf_counter() - since
    warehouse.timing.debug("%s %.2f s", phase, seconds, extra={"phase": phase, "seconds": seconds})


def read_state(con: duckdb.DuckDBPyConnection, source: str) -> dict:
    """The high-water mark a source's last successful sync stored (empty if none)."""
    rows = con.execute(
        "select state from source_state where source = $source", {"source": source}
    ).fetchall()
    return json.loads(rows[0][0]) if rows else {}


def _loader_digest(config: Config) -> str:
    text = json.dumps(config.work_categories, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _state_for(con: duckdb.DuckDBPyConnection, config: Config, source: str, reread: bool) -> dict:
    """A source's state for its connector: without file fingerprints when they no longer hold
    (`reread`, or another loader config)."""
    state = read_state(con, source)
    if reread or state.get(LOADER_STATE) != _loader_digest(config):
        state.pop(FILES_STATE, None)
    state.pop(LOADER_STATE, None)
    return state


def nothing_to_write(
    config: Config, sources: list[SourceConfig], identities: Identities, reread: bool = False
) -> bool:
    """True when a sync would write nothing: the warehouse is current (schema, identity mode,
    every stored step), and every source's last sync succeeded and it is unchanged since (its
    files are)."""
    if reread or not config.warehouse.exists():
        return False
    with warehouse.reading(config.warehouse) as con:
        if warehouse.schema_version(con) != warehouse.SCHEMA_VERSION:
            return False
        if recorded_identity_mode(con) != (identities.mode, identities.fingerprint or ""):
            return False
        # Steps this Tandem stores that the warehouse has never had (an older one synced it).
        if any(steps.stored_fingerprint(con) is None for steps in STORED):
            return False
        last = dict(
            con.execute(
                "select source, arg_max(status, finished_at) from sync_runs group by source"
            ).fetchall()
        )
        for source in sources:
            if last.get(source.name) != "ok":
                return False
            try:
                connector = registry.create(source, _state_for(con, config, source.name, reread))
                if not connector.unchanged():
                    return False
            except (SourceError, ConfigError, OSError):
                return False  # the sync reports it
    return True


def write_state(con: duckdb.DuckDBPyConnection, source: str, state: dict) -> None:
    con.execute("delete from source_state where source = $source", {"source": source})
    if state:
        con.execute(
            "insert into source_state values ($source, $state, now())",
            {"source": source, "state": json.dumps(state, sort_keys=True, default=str)},
        )


def _record(
    con: duckdb.DuckDBPyConnection,
    sync_id: str,
    source: SourceConfig,
    feed_name: str | None,
    started: dt.datetime,
    status: str,
    stats: LoadStats,
    error: str | None,
) -> None:
    con.execute(
        "insert into sync_runs values ($sync_id, $source, $kind, $feed, $started, now(), "
        "$status, $read, $loaded, $duplicates, $quarantined, $error)",
        {
            "sync_id": sync_id,
            "source": source.name,
            "kind": source.kind,
            "feed": feed_name,
            "started": started,
            "status": status,
            "read": stats.read,
            "loaded": stats.loaded,
            "duplicates": stats.duplicates,
            "quarantined": stats.quarantined,
            "error": error,
        },
    )


def identities_for(config: Config) -> tuple[Identities, list[str]]:
    """How this config stores people, and the notices resolving its key gave (a file made).

    ConfigError naming the variable (never its value) when `key_env` names an empty one.
    """
    if config.privacy.show_names:
        return Identities(config.privacy, None), []
    resolved = load_key(config.privacy)
    notices = [resolved.notice] if resolved.notice else []
    return Identities(config.privacy, resolved.key), notices


def recorded_identity_mode(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(mode, key fingerprint) as the warehouse recorded them; None when it recorded none."""
    rows = dict(
        con.execute(
            "select key, value from tandem_meta where key in ($mode, $fingerprint)",
            {"mode": IDENTITY_MODE_KEY, "fingerprint": IDENTITY_KEY_FINGERPRINT},
        ).fetchall()
    )
    if IDENTITY_MODE_KEY not in rows:
        return None
    return rows[IDENTITY_MODE_KEY], rows.get(IDENTITY_KEY_FINGERPRINT) or ""


def _sources_naming_people(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The sources with rows, or quarantined rows, in a feed that names people."""
    feeds = identity_feeds()
    found: set[str] = set()
    for name in feeds:
        found.update(
            s for (s,) in con.execute(f"select distinct source from {quote(name)}").fetchall()
        )
    found.update(
        s
        for (s,) in con.execute(
            "select distinct source from quarantine where feed in (select unnest($feeds))",
            {"feeds": list(feeds)},
        ).fetchall()
    )
    return found


def settle_identity_mode(
    con: duckdb.DuckDBPyConnection,
    identities: Identities,
    syncing: list[SourceConfig],
    configured: set[str],
) -> list[str]:
    """Record how people are stored; when it changed, clear what was stored the other way.

    Returns the notices to give (the sources read again). A warehouse that recorded no mode
    but holds people was written before pseudonyms: its people are names.
    """
    current = (identities.mode, identities.fingerprint or "")
    recorded = recorded_identity_mode(con)
    holders = _sources_naming_people(con)
    if recorded is None and holders:
        recorded = ("names", "")
    notices: list[str] = []
    if recorded is not None and recorded != current and holders:
        # A configured source left out of this sync would keep people the old way; one no
        # longer configured loses its people (nothing would ever read them again).
        syncing_names = {s.name for s in syncing}
        skipped = sorted(h for h in holders & configured if h not in syncing_names)
        if skipped:
            raise ConfigError(
                "[privacy] changed how people are stored (show_names or the key): sync every "
                "source at once, without --source, so none keeps the old way "
                f"({', '.join(skipped)})"
            )
        for name in identity_feeds():
            con.execute(f"delete from {quote(name)}")
        con.execute(
            "delete from quarantine where feed in (select unnest($feeds))",
            {"feeds": list(identity_feeds())},
        )
        con.execute(
            "delete from source_state where source in (select unnest($sources))",
            {"sources": sorted(holders)},
        )
        notices.append(
            f"[privacy] changed how people are stored ({recorded[0]} -> {current[0]}"
            + (", a new key" if recorded[0] == current[0] else "")
            + "): read again the people of "
            + ", ".join(sorted(holders))
        )
    con.execute(
        "delete from tandem_meta where key in ($mode, $fingerprint)",
        {"mode": IDENTITY_MODE_KEY, "fingerprint": IDENTITY_KEY_FINGERPRINT},
    )
    con.execute(
        "insert into tandem_meta values ($mode, $mode_value), ($fingerprint, $fingerprint_value)",
        {
            "mode": IDENTITY_MODE_KEY,
            "mode_value": current[0],
            "fingerprint": IDENTITY_KEY_FINGERPRINT,
            "fingerprint_value": current[1],
        },
    )
    return notices


def run(
    config: Config,
    only: list[str] | None = None,
    progress: Progress | None = None,
    reread: bool = False,
) -> SyncReport:
    """Sync the configured sources (or the ones named in `only`) into the warehouse.

    `reread`: read every file again, also those unchanged since the last sync.
    """
    progress = progress or Progress()
    sources = [config.source(name) for name in only] if only else list(config.sources)
    identities, notices = identities_for(config)
    for notice in notices:
        log.info(notice)
    sync_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    results: list[SourceResult] = []
    with warehouse.sync_lock(config.warehouse):
        clock = time.perf_counter()
        unchanged = nothing_to_write(config, sources, identities, reread)
        _timed("check", clock)
        if unchanged:
            for source in sources:
                results.append(SourceResult(source.name, source.kind, skipped=True))
                progress.source_skipped(source.name)
            return SyncReport(sync_id, results, 0, notices)
        return _write(config, sources, sync_id, progress, identities, notices, reread)


def _write(
    config: Config,
    sources: list[SourceConfig],
    sync_id: str,
    progress: Progress,
    identities: Identities,
    notices: list[str],
    reread: bool,
) -> SyncReport:
    results: list[SourceResult] = []
    with warehouse.writing(
        config.warehouse, locked=True, memory_limit=config.sync_memory_limit
    ) as con:
        con.begin()
        settled = settle_identity_mode(con, identities, sources, {s.name for s in config.sources})
        con.commit()
        for notice in settled:
            log.info(notice)
        notices += settled
        for source in sources:
            results.append(_sync_source(con, config, source, sync_id, progress, identities, reread))
        # Drift profiles of the days whose inference rows changed (none on a repeat sync).
        clock = time.perf_counter()
        con.begin()
        try:
            profiled = profile_store.refresh(con, progress.profiling)
            # Which deployment each change and incident belongs to, each ticket once and its
            # stays: the steps every reader would compute, when their rows changed.
            for steps in STORED:
                steps.refresh(con)
        except duckdb.OutOfMemoryException as error:
            # Raised out of `writing`: its copy is dropped, the live warehouse stays as it was.
            raise warehouse.WarehouseError(
                f"profiling the synced rows {_out_of_memory(config.sync_memory_limit, error)}; "
                "the warehouse is unchanged"
            ) from None
        con.commit()
        _timed("profiles", clock)
    remote = sum(result.profiled_days for result in results)
    for result in results:
        for notice in result.notices:
            log.info(notice)
        notices += result.notices
    return SyncReport(sync_id, results, profiled + remote, notices)
