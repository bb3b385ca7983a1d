"""The first tables: annotations, decisions, retro actions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "annotations",
        sa.Column("annotation_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("team", sa.String(200)),
        sa.Column("model", sa.String(200)),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True)),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_annotations_starts_at", "annotations", ["starts_at"])
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("decided_on", sa.Date, nullable=False),
        sa.Column("links", sa.JSON, nullable=False),
    )
    op.create_index("ix_decisions_model_decided_on", "decisions", ["model", "decided_on"])
    op.create_table(
        "actions",
        sa.Column("action_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("team", sa.String(200)),
        sa.Column("model", sa.String(200)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("due_week", sa.String(8), nullable=False),
        sa.Column("figure_key", sa.String(200)),
        sa.Column("figure_direction", sa.String(4)),
        sa.Column("figure_value", sa.Float),
        sa.Column("status", sa.String(6), nullable=False),
        sa.Column("outcome", sa.Text),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_by", sa.String(200)),
    )
    op.create_index("ix_actions_created_at", "actions", ["created_at"])


def downgrade() -> None:
    op.drop_table("actions")
    op.drop_table("decisions")
    op.drop_table("annotations")
