"""The loader on whatever a file holds: CSV bytes, JSON lines, Parquet columns of any type.

Properties, checked with Hypothesis on generated files loaded by a files source, as a sync
loads them (one transaction per source, rolled back on a SourceError):
- nothing crashes: a file loads, with its bad rows quarantined, or the source fails with a
  SourceError that names it, never another exception;
- read = loaded + duplicates + quarantined, and read is the number of rows the file holds
  wherever that number is known without the loader (one row per non-blank line, per row of a
  Parquet file);
- a second sync of the same file changes no table, not even a quarantine row's sync.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
import unicodedata
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import warehouse
from connectors import registry
from connectors.feeds import FEEDS
from connectors.loader import Loader, LoadStats, SourceError
from settings import SourceConfig

# About 7 s a property.
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FEED_NAMES = ("deployments", "inference", "kpis", "tickets", "ticket_transitions")


def _names(feed: str) -> list[str]:
    """Column names a file of `feed` may have: the canonical ones, the same in capitals (one
    name to DuckDB), and others (features, for inference)."""
    columns = list(FEEDS[feed].column_names)
    return [*columns, *(c.upper() for c in columns[:2]), "extra", "Note"]


def _sync(con: duckdb.DuckDBPyConnection, source: SourceConfig, sync_id: str):
    """One sync of `source`, as connectors.sync runs it: (counts, None) or (None, the error)."""
    con.begin()
    stats = LoadStats()
    try:
        loader = Loader(con, source, sync_id)
        for batch in registry.create(source).batches():
            stats.add(loader.load(batch))
        loader.finish()
    except SourceError as error:
        con.rollback()
        return None, str(error)
    con.commit()
    return stats, None


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Every warehouse table's columns and rows, sync_runs aside (a log of syncs, one row
    each); the connection's own temporary tables (a CSV reader's rejects) are not kept."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, name, data_type in con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "join information_schema.tables using (table_catalog, table_schema, table_name) "
        "where table_type = 'BASE TABLE' and table_name <> 'sync_runs' "
        "order by table_name, ordinal_position"
    ).fetchall():
        columns.setdefault(table, []).append((name, data_type))
    return {
        table: (
            found,
            [
                _comparable(row)
                for row in con.execute(f'select * from "{table}" order by all').fetchall()
            ],
        )
        for table, found in columns.items()
    }


def _comparable(row: tuple) -> tuple:
    # NaN is not equal to itself; the loader stores none (it makes them NULL), but say so.
    return tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in row)


def _check(
    feed: str, name: str, data: bytes, rows: int | None = None
) -> tuple[LoadStats | None, str | None]:
    """Load `data` as file `name` of a files source of `feed` twice; check the properties.

    Args:
        rows: how many rows the file holds, when it is known without the loader.

    Returns:
        The first sync's counts and None, or None and the SourceError's message.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        source = SourceConfig("prop", "files", feed=feed, options={"path": str(path)})
        con = duckdb.connect()
        try:
            con.execute("set TimeZone = 'UTC'")
            warehouse.ensure_schema(con)
            first, error = _sync(con, source, "s1")
            after_first = _tables(con)
            second, error_again = _sync(con, source, "s2")
            after_second = _tables(con)
        finally:
            con.close()
    if first is None:
        assert error.startswith("source 'prop': "), error
        assert error_again == error
        assert after_second == after_first
        return None, error
    assert first.read == first.loaded + first.duplicates + first.quarantined
    if rows is not None:
        assert first.read == rows
    assert second is not None, error_again
    assert (second.read, second.loaded, second.quarantined) == (first.read, 0, first.quarantined)
    assert second.read == second.loaded + second.duplicates + second.quarantined
    assert after_second == after_first
    return first, None


def _feature_names_clash(error: str) -> bool:
    """Whether a source failed for the one reason a well-formed file can have: an inference
    column that is a canonical one to DuckDB, written in capitals ("MODEL")."""
    return "clash with reserved inference columns" in error


# -- CSV ----------------------------------------------------------------------------------------

# Field text without the characters that could make a line anything but one row: no quotes,
# escapes, comment marks or line breaks.
FIELD = st.text(alphabet="abcXYZ019 -:.T+_", max_size=12)


def _header(feed: str) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(_names(feed)), min_size=1, max_size=8)


@st.composite
def csv_lines(draw) -> tuple[str, bytes, int]:
    """A CSV file of a feed whose lines have any number of fields: (feed, bytes, data lines)."""
    feed = draw(st.sampled_from(FEED_NAMES))
    header = draw(_header(feed))
    lines = draw(st.lists(st.lists(FIELD, min_size=1, max_size=9), max_size=12))
    # A line that is blank once joined is no row.
    lines = [line for line in lines if ",".join(line).strip()]
    text = "\n".join(",".join(line) for line in [header, *lines]) + "\n"
    return feed, text.encode(), len(lines)


@PROPERTY_SETTINGS
@given(csv_lines())
def test_csv_lines_of_any_width_are_each_one_row(case):
    feed, data, lines = case
    _, error = _check(feed, "export.csv", data, rows=lines)
    assert error is None or _feature_names_clash(error)


