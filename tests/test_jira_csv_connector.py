"""Jira's CSV export (tests/fixtures/jira/export.csv), hand-checked, exported from Europe/Berlin.

line  issue  what it tests
1     header "Component/s", "Labels" and "Sprint" each twice, as Jira repeats multi-value fields
2-3   ML-1   Story, Done; a description over two lines; 02/Nov/26 9:00 AM Berlin = 08:00 UTC;
             resolved 06/Nov/26 5:30 PM = 16:30 UTC; sprints 11 then 12; 8 story points
4     ML-2   Task, In Progress, components Data and Growth (only Growth maps to a team)
5     ML-3   created "31/Nov/26 9:00 AM": no such day, quarantined at line 5
6     ML-6   Incident, Highest, label deploy:deploy-churn-42; 3:05 PM -> 14:05 UTC
7     ML-7   Experiment, 12:00 PM -> 11:00 UTC, resolved 20/Nov/26 12:30 AM -> 11-19 23:30 UTC
8     ML-8   two fields only (a file cut short): quarantined as a line
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from connectors import jira_csv
from connectors.jira_csv import JiraCsvConnector, canonical_headers
from connectors.loader import SourceError
from metrics import db, flow
from metrics.filters import Filters
from settings import SourceConfig, Workflow
from tests.helpers.contracts.jira_csv import EXPORT
from tests.helpers.project import PRIVACY_KEY, PRIVACY_KEY_ENV, PRIVACY_TOML, person

SOURCE = (
    PRIVACY_TOML
    + """
