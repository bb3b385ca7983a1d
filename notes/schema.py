"""The notes store's tables (SQLAlchemy Core): one row per annotation, decision, retro action.

Timestamps are UTC instants (`*_at`); on SQLite they are stored without an offset and read
back as UTC. The migrations under notes/migrations/versions/ create exactly these tables.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Alembic's record of the schema revision (not its default name: a shared PostgreSQL database
# may hold other applications' Alembic tables).
VERSION_TABLE = "tandem_notes_version"

# Longest values, checked before a write (so SQLite, which does not enforce VARCHAR lengths,
# refuses the same values as PostgreSQL).
NAME_LENGTH = 200
WEEK_LENGTH = 8

annotations = sa.Table(
    "annotations",
    metadata,
    sa.Column("annotation_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("author", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # Scope: both null for the whole company, else one team or one model.
    sa.Column("team", sa.String(NAME_LENGTH)),
    sa.Column("model", sa.String(NAME_LENGTH)),
    # A point in time when ends_at is null, else the range [starts_at, ends_at].
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True)),
    sa.Column("text", sa.Text, nullable=False),
    sa.Index("ix_annotations_starts_at", "starts_at"),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("decision_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("author", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("model", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("title", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("context", sa.Text, nullable=False),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("owner", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("decided_on", sa.Date, nullable=False),
    sa.Column("links", sa.JSON, nullable=False),
    sa.Index("ix_decisions_model_decided_on", "model", "decided_on"),
)

actions = sa.Table(
    "actions",
    metadata,
    sa.Column("action_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("author", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # The retro's scope the action was made in (and its figure's): null for everything.
    sa.Column("team", sa.String(NAME_LENGTH)),
    sa.Column("model", sa.String(NAME_LENGTH)),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("owner", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("due_week", sa.String(WEEK_LENGTH), nullable=False),
    # Optional: a retro figure key, the direction wanted ("up"/"down"), its value when made.
    sa.Column("figure_key", sa.String(NAME_LENGTH)),
    sa.Column("figure_direction", sa.String(4)),
    sa.Column("figure_value", sa.Float),
    sa.Column("status", sa.String(6), nullable=False),
    sa.Column("outcome", sa.Text),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("closed_by", sa.String(NAME_LENGTH)),
    sa.Index("ix_actions_created_at", "created_at"),
)

# Who looked at what: sign-ins, refusals and downloads (metrics.access_log writes them). Read by
# admins only, on Data sources.
access_log = sa.Table(
    "access_log",
    metadata,
    sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    # The signed-in email, or "local" in open mode.
    sa.Column("who", sa.String(NAME_LENGTH), nullable=False),
    # sign_in, refused, not_in_scope, download.
    sa.Column("event", sa.String(20), nullable=False),
    # The scope in words ("member of growth"), or why the sign-in was refused.
    sa.Column("scope", sa.String(NAME_LENGTH * 2), nullable=False),
    # What: a page, a file name, the team or model asked for.
    sa.Column("detail", sa.String(NAME_LENGTH * 2), nullable=False),
    sa.Index("ix_access_log_at", "at"),
)