CSV_ALPHABET = st.sampled_from(list(",;\"'\\\n\r\t |#abc019-:.") + ["\u00e9", "\x00", "\ufeff"])


@PROPERTY_SETTINGS
@given(
    st.sampled_from(FEED_NAMES),
    st.one_of(
        st.binary(max_size=200),
        st.text(CSV_ALPHABET, max_size=200).map(str.encode),
        st.tuples(st.sampled_from(FEED_NAMES), st.binary(max_size=120)).map(
            lambda pair: (",".join(FEEDS[pair[0]].column_names) + "\n").encode() + pair[1]
        ),
    ),
)
def test_arbitrary_csv_bytes_load_or_fail_clearly(feed, data):
    _check(feed, "export.csv", data)


# -- JSON Lines ---------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["2026-11-01", "2026-11-01T10:00:00Z", "1700000000", "-3", "success"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@st.composite
def json_lines(draw) -> tuple[str, bytes, int]:
    """A JSON Lines file of a feed: objects with any keys and values, and lines that are not
    objects (arrays, numbers, text that is not JSON): (feed, bytes, non-blank lines)."""
    feed = draw(st.sampled_from(FEED_NAMES))
    keys = st.sampled_from([*_names(feed), ""])
    line = st.one_of(
        st.dictionaries(keys, JSON_VALUES, max_size=8).map(json.dumps),
        JSON_VALUES.map(json.dumps),
        st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs"]), max_size=20),
    )
    lines = draw(st.lists(line, max_size=10))
    text = "\n".join(lines) + "\n"
    return feed, text.encode(), sum(1 for line in lines if not _blank(line))


def _blank(line: str) -> bool:
    """A line of spaces only, of any kind (Unicode's space separators, the no-break space
    among them: what DuckDB's trim removes): it holds nothing, so it is no row."""
    return all(unicodedata.category(c) == "Zs" for c in line)


@PROPERTY_SETTINGS
@given(json_lines())
@example(("deployments", "\xa0\n".encode(), 0))
@example(("deployments", "\u3000 \n{}\n".encode(), 1))
def test_json_lines_of_any_shape_are_each_one_row(case):
    feed, data, lines = case
    _check(feed, "export.jsonl", data, rows=lines)


# -- Parquet ------------------------------------------------------------------------------------

INSTANTS = st.datetimes(
    min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)
# Arrow types a column may come as, each with the values it holds.
ARROW_COLUMNS = {
    "int64": (pa.int64(), st.integers(min_value=-(2**63), max_value=2**63 - 1)),
    "float64": (pa.float64(), st.floats()),
    "bool": (pa.bool_(), st.booleans()),
    "string": (pa.string(), st.text(max_size=10)),
    "timestamp": (pa.timestamp("us", tz="UTC"), INSTANTS),
    "date": (pa.date32(), st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))),
    "binary": (pa.binary(), st.binary(max_size=8)),
    "list": (pa.list_(pa.int64()), st.lists(st.integers(-100, 100), max_size=3)),
    "struct": (pa.struct([("a", pa.string())]), st.fixed_dictionaries({"a": st.text(max_size=4)})),
    "null": (pa.null(), st.none()),
}


@st.composite
def parquet_tables(draw) -> tuple[str, bytes, int]:
    """A Parquet file of a feed whose columns have any of the Arrow types above, and rows with
    nulls among the values: (feed, bytes, rows)."""
    feed = draw(st.sampled_from(FEED_NAMES))
    names = draw(
        st.lists(
            st.sampled_from(_names(feed)),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    rows = draw(st.integers(min_value=0, max_value=8))
    columns = {}
    for name in names:
        arrow_type, values = ARROW_COLUMNS[draw(st.sampled_from(sorted(ARROW_COLUMNS)))]
        column = draw(st.lists(st.none() | values, min_size=rows, max_size=rows))
        columns[name] = pa.array(column, type=arrow_type)
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(columns), sink)
    return feed, sink.getvalue().to_pybytes(), rows


@PROPERTY_SETTINGS
@given(parquet_tables())
def test_parquet_columns_of_any_type_are_each_one_row(case):
    feed, data, rows = case
    _, error = _check(feed, "export.parquet", data, rows=rows)
    assert error is None or _feature_names_clash(error)


@pytest.mark.parametrize(
    ("name", "data", "counts"),
    [
        # The header's columns are the canonical ones; line 2 is short, line 3 has a bad date.
        (
            "t.csv",
            b"ticket_id,created_at\nT-1\nT-2,someday\nT-3,2026-11-01\n",
            (3, 1, 0, 2),
        ),
        (
            "t.jsonl",
            b'{"ticket_id": "T-1", "created_at": "2026-11-01"}\n[1]\n\n{"ticket_id": 2}\n',
            (3, 1, 0, 2),
        ),
    ],
)
def test_the_check_itself_counts_what_it_should(name, data, counts):
    # The properties above pass on these files for the right reason: counted by hand.
    stats, _ = _check("tickets", name, data)
    assert (stats.read, stats.loaded, stats.duplicates, stats.quarantined) == counts
