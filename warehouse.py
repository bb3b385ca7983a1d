"""The DuckDB warehouse file: its schema and version, and how it is read and written.

A DuckDB file opened read-write by one process cannot be opened by any other, not even
read-only. So a sync never writes the live file: it copies it, writes the copy, and swaps the
copy in with one atomic rename. Readers (the app, the CLI) open the live file read-only for one
query at a time and never wait for a sync; a sync killed midway leaves only a stray copy, which
the next sync removes, and the live file exactly as it was. Syncs take a lock file, one at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parent / "sql"
# Each step of a sync's write, timed at DEBUG with extra={"phase": ..., "seconds": ...}.
timing = logging.getLogger("tandem.timing")
SCHEMA_VERSION = 9
# version -> migration file under sql/migrations/, applied in order to older warehouses.
MIGRATIONS: dict[int, str] = {
    2: "002_drift_profiles.sql",
    3: "003_remote_profiles.sql",
    4: "004_serving_profiles.sql",
    5: "005_quarantine_key.sql",
    6: "006_rework_columns.sql",
    7: "007_ticket_incident.sql",
    8: "008_delivery_attribution.sql",
    9: "009_inference_kind_days.sql",
}


@functools.cache
def sql(name: str) -> str:
    """The text of sql/<name>.sql: a query the profiles or the metrics run on the warehouse."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def quote(identifier: str) -> str:
    """A SQL identifier, double-quoted so any column name from a file is safe."""
    return '"' + identifier.replace('"', '""') + '"'


class WarehouseError(RuntimeError):
    """The warehouse cannot be used as asked, with a sentence saying why and what to do."""


class WarehouseMissing(WarehouseError):
    """No warehouse file yet: nothing has been synced."""


def _configure(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # Timestamps without an offset are read as UTC, and every timestamp comes back in UTC.
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    return con


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The schema version recorded in the warehouse, or None for an empty or unversioned one."""
    # fetchall, not fetchone: a result left unfinished on the connection would refuse the
    # caller's next register() of a DataFrame.
    ((has_meta,),) = con.execute(
        "select count(*) from information_schema.tables where table_name = 'tandem_meta'"
    ).fetchall()
    if not has_meta:
        return None
    rows = con.execute("select value from tandem_meta where key = 'schema_version'").fetchall()
    return int(rows[0][0]) if rows else None


def _set_version(con: duckdb.DuckDBPyConnection, version: int) -> None:
    con.execute("delete from tandem_meta where key = 'schema_version'")
    con.execute(
        "insert into tandem_meta values ('schema_version', $version)", {"version": str(version)}
    )


def ensure_schema(
    con: duckdb.DuckDBPyConnection,
    migrations: dict[int, str] | None = None,
    target: int | None = None,
) -> int:
    """Create the schema on a new warehouse, or upgrade an older one; return the version now."""
    migrations = MIGRATIONS if migrations is None else migrations
    target = SCHEMA_VERSION if target is None else target
    version = schema_version(con)
    if version is not None and version > target:
        raise WarehouseError(
            f"the warehouse has schema version {version}, newer than this Tandem's {target}: "
            "upgrade Tandem"
        )
    if version is None:
        con.execute((SQL_DIR / "schema.sql").read_text())
        version = 1
        _set_version(con, version)
    for step in sorted(v for v in migrations if version < v <= target):
        con.execute((SQL_DIR / "migrations" / migrations[step]).read_text())
        _set_version(con, step)
        version = step
    return version


def version(path: Path) -> tuple[int, int, int] | None:
    """A token that changes whenever a sync swaps in a new warehouse (for cache keys)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def connect_read(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the live warehouse as it is now.

    The file is ATTACHed to a fresh in-memory database rather than opened with `connect`:
    DuckDB caches `connect`ed databases by path, so a second connection opened while a first
    is still open would see the file from before the latest sync.
    """
    if not path.exists():
        raise WarehouseMissing(
            f"no warehouse at {path} yet: run `python -m connectors sync` to fill it"
        )
    con = _configure(duckdb.connect(":memory:"))
    try:
        con.execute("attach $path as warehouse (read_only)", {"path": str(path)})
        con.execute("use warehouse")
    except duckdb.Error as error:
        con.close()
        raise WarehouseError(f"cannot open the warehouse {path}: {error}") from error
    return con


@contextlib.contextmanager
def reading(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection, closed on leaving the block."""
    con = connect_read(path)
    try:
        yield con
    finally:
        con.close()


def needs_upgrade(path: Path) -> bool:
    """True when the warehouse exists and was written by an older schema version."""
    if not path.exists():
        return False
    with reading(path) as con:
        found = schema_version(con)
    return found is None or found < SCHEMA_VERSION


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _shadow_glob(path: Path) -> str:
    return f".{path.name}.sync-*"


@contextlib.contextmanager
def sync_lock(path: Path, wait_seconds: float = 600.0) -> Iterator[None]:
    """Hold the sync lock: one sync at a time (pass `locked=True` to `writing` inside it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(_lock_path(path), "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseError(
                        f"another sync is writing {path}; try again when it has finished"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Clock:
    """Logs the seconds since the last lap to `timing`, named."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        seconds, self.last = now - self.last, now
        timing.debug("%s %.2f s", phase, seconds, extra={"phase": phase, "seconds": seconds})


# The most memory a sync's DuckDB may hold before it spills to disk (a temp folder beside the
# copy): re-reading 20 million rows held 7.9 GB without it, 2.5 GB with 2 GB.
SYNC_MEMORY_LIMIT = "2GB"


@contextlib.contextmanager
def writing(
    path: Path,
    wait_seconds: float = 600.0,
    locked: bool = False,
    memory_limit: str = SYNC_MEMORY_LIMIT,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a copy of the warehouse, swapped in if the block succeeds.

    If the block raises, or the process dies inside it, the live warehouse is left untouched.
    `locked`: the caller already holds `sync_lock`.
    """
    path = Path(path)
    lock = contextlib.nullcontext() if locked else sync_lock(path, wait_seconds)
    with lock:
        # Copies left by a sync that was killed: nobody else can be writing them (we hold the lock).
        for stray in path.parent.glob(_shadow_glob(path)):
            if stray.is_dir():
                shutil.rmtree(stray, ignore_errors=True)
            else:
                stray.unlink(missing_ok=True)
        shadow = path.with_name(f".{path.name}.sync-{uuid.uuid4().hex[:12]}")
        clock = _Clock()
        if path.exists():
            shutil.copyfile(path, shadow)
            wal = path.with_name(path.name + ".wal")
            if wal.exists():
                shutil.copyfile(wal, shadow.with_name(shadow.name + ".wal"))
        clock.lap("copy")
        con = _configure(duckdb.connect(str(shadow), config={"memory_limit": memory_limit}))
        try:
            ensure_schema(con)
            clock.lap("open")
            yield con
            clock.lap("write")
            con.execute("checkpoint")
            con.close()
            clock.lap("checkpoint")
            _fsync(shadow)
            clock.lap("fsync")
            os.replace(shadow, path)
            _fsync(path.parent)
            clock.lap("swap")
        except BaseException:
            con.close()
            for leftover in (shadow, shadow.with_name(shadow.name + ".wal")):
                leftover.unlink(missing_ok=True)
            raise
