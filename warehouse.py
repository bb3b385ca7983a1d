"""The DuckDB warehouse file: its schema and version, and how it is read and written.

A DuckDB file opened read-write by one process cannot be opened by any other, not even
read-only. So a sync never writes the live file: it writes a copy and swaps the copy in with one
atomic rename. Readers (the app, the CLI) open the live file read-only for one query at a time
and never wait for a sync; a sync killed midway leaves only a stray copy and the live file
exactly as it was. Syncs take a lock file, one at a time.

The copy is not made afresh each time: the file a swap replaces is kept beside the live one
(`.<name>.standby`), and the next sync brings it up to date by comparing it with the live file
block by block and writing only the blocks that differ (a sync adding 1% of 20 million rows
wrote 1.3 MB of the 1.5 GB file). A standby some reader still has open (a query that began before
the last swap) is not touched: that sync copies the live file whole, as a warehouse's second sync
does (its first replaced nothing). A stray copy left by a killed sync is reused the same way,
since the comparison makes any file equal to the live one.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import functools
import logging
import mmap
import os
import shutil
import struct
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np

SQL_DIR = Path(__file__).resolve().parent / "sql"
# struct flock on 64-bit Linux (for open file description locks): l_type, l_whence, l_start,
# l_len, l_pid and padding. Elsewhere (macOS has no such locks) readers hold none and a sync
# never reuses a standby: it copies the live file whole, as it always did.
_FLOCK = "hhqqi4x"
_OFD_LOCKS = (
    sys.platform.startswith("linux")
    and hasattr(fcntl, "F_OFD_SETLK")
    and struct.calcsize(_FLOCK) == 32
)
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
    """A short-lived read-only connection, closed on leaving the block.

    While it is open, the file it reads holds a read lock of ours: a sync never reuses a file
    a reader still has open (see `_claim`). DuckDB's own lock is not enough, because closing
    any descriptor of a file drops every classic lock this process holds on it.
    """
    for _ in range(3):
        held = _hold(path)
        con = connect_read(path)
        if held is None or _same_file(held, path):
            break
        # A sync swapped the file between the two opens: hold the one DuckDB opened.
        con.close()
        os.close(held)
    try:
        yield con
    finally:
        con.close()
        if held is not None:
            os.close(held)


def _hold(path: Path) -> int | None:
    """A descriptor of the file at `path` holding a shared lock on it (None: no file yet)."""
    if not _OFD_LOCKS:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    # Waits only for a sync claiming this file, which never claims the live one: no wait.
    fcntl.fcntl(fd, fcntl.F_OFD_SETLKW, struct.pack(_FLOCK, fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0))
    return fd


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False


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


def standby_path(path: Path) -> Path:
    """The file the last swap replaced, kept to be brought up to date by the next sync."""
    return path.with_name(f".{path.name}.standby")


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
        shadow = path.with_name(f".{path.name}.sync-{uuid.uuid4().hex[:12]}")
        clock = _Clock()
        _prepare_copy(path, shadow)
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
            _swap(shadow, path)
            clock.lap("swap")
        except BaseException:
            con.close()
            # Left in place: the next sync reuses it as its copy (it is a former live file).
            shadow.with_name(shadow.name + ".wal").unlink(missing_ok=True)
            raise


def _swap(shadow: Path, path: Path) -> None:
    """Rename `shadow` over the live file, keeping the file it replaces as the standby."""
    kept = path.with_name(f".{path.name}.sync-{uuid.uuid4().hex[:12]}")
    if path.exists():
        os.link(path, kept)  # the replaced file stays reachable (as a stray if we die here)
    os.replace(shadow, path)
    if kept.exists():
        os.replace(kept, standby_path(path))
    _fsync(path.parent)


def _prepare_copy(path: Path, shadow: Path) -> None:
    """Make `shadow` a byte-for-byte copy of the live file at `path` (nothing, if none yet).

    The standby, or a copy left by a killed sync, is reused when no reader has it open: only
    the blocks that differ from the live file are written. Otherwise the live file is copied.
    Any other leftover is removed (we hold the sync lock: nobody else is writing them).
    """
    reusable = [standby_path(path), *sorted(path.parent.glob(_shadow_glob(path)))]
    claimed = None
    for candidate in reusable:
        if candidate.is_dir():  # a killed sync's spill folder
            shutil.rmtree(candidate, ignore_errors=True)
            continue
        if candidate.name.endswith(".wal") or not candidate.exists():
            candidate.unlink(missing_ok=True)
            continue
        if path.exists() and os.path.samefile(candidate, path):
            # A second name of the live file itself (a sync killed inside `_swap`): never
            # written into, only the name goes.
            candidate.unlink()
            continue
        if claimed is None and path.exists():
            claimed = _claim(candidate)
            if claimed is not None:
                os.replace(candidate, shadow)
                continue
        candidate.unlink(missing_ok=True)
    if not path.exists():
        return
    wal = path.with_name(path.name + ".wal")
    if claimed is None or wal.exists():
        if claimed is not None:
            os.close(claimed)
        shutil.copyfile(path, shadow)
        if wal.exists():
            shutil.copyfile(wal, shadow.with_name(shadow.name + ".wal"))
        size = path.stat().st_size
        timing.debug("copied whole: %d bytes", size, extra={"copied_bytes": size})
        return
    try:
        written = mirror(path, claimed)
    finally:
        os.close(claimed)  # releases the lock taken by _claim
    timing.debug(
        "standby brought up to date: %d of %d bytes written",
        written,
        path.stat().st_size,
        extra={"copied_bytes": written},
    )


def _claim(candidate: Path) -> int | None:
    """A read-write descriptor of `candidate` holding a write lock on the whole file, or None
    when a reader still has it open (`reading` holds a read lock on the file it reads).

    Open file description locks: unlike classic POSIX locks they conflict within one process
    too (the app's readers and a first sync share one), and closing another descriptor of the
    file does not drop them. None too where there are none (`_OFD_LOCKS`).
    """
    if not _OFD_LOCKS:
        return None
    fd = os.open(candidate, os.O_RDWR)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
    except OSError:
        os.close(fd)
        return None
    return fd


# Compared a window at a time (mapped, so nothing is copied; unmapped after, so the pages do
# not count in the sync's resident memory), in blocks the size of DuckDB's.
_WINDOW = 64 * 1024 * 1024
_BLOCK = 256 * 1024


def mirror(source: Path, fd: int) -> int:
    """Make the file open at `fd` equal to `source`, writing only the blocks that differ.

    Returns the number of bytes written.
    """
    with open(source, "rb") as src:
        size = os.fstat(src.fileno()).st_size
        if os.fstat(fd).st_size != size:
            os.ftruncate(fd, size)

        def window(start: int) -> int:
            length = min(_WINDOW, size - start)
            with _mapped(src.fileno(), start, length) as theirs, _mapped(fd, start, length) as ours:
                return _write_differing(theirs, ours, fd, start, length)

        # Windows are independent (each writes its own range): two at a time, as numpy's
        # comparison and the system calls let go of the GIL (1.5 GB: 0.40 -> 0.22 s).
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            return sum(pool.map(window, range(0, size, _WINDOW)))


def _mapped(fd: int, start: int, length: int) -> mmap.mmap:
    # Populated when mapped: one call instead of a page fault per 4 KiB page read.
    flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
    return mmap.mmap(fd, length, flags=flags, prot=mmap.PROT_READ, offset=start)


def _write_differing(theirs: mmap.mmap, ours: mmap.mmap, fd: int, start: int, length: int) -> int:
    whole = length // _BLOCK * _BLOCK
    a = np.frombuffer(theirs, dtype=np.uint8, count=whole)
    b = np.frombuffer(ours, dtype=np.uint8, count=whole)
    differ = np.zeros(whole // _BLOCK + (length > whole), dtype=bool)
    if whole:
        words = whole // 8
        differ[: whole // _BLOCK] = (
            (a.view(np.uint64)[:words] != b.view(np.uint64)[:words])
            .reshape(-1, _BLOCK // 8)
            .any(axis=1)
        )
    if length > whole:
        differ[-1] = theirs[whole:length] != ours[whole:length]
    del a, b  # views of the maps must be gone before they are closed
    written = 0
    # Runs of neighbouring blocks that differ, written with one call each.
    edges = np.flatnonzero(np.diff(np.concatenate(([0], differ.view(np.int8), [0]))))
    view = memoryview(theirs)
    try:
        for first, last in zip(edges[::2], edges[1::2], strict=True):
            lo, hi = int(first) * _BLOCK, min(int(last) * _BLOCK, length)
            while lo < hi:  # pwrite may write less than asked
                done = os.pwrite(fd, view[lo:hi], start + lo)
                lo, written = lo + done, written + done
    finally:
        view.release()
    return written
