"""The one loader every connector hands its rows to: validate, quarantine, upsert, count.

A batch of source rows (a DuckDB table expression or a DataFrame) becomes canonical rows in
one pass of SQL inside the warehouse: columns are renamed and values mapped as the source's
config says, every value is cast to its canonical type, and each row gets a reason if it breaks
the contract. Rows with a reason go to `quarantine` with their raw content; the rest are
upserted by (source, key). For every batch, read = loaded + duplicates + quarantined, where a
duplicate is a row whose key came again in the same batch (the last one wins) or a row that is
already in the warehouse unchanged.

A quarantine row stands for the latest sighting of a bad source row, never for one read: it
carries the feed's key when one could be read from the row (`row_key`). Batches insert the bad
rows they read; older rows are superseded once the source's last batch is in (Loader.finish,
which connectors.sync calls inside the source's transaction), so an origin read in several
batches keeps what any of them sights again:
- an origin the sync read again (a file, an API's window, a table from its mark) loses its
  older rows that no batch of the sync sighted again, keyed or not;
- a key K the sync read, loaded, unchanged or quarantined, supersedes older quarantine rows of
  the same source, feed and K from any origin: an API that re-reads the item at its high-water
  mark under a new origin counts one bad item once, and an item fixed at the source leaves the
  quarantine.
A bad row sighted again as it was keeps its quarantine row, sync and time as they were, so an
identical sync leaves the quarantine unchanged. As it was: the same key, raw content and
reason, and the same origin and row number, or another origin. A row without a key counts as
sighted again under another origin only if that origin is not read in this sync (a window
that moved on re-reads the row at its mark); two identical rows of one origin, or of two
origins read in one sync (two files), stay two rows. In one batch, a good row of key K wins
over a bad one: the bad row is counted as quarantined in the sync's stats but leaves no
quarantine row beside the loaded K.

People (the feed columns marked `identity`: change authors, assignees) are stored as what the
sync's `Identities` makes of them (connectors/identity.py): pseudonyms unless names are shown.
The raw record of a quarantined row holds the same pseudonym in those source columns; a raw
record the loader cannot read column by column (a connector's reject, a CSV line with too many
fields) of a feed that names people is withheld, kept only as a keyed digest of its content.

Identifiers (column names from files and config) are quoted, never values: every value from a
source or a config is bound as a parameter.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from connectors.feeds import BOOKKEEPING_COLUMNS, Column, Feed, feed
from connectors.identity import Identities
from settings import SourceConfig
from warehouse import quote

INTERNAL_PREFIX = "__"


@dataclass
class Reject:
    """A source row that could not even be parsed (e.g. a CSV line with too many fields).

    `key` is the feed's key as `row_key` writes it (see key_text), when the connector could
    read it reliably from the row; None otherwise.
    """

    row_number: int | None
    raw: str
    reason: str
    key: str | None = None


@dataclass
class Batch:
    """Rows of one feed from one place (a file, an API page): what a connector hands over.

    Exactly one of `relation` (a DuckDB table expression, with `params` bound to it) and
    `frame` (a pandas DataFrame or Arrow table) holds the rows. `type_hints` give a type for
    columns that arrive as text (sniffed from a CSV), used for inference features.
    """

    feed: str
    origin: str
    relation: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    frame: Any = None
    type_hints: dict[str, str] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    # A query run after the rows are read, giving (row_number, raw, reason) of rows the reader
    # itself rejected (a CSV's malformed lines), one row per source row.
    rejects_sql: str | None = None
    rejects_params: dict[str, Any] = field(default_factory=dict)
    # Reading the rows twice is cheap (Parquet, a DataFrame): a clean first load may then skip
    # staging (see Loader._load_direct).
    rereadable: bool = False


@dataclass
class LoadStats:
    """What became of the rows read for one feed of one source."""

    read: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def add(self, other: LoadStats) -> None:
        self.read += other.read
        self.loaded += other.loaded
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined


class SourceError(RuntimeError):
    """A source that cannot be read at all; the message names the source and the cause."""


def key_sql(spec: Feed) -> str:
    """SQL for a row's key as quarantine's `row_key` holds it, over the feed's typed columns.

    One key column: its value as text. Several: a JSON array of their values as text. NULL when
    a part of the key is missing.
    """
    parts = [f"cast({quote(name)} as varchar)" for name in spec.key]
    if len(parts) == 1:
        return parts[0]
    present = " and ".join(f"{part} is not null" for part in parts)
    return f"case when {present} then cast(to_json([{', '.join(parts)}]) as varchar) end"


def _type_family(duckdb_type: str) -> str:
    """The storage type for an inference feature whose source type is `duckdb_type`."""
    t = duckdb_type.upper()
    if t in {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
    }:
        return "BIGINT"
    if t in {"FLOAT", "DOUBLE", "REAL"} or t.startswith("DECIMAL"):
        return "DOUBLE"
    if t == "BOOLEAN":
        return "BOOLEAN"
    return "VARCHAR"


class _Params:
    """Collects bound parameters while SQL text is assembled."""

    def __init__(self, initial: dict[str, Any]):
        self.values = dict(initial)
        self._n = 0

    def bind(self, value: Any) -> str:
        self._n += 1
        name = f"p{self._n}"
        self.values[name] = value
        return "$" + name


@dataclass
class _Plan:
    """The staging SQL for one batch, with the feature columns it writes."""

    sql: str
    params: dict[str, Any]
    features: dict[str, str]
    # Some feature's type is settled only once every value has been staged.
    needs_settling: bool = False


def _distinct_keys(keys: list[str], where: str = "true") -> str:
    """SQL counting the distinct hashes of the rows' keys (where `where` holds): equal to the
    rows' count only when every key is distinct, fewer when a key repeats or, rarely, two keys
    share a hash (about once in a thousand files of 200M rows): callers count those exactly.

    Hashes, not the keys: DuckDB's distinct aggregate keeps some of each key in memory even
    when it spills, and 8 bytes per key instead of the key itself let larger files load within
    the sync's memory limit (20M keys: 60 MB where the keys failed at 80 MB). A
    single key that is null is not counted, as count(distinct key) would not count it."""
    if len(keys) == 1:
        where = f"({where}) and {keys[0]} is not null"
    return f"count(distinct hash({', '.join(keys)})) filter (where {where})"


class Loader:
    """Loads batches for one source into a warehouse connection opened for writing."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        source: SourceConfig,
        sync_id: str,
        work_categories: dict[str, str] | None = None,
        identities: Identities | None = None,
    ):
        self.con = con
        self.source = source
        self.sync_id = sync_id
        self.work_categories = work_categories or {}
        # None: identities are stored as the source gives them (a Loader used on its own);
        # a sync always passes the configured ones.
        self.identities = identities
        self._identity_fn: str | None = None
        self._withhold_fn: str | None = None
        # What this sync sighted, kept until finish() settles the quarantine (see there):
        # (feed, origin) read, bad rows sighted, and good rows' keys that quarantine holds.
        suffix = uuid.uuid4().hex[:8]
        self._read = f"__read_{suffix}"
        self._sighted = f"__sighted_{suffix}"
        self._good_keys = f"__good_keys_{suffix}"
        self._origins: set[tuple[str, str]] = set()

    # -- the public step ----------------------------------------------------------------------

    def load(self, batch: Batch) -> LoadStats:
        """Validate, quarantine and upsert one batch; return its counts."""
        spec = feed(batch.feed)
        frame_name = None
        if batch.frame is not None:
            frame_name = f"__frame_{uuid.uuid4().hex[:8]}"
            self.con.register(frame_name, batch.frame)
            relation = frame_name
        elif batch.relation is not None:
            relation = batch.relation
        else:
            raise ValueError("a Batch needs a relation or a frame")
        try:
            stats = self._load(spec, batch, relation)
        except BaseException:
            # A failed statement aborts the sync's transaction, whose rollback drops the work
            # tables: cleaning up would fail too, and hide the error that matters.
            with contextlib.suppress(duckdb.Error):
                self._clean_up(frame_name)
            raise
        self._clean_up(frame_name)
        return stats

    def finish(self) -> None:
        """Settle the quarantine once the source's last batch is loaded, in the same transaction.

        An older quarantine row goes if this sync read its origin, or read its key (a good row
        or a bad one), and no batch of the sync sighted it again as it was. A row without a key
        that this sync sighted only under another origin, which it did not read, is that
        origin's row sighted again (see _quarantine); otherwise it is written now.
        """
        if not self._origins:
            return
        con = self.con
        params = {"source": self.source.name}
        con.execute(
            "delete from quarantine q where q.source = $source and ("
            f"exists (select 1 from {self._read} r where r.feed = q.feed and r.origin = q.origin) "
            "or (q.row_key is not null and ("
            f"exists (select 1 from {self._good_keys} k "
            "where k.feed = q.feed and k.row_key = q.row_key) "
            f"or exists (select 1 from {self._sighted} s "
            "where s.feed = q.feed and s.row_key = q.row_key)))) "
            f"and not exists (select 1 from {self._sighted} n "
            f"where n.feed = q.feed and {self._SIGHTED_AGAIN})",
            params,
        )
        con.execute(
            "insert into quarantine (source, feed, origin, row_number, raw, reason, sync_id, "
            "quarantined_at, row_key) "
            "select $source, n.feed, n.origin, n.row_number, n.raw, n.reason, $sync_id, now(), "
            f"n.row_key from {self._sighted} n where n.row_key is null "
            "and not exists (select 1 from quarantine q where q.source = $source "
            f"and q.feed = n.feed and {self._SIGHTED_AGAIN}) "
            "and not exists (select 1 from quarantine q where q.source = $source "
            f"and q.feed = n.feed and {self._SIGHTED_ELSEWHERE} and not exists "
            f"(select 1 from {self._read} r where r.feed = q.feed and r.origin = q.origin))",
            {**params, "sync_id": self.sync_id},
        )
        for table in (self._read, self._sighted, self._good_keys):
            con.execute(f"drop table if exists {table}")
        self._origins = set()

    def _load(self, spec: Feed, batch: Batch, relation: str) -> LoadStats:
        raw_types = self._describe(relation, batch.params, batch.origin)
        plan = self._plan(spec, relation, batch, raw_types)
        if (
            (batch.rereadable or batch.frame is not None)
            and not batch.rejects_sql
            and not batch.rejects
            and not plan.needs_settling
            and not self._has_rows(spec)
            and not self._has_keyed_quarantine(spec)
        ):
            direct = self._load_direct(spec, batch, plan)
            if direct is not None:
                return direct
        self.con.execute("create or replace temp table __stage as " + plan.sql, plan.params)
        return self._apply(spec, batch, plan.features)

    def _clean_up(self, frame_name: str | None) -> None:
        for table in ("__stage", "__good", "__fresh"):
            self.con.execute(f"drop table if exists {table}")
        if frame_name:
            self.con.unregister(frame_name)

    # -- people ---------------------------------------------------------------------------------

    def _identity_function(self) -> str:
        """The SQL function, registered on the connection, that maps an identity for storage."""
        if self._identity_fn is None:
            assert self.identities is not None
            identities = self.identities
            name = f"__identity_{uuid.uuid4().hex[:8]}"

            def mapped(values: pa.Array) -> pa.Array:
                return pa.array(identities.many(values.to_pylist()), type=pa.string())

            self.con.create_function(
                name, mapped, ["VARCHAR"], "VARCHAR", type="arrow", side_effects=False
            )
            self._identity_fn = name
        return self._identity_fn

    def _withholds(self, spec: Feed) -> bool:
        """Whether raw records of this feed that are not read column by column are withheld:
        the feed names people and they are stored as pseudonyms."""
        return (
            bool(spec.identity_columns)
            and self.identities is not None
            and not self.identities.show_names
        )

    def _withheld(self, spec: Feed, raw: str) -> str:
        """A raw record as quarantine keeps it: withheld (a keyed digest) when it may name
        people that the warehouse stores as pseudonyms."""
        if not self._withholds(spec):
            return raw
        assert self.identities is not None
        return self.identities.withhold(raw)

    def _withhold_function(self) -> str:
        if self._withhold_fn is None:
            assert self.identities is not None
            identities = self.identities
            name = f"__withhold_{uuid.uuid4().hex[:8]}"

            def withheld(values: pa.Array) -> pa.Array:
                return pa.array(
                    [None if v is None else identities.withhold(v) for v in values.to_pylist()],
                    type=pa.string(),
                )

            self.con.create_function(
                name, withheld, ["VARCHAR"], "VARCHAR", type="arrow", side_effects=False
            )
            self._withhold_fn = name
        return self._withhold_fn

    # -- planning -------------------------------------------------------------------------------

    def _describe(self, relation: str, params: dict[str, Any], origin: str) -> dict[str, str]:
        try:
            rows = self.con.execute(f"describe select * from {relation}", params).fetchall()
        except duckdb.Error as error:
            raise SourceError(
                f"source {self.source.name!r}: cannot read {origin}: {error}"
            ) from None
        return {name: str(dtype) for name, dtype, *_ in rows}

    def _source_column(self, column: str, raw_types: dict[str, str]) -> str | None:
        """The source column that holds canonical `column`, or None if the source has none."""
        mapped = self.source.columns.get(column)
        if mapped is not None:
            if mapped not in raw_types:
                available = ", ".join(raw_types) or "none"
                raise SourceError(
                    f"source {self.source.name!r}: column {mapped!r} (mapped to {column}) "
                    f"is not in the data (columns: {available})"
                )
            return mapped
        return column if column in raw_types else None

    def _features(
        self, spec: Feed, raw_types: dict[str, str], used: set[str], hints: dict[str, str]
    ) -> dict[str, str]:
        """Feature columns of an inference batch and their storage types."""
        if not spec.has_features:
            return {}
        listed = self.source.option("features")
        if listed is not None:
            missing = [f for f in listed if f not in raw_types]
            if missing:
                raise SourceError(
                    f"source {self.source.name!r}: listed features not in the data: "
                    + ", ".join(missing)
                )
            names = list(listed)
        else:
            names = [c for c in raw_types if c not in used and not c.startswith(INTERNAL_PREFIX)]
        # A column name is one name to DuckDB whatever its case: "Model" is "model" (two in
        # one relation come renamed, "model" and "Model_1").
        reserved = {n.lower() for n in (*spec.column_names, *BOOKKEEPING_COLUMNS)}
        clash = [n for n in names if n.lower() in reserved]
        if clash:
            raise SourceError(
                f"source {self.source.name!r}: feature column(s) {', '.join(clash)} clash with "
                "reserved inference columns; rename them with `columns` or list `features`"
            )
        existing = self._inference_columns()
        features = {}
        for name in names:
            incoming = _type_family(hints.get(name, raw_types[name]))
            stored = existing.get(name.lower())
            if stored is None:
                features[name] = incoming
            elif stored == "BIGINT" and incoming == "DOUBLE":
                features[name] = "DOUBLE"  # widen: the column takes both
            else:
                features[name] = stored
        return features

    def _plan(self, spec: Feed, relation: str, batch: Batch, raw_types: dict[str, str]) -> _Plan:
        params = _Params(batch.params)
        used: set[str] = set()
        exprs: dict[str, str] = {}  # canonical or feature name -> typed SQL over the source row
        checks: list[str] = []
        identity_sources: set[str] = set()
        fmt = self.source.option("timestamp_format")
        for column in spec.columns:
            src = self._source_column(column.name, raw_types)
            if src is not None:
                used.add(src)
            raw = self._raw_expr(column, src, raw_types, params)
            expr, column_checks = self._typed_expr(spec, column, raw, src, raw_types, fmt, params)
            if column.identity and self.identities is not None:
                expr = f"{self._identity_function()}({expr})"
                if src is not None:
                    identity_sources.add(src)
            exprs[column.name] = expr
            checks.extend(column_checks)
        features = self._features(spec, raw_types, used, batch.type_hints)
        needs_settling = False
        for name, storage in features.items():
            col = "src." + quote(name)
            if storage == "VARCHAR":
                exprs[name] = f"cast({col} as varchar)"
                continue
            if storage == "BIGINT" and _type_family(raw_types[name]) == "VARCHAR":
                # A sniffed integer may meet a 1.5 further down: stage it as a double, and
                # settle the column type once every value has been seen (see _settle_types).
                storage = "DOUBLE"
                needs_settling = True
            cast = f"try_cast({col} as {storage})"
            exprs[name] = (
                f"case when isfinite({cast}) then {cast} end" if storage == "DOUBLE" else cast
            )
            checks.append(
                f"case when {col} is not null and {cast} is null "
                f"then 'feature {self._label(name)}: expected {storage.lower()}, got ' "
                f"|| cast({col} as varchar) end"
            )
        derived, late_checks = self._derive(spec, exprs)
        late_checks += [
            f"case when {quote(later)} < {quote(earlier)} then '{later} is before {earlier}' end"
            for earlier, later in spec.ordered
        ]
        column_reason = "concat_ws('; ', " + ", ".join(checks) + ")" if checks else "''"
        reason = (
            "nullif(concat_ws('; ', "
            + ", ".join(["nullif(__column_reason, '')", *late_checks])
            + "), '')"
        )
        raw_names = [c for c in raw_types if c != "__row"]
        raw_json = (
            "to_json(struct_pack("
            + ", ".join(f"{quote(c)} := __raw_{i}" for i, c in enumerate(raw_names))
            + "))"
            if raw_names
            else "cast('{}' as json)"  # a JSON Lines file whose lines hold no key
        )
        names = [quote(n) for n in exprs]
        # A relation may number its own rows (a JSON Lines file by line); else the staged row's
        # position is its number (the stage keeps the source's order). Numbering rows while
        # reading would cost a window over the whole input: twice the time of reading a CSV.
        # Each expression is written once; the raw row rides along as plain columns and is
        # packed only for rows with a reason (packing every row costs more than reading a file).
        typed = [
            *(["src.__row"] if "__row" in raw_types else []),
            *(
                f"{self._identity_function()}(cast(src.{quote(c)} as varchar)) as __raw_{i}"
                if c in identity_sources
                else f"src.{quote(c)} as __raw_{i}"
                for i, c in enumerate(raw_names)
            ),
            *(f"{e} as {quote(n)}" for n, e in exprs.items()),
            f"{column_reason} as __column_reason",
        ]
        carried = [f"__raw_{i}" for i in range(len(raw_names))]
        # The key of a quarantined row is read before a key is generated (inference without a
        # request_id): a generated one names the row's content, not the item.
        sql = f"""
            with typed as not materialized (
                select {", ".join(typed)}
                from {relation} as src
            ),
            derived as not materialized (
                select * replace ({
            ", ".join(f"{e} as {quote(n)}" for n, e in derived.items())
            or "__column_reason as __column_reason"
        }), {key_sql(spec)} as __key
                from typed
            ),
            checked as not materialized (
                select * exclude (__column_reason), {reason} as __reason from derived
            )
            select
                * exclude ({", ".join([*carried, "__key"])}),
                case when __reason is not null then {raw_json} end as __raw,
                case when __reason is not null then __key end as __key,
                hash({", ".join(names)}) as __hash
            from checked
        """
        return _Plan(
            sql=sql, params=params.values, features=features, needs_settling=needs_settling
        )

    def _derive(self, spec: Feed, exprs: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        """What the contract lets the loader fill (a generated key, a KPI's value), with checks.

        Expressions here read the typed columns by name.
        """
        derived: dict[str, str] = {}
        checks: list[str] = []
        if spec.generated_key:
            key = quote(spec.generated_key)
            others = ", ".join(quote(n) for n in exprs if n != spec.generated_key)
            derived[spec.generated_key] = (
                f"coalesce({key}, 'gen-' || lower(to_hex(hash({others}))))"
            )
        if spec.name == "kpis":
            derived["value"] = (
                "coalesce(value, case when denominator <> 0 then numerator / denominator end)"
            )
            checks.append(
                "case when coalesce(value, case when denominator <> 0 "
                "then numerator / denominator end) is null "
                "then 'needs a value, or a numerator and a non-zero denominator' end"
            )
        return derived, checks

    @staticmethod
    def _label(name: str) -> str:
        return name.replace("'", "''")

    def _raw_expr(
        self, column: Column, src: str | None, raw_types: dict[str, str], params: _Params
    ) -> str:
        """The source value for `column`, with the source's value renames applied."""
        if src is None:
            return "null"
        expr = "src." + quote(src)
        renames = self.source.values.get(column.name)
        if renames:
            whens = " ".join(
                f"when {params.bind(k)} then {params.bind(v)}" for k, v in renames.items()
            )
            expr = f"(case cast({expr} as varchar) {whens} else cast({expr} as varchar) end)"
        return expr

    def _typed_expr(
        self,
        spec: Feed,
        column: Column,
        raw: str,
        src: str | None,
        raw_types: dict[str, str],
        fmt: str | None,
        params: _Params,
    ) -> tuple[str, list[str]]:
        """The canonical value of `column` and the checks that give a row its reason."""
        name = column.name
        label = name
        checks: list[str] = []
        if column.kind == "text":
            expr = f"nullif(trim(cast({raw} as varchar)), '')"
            if column.allowed:
                expr = f"lower({expr})"
            if column.default is not None:
                expr = f"coalesce({expr}, {params.bind(column.default)})"
            if column.allowed:
                allowed = ", ".join(column.allowed)
                values = ", ".join(params.bind(v) for v in column.allowed)
                checks.append(
                    f"case when {expr} is not null and {expr} not in ({values}) "
                    f"then '{label}: unknown value ''' || cast({raw} as varchar) || ''' "
                    f"(expected {allowed})' end"
                )
            if name == "work_category" and self.work_categories:
                # No category from the source: derive one from the ticket's type.
                type_src = self._raw_type_expr(spec, raw_types)
                if type_src is not None:
                    pairs = " ".join(
                        f"when {params.bind(k)} then {params.bind(v)}"
                        for k, v in self.work_categories.items()
                    )
                    expr = f"coalesce({expr}, case lower(trim({type_src})) {pairs} end)"
        elif column.kind == "double":
            cast = f"try_cast({raw} as double)"
            expr = f"case when isfinite({cast}) then {cast} end"
            checks.append(
                f"case when {raw} is not null and {cast} is null "
                f"then '{label}: not a number (''' || cast({raw} as varchar) || ''')' end"
            )
            if column.non_negative:
                checks.append(
                    f"case when {cast} < 0 then '{label}: negative (' || cast({cast} as varchar) "
                    "|| ')' end"
                )
        elif column.kind == "timestamp":
            source_type = raw_types.get(src or "", "VARCHAR").upper()
            if src is not None and _type_family(source_type) in {"BIGINT", "DOUBLE"}:
                # Epoch seconds, or milliseconds when the number is too large to be seconds
                # (1e11 s is the year 5138). Beyond what a timestamp holds (9.2e12 s, the year
                # 294247) or not finite, it is no timestamp: the row is quarantined, not the file.
                number = f"cast({raw} as double)"
                seconds = (
                    f"(case when abs({number}) >= 1e11 then {number} / 1000 else {number} end)"
                )
                expr = (
                    f"case when isfinite({number}) and abs({seconds}) < 9e12 "
                    f"then to_timestamp({seconds}) end"
                )
            elif fmt:
                expr = (
                    f"coalesce(try_cast(try_strptime(cast({raw} as varchar), {params.bind(fmt)}) "
                    f"as timestamptz), try_cast({raw} as timestamptz))"
                )
            else:
                expr = f"try_cast({raw} as timestamptz)"
            checks.append(
                f"case when {raw} is not null and {expr} is null "
                f"then '{label}: unparsable timestamp ''' || cast({raw} as varchar) || '''' end"
            )
        elif column.kind == "date":
            expr = (
                f"coalesce(try_cast({raw} as date), cast(try_cast({raw} as timestamptz) as date))"
            )
            checks.append(
                f"case when {raw} is not null and {expr} is null "
                f"then '{label}: unparsable date ''' || cast({raw} as varchar) || '''' end"
            )
        elif column.kind == "boolean":
            # true/false from a JSON or Parquet boolean, or the words and digits a CSV holds.
            text = f"lower(trim(cast({raw} as varchar)))"
            expr = (
                f"case when {text} in ('true', 't', 'yes', 'y', '1') then true "
                f"when {text} in ('false', 'f', 'no', 'n', '0') then false end"
            )
            checks.append(
                f"case when {raw} is not null and {text} <> '' and {expr} is null "
                f"then '{label}: not true or false (''' || cast({raw} as varchar) || ''')' end"
            )
        elif column.kind == "text_list":
            source_type = raw_types.get(src or "", "VARCHAR").upper()
            if source_type.endswith("[]"):
                expr = f"cast({raw} as varchar[])"
            else:
                # "a, b" from a CSV, or a JSON array kept as text by a JSON Lines reader.
                text = f"cast({raw} as varchar)"
                expr = (
                    f"case when starts_with(trim({text}), '[') "
                    f"then try_cast(try_cast({text} as json) as varchar[]) "
                    f"else list_filter(list_transform(string_split({text}, ','), "
                    "lambda s: trim(s)), lambda s: s <> '') end"
                )
        else:  # pragma: no cover - the feed table lists every kind
            raise ValueError(column.kind)
        if column.required and spec.generated_key != name:
            # Text that is empty counts as missing; other kinds say why they could not parse.
            absent = expr if column.kind == "text" else raw
            checks.insert(0, f"case when {absent} is null then 'missing {label}' end")
        return expr, checks

    def _raw_type_expr(self, spec: Feed, raw_types: dict[str, str]) -> str | None:
        src = self._source_column("type", raw_types) if "type" in spec.column_names else None
        return None if src is None else f"cast(src.{quote(src)} as varchar)"

    # -- applying -----------------------------------------------------------------------------

    def _apply(self, spec: Feed, batch: Batch, features: dict[str, str]) -> LoadStats:
        con = self.con
        table = quote(spec.name)
        staged = {
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns where table_name = '__stage'"
            ).fetchall()
        }
        # Rows staged inside a transaction are numbered from a large base: count from it.
        base = con.execute("select coalesce(min(rowid), 0) from __stage").fetchone()[0]
        self._row = "__row" if "__row" in staged else f"(rowid - {int(base)} + 1)"
        keys = [quote(k) for k in spec.key]
        stats = LoadStats()
        total, bad = con.execute("select count(*), count(__reason) from __stage").fetchone()
        stats.quarantined = self._quarantine(spec, batch)
        stats.read = total - bad + stats.quarantined

        key_list = ", ".join(keys)
        good, distinct = con.execute(
            f"select count(*), {_distinct_keys(keys)} from __stage where __reason is null"
        ).fetchone()
        if good != distinct:  # a key twice, or two keys of one hash: counted exactly
            distinct = con.execute(
                f"select count(distinct ({key_list})) from __stage where __reason is null"
            ).fetchone()[0]
        good_rows = "select * from __stage where __reason is null"
        if good != distinct:  # the same key twice in one batch: the last one read wins
            good_rows += (
                f" qualify row_number() over (partition by {key_list} "
                f"order by {self._row} desc) = 1"
            )
        stats.duplicates = good - distinct
        has_rows = self._has_rows(spec)
        if has_rows or good != distinct:
            con.execute("create or replace temp table __good as " + good_rows)
            good_rows = "select * from __good"
        if has_rows:
            join = " and ".join(f"w.{k} = g.{k}" for k in keys)
            # One pass over the table finds the keys it holds already, and which of them are
            # unchanged: rows that are all new (an incremental sync's usual batch) delete nothing,
            # and skip the two deletes, each a pass over the whole table.
            held, unchanged = con.execute(
                f"select count(*), count(*) filter (where w.row_hash = g.__hash) from __good g "
                f"join {table} w on w.source = $source and {join}",
                {"source": self.source.name},
            ).fetchone()
            if unchanged:
                con.execute(
                    f"delete from __good g using {table} w where w.source = $source "
                    f"and {join} and w.row_hash = g.__hash",
                    {"source": self.source.name},
                )
            stats.duplicates += unchanged
            if held > unchanged:
                con.execute(
                    f"delete from {table} w using __good g where w.source = $source and {join}",
                    {"source": self.source.name},
                )
        features = self._settle_types(features, good_rows)
        self._ensure_feature_columns(features)
        columns = [quote(c) for c in spec.column_names] + [quote(f) for f in features]
        loaded = con.execute(
            f"insert into {table} ({', '.join(columns)}, source, row_hash, synced_at) "
            f"select {', '.join(columns)}, $source, __hash, now() from ({good_rows})",
            {"source": self.source.name},
        ).fetchone()[0]
        stats.loaded = loaded
        if features:
            self._register_features(features, good_rows)
        return stats

    def _has_rows(self, spec: Feed) -> bool:
        """Whether this source already has rows in the feed's table."""
        return self.con.execute(
            f"select count(*) > 0 from (select 1 from {quote(spec.name)} "
            "where source = $source limit 1)",
            {"source": self.source.name},
        ).fetchone()[0]

    def _load_direct(self, spec: Feed, batch: Batch, plan: _Plan) -> LoadStats | None:
        """Load a clean batch straight into its table, skipping the stage, or return None.

        One pass counts rows, reasons and distinct keys without keeping anything; if nothing
        needs quarantining or deduplicating, a second pass inserts. Both passes only read a
        Parquet file or a DataFrame, which costs less than materialising the stage.
        """
        total, bad, distinct = self.con.execute(
            f"select count(*), count(__reason), "
            f"{_distinct_keys([quote(k) for k in spec.key], '__reason is null')} "
            f"from ({plan.sql})",
            plan.params,
        ).fetchone()
        if bad or distinct != total:  # a key twice (or two keys of one hash): the stage counts
            return None
        self._note_origin(spec, batch)
        self._ensure_feature_columns(plan.features)
        columns = [quote(c) for c in spec.column_names] + [quote(f) for f in plan.features]
        loaded = self.con.execute(
            f"insert into {quote(spec.name)} ({', '.join(columns)}, source, row_hash, "
            f"synced_at) select {', '.join(columns)}, $source, __hash, now() from ({plan.sql})",
            {**plan.params, "source": self.source.name},
        ).fetchone()[0]
        if plan.features:
            self._register_features(
                plan.features,
                f"select * from {quote(spec.name)} where source = $source",
                {"source": self.source.name},
            )
        return LoadStats(read=total, loaded=loaded)

    def _settle_types(self, features: dict[str, str], good_rows: str) -> dict[str, str]:
        """Integer features staged as doubles stay integers only if every value is whole."""
        staged = dict(
            self.con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = '__stage'"
            ).fetchall()
        )
        settled = dict(features)
        for name, storage in features.items():
            if storage == "BIGINT" and staged.get(name) == "DOUBLE":
                column = quote(name)
                fractional = self.con.execute(
                    f"select count(*) from ({good_rows}) where {column} <> floor({column})"
                ).fetchone()[0]
                if fractional:
                    settled[name] = "DOUBLE"
        return settled

    def _inference_columns(self) -> dict[str, str]:
        """The inference table's columns, by their name in lower case, and their types."""
        return {
            name.lower(): data_type
            for name, data_type in self.con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = 'inference'"
            ).fetchall()
        }

    def _ensure_feature_columns(self, features: dict[str, str]) -> None:
        existing = self._inference_columns()
        for name, storage in features.items():
            if name.lower() not in existing:
                self.con.execute(f"alter table inference add column {quote(name)} {storage}")
            elif existing[name.lower()] != storage:
                self.con.execute(f"alter table inference alter column {quote(name)} type {storage}")

    def _register_features(
        self, features: dict[str, str], good_rows: str, params: dict[str, Any] | None = None
    ) -> None:
        counts = ", ".join(f"count({quote(f)})" for f in features)
        rows = self.con.execute(
            f"select model, {counts} from ({good_rows}) group by model", params or {}
        ).fetchall()
        names = list(features)
        for model, *non_null in rows:
            for name, count in zip(names, non_null, strict=True):
                if not count:
                    continue
                self.con.execute(
                    "delete from inference_features where model = $model and feature = $feature",
                    {"model": model, "feature": name},
                )
                self.con.execute(
                    "insert into inference_features values ($model, $feature, $type, $source, "
                    "now())",
                    {
                        "model": model,
                        "feature": name,
                        "type": features[name],
                        "source": self.source.name,
                    },
                )

    def _has_keyed_quarantine(self, spec: Feed) -> bool:
        """Whether quarantine holds rows of this source and feed with a key."""
        return self.con.execute(
            "select count(*) > 0 from (select 1 from quarantine where source = $source "
            "and feed = $feed and row_key is not null limit 1)",
            {"source": self.source.name, "feed": spec.name},
        ).fetchone()[0]

    # A quarantine row q that a fresh one n sights again, as it was: the same key, raw content
    # and reason, seen at the same origin and row, or (keyed) at another origin, e.g. an API's
    # next window. Same origin and another row: the row moved in its file, and is written anew.
    _SIGHTED_AGAIN = """
        q.raw is not distinct from n.raw and q.reason = n.reason
        and q.row_key is not distinct from n.row_key
        and (
            (q.origin = n.origin and q.row_number is not distinct from n.row_number)
            or (n.row_key is not null and q.origin <> n.origin)
        )
    """
    # A row without a key, with the same raw content and reason, under another origin.
    _SIGHTED_ELSEWHERE = """
        q.row_key is null and n.row_key is null and q.origin <> n.origin
        and q.raw is not distinct from n.raw and q.reason = n.reason
    """

    def _track(self) -> None:
        """The sync's tables of what it read and sighted (temporary: the sync's connection)."""
        self.con.execute(
            f"create temp table if not exists {self._read} (feed varchar, origin varchar)"
        )
        self.con.execute(
            f"create temp table if not exists {self._sighted} (feed varchar, origin varchar, "
            "row_number bigint, row_key varchar, raw varchar, reason varchar)"
        )
        self.con.execute(
            f"create temp table if not exists {self._good_keys} (feed varchar, row_key varchar)"
        )

    def _note_origin(self, spec: Feed, batch: Batch) -> None:
        """This sync reads the batch's origin: finish() clears what it does not sight again."""
        self._track()
        if (spec.name, batch.origin) in self._origins:
            return
        self.con.execute(
            f"insert into {self._read} values ($feed, $origin)",
            {"feed": spec.name, "origin": batch.origin},
        )
        self._origins.add((spec.name, batch.origin))

    def _quarantine(self, spec: Feed, batch: Batch) -> int:
        """Write this batch's bad rows to quarantine; return their count.

        The staged rows with a reason, the connector's rejects and the reader's (rejects_sql)
        are gathered in __fresh first. A bad row whose key a good row of the same batch has is
        counted, but the good row wins: it leaves no quarantine row. The rest are sighted for
        finish(), and those not already in quarantine as they were are inserted, but for a
        row without a key that quarantine holds under another origin: finish() decides.
        Older rows are superseded only by finish(), once every batch of the sync has been
        sighted: an origin read in several batches keeps what a later batch sights again.
        """
        con = self.con
        params = {"source": self.source.name, "feed": spec.name}
        con.execute(
            "create or replace temp table __fresh as "
            f"select $origin as origin, cast({self._row} as bigint) as row_number, "
            "cast(__key as varchar) as row_key, cast(__raw as varchar) as raw, "
            "cast(__reason as varchar) as reason "
            "from __stage where __reason is not null",
            {"origin": batch.origin},
        )
        if batch.rejects:
            rejects = pd.DataFrame(
                {
                    "row_number": pd.array([r.row_number for r in batch.rejects], dtype="Int64"),
                    "row_key": pd.array([r.key for r in batch.rejects], dtype="string"),
                    "raw": pd.array(
                        [self._withheld(spec, r.raw) for r in batch.rejects], dtype="string"
                    ),
                    "reason": pd.array([r.reason for r in batch.rejects], dtype="string"),
                }
            )
            con.register("__rejects", rejects)
            try:
                con.execute(
                    "insert into __fresh select $origin, row_number, row_key, raw, reason "
                    "from __rejects",
                    {"origin": batch.origin},
                )
            finally:
                con.unregister("__rejects")
        if batch.rejects_sql:
            # Its columns: (row_number, raw, reason).
            raw = "r.raw"
            if self._withholds(spec):
                raw = f"{self._withhold_function()}(cast(r.raw as varchar))"
            con.execute(
                "insert into __fresh (origin, row_number, raw, reason) "
                f"select $origin, r.row_number, {raw}, r.reason "
                f"from ({batch.rejects_sql}) r(row_number, raw, reason)",
                {**batch.rejects_params, "origin": batch.origin},
            )
        fresh = con.execute("select count(*) from __fresh").fetchone()[0]
        self._note_origin(spec, batch)
        good_keys = f"select {key_sql(spec)} from __stage where __reason is null"
        if fresh:
            con.execute(f"delete from __fresh where row_key in ({good_keys})")
        if self._has_keyed_quarantine(spec):
            # A good row supersedes an earlier batch's bad one with its key, and older
            # quarantine rows of that key (at finish, unless a later batch sights them again).
            con.execute(
                f"delete from {self._sighted} where feed = $feed and row_key in ({good_keys})",
                {"feed": spec.name},
            )
            con.execute(
                f"insert into {self._good_keys} select distinct $feed, k from ({good_keys}) g(k) "
                "where k in (select row_key from quarantine where source = $source "
                "and feed = $feed and row_key is not null)",
                params,
            )
        con.execute(
            f"insert into {self._sighted} select $feed, * from __fresh", {"feed": spec.name}
        )
        con.execute(
            "insert into quarantine (source, feed, origin, row_number, raw, reason, sync_id, "
            "quarantined_at, row_key) "
            "select $source, $feed, n.origin, n.row_number, n.raw, n.reason, $sync_id, now(), "
            "n.row_key from __fresh n where not exists (select 1 from quarantine q "
            f"where q.source = $source and q.feed = $feed and ({self._SIGHTED_AGAIN} "
            f"or {self._SIGHTED_ELSEWHERE}))",
            {**params, "sync_id": self.sync_id},
        )
        return fresh
