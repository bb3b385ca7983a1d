"""The canonical feeds: the contract every connector writes (one entry per warehouse table).

DESIGN.md ("Canonical feeds") is the prose; this module is the machine-readable form that the
loader validates against and that tests check `sql/schema.sql` against.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

# Column kinds, with the DuckDB type each is stored as.
SQL_TYPES = {
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "date": "DATE",
    "double": "DOUBLE",
    "text_list": "VARCHAR[]",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    """One canonical column: its kind, whether a row needs it, and the values it may take."""

    name: str
    kind: str = "text"
    required: bool = False
    allowed: tuple[str, ...] = ()
    non_negative: bool = False
    default: str | None = None
    # A person (an author, an assignee): pseudonymised at ingest (connectors/identity.py).
    identity: bool = False

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]


@dataclass(frozen=True)
class Feed:
    """One canonical feed: its key, its columns, and the ordering checks between timestamps."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # (earlier, later): a row whose later timestamp comes before the earlier one is quarantined.
    ordered: tuple[tuple[str, str], ...] = ()
    # Inference rows carry any number of feature columns besides the canonical ones.
    has_features: bool = False
    # Column whose value may be generated from the row's content when the source has none.
    generated_key: str | None = None
    time_column: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def identity_columns(self) -> tuple[str, ...]:
        """The columns that name a person, stored as pseudonyms unless names are shown."""
        return tuple(c.name for c in self.columns if c.identity)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


DEPLOYMENT_STATUSES = ("success", "failed", "rolled_back")
# Why a deployment happened (DORA's rework rate counts hotfixes and rollbacks as unplanned).
DEPLOYMENT_KINDS = ("planned", "hotfix", "rollback")
INFERENCE_STATUSES = ("ok", "error")
WORK_CATEGORIES = ("research", "experiment", "development", "maintenance", "learning")

FEEDS: dict[str, Feed] = {
    feed.name: feed
    for feed in (
        Feed(
            name="deployments",
            key=("deployment_id",),
            time_column="finished_at",
            columns=(
                Column("deployment_id", required=True),
                Column("model"),
                Column("version"),
                Column("environment", required=True),
                Column("team"),
                Column("started_at", "timestamp"),
                Column("finished_at", "timestamp", required=True),
                Column("status", required=True, allowed=DEPLOYMENT_STATUSES),
                Column("commit_sha"),
                Column("kind", allowed=DEPLOYMENT_KINDS),
            ),
            ordered=(("started_at", "finished_at"),),
        ),
        Feed(
            name="changes",
            key=("change_id",),
            time_column="merged_at",
            columns=(
                Column("change_id", required=True),
                Column("deployment_id"),
                Column("first_commit_at", "timestamp", required=True),
                Column("merged_at", "timestamp"),
                Column("author", identity=True),
                Column("title"),
                # the incident this change fixes, as the source names it (not checked against
                # the incidents feed: it may name one from another tool)
                Column("incident_id"),
                # made with an AI assistant: true, false, or null when not known
                Column("ai_assisted", "boolean"),
            ),
        ),
        Feed(
            name="incidents",
            key=("incident_id",),
            time_column="opened_at",
            columns=(
                Column("incident_id", required=True),
                Column("model"),
                Column("team"),
                Column("opened_at", "timestamp", required=True),
                Column("resolved_at", "timestamp"),
                Column("severity"),
                Column("deployment_id"),
                Column("title"),
            ),
            ordered=(("opened_at", "resolved_at"),),
        ),
        Feed(
            name="inference",
            key=("request_id",),
            time_column="ts",
            generated_key="request_id",
            has_features=True,
            columns=(
                Column("request_id", required=True),
                Column("ts", "timestamp", required=True),
                Column("model", required=True),
                Column("model_version"),
                Column("latency_ms", "double", non_negative=True),
                Column("status", allowed=INFERENCE_STATUSES, default="ok"),
                Column("prediction", "double"),
                Column("score", "double"),
                Column("label", "double"),
            ),
        ),
        Feed(
            name="kpis",
            key=("date", "kpi", "model", "segment"),
            time_column="date",
            columns=(
                Column("date", "date", required=True),
                Column("kpi", required=True),
                Column("model", default=""),
                Column("segment", default="all"),
                Column("value", "double"),
                Column("numerator", "double"),
                Column("denominator", "double"),
                Column("unit"),
                Column("target", "double"),
                Column("guardrail", "double"),
            ),
        ),
        Feed(
            name="tickets",
            key=("ticket_id",),
            time_column="created_at",
            columns=(
                Column("ticket_id", required=True),
                Column("title"),
                Column("type"),
                Column("work_category", allowed=WORK_CATEGORIES),
                Column("team"),
                Column("model"),
                Column("assignee", identity=True),
                Column("role"),
                Column("created_at", "timestamp", required=True),
                Column("resolved_at", "timestamp"),
                Column("status"),
                Column("story_points", "double", non_negative=True),
                Column("sprint"),
                Column("labels", "text_list"),
                # the incident the ticket is linked to (a Jira issue link to an incident)
                Column("incident_id"),
            ),
            ordered=(("created_at", "resolved_at"),),
        ),
        Feed(
            name="ticket_transitions",
            key=("ticket_id", "at", "to_status"),
            time_column="at",
            columns=(
                Column("ticket_id", required=True),
                Column("at", "timestamp", required=True),
                Column("from_status"),
                Column("to_status", required=True),
                Column("assignee", identity=True),
                Column("role"),
            ),
        ),
    )
}

# Columns every feed table carries besides its canonical ones.
BOOKKEEPING_COLUMNS = ("source", "row_hash", "synced_at")


def parse_instant(value: Any) -> dt.datetime | None:
    """ISO 8601 text as an aware datetime (UTC when it has no offset), or None if it is not."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def identity_feeds() -> dict[str, tuple[str, ...]]:
    """Each feed that names people, with its identity columns."""
    return {f.name: f.identity_columns for f in FEEDS.values() if f.identity_columns}


def column_names(name: str) -> tuple[str, ...]:
    """The canonical columns of feed `name`, in contract order (bookkeeping excluded)."""
    return tuple(column.name for column in feed(name).columns)


def feed(name: str) -> Feed:
    """The feed called `name`, or a ValueError that lists the feeds there are."""
    try:
        return FEEDS[name]
    except KeyError:
        raise ValueError(f"unknown feed {name!r} (feeds: {', '.join(FEEDS)})") from None
