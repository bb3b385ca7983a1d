"""Files: CSV, Parquet and JSON Lines exports of any feed, found by a glob.

    [[sources]]
    name = "deploys"
    kind = "files"
    feed = "deployments"
    path = "exports/deploys/*.csv"          # relative to this file's folder
    columns = { finished_at = "deployed_at" }  # canonical = source column
    values.status = { SUCCESS = "success" }
    # format = "csv" | "parquet" | "jsonl"  (default: from the file's extension)
    # timestamp_format = "%d/%m/%Y %H:%M"   (strptime, for timestamps that are not ISO 8601)
    # features = ["amount", "country"]      (inference: default, every non-reserved column)

DuckDB reads the files inside the warehouse, so a 5-million-row file never passes through
Python. CSV is read as text and typed by the loader, so a bad value quarantines its row instead
of failing the file; lines the CSV reader cannot split are quarantined with their line number.

A file unchanged since the last successful sync is not read again (FileTracker): the source's
sync state records each file's size, mtime and fingerprints, taken before the file is read and
stored in the same transaction as its rows.
"""

from __future__ import annotations

import glob
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from connectors.base import Connector
from connectors.loader import Batch, SourceError, quote
from settings import SourceConfig
from warehouse import timing

# The source's sync state key holding its files' fingerprints (see FileTracker).
FILES_STATE = "files"
CONFIG_STATE = "config"
# Bytes read from each end of a file for its quick fingerprint.
SAMPLE_BYTES = 1 << 20

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


@dataclass(frozen=True)
class FoundFile:
    """One file to load, with what a first look at it told us."""

    path: Path
    format: str
    type_hints: dict[str, str] = field(default_factory=dict)
    json_keys: tuple[str, ...] = ()


def _format_of(path: Path, configured: str | None) -> str | None:
    if configured:
        return configured
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in {".gz", ".zst"} and len(suffixes) > 1:
        suffixes = suffixes[:-1]
    return FORMATS.get(suffixes[-1]) if suffixes else None


def _csv_relation(reject_table: str | None) -> str:
    rejects = ""
    if reject_table:
        rejects = (
            f", store_rejects = true, rejects_table = '{reject_table}', "
            f"rejects_scan = '{reject_table}_scan'"
        )
    return f"read_csv($file_path, all_varchar = true, header = true{rejects})"


def _lines_relation() -> str:
    # Each line as one text value: JSON is parsed per line so a malformed line quarantines
    # alone instead of failing the file.
    return (
        "(select row_number() over () as __line, column0 as __json from read_csv($file_path, "
        "columns = {'column0': 'VARCHAR'}, header = false, delim = chr(1), quote = '', "
        "escape = '', auto_detect = false))"
    )


def matching_files(source: SourceConfig, key: str = "path") -> list[Path]:
    """The files a source's glob option matches, in name order (folders left out).

    Args:
        source: the source whose option holds the glob, relative to its config file's folder.
        key: the option's name.

    Returns:
        The paths; a SourceError naming the glob when it matches no file.
    """
    pattern = source.path_option(key)
    paths = sorted(Path(p) for p in glob.glob(str(pattern), recursive=True))
    paths = [p for p in paths if p.is_file()]
    if not paths:
        raise SourceError(f"source {source.name!r}: no file matches {pattern}")
    return paths


