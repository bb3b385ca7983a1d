"""Steps of the metrics' SQL that the sync stores for the whole warehouse, read while exact.

A step is a table macro of sql/ that every reader could compute itself (sql/macros.sql,
sql/flow_macros.sql). A `StoredSteps` names, by its `name`, three sql/ files:

- `<name>_fingerprint.sql`: one row, a fingerprint of the rows the steps read (of every row,
  or, where reading every row is what storing saves, of what changes whenever a row does);
- `<name>_refresh.sql`: the statements storing the steps' rows over the whole warehouse, with
  the computing macros (`macros`) made on the same connection first;
- `<name>_stored_macros.sql`: the same macros, reading those rows back.

The sync refreshes them after loading every source, inside its transaction on the warehouse
copy, and records the fingerprint in tandem_meta (`<name>_fingerprint`). A reader makes the
stored macros only while its rows still have that fingerprint (`is_current`); otherwise (rows
written without a sync, a scoped connection's views) it computes the same steps itself, so the
numbers never depend on whether they were stored. metrics/ only reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from warehouse import sql


@dataclass(frozen=True)
class StoredSteps:
    name: str  # the sql/ files' and the tandem_meta key's prefix
    macros: str  # the sql/ file making the macros that compute the steps

    @property
    def key(self) -> str:
        """tandem_meta key of the fingerprint the stored rows were computed from."""
        return f"{self.name}_fingerprint"

    def fingerprint(self, con: duckdb.DuckDBPyConnection) -> str:
        """The fingerprint of the steps' inputs as the connection reads them now."""
        ((found,),) = con.execute(sql(f"{self.name}_fingerprint")).fetchall()
        return found

    def stored_fingerprint(self, con: duckdb.DuckDBPyConnection) -> str | None:
        """The fingerprint the stored rows were computed from; None when none are stored."""
        rows = con.execute(
            "select value from tandem_meta where key = $key", {"key": self.key}
        ).fetchall()
        return rows[0][0] if rows else None

    def is_current(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Whether the stored rows are exact for what the connection reads now."""
        stored = self.stored_fingerprint(con)
        return stored is not None and stored == self.fingerprint(con)

    def read_back(self, con: duckdb.DuckDBPyConnection) -> None:
        """Make the steps' macros on `con` read the stored rows (after the computing ones)."""
        con.execute(sql(f"{self.name}_stored_macros"))

    def refresh(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Recompute the stored rows if their inputs changed since they were stored.

        Runs on the sync's read-write connection, inside its transaction. Returns whether it
        recomputed (False on a sync that changed none of the inputs).
        """
        current = self.fingerprint(con)
        if self.stored_fingerprint(con) == current:
            return False
        # The steps themselves, as every reader computes them (temp macros on this connection).
        con.execute(sql(self.macros))
        con.execute(sql(f"{self.name}_refresh"))
        con.execute("delete from tandem_meta where key = $key", {"key": self.key})
        con.execute(
            "insert into tandem_meta values ($key, $value)", {"key": self.key, "value": current}
        )
        return True


# The warehouse's stored attribution: which deployment each change and incident belongs to.
#
# Per change, the incident its title links it to and the next successful production deployment
# after the one it names; per incident, the latest successful production deployment of its model
# before it opened (sql/macros.sql, the steps change_fixes, change_next_deployments and
# incident_previous_deployments). Every delivery figure reads them, and computed per query they
# cost as-of joins and a match of every change title against every incident-linked ticket.
ATTRIBUTION = StoredSteps("attribution", "macros")

# The warehouse's stored flow steps: each ticket once, and each ticket's stays in a status.
#
# Every flow figure (throughput, cycle time, work in progress, hand-off waits, the retro's people
# counts) starts from the same two steps of sql/flow_macros.sql, which no workflow changes: one
# copy of each ticket when two sources send it (flow_scope), and the stays its transitions make
# (flow_status_stays: one per move, with the move's status, the one before it, the next move and
# the roles). Computed per query, they sort out copies and order a ticket's whole history again
# for each of the dozen queries a retro makes (read stored, those took 0.97 -> 0.58 s at the
# reference scale: 50,000 tickets, 200,000 transitions). The kinds the workflow gives each
# status are applied when read, so a change to the workflow needs no new sync.
FLOW = StoredSteps("flow", "flow_macros")

# The warehouse's stored holdings: per source and feed, the rows held and the newest event.
#
# The Data sources page shows them for every source. Computed per view, they count every row of
# every feed per source: at 100M inference rows 0.17 s warm and 0.55-0.86 s on a fresh
# connection, growing with the rows, where every other page reads profiles. Its fingerprint
# reads no row: each feed's row count and newest synced_at, and the syncs recorded (2-19 ms at
# 100M rows).
HOLDINGS = StoredSteps("holdings", "macros")

# Every stored step, in the order the sync refreshes them.
STORED = (ATTRIBUTION, FLOW, HOLDINGS)
