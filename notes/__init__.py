"""What people write beside the numbers: annotations, decisions and retro actions.

A storage layer beside the warehouse, not in it (each sync replaces the warehouse file): a
SQLAlchemy database, by default a SQLite file beside the warehouse, or a shared PostgreSQL.
Its schema is versioned with Alembic and upgraded when the store is opened (`store.open`).
It knows no metric: what the warehouse knows (its teams and models, the retro's figures) is
passed in by the caller (`store.Known`).
"""
