"""SQL databases: one table or query of any database SQLAlchemy reaches, read incrementally.

    [[sources]]
    name = "warehouse_deploys"
    kind = "sql"
    feed = "deployments"
    url_env = "WAREHOUSE_DB_URL"      # the variable holding the SQLAlchemy URL (and its password)
    table = "analytics.deploys"       # schema.table; or query = "select ... from ..."
    cursor = "updated_at"             # re-syncs read only rows with updated_at >= the last maximum
    columns = { deployment_id = "id", finished_at = "deployed_at" }
    values.status = { SUCCESS = "success" }
    # chunk_size = 50000   rows per batch: a large table never sits in memory whole
    # retries = 4          more attempts when connecting fails or the connection is lost
    #                      midway, with backoff
    # backoff_s = 1.0      the first wait; each next one doubles

Push-down (`profiles = true`, feed "inference" only): no rows are read. The database runs the
drift and serving profile queries itself, transpiled from sql/drift_profile_*.sql and
sql/serving_profile.sql to its dialect (picked from the URL's SQLAlchemy dialect: postgresql,
trino, bigquery, snowflake, mysql, ...), and only the per-(model, day) profiles come back
(profiling/remote.py). It needs a `table` (a view works too) or a `query` (in the
database's own SQL, sent as written inside the profile queries), `features = [...]`, and
`model = "name"` or `columns.model`; `columns.ts` and `columns.updated_at` name the timestamp
and the column whose newest value marks a changed day. A table's feature types come from the
database's catalogue; a query's from the values of its first 1000 rows.

The highest `cursor` value read is kept as the source's high-water mark; the next sync asks for
rows with `cursor >= mark` (bound as a parameter). `>=`, not `>`: rows sharing the last value
may commit after the read, and the ones read again are counted as duplicates by the loader's
upsert. Rows whose cursor is null are read by a first sync only.

A connection lost midway (a restarted server, a dropped network, a killed session) does not
fail the sync: the read resumes on a new connection from the highest `cursor` value handed over
so far (`>=`, with the rows of a first sync whose cursor is null), and the rows already handed
over that it meets again, compared by their values, are skipped: each row reaches the loader
once. After `retries` retries in a row that read nothing more, the source fails. Without a
`cursor` there is no mark to resume from: a read that had handed rows over fails, naming the
option.

Values reach the loader as they left the driver, made regular per column: timestamps as UTC
instants (a naive one is read as UTC), decimals as numbers, JSON and arrays as JSON text, and a
column of mixed types (SQLite's) as text that the loader parses or quarantines row by row. The
database URL carries a password: errors name it with `***` in its place and scrub it from the
driver's own messages, which may echo the connection string.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.sql.type_api import TypeEngine
from sqlalchemy.types import NullType
from sqlglot import exp

from connectors.base import Connector
from connectors.http import GaveUp, retry
from connectors.loader import Batch, SourceError
from connectors.secrets import Scrubber, safe_url
from profiling import portable, queries
from profiling import remote as remote_profiles
from profiling.queries import ProfiledColumn

DEFAULT_CHUNK_SIZE = 50_000
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF_S = 1.0
# Connection failures that no retry fixes: credentials, access rules, a database or user that
# does not exist (PostgreSQL, MySQL/MariaDB, SQL Server wordings).
_PERMANENT = (
    "authentication failed",
    "password authentication",
    "access denied",
    "login failed",
    "no pg_hba.conf entry",
    "does not exist",
    "unknown database",
    "permission denied",
)
# What sqlalchemy.text() would take for a bind parameter (see TextClause._bind_params_regex).
_BIND_LIKE = re.compile(r"(?<![:\w\x5c]):(\w+)(?![:\w])")
_INT64 = (-(2**63), 2**63 - 1)
# Push-down of a `query`: the table name the profile queries carry until the query replaces
# it, and how many of its rows type its columns.
_QUERY_PLACEHOLDER = "__tandem_pushed_query__"
_TYPING_SAMPLE = 1000


@dataclass(frozen=True)
class Chunk:
    """Rows read in one fetch: column names, row tuples, and where they come from."""

    origin: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    # The first row's number in this read, so quarantined rows are numbered across chunks.
    first_row: int
    # Storage types of the source's columns, from its declared types (inference features).
    type_hints: dict[str, str] = field(default_factory=dict)


class Redactor(Scrubber):
    """A database URL's secrets scrubbed from any message (connectors/secrets.py), and the URL
    fit to show (`url`: the password and secret query values as ***)."""

    def __init__(self, raw: str):
        super().__init__(urls=[raw])
        self.url = safe_url(raw)


def _cause(error: BaseException) -> str:
    """The driver's own words for a failure, on one line."""
    orig = getattr(error, "orig", None) or error
    text = str(orig).strip() or type(orig).__name__
    if "FATAL:" in text:  # libpq: "connection failed: ... failed: FATAL:  <the reason>"
        text = text.rsplit("FATAL:", 1)[1]
    else:
        text = text.splitlines()[0]
        text = text.removeprefix("connection failed: ")
    # SQLAlchemy appends a link and may append the statement: neither is the cause.
    text = text.split("(Background on this error at:")[0]
    return " ".join(text.split())


