"""The sql kind: the demo frames written to a SQLite file under renamed columns, and the
contract sample that reads them back through three `sql` sources (a table with a cursor, a
table without, a query)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3

import pandas as pd

CONTRACT_ENV = "TANDEM_TEST_SQL_CONTRACT_URL"
# A hand-written deployment whose finish is written with an offset in the SQLite text column.
TIMESTAMP_CHECK = (
    "deployments",
    "deployment_id",
    "sql-check-1",
    "finished_at",
    dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC),
)


def _iso(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as SQLite keeps them: ISO 8601 text."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(lambda t: None if pd.isna(t) else t.isoformat())
    return out.astype(object).where(out.notna(), None)


@contextlib.contextmanager
def contract_sample(project, frames):
    """Deployments, changes and incidents in a SQLite file, under renamed columns."""
    db = project.root / "source.sqlite"
    con = sqlite3.connect(db)
    deployments = frames["deployments"].head(40)
    check = {
        **deployments.iloc[0].to_dict(),
        "deployment_id": "sql-check-1",
        "started_at": None,
        "finished_at": "2026-03-01T10:30:00+02:00",
    }
    deployments = pd.concat([_iso(deployments), pd.DataFrame([check])], ignore_index=True)
    deployments.rename(
        columns={"deployment_id": "Deploy ID", "finished_at": "Finished At", "model": "Model"}
    ).to_sql("Deploy Log", con, index=False)
    _iso(frames["changes"].head(40)).rename(
        columns={"change_id": "id", "first_commit_at": "first commit"}
    ).to_sql("changes", con, index=False)
    _iso(frames["incidents"].head(40)).rename(columns={"incident_id": "key"}).to_sql(
        "incidents_raw", con, index=False
    )
    con.close()
    previous = os.environ.get(CONTRACT_ENV)
    os.environ[CONTRACT_ENV] = f"sqlite:///{db}"
    try:
        yield f"""
[[sources]]
name = "deployments_sql"
kind = "sql"
feed = "deployments"
url_env = "{CONTRACT_ENV}"
table = "Deploy Log"
cursor = "Finished At"
columns = {{ deployment_id = "Deploy ID", finished_at = "Finished At", model = "Model" }}

[[sources]]
name = "changes_sql"
kind = "sql"
feed = "changes"
url_env = "{CONTRACT_ENV}"
table = "changes"
columns = {{ change_id = "id", first_commit_at = "first commit" }}

[[sources]]
name = "incidents_sql"
kind = "sql"
feed = "incidents"
url_env = "{CONTRACT_ENV}"
query = "select * from incidents_raw where opened_at is not null"
cursor = "opened_at"
columns = {{ incident_id = "key" }}
"""
    finally:
        if previous is None:
            os.environ.pop(CONTRACT_ENV, None)
        else:
            os.environ[CONTRACT_ENV] = previous
