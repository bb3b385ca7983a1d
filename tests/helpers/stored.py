"""What a connection's macros read: the stored steps (profiling/stored_steps.py) make macros that
read the tables the sync stored their rows in, where the computing macros read the feeds."""

from __future__ import annotations

import duckdb


def macro_reads(con: duckdb.DuckDBPyConnection, macro: str, table: str) -> bool:
    """Whether the table macro `macro`, as made on `con`, reads `table`."""
    text = con.execute(
        "select macro_definition from duckdb_functions() where function_name = $macro",
        {"macro": macro},
    ).fetchall()
    return table in text[0][0]
