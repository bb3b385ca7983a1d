"""Portable SQL: queries written once in DuckDB's dialect, checked, and transpiled per engine.

The drift profile queries (sql/drift_profile_*.sql) run on the warehouse's DuckDB at sync and on
the engine that holds a source's data (Spark, PostgreSQL, Trino, ...). They are written in a
portable subset of DuckDB's SQL and transpiled with sqlglot in strict mode. sqlglot alone lets
many constructs through unchanged to engines that do not have them (`isfinite` to Spark,
`GROUP BY ALL` to PostgreSQL 15, `approx_quantile` to PostgreSQL), so every query is first
checked against `allowed()`, an explicit list of the expression kinds the subset holds: anything
else raises `NotPortable` at transpile time, whichever engine the query is for.

Values never travel as bind parameters (some engines do not bind `:x` or `$x`): they are
inlined as literals built by sqlglot (strings escaped by its literal builder, numbers formatted
here), and identifiers are quoted.

sqlglot is imported where a query is built or checked, not with the module: the command line's
report imports the profiling package and never transpiles.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

READ = "duckdb"
# The placeholder table a template's `{relation}` becomes until the real relation is put in.
_RELATION = "__tandem_relation__"


# What the portable subset holds: plain selects, CTEs, UNION ALL, inner joins on conditions,
# explicit GROUP BY, CASE, casts, arithmetic, comparisons and a few aggregates that every
# target engine has with the same meaning.
@functools.cache
def allowed() -> tuple[type[exp.Expression], ...]:
    """The expression kinds of the portable subset."""
    from sqlglot import exp

    return (
        exp.Select,
        exp.From,
        exp.Join,
        exp.Where,
        exp.Group,
        exp.With,
        exp.CTE,
        exp.Union,
        exp.Subquery,
        exp.Table,
        exp.TableAlias,
        exp.Alias,
        exp.Column,
        exp.Identifier,
        exp.Star,
        exp.Literal,
        exp.Null,
        exp.Boolean,
        exp.Cast,
        exp.DataType,
        exp.Case,
        exp.Paren,
        exp.Neg,
        exp.Add,
        exp.Sub,
        exp.Mul,
        exp.Div,
        exp.EQ,
        exp.NEQ,
        exp.GT,
        exp.GTE,
        exp.LT,
        exp.LTE,
        exp.Is,
        exp.In,
        exp.And,
        exp.Or,
        exp.Not,
        exp.Count,
        exp.Sum,
        exp.Min,
        exp.Max,
        exp.Avg,
        exp.VariancePop,
        exp.Floor,
        exp.Ln,
        exp.Least,
        exp.Nullif,
        exp.Coalesce,
    )


# sqlglot's dialect for each SQLAlchemy dialect name a `sql` source may use.
SQLALCHEMY_DIALECTS = {
    "postgresql": "postgres",
    "redshift": "redshift",
    "trino": "trino",
    "presto": "presto",
    "bigquery": "bigquery",
    "snowflake": "snowflake",
    "mysql": "mysql",
    "mariadb": "mysql",
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "mssql": "tsql",
    "oracle": "oracle",
    "databricks": "databricks",
    "clickhouse": "clickhouse",
}

# The statement that makes a session read and write timestamps in UTC, per engine (None: the
# engine is always UTC, or has no session time zone).
UTC_SESSION = {
    "duckdb": "set TimeZone = 'UTC'",
    "postgres": "set time zone 'UTC'",
    "redshift": "set timezone to 'UTC'",
    "spark": "set spark.sql.session.timeZone = UTC",
    "databricks": "set spark.sql.session.timeZone = UTC",
    "trino": "set time zone 'UTC'",
    "snowflake": "alter session set timezone = 'UTC'",
    "mysql": "set time_zone = '+00:00'",
    "bigquery": None,
    "sqlite": None,
}


class NotPortable(ValueError):
    """A query uses a construct outside the portable subset, or one the target cannot run."""


def identifier(name: str) -> str:
    """A quoted identifier in the templates' dialect (DuckDB)."""
    from sqlglot import exp

    return exp.to_identifier(str(name), quoted=True).sql(READ)


def string(value: str) -> str:
    """A string literal, escaped by sqlglot's literal builder."""
    from sqlglot import exp

    return exp.Literal.string(str(value)).sql(READ)


