"""The warehouse's stored attribution: which deployment each change and incident belongs to.

Per change, the incident its title links it to and the next successful production deployment
after the one it names; per incident, the latest successful production deployment of its model
before it opened (sql/macros.sql, the steps change_fixes, change_next_deployments and
incident_previous_deployments). Every delivery figure reads them, and computed per query they
cost as-of joins and a match of every change title against every incident-linked ticket.

The sync computes them once, after loading every source (`refresh`, inside its transaction on
the warehouse copy), over the whole warehouse, and records a fingerprint of the inputs beside
them (tandem_meta `attribution_fingerprint`). A reader uses the stored rows only while its
inputs still have that fingerprint (`is_current`); otherwise (rows written without a sync, a
scoped connection's views) it computes the same steps itself, so the numbers never depend on
whether they were stored. metrics/ only reads.
"""

from __future__ import annotations

import duckdb

from warehouse import sql

# tandem_meta key: the fingerprint (sql/attribution_fingerprint.sql) of the inputs the stored
# attribution was computed from.
FINGERPRINT_KEY = "attribution_fingerprint"
TABLES = ("attribution_incidents", "attribution_change_fixes", "attribution_change_shipping")


def fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """The fingerprint of the attribution's inputs as the connection reads them now."""
    ((found,),) = con.execute(sql("attribution_fingerprint")).fetchall()
    return found


def stored_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint the stored attribution was computed from; None when none is stored."""
    rows = con.execute(
        "select value from tandem_meta where key = $key", {"key": FINGERPRINT_KEY}
    ).fetchall()
    return rows[0][0] if rows else None


def is_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the stored attribution is exact for what the connection reads now."""
    stored = stored_fingerprint(con)
    return stored is not None and stored == fingerprint(con)


def refresh(con: duckdb.DuckDBPyConnection) -> bool:
    """Recompute the stored attribution if its inputs changed since it was stored.

    Runs on the sync's read-write connection, inside its transaction. Returns whether it
    recomputed (False on a sync that changed no deployment, change, incident or ticket link).
    """
    current = fingerprint(con)
    if stored_fingerprint(con) == current:
        return False
    # The steps themselves, as every reader computes them (temp macros on this connection).
    con.execute(sql("macros"))
    con.execute(sql("attribution_refresh"))
    con.execute("delete from tandem_meta where key = $key", {"key": FINGERPRINT_KEY})
    con.execute(
        "insert into tandem_meta values ($key, $value)", {"key": FINGERPRINT_KEY, "value": current}
    )
    return True