def _is_permanent(cause: str) -> bool:
    lower = cause.lower()
    return any(words in lower for words in _PERMANENT)


def _is_transient(error: Exception) -> bool:
    """A failure a new connection may not meet: the server or the network, not the request."""
    return isinstance(error, sa.exc.OperationalError) and not _is_permanent(_cause(error))


def _text_clause(query: str) -> Any:
    """A user's query as a SQLAlchemy text clause: its colons are its own (a '10:30' literal, a
    ::cast), never bind parameters."""
    return sa.text(_BIND_LIKE.sub(r"\\:\1", query)).columns()


def _value_hint(values: Sequence[Any]) -> str | None:
    """The storage type a query's column takes as a feature, from its values (first non-null
    ones): None for timestamps and dates (not drift-tested), text when all are null."""
    present = [v for v in values if v is not None]
    if not present:
        return "VARCHAR"
    if all(isinstance(v, bool) for v in present):
        return "BOOLEAN"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "BIGINT"
    if all(isinstance(v, decimal.Decimal) for v in present):
        whole = all(v.is_finite() and v == v.to_integral_value() for v in present)
        return "BIGINT" if whole else "DOUBLE"
    if all(isinstance(v, int | float | decimal.Decimal) for v in present):
        return "DOUBLE"
    if all(isinstance(v, dt.date | dt.time) for v in present):
        return None
    return "VARCHAR"


def _type_hint(sql_type: TypeEngine) -> str | None:
    """The storage type a column of `sql_type` takes as an inference feature."""
    if isinstance(sql_type, NullType):
        return None
    if isinstance(sql_type, sa.Boolean):
        return "BOOLEAN"
    if isinstance(sql_type, sa.Integer):
        return "BIGINT"
    if isinstance(sql_type, sa.Float):
        return "DOUBLE"
    if isinstance(sql_type, sa.Numeric):
        return "BIGINT" if sql_type.scale == 0 else "DOUBLE"
    return "VARCHAR"


# -- the mark: a cursor value kept as JSON between syncs -------------------------------------------


def _encode_mark(value: Any) -> dict[str, Any]:
    if isinstance(value, dt.datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, dt.time):
        return {"type": "time", "value": value.isoformat()}
    if isinstance(value, bool):
        return {"type": "str", "value": str(value)}
    if isinstance(value, int):
        return {"type": "int", "value": value}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    if isinstance(value, decimal.Decimal):
        return {"type": "decimal", "value": str(value)}
    return {"type": "str", "value": str(value)}


def _decode_mark(mark: dict[str, Any]) -> Any:
    decoders: dict[str, Callable[[Any], Any]] = {
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "time": dt.time.fromisoformat,
        "int": int,
        "float": float,
        "decimal": decimal.Decimal,
        "str": str,
    }
    return decoders[mark["type"]](mark["value"])


# -- values into regular columns -------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str)
    return str(value)


def _as_text(values: Sequence[Any]) -> pd.Series:
    return pd.Series([None if v is None else _text(v) for v in values], dtype=object)