def config_digest(source: SourceConfig, extra: object = None) -> str:
    """A digest of everything in a source's config that shapes its rows (and `extra`)."""
    described = {
        "kind": source.kind,
        "feed": source.feed,
        "columns": source.columns,
        "values": source.values,
        "options": source.options,
        "extra": extra,
    }
    text = json.dumps(described, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def sample_digest(path: Path, size: int) -> str:
    """The quick fingerprint: SHA-256 of the size and the first and last MiB."""
    digest = hashlib.sha256(str(size).encode() + b"\0")
    with path.open("rb") as handle:
        digest.update(handle.read(SAMPLE_BYTES))
        if size > SAMPLE_BYTES:
            handle.seek(max(SAMPLE_BYTES, size - SAMPLE_BYTES))
            digest.update(handle.read(SAMPLE_BYTES))
    return digest.hexdigest()


def content_digest(path: Path) -> str:
    """The whole file's SHA-256 (about 1.2 GB/s here: SHA-256 is in the CPU)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def fingerprint(path: Path) -> dict:
    """What a sync records of a file it reads, taken before reading it: a file that changes
    while it is read is then seen as changed by the next sync, never as unchanged."""
    stat = path.stat()
    return {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sample": sample_digest(path, stat.st_size),
        "digest": content_digest(path),
    }


def unchanged_since(path: Path, recorded: dict | None) -> dict | None:
    """The file's record if its content is as `recorded` says, else None.

    Same size and mtime: the quick fingerprint must match too (a file rewritten in the same
    clock tick, or whose mtime was put back). Same size, another mtime (touched, copied over):
    the whole content's digest decides, and the record comes back with the new mtime.
    """
    if not recorded:
        return None
    stat = path.stat()
    if stat.st_size != recorded.get("size"):
        return None
    if sample_digest(path, stat.st_size) != recorded.get("sample"):
        return None
    if stat.st_mtime_ns == recorded.get("mtime_ns"):
        return recorded
    if content_digest(path) != recorded.get("digest"):
        return None
    return {**recorded, "mtime_ns": stat.st_mtime_ns}


class FileTracker:
    """Which of a source's files a sync reads, from what the last successful sync recorded.

    Files are read in name order and a later file's row wins a key they share, so a changed or
    new file is read with every file after it; the files before it are skipped. A changed
    config (the digest of the source's options and `extra`) reads every file again. A file that
    is gone is forgotten (its rows stay, as they always did).
    """

    def __init__(self, source: SourceConfig, state: dict, extra: object = None, key: str = "path"):
        self.source = source
        self.key = key
        self.config = config_digest(source, extra)
        recorded = state.get(FILES_STATE) if state.get(CONFIG_STATE) == self.config else None
        self.recorded: dict[str, dict] = dict(recorded or {})
        self._plan: list[tuple[Path, dict | None]] | None = None
        self._seen: dict[str, dict] = {}

    def plan(self) -> list[tuple[Path, dict | None]]:
        """Each matching file with its record if it is skipped, None if it is read."""
        if self._plan is None:
            plan: list[tuple[Path, dict | None]] = []
            reading = False
            for path in matching_files(self.source, self.key):
                kept = None
                if not reading:
                    try:
                        kept = unchanged_since(path, self.recorded.get(str(path)))
                    except OSError:
                        kept = None  # reading it says what is wrong
                reading = kept is None
                plan.append((path, kept))
            self._plan = plan
        return self._plan

    def to_read(self) -> list[Path]:
        return [path for path, kept in self.plan() if kept is None]

    def read_again_by_order(self) -> tuple[Path, list[Path]] | None:
        """A new file that sorts before files the last sync read, and those of them read again
        only because they come after it (same size and mtime as recorded); None if there are
        none. Adding a daily export named to sort first re-reads every earlier one."""
        read = self.to_read()
        if not read or str(read[0]) in self.recorded:
            return None
        again = []
        for path in read[1:]:
            recorded = self.recorded.get(str(path))
            try:
                stat = path.stat()
            except OSError:
                continue
            if recorded and (stat.st_size, stat.st_mtime_ns) == (
                recorded.get("size"),
                recorded.get("mtime_ns"),
            ):
                again.append(path)
        return (read[0], again) if again else None

    def unchanged(self) -> bool:
        """True when every file is as the last sync recorded it: nothing to read."""
        return not self.to_read()

    def reading(self, path: Path) -> None:
        """Fingerprint a file about to be read."""
        started = time.perf_counter()
        try:
            self._seen[str(path)] = fingerprint(path)
        except OSError as error:
            raise SourceError(f"source {self.source.name!r}: cannot read {path}: {error}") from None
        seconds = time.perf_counter() - started
        timing.debug(
            "fingerprint %.2f s", seconds, extra={"phase": "fingerprint", "seconds": seconds}
        )

    def state(self) -> dict:
        """The sync state to store once the files read are loaded."""
        files = {str(path): kept for path, kept in self.plan() if kept is not None}
        files.update(self._seen)
        return {CONFIG_STATE: self.config, FILES_STATE: dict(sorted(files.items()))}


class TrackedFiles:
    """A connector reading local files: which of them this sync reads (FileTracker), from the
    sync state of its source. Mixed into the Connector subclasses that read files."""

    source: SourceConfig
    state: dict

    @property
    def tracker(self) -> FileTracker:
        if not hasattr(self, "_tracker"):
            self._tracker = FileTracker(self.source, self.state)
        return self._tracker

    def unchanged(self) -> bool:
        return self.tracker.unchanged()

    def notices(self) -> list[str]:
        found = self.tracker.read_again_by_order()
        if found is None:
            return []
        new, again = found
        names = ", ".join(p.name for p in again[:3]) + (", ..." if len(again) > 3 else "")
        return [
            f"source {self.source.name!r}: the new file {new.name} sorts before "
            f"{len(again):,} file(s) an earlier sync read ({names}), which are read again with "
            "it (files are read in name order, and a later file's row wins a key they share): "
            "name new exports so that they sort last, e.g. by date"
        ]


class FilesConnector(TrackedFiles, Connector):
    """Files of one feed, by glob: CSV, Parquet, JSON Lines."""

    kind = "files"

    def validate(self) -> None:
        super().validate()
        if self.source.feed is None:
            raise SourceError(f"source {self.source.name!r}: kind 'files' needs a `feed`")
        if self.source.option("path") is None:
            raise SourceError(f"source {self.source.name!r}: kind 'files' needs a `path` (glob)")
        configured = self.source.option("format")
        if configured is not None and configured not in set(FORMATS.values()):
            raise SourceError(
                f"source {self.source.name!r}: unknown format {configured!r} (csv, parquet, jsonl)"
            )

    def estimate(self) -> int | None:
        return len(self.tracker.to_read())

    def extract(self) -> Iterator[FoundFile]:
        configured = self.source.option("format")
        paths = self.tracker.to_read()
        for path in paths:
            if _format_of(path, configured) is None:
                raise SourceError(
                    f"source {self.source.name!r}: cannot tell the format of {path} "
                    "(set `format` to csv, parquet or jsonl)"
                )
            self.tracker.reading(path)
        con = duckdb.connect()
        try:
            for path in paths:
                fmt = _format_of(path, configured)
                assert fmt is not None
                yield FoundFile(path, fmt, *self._sniff(con, path, fmt))
        finally:
            con.close()
        self.state = self.tracker.state()

    def _sniff(
        self, con: duckdb.DuckDBPyConnection, path: Path, fmt: str
    ) -> tuple[dict[str, str], tuple[str, ...]]:
        """Column types a first look suggests (CSV), or the keys of a JSON Lines file."""
        params = {"file_path": str(path)}
        if fmt == "parquet":
            return {}, ()
        if fmt == "csv":
            try:
                rows = con.execute("describe select * from read_csv($file_path)", params).fetchall()
            except duckdb.Error:
                return {}, ()  # the loader reads it as text and quarantines what fails
            return {name: str(dtype) for name, dtype, *_ in rows}, ()
        try:
            keys = con.execute(
                "select distinct unnest(json_keys(__json)) from "
                f"{_lines_relation()} where json_valid(__json) and __json like '{{%'",
                params,
            ).fetchall()
        except duckdb.Error as error:
            raise SourceError(f"source {self.source.name!r}: cannot read {path}: {error}") from None
        hints: dict[str, str] = {}
        try:
            rows = con.execute(
                "describe select * from read_json($file_path, format = 'newline_delimited', "
                "ignore_errors = true)",
                params,
            ).fetchall()
            hints = {name: str(dtype) for name, dtype, *_ in rows}
        except duckdb.Error:
            pass
        ordered = [k for k in hints if (k,) in keys] + sorted(k for (k,) in keys if k not in hints)
        # An empty key names no column (and no column can be named so): its values stay in
        # the line, unread.
        return hints, tuple(k for k in ordered if k)

    def normalize(self, raw: FoundFile) -> Batch:
        params = {"file_path": str(raw.path)}
        origin = str(raw.path)
        if raw.format == "parquet":
            return Batch(
                self.source.feed,
                origin,
                relation="read_parquet($file_path)",
                params=params,
                rereadable=True,
            )
        if raw.format == "csv":
            # Named after the source and file, so normalize stays deterministic; a table
            # reused by a later read of the same file is read for its latest scan only.
            digest = hashlib.sha1(f"{self.source.name}\0{raw.path}".encode()).hexdigest()[:12]
            reject_table = f"__rejects_{digest}"
            return Batch(
                self.source.feed,
                origin,
                relation=_csv_relation(reject_table),
                params=params,
                type_hints=raw.type_hints,
                # DuckDB reports a line once per error, a line with too many fields once per
                # extra field: one row per line, each kind of error once, with its last message
                # (the one that counts every field).
                rejects_sql=(
                    "with errors as (select line, any_value(csv_line) as csv_line, error_type, "
                    "arg_max(error_message, byte_position) as error_message "
                    f"from {reject_table} where scan_id = "
                    f"(select max(scan_id) from {reject_table}_scan) group by line, error_type) "
                    "select line, any_value(csv_line), 'line ' || line || ': ' || "
                    "string_agg(error_type || ' (' || error_message || ')', '; ' "
                    "order by error_type) from errors group by line order by line"
                ),
            )
        # JSON Lines: one value per key; nested values stay JSON text. Keys are bound.
        params.update({f"key_{i}": key for i, key in enumerate(raw.json_keys)})
        extracted = "".join(
            f", __json ->> $key_{i} as {quote(key)}" for i, key in enumerate(raw.json_keys)
        )
        lines = _lines_relation()
        relation = (
            f"(select __line as __row{extracted} from {lines} "
            "where json_valid(__json) and __json like '{%')"
        )
        return Batch(
            self.source.feed,
            origin,
            relation=relation,
            params=params,
            type_hints=raw.type_hints,
            rejects_sql=(
                f"select __line, __json, 'line ' || __line || ': not a JSON object' from {lines} "
                "where trim(coalesce(__json, '')) <> '' "
                "and not (json_valid(__json) and __json like '{%')"
            ),
            rejects_params={"file_path": str(raw.path)},
        )