def number(value: int | float) -> str:
    """A number literal. Floats go through their shortest round-trip text, cast from a string
    (every engine parses that to the same double; a decimal literal may be converted with a
    rounding error on some engines)."""
    from sqlglot import exp

    if isinstance(value, bool):
        raise TypeError("a boolean is not a number literal")
    if isinstance(value, int):
        return exp.Literal.number(int(value)).sql(READ)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return exp.cast(exp.Literal.string(repr(value)), "double").sql(READ)


def date(value: dt.date) -> str:
    from sqlglot import exp

    return exp.cast(exp.Literal.string(value.isoformat()), "date").sql(READ)


def instant(value: dt.datetime) -> str:
    """A UTC instant (naive values are read as UTC)."""
    from sqlglot import exp

    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return exp.cast(exp.Literal.string(text), "timestamp").sql(READ)


def check(tree: exp.Expression) -> None:
    """Raise NotPortable for any construct outside the portable subset."""
    from sqlglot import exp

    for node in tree.walk():
        if isinstance(node, exp.Table) and node.name == _RELATION:
            continue
        # A CASE's WHEN ... THEN is an If node; a bare IF() is DuckDB's and not portable.
        when_then = isinstance(node, exp.If) and isinstance(node.parent, exp.Case)
        if not isinstance(node, allowed()) and not when_then:
            raise NotPortable(
                f"{type(node).__name__} is not in the portable SQL subset: {node.sql(READ)!r}"
            )
        if isinstance(node, exp.Group) and node.args.get("all") is not None:
            raise NotPortable("GROUP BY ALL is not portable (PostgreSQL 15 rejects it)")
        if isinstance(node, exp.Union) and (node.args.get("by_name") or node.args.get("distinct")):
            raise NotPortable(f"only UNION ALL is portable: {node.sql(READ)[:80]!r}")
        if isinstance(node, exp.Join) and (node.args.get("using") or node.args.get("kind")):
            raise NotPortable("only inner joins ON a condition are portable")


def _relation(relation: str | exp.Expression) -> exp.Expression:
    import sqlglot
    from sqlglot import exp

    if isinstance(relation, exp.Expression):
        return relation.copy()
    found = sqlglot.parse_one(f"select * from {relation}", read=READ).find(exp.From).this
    return found


# A query's shape: its text with every literal and quoted identifier blanked (the values this
# module inlines). Two queries of one shape differ only in values, which cannot make one of them
# unportable, so a shape checked once is not parsed again to run on DuckDB: parsing the profile
# queries of each model took half of an incremental sync's profiling.
_LITERALS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\b\d+\b")
_SHAPES_KEPT = 256
_portable_shapes: set[str] = set()


def _shape(body: str) -> str:
    return _LITERALS.sub("0", body)


def render(text: str, dialect: str, relation: str | exp.Expression | None = None) -> str:
    """A portable DuckDB query (its relation as the table `{relation}`) for `dialect`.

    `relation` (DuckDB SQL text or a sqlglot expression) is put in after the check: it is what
    the query reads, and may be the engine's own (a DuckDB union by name, a Spark view).
    """
    import sqlglot
    from sqlglot import exp

    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    shape = _shape(body)
    if dialect != READ or shape not in _portable_shapes:
        try:
            tree = sqlglot.parse_one(body.replace("{relation}", _RELATION), read=READ)
        except sqlglot.errors.ParseError as error:
            raise NotPortable(f"cannot parse the query: {error}") from error
        check(tree)
        if len(_portable_shapes) >= _SHAPES_KEPT:
            _portable_shapes.clear()
        _portable_shapes.add(shape)
    if dialect == READ:
        # Checked, and already DuckDB's dialect: run as written. Rebuilding the tree with the
        # relation (a model's days, listed) and printing it took most of a sync's profiling.
        source = relation.sql(READ) if isinstance(relation, exp.Expression) else relation
        return body.replace("{relation}", _RELATION if source is None else source)
    if relation is not None:
        source = _relation(relation)

        def put(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Table) and node.name == _RELATION:
                replaced = source.copy()
                alias = node.args.get("alias")
                if alias is not None:
                    replaced.set("alias", alias.copy())
                return replaced
            return node

        tree = tree.transform(put)
    try:
        return tree.sql(
            dialect=dialect,
            unsupported_level=sqlglot.ErrorLevel.RAISE,
            pretty=False,
        )
    except sqlglot.errors.UnsupportedError as error:
        raise NotPortable(f"{dialect} cannot run the query: {error}") from error


def fill(text: str, fields: Mapping[str, str]) -> str:
    """A template with its `{name}` fields replaced by SQL snippets built by this module."""
    for name, value in fields.items():
        text = text.replace("{" + name + "}", value)
    return text
