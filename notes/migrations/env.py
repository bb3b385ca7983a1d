"""Alembic's entry point for the notes store: run on the connection `notes.store` hands it.

Tandem runs the migrations itself when a store is opened (no `alembic` command for users); a
developer adds a revision with `alembic -c notes/alembic.ini revision -m "..."` and writes its
upgrade by hand.
"""

from __future__ import annotations

from alembic import context

from notes.schema import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the notes migrations run from notes.store.open(), on its connection")
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    # SQLite alters a table by copying it: later revisions' alter_column work there too.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