def _column(values: Sequence[Any]) -> Any:
    """One column of driver values as a pandas column DuckDB reads with one type."""
    present = {type(v) for v in values} - {type(None)}
    if not present or present == {str}:
        return pd.Series(values, dtype=object)
    missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    if present == {bool}:
        flags = np.fromiter((v is True for v in values), dtype=bool, count=len(values))
        return pd.arrays.BooleanArray(flags, missing)
    if present == {int}:
        if all(_INT64[0] <= v <= _INT64[1] for v in values if v is not None):
            return pd.arrays.IntegerArray(
                np.fromiter((v or 0 for v in values), dtype="int64", count=len(values)), missing
            )
        return _as_text(values)  # beyond 64 bits: exact, as text
    if present <= {int, float, decimal.Decimal}:
        numbers = np.fromiter(
            (np.nan if v is None else float(v) for v in values), dtype="float64", count=len(values)
        )
        present_numbers = numbers[~missing]
        if (
            float not in present
            and np.isfinite(present_numbers).all()
            and (present_numbers == np.floor(present_numbers)).all()
            and (np.abs(present_numbers) < 2**53).all()
        ):
            # Whole decimals (a numeric(10, 0) id) stay integers; exact below 2**53.
            return pd.arrays.IntegerArray(np.where(missing, 0, numbers).astype("int64"), missing)
        return numbers
    if present == {dt.date}:
        return pd.Series(values, dtype=object)  # DuckDB reads date objects as DATE
    if present <= {dt.datetime, dt.date}:
        try:
            # Aware values become the same instant in UTC; naive ones are read as UTC.
            return pd.to_datetime(pd.Series(values, dtype=object), utc=True)
        except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
            return _as_text(values)  # beyond pandas' range: the loader parses the text
    return _as_text(values)


def _frame(chunk: Chunk) -> pd.DataFrame:
    by_column = list(zip(*chunk.rows, strict=True)) if chunk.rows else [()] * len(chunk.columns)
    frame = pd.DataFrame(
        {name: _column(values) for name, values in zip(chunk.columns, by_column, strict=True)}
    )
    frame["__row"] = np.arange(chunk.first_row, chunk.first_row + len(chunk.rows), dtype="int64")
    return frame