[[sources]]
name = "jira-export"
kind = "jira_csv"
path = "exports/*.csv"
timezone = "Europe/Berlin"
model_label_prefix = "model:"
deployment_label_prefix = "deploy:"
teams = { Growth = "growth", Ranking = "search" }
roles = { "Ana Lima" = "data_science", "Bruno Costa" = "engineering", "Chen Wei" = "data_science" }
"""
)


@pytest.fixture(autouse=True)
def privacy_key(monkeypatch):
    monkeypatch.setenv(PRIVACY_KEY_ENV, PRIVACY_KEY)


TICKETS = [
    (
        "ML-1",
        "Retrain churn model on Q3 data",
        "Story",
        "development",
        "growth",
        "churn",
        person("Ana Lima"),
        "data_science",
        "11-02 08:00",
        "11-06 16:30",
        "Done",
        8.0,
        "ML Sprint 12",
        ["model:churn", "retraining"],
    ),
    (
        "ML-2",
        "Ship churn features to the feature store",
        "Task",
        "development",
        "growth",
        "churn",
        person("Bruno Costa"),
        "engineering",
        "11-02 09:00",
        None,
        "In Progress",
        3.0,
        "ML Sprint 12",
        ["model:churn"],
    ),
    (
        "ML-7",
        "A/B test the new ranking",
        "Experiment",
        "experiment",
        "search",
        "ranker",
        person("Chen Wei"),
        "data_science",
        "11-12 11:00",
        "11-19 23:30",
        "Done",
        2.5,
        "ML Sprint 12",
        ["model:ranker", "outcome:productionize"],
    ),
]


def export(project, text: str | None = None, extra: str = "") -> None:
    project.file("exports/jira.csv", text if text is not None else EXPORT.read_text("utf-8"))
    project.configure(SOURCE + extra)


def tickets(project) -> list[tuple]:
    return project.query(
        "select ticket_id, title, type, work_category, team, model, assignee, role, "
        "strftime(created_at, '%m-%d %H:%M'), strftime(resolved_at, '%m-%d %H:%M'), status, "
        "story_points, sprint, labels from tickets order by ticket_id"
    )


def stats(report, feed):
    [row] = [r for r in report.as_dict()["sources"] if r["feed"] == feed]
    return row["read"], row["loaded"], row["duplicates"], row["quarantined"]


def test_an_export_gives_tickets_and_incidents(project):
    export(project)
    report = project.sync()
    assert report.ok, report.as_dict()
    assert tickets(project) == TICKETS
    assert project.query(
        "select incident_id, title, model, team, strftime(opened_at, '%m-%d %H:%M'), "
        "strftime(resolved_at, '%m-%d %H:%M'), severity, deployment_id from incidents"
    ) == [
        (
            "ML-6",
            "Churn scores all zero after deploy",
            "churn",
            "growth",
            "11-10 14:05",
            "11-10 16:35",
            "Highest",
            "deploy-churn-42",
        )
    ]
    assert project.query("select count(*) from ticket_transitions") == [(0,)]


def test_bad_rows_are_quarantined_with_their_line_numbers(project):
    export(project)
    report = project.sync()
    # ML-1, ML-2, ML-3, ML-7 and the short line; ML-6 is the one incident.
    assert stats(report, "tickets") == (5, 3, 0, 2)
    assert stats(report, "incidents") == (1, 1, 0, 0)
    rows = project.query("select feed, row_number, reason, raw from quarantine order by row_number")
    assert [(feed, line, reason) for feed, line, reason, _ in rows] == [
        ("tickets", 5, "created_at: unparsable timestamp '31/Nov/26 9:00 AM'"),
        ("tickets", 8, "line 8: 2 fields, the header has 22"),
    ]
    assert json.loads(rows[0][3])["ticket_id"] == "ML-3"
    # The short line is withheld: it is no row the loader could read column by column.
    assert json.loads(rows[1][3])["withheld"] == "not read column by column, and may name people"
    # Read again, the same file leaves the same quarantine (superseded, not doubled).
    assert project.sync().ok
    assert project.query("select count(*) from quarantine") == [(2,)]


@pytest.mark.parametrize(
    "renamed",
    [
        # pandas' read_csv then to_csv
        "Component/s.1,Labels,Labels.1,Description,Custom field (Story Points),Sprint,Sprint.1",
        # DuckDB's read_csv then COPY
        "Component/s_1,Labels,Labels_1,Description,Custom field (Story Points),Sprint,Sprint_1",
    ],
)
def test_repeated_columns_renamed_by_a_tool_are_still_read(project, renamed):
    header, rest = EXPORT.read_text("utf-8").split("\n", 1)
    repeated = ",Component/s,Component/s,Labels,Labels,Description,Custom field (Story Points),"
    assert header.endswith(repeated + "Sprint,Sprint")
    header = header.replace(repeated + "Sprint,Sprint", ",Component/s," + renamed)
    assert header.count(",") == 21
    export(project, header + "\n" + rest)
    assert project.sync().ok
    assert tickets(project) == TICKETS


def test_a_date_format_for_another_locale(project):
    text = (
        "Issue key,Summary,Issue Type,Status,Created,Resolved,Labels\n"
        "ML-9,Drift alert tuning,Task,Done,03.11.2026 14:30,04.11.2026 09:15,\n"
    )
    export(project, text, 'date_format = "%d.%m.%Y %H:%M"\n')
    assert project.sync().ok
    assert project.query(
        "select ticket_id, strftime(created_at, '%m-%d %H:%M'), "
        "strftime(resolved_at, '%m-%d %H:%M'), labels, team from tickets"
    ) == [("ML-9", "11-03 13:30", "11-04 08:15", None, None)]


def test_the_app_says_the_tickets_have_no_status_history(project):
    export(project)
    assert project.sync().ok
    november = Filters(
        dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    )
    with db.connect(project.warehouse) as con:
        assert flow.has_history(con, november) is False
        summary = flow.flow_summary(con, november, Workflow())
    # Throughput from resolved_at and status (ML-1, ML-7 done); nothing that needs a history.
    assert summary["throughput"] == 2
    assert summary["cycle_time_hours"] == {"median": None, "p85": None}
    assert summary["handoff_wait_hours"] == {}


def test_a_file_that_is_not_a_jira_export_is_named(project):
    export(project, "id,title\n1,x\n")
    report = project.sync()
    error = report.as_dict()["sources"][0]["error"]
    assert error.startswith("source 'jira-export': ") and "no 'Issue key' column" in error
    assert "jira.csv" in error and "\n" not in error


@pytest.mark.parametrize(
    "header, expected",
    [
        (["Labels", "Labels"], ["Labels", "Labels"]),
        (["Labels", "Labels.1", "Labels.2"], ["Labels", "Labels", "Labels"]),
        (["Sprint", "Sprint_1"], ["Sprint", "Sprint"]),
        # Not a repeat: no column of that base name.
        (["Custom field (Team_2)", "Version_2"], ["Custom field (Team_2)", "Version_2"]),
    ],
)
def test_canonical_headers(header, expected):
    assert canonical_headers(header) == expected


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "kind 'jira_csv' needs a `path`"),
        ({"path": "x.csv", "date_format": "dd/MMM/yy"}, "`date_format` is a strptime format"),
        ({"path": "x.csv", "timezone": "Berlin"}, "unknown timezone 'Berlin'"),
        ({"path": "x.csv", "incident_type": 3}, "`incident_type` is an issue type"),
        ({"path": "x.csv", "story_points_column": 8}, "`story_points_column` is a column name"),
        ({"path": "x.csv", "deployment_column": [1]}, "`deployment_column` is a column name"),
    ],
)
def test_a_config_that_cannot_work_is_refused(options, message):
    with pytest.raises(SourceError) as caught:
        JiraCsvConnector(SourceConfig("jira-export", "jira_csv", options=options))
    assert str(caught.value).startswith("source 'jira-export': ")
    assert message in str(caught.value)


def test_each_file_is_parsed_once_for_both_feeds(project, monkeypatch):
    export(project)
    readers = []
    real_reader = jira_csv.csv.reader

    def counting_reader(*args, **kwargs):
        readers.append(args)
        return real_reader(*args, **kwargs)

    monkeypatch.setattr(jira_csv.csv, "reader", counting_reader)
    config = project.configure(SOURCE)
    connector = JiraCsvConnector(config.sources[0])
    batches = list(connector.batches())
    assert [b.feed for b in batches] == ["tickets", "incidents"]
    assert len(readers) == 1
    # The lines that cannot be split are reported once, with the first feed.
    assert [len(b.rejects) for b in batches] == [1, 0]
    assert [len(b.frame) for b in batches] == [4, 1]