@dataclass
class _Read:
    """How far one read of a source has got, so that it can resume on a new connection.

    `highest` is the highest cursor value handed over. A resumed read asks for the rows from
    it (and, on a first sync, the rows whose cursor is null), and meets again some rows it
    handed over: those at `highest` and the null ones, kept as multisets of their values'
    reprs to be skipped once each.
    """

    mark: Any
    highest: Any = None
    rows: int = 0
    connection: Connection | None = None
    parts: Iterator[Any] | None = None
    columns: tuple[str, ...] = ()
    hints: dict[str, str] = field(default_factory=dict)
    position: int | None = None
    at_highest: Counter[str] = field(default_factory=Counter)
    at_null: Counter[str] = field(default_factory=Counter)
    # What a resumed read skips: the rows handed over at `highest` when it resumed, and the
    # null ones.
    _skip_at: Any = None
    _skip: dict[str, Counter[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.highest = self.mark

    def close(self) -> None:
        connection, self.connection, self.parts = self.connection, None, None
        if connection is not None:
            # A connection lost midway may fail to close too: it is gone either way.
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                connection.close()

    def resume(self) -> None:
        """A new result from where the read stopped: skip what was handed over already."""
        self._skip_at = self.highest
        self._skip = {"high": Counter(self.at_highest), "null": Counter(self.at_null)}

    def unseen(self, rows: tuple[tuple[Any, ...], ...]) -> tuple[tuple[Any, ...], ...]:
        """`rows` without those a lost connection had handed over already."""
        if not any(self._skip.values()):
            return rows
        kept = []
        for row in rows:
            value = row[self.position]
            seen = self._skip["null"] if value is None else None
            if value is not None and value == self._skip_at:
                seen = self._skip["high"]
            if seen:
                text = repr(row)
                if seen[text] > 0:
                    seen[text] -= 1
                    continue
            kept.append(row)
        return tuple(kept)

    def handed_over(self, rows: tuple[tuple[Any, ...], ...], highest: Any) -> None:
        """Note `rows` (ordered by cursor) as handed over; `highest` is the highest cursor now."""
        position = self.position
        if highest != self.highest:
            self.at_highest = Counter()  # past the last highest value: those are not met again
        self.highest = highest
        self.at_highest.update(
            repr(r) for r in rows if r[position] is not None and r[position] == highest
        )
        if self.mark is None:
            self.at_null.update(repr(r) for r in rows if r[position] is None)


class SqlConnector(Connector):
    """One table or query of a SQL database, for one feed, in chunks, from a high-water mark."""

    kind = "sql"
    # Waits between connection attempts; tests replace it so retries take no time.
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    # -- config -------------------------------------------------------------------------------

    def _fail(self, message: str) -> SourceError:
        return SourceError(f"source {self.source.name!r}: {message}")

    def validate(self) -> None:
        super().validate()
        option = self.source.option
        if self.source.feed is None:
            raise self._fail("kind 'sql' needs a `feed`")
        env = option("url_env")
        if not isinstance(env, str) or not env:
            raise self._fail(
                "kind 'sql' needs `url_env`: the environment variable that holds the database's "
                "SQLAlchemy URL"
            )
        table, query = option("table"), option("query")
        if table is None and query is None:
            raise self._fail("kind 'sql' needs a `table` or a `query`")
        if table is not None and query is not None:
            raise self._fail("kind 'sql' takes a `table` or a `query`, not both")
        for key in ("table", "query", "cursor"):
            value = option(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise self._fail(f"`{key}` must be a non-empty string")
        for key, low in (("chunk_size", 1), ("retries", 0)):
            value = option(key)
            if value is not None and (not isinstance(value, int) or value < low):
                raise self._fail(f"`{key}` must be a whole number >= {low}")
        backoff = option("backoff_s")
        if backoff is not None and (not isinstance(backoff, int | float) or backoff < 0):
            raise self._fail("`backoff_s` must be a number of seconds >= 0")
        if option("profiles") is not None:
            self._validate_profiles()

    def _validate_profiles(self) -> None:
        option = self.source.option
        if not isinstance(option("profiles"), bool):
            raise self._fail("`profiles` must be true or false")
        if not option("profiles"):
            return
        if self.source.feed != "inference":
            raise self._fail('`profiles = true` is for feed = "inference" only')
        features = option("features")
        if (
            not isinstance(features, list)
            or not features
            or not all(isinstance(f, str) and f for f in features)
        ):
            raise self._fail("`profiles = true` needs `features`: a list of column names")
        model = option("model")
        if model is None and "model" not in self.source.columns:
            raise self._fail("`profiles = true` needs `model` (a name) or `columns.model`")
        if model is not None and (not isinstance(model, str) or not model):
            raise self._fail("`model` must be a non-empty string")

    @property
    def _pushes_down(self) -> bool:
        return bool(self.source.option("profiles", False))

    @property
    def _cursor(self) -> str | None:
        return self.source.option("cursor")

    def _reads(self) -> str:
        """What this source reads, for telling a stored mark of another read apart."""
        table = self.source.option("table")
        if table is not None:
            return "table:" + table
        query = self.source.option("query")
        return "query:" + hashlib.sha1(query.encode()).hexdigest()[:16]

    def _mark(self) -> Any:
        """The stored high-water mark, if it was left by a read of the same table/query/cursor."""
        state = self.state
        if (
            self._cursor is None
            or state.get("cursor") != self._cursor
            or state.get("reads") != self._reads()
            or "mark" not in state
        ):
            return None
        return _decode_mark(state["mark"])

    # -- I/O ------------------------------------------------------------------------------------

    def _url(self) -> tuple[URL, Redactor]:
        env = self.source.option("url_env")
        raw = self.source.secret("url_env").reveal()  # ConfigError naming the variable if unset
        try:
            url = sa.make_url(raw)
        except (sa.exc.ArgumentError, ValueError):
            raise self._fail(
                f"${env} does not hold a SQLAlchemy URL (like "
                "postgresql+psycopg://user:password@host:5432/database)"
            ) from None
        return url, Redactor(raw)

    def _engine(self, url: URL, redact: Redactor) -> Engine:
        try:
            return sa.create_engine(url, poolclass=sa.pool.NullPool, hide_parameters=True)
        except (sa.exc.ArgumentError, ImportError) as error:
            raise self._fail(
                redact(f"cannot use {redact.url}: {_cause(error)} (is its driver installed?)")
            ) from None

    def _connect(self, engine: Engine, redact: Redactor) -> Connection:
        """A connection, retrying transient failures with exponential backoff."""
        retries = int(self.source.option("retries", DEFAULT_RETRIES))
        backoff = float(self.source.option("backoff_s", DEFAULT_BACKOFF_S))
        where = f"(the URL comes from ${self.source.option('url_env')})"

        try:
            return retry(engine.connect, retries + 1, _is_transient, self.sleep, backoff)
        except GaveUp as gave_up:
            raise self._fail(
                redact(
                    f"cannot connect to {redact.url} after {gave_up.attempts} attempts: "
                    f"{_cause(gave_up.error)} {where}"
                )
            ) from None
        except sa.exc.SQLAlchemyError as error:
            raise self._fail(
                redact(f"cannot connect to {redact.url}: {_cause(error)} {where}")
            ) from None

    def _statement(self, con: Connection, redact: Redactor) -> tuple[Any, Any, dict[str, str]]:
        """The select (without a mark), its cursor column, and the columns' type hints."""
        cursor = self._cursor
        table = self.source.option("table")
        if table is not None:
            schema, _, name = table.rpartition(".")
            try:
                columns = sa.inspect(con).get_columns(name, schema=schema or None)
            except sa.exc.NoSuchTableError:
                raise self._fail(redact(f"no table {table} in {redact.url}")) from None
            names = [c["name"] for c in columns]
            if cursor is not None and cursor not in names:
                raise self._fail(
                    f"cursor column {cursor!r} is not in {table} (columns: {', '.join(names)})"
                )
            # Lightweight constructs: identifiers quoted by the dialect, values left untyped so
            # the driver's own values reach the frame (a bad one is quarantined, not fatal).
            source = sa.table(name, *(sa.column(n) for n in names), schema=schema or None)
            hints = {c["name"]: h for c in columns if (h := _type_hint(c["type"])) is not None}
            statement = sa.select(*source.c)
            cursor_column = source.c[cursor] if cursor is not None else None
            return statement, cursor_column, hints
        query = self.source.option("query").strip().rstrip(";")
        # The user's query as a subquery, so the mark applies to its result.
        source = _text_clause(query).subquery("tandem_source")
        statement = sa.select(sa.literal_column("*")).select_from(source)
        return statement, (sa.column(cursor) if cursor is not None else None), {}

    def _origin(self, redact: Redactor, mark: Any) -> str:
        table = self.source.option("table")
        what = f"table {table}" if table is not None else "query"
        since = f" where {self._cursor} >= {_text(mark)}" if mark is not None else ""
        return f"{redact.url} {what}{since}"

    def extract(self) -> Iterator[Chunk]:
        if self._pushes_down:
            return  # profiles only: write_profiles does the work
        url, redact = self._url()
        engine = self._engine(url, redact)
        read = _Read(mark=self._mark())
        try:
            yield from self._read(engine, redact, read)
        except sa.exc.SQLAlchemyError as error:
            what = self.source.option("table") or "the query"
            raise self._fail(
                redact(f"cannot read {what} from {redact.url}: {_cause(error)}")
            ) from None
        finally:
            read.close()
            engine.dispose()

    def _open(self, engine: Engine, redact: Redactor, read: _Read, chunk_size: int) -> None:
        """Connect and run the select, from the read's mark, or from where it stopped."""
        read.connection = self._connect(engine, redact)
        statement, cursor_column, hints = self._statement(read.connection, redact)
        params: dict[str, Any] = {}
        if cursor_column is not None:
            start = read.mark if read.highest is None else read.highest
            if start is not None:
                # Untyped, so the value binds as the driver returned it.
                condition = cursor_column >= sa.bindparam("mark", type_=NullType())
                if read.mark is None and read.highest is not None:
                    # A first sync reads the rows whose cursor is null too.
                    condition = sa.or_(condition, cursor_column.is_(None))
                statement = statement.where(condition)
                params["mark"] = start
            statement = statement.order_by(cursor_column)
        result = read.connection.execution_options(yield_per=chunk_size).execute(statement, params)
        columns = tuple(result.keys())
        twice = sorted({c for c in columns if columns.count(c) > 1})
        if twice:
            raise self._fail(f"the query returns column(s) {', '.join(twice)} more than once")
        if self._cursor is not None and self._cursor not in columns:
            raise self._fail(f"cursor column {self._cursor!r} is not in the query's columns")
        read.columns, read.hints = columns, hints
        read.position = columns.index(self._cursor) if self._cursor is not None else None
        read.parts = result.partitions()
        read.resume()

    def _read(self, engine: Engine, redact: Redactor, read: _Read) -> Iterator[Chunk]:
        chunk_size = int(self.source.option("chunk_size", DEFAULT_CHUNK_SIZE))
        attempts = int(self.source.option("retries", DEFAULT_RETRIES)) + 1
        backoff = float(self.source.option("backoff_s", DEFAULT_BACKOFF_S))
        origin = self._origin(redact, read.mark)
        what = self.source.option("table") or "the query"

        def next_rows() -> tuple[tuple[Any, ...], ...] | None:
            if read.parts is None:
                self._open(engine, redact, read, chunk_size)
            part = next(read.parts, None)
            return None if part is None else tuple(tuple(row) for row in part)

        def lost(error: Exception) -> bool:
            if not _is_transient(error) or (self._cursor is None and read.rows):
                return False
            read.close()  # the next attempt opens a new connection and resumes
            return True

        while True:
            try:
                rows = retry(next_rows, attempts, lost, self.sleep, backoff)
            except GaveUp as gave_up:
                raise self._fail(
                    redact(
                        f"lost the connection to {redact.url} while reading {what}, and gave "
                        f"up after {gave_up.attempts} attempts in a row: {_cause(gave_up.error)}"
                    )
                ) from None
            except sa.exc.OperationalError as error:
                if not (_is_transient(error) and read.rows):
                    raise
                raise self._fail(
                    redact(
                        f"lost the connection to {redact.url} after reading {read.rows} rows of "
                        f"{what}: {_cause(error)} (with a `cursor`, a read resumes where it "
                        "stopped)"
                    )
                ) from None
            if rows is None:
                break
            if read.position is not None:
                rows = read.unseen(rows)
                read.handed_over(rows, self._highest(read.highest, rows, read.position))
                self.state = self._state(read.highest)
            if not rows:
                continue  # all of it handed over before the connection was lost
            yield Chunk(origin, read.columns, rows, read.rows + 1, read.hints)
            read.rows += len(rows)
        if not read.rows:
            self.state = self._state(read.highest)
            # Nothing (new) to read: an empty batch still reports "read 0" for the feed. Not for
            # inference, whose feature columns would be typed from no values.
            if self.source.feed != "inference":
                yield Chunk(origin, read.columns, (), 1, read.hints)

    def _state(self, highest: Any) -> dict[str, Any]:
        if highest is None:
            return {}
        return {"cursor": self._cursor, "reads": self._reads(), "mark": _encode_mark(highest)}

    def _highest(self, highest: Any, rows: tuple[tuple[Any, ...], ...], position: int) -> Any:
        values = [row[position] for row in rows if row[position] is not None]
        if highest is not None:
            values.append(highest)
        try:
            return max(values, default=None)
        except TypeError:
            kinds = ", ".join(sorted({type(v).__name__ for v in values}))
            raise self._fail(
                f"cursor column {self._cursor!r} holds values that do not compare ({kinds})"
            ) from None

    # -- push-down: profiles computed by the database ---------------------------------------------

    def _pushed_query(self) -> str | None:
        """The source's `query`, as the profile queries embed it (None for a `table`)."""
        query = self.source.option("query")
        return None if query is None else str(query).strip().rstrip(";")

    def _remote_types(self, con: Connection) -> tuple[dict[str, str | None], str]:
        """Each column's storage type hint (None: not a feature), and what the rows are."""
        table = self.source.option("table")
        if table is not None:
            schema, _, name = table.rpartition(".")
            try:
                found = sa.inspect(con).get_columns(name, schema=schema or None)
            except sa.exc.NoSuchTableError:
                raise self._fail(f"no table {table}") from None
            return {c["name"]: _type_hint(c["type"]) for c in found}, table
        # A query has no catalogue entry: its columns are typed by their first values.
        sample = sa.select(sa.literal_column("*")).select_from(
            _text_clause(self._pushed_query()).subquery("tandem_source")
        )
        result = con.execute(sample.limit(_TYPING_SAMPLE))
        names = list(result.keys())
        rows = result.fetchall()
        return {n: _value_hint([row[i] for row in rows]) for i, n in enumerate(names)}, "query"

    def _remote_source(self, con: Connection) -> remote_profiles.RemoteSource:
        hints, what = self._remote_types(con)
        columns = dict(self.source.columns)
        ts = columns.get("ts", "ts")
        required = {"ts": ts, "updated_at": columns.get(remote_profiles.UPDATED, ts)}
        if self.source.option("model") is None:
            required["model"] = columns.get("model", "model")
        for contract_name, name in required.items():
            if name not in hints:
                raise self._fail(
                    f"column {name!r} ({contract_name}) is not in {what} "
                    f"(columns: {', '.join(hints)})"
                )
        features = []
        for feature in self.source.option("features"):
            source_name = columns.get(feature, feature)
            if source_name not in hints:
                raise self._fail(
                    f"feature {source_name!r} is not in {what} (columns: {', '.join(hints)})"
                )
            if hints[source_name] is not None:
                features.append(ProfiledColumn(feature, hints[source_name]))
        table = self.source.option("table")
        if table is None:
            relation = portable.identifier(_QUERY_PLACEHOLDER)
        else:
            relation = ".".join(portable.identifier(part) for part in table.split("."))
        return remote_profiles.RemoteSource(
            relation=relation,
            columns=columns,
            features=features,
            model=self.source.option("model"),
            outputs=tuple(o for o in queries.OUTPUTS if columns.get(o, o) in hints),
            serving=tuple(s for s in remote_profiles.SERVING if columns.get(s, s) in hints),
        )

    def write_profiles(self, con: Any) -> int:
        if not self._pushes_down:
            return 0
        url, redact = self._url()
        dialect = portable.SQLALCHEMY_DIALECTS.get(url.get_backend_name())
        if dialect is None:
            raise self._fail(
                f"`profiles = true` does not know the SQL dialect of {url.get_backend_name()!r} "
                f"(known: {', '.join(sorted(portable.SQLALCHEMY_DIALECTS))})"
            )
        engine = self._engine(url, redact)
        try:
            with self._connect(engine, redact) as remote:
                utc = portable.UTC_SESSION.get(dialect)
                if utc:
                    remote.exec_driver_sql(utc)
                source = self._remote_source(remote)

                pushed = self._pushed_query()
                placeholder = exp.to_identifier(_QUERY_PLACEHOLDER, quoted=True).sql(dialect)
                alias = exp.to_identifier("tandem_query", quoted=True).sql(dialect)

                def query(text: str) -> pd.DataFrame:
                    if pushed is not None:
                        # The user's query, in the database's SQL, where the rows are read.
                        if placeholder not in text:  # pragma: no cover - a bug, not an input
                            raise AssertionError("the profile query lost its relation")
                        text = text.replace(placeholder, f"({pushed}) as {alias}")
                    # No parameters: the driver sends the text as it is (values are inlined),
                    # so a % in the query is the query's own, not a placeholder.
                    result = remote.execution_options(no_parameters=True).exec_driver_sql(text)
                    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

                done, self.state = remote_profiles.sync_profiles(
                    con, query, dialect, source, self.source.name, self.state
                )
                return done
        except sa.exc.SQLAlchemyError as error:
            raise self._fail(
                redact(
                    f"cannot profile {self.source.option('table') or 'the query'} in {redact.url}: "
                    f"{_cause(error)}"
                )
            ) from None
        finally:
            engine.dispose()

    def normalize(self, raw: Chunk) -> Batch:
        return Batch(
            self.source.feed, raw.origin, frame=_frame(raw), type_hints=dict(raw.type_hints)
        )
