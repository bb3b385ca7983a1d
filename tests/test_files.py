"""The files connector on each format, and the sync CLI's summary, errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import duckdb
import pytest

from connectors.files import matching_files
from connectors.loader import SourceError
from settings import SourceConfig
from tests.helpers.project import ROOT, subprocess_env

TICKETS_CSV = """
    ticket_id,title,type,team,model,assignee,role,created_at,resolved_at,status,story_points,labels
    T-1,Retrain,Story,growth,churn,ana,data_science,2026-10-01 09:00,2026-10-05 17:00,Done,3,"ml,retrain"
    T-2,Fix feature join,Bug,growth,churn,bo,engineering,2026-10-02 09:00,,In Progress,2,
    T-3,Try new loss,Experiment,risk,fraud,cy,data_science,2026-10-03T09:00:00+02:00,,To Do,,exp
"""

EXPECTED_TICKETS = [
    ("T-1", "development", "2026-10-01 09:00:00+00", "Done", 3.0, ["ml", "retrain"]),
    ("T-2", "maintenance", "2026-10-02 09:00:00+00", "In Progress", 2.0, None),
    ("T-3", "experiment", "2026-10-03 07:00:00+00", "To Do", None, ["exp"]),
]


# A bad line of a feed that names people keeps its raw text only where names are shown; under
# pseudonyms it is withheld (tests/test_privacy.py). The tests of raw lines show names.
SHOW_NAMES = "[privacy]\nshow_names = true"


def _tickets_in(project):
    return project.query(
        "select ticket_id, work_category, strftime(created_at, '%Y-%m-%d %H:%M:%S+00'), status, "
        "story_points, labels from tickets order by ticket_id"
    )


def _source(project, path, fmt="", privacy=""):
    project.configure(
        f"""
        {privacy}
        [[sources]]
        name = "tickets"
        kind = "files"
        feed = "tickets"
        path = "{path}"
        {fmt}
        """
    )


def test_csv(project):
    project.file("exports/tickets.csv", TICKETS_CSV)
    _source(project, "exports/*.csv")
    assert project.sync().ok
    assert _tickets_in(project) == EXPECTED_TICKETS


def _csv_to(project, fmt):
    csv = project.file("exports/tickets.csv", TICKETS_CSV)
    con = duckdb.connect()
    target = project.root / "exports" / f"tickets.{fmt}"
    # The labels travel as a real list in Parquet and JSON, as exporters write them.
    con.execute(
        "copy (select * replace (string_split(labels, ',') as labels) "
        f"from read_csv($p, all_varchar = true)) to '{target}' "
        f"(format {'parquet' if fmt == 'parquet' else 'json'})",
        {"p": str(csv)},
    )
    csv.unlink()
    return target


def test_parquet(project):
    _csv_to(project, "parquet")
    _source(project, "exports/*.parquet")
    assert project.sync().ok
    assert _tickets_in(project) == EXPECTED_TICKETS


def test_json_lines(project):
    _csv_to(project, "jsonl")
    _source(project, "exports/*.jsonl")
    assert project.sync().ok
    assert _tickets_in(project) == EXPECTED_TICKETS


def test_a_csv_line_that_cannot_be_split_is_quarantined_with_its_line(project):
    project.file(
        "exports/tickets.csv",
        TICKETS_CSV.rstrip() + "\n    T-4,too,many,fields,a,b,c,2026-10-01,,Done,1,x,EXTRA\n",
    )
    _source(project, "exports/tickets.csv", privacy=SHOW_NAMES)
    report = project.sync()
    stats = report.as_dict()["sources"][0]
    assert (stats["read"], stats["loaded"], stats["quarantined"]) == (4, 3, 1)
    ((row, raw, reason),) = project.query("select row_number, raw, reason from quarantine")
    assert row == 5 and "T-4" in raw and reason.startswith("line 5: TOO MANY COLUMNS")


# Ten lines under the header (lines 2 to 11): T-2 has two fields too many, T-4 three, T-5 one
# too few, T-6 an unparsable date; the other six load.
TEN_LINES = """\
ticket_id,type,created_at,status
T-1,Story,2026-10-01,To Do
T-2,Bug,2026-10-02,Done,late,again
T-3,Story,2026-10-03,Done
T-4,Bug,2026-10-04,Done,a,b,c
T-5,Story,2026-10-05
T-6,Story,yesterday,Done
T-7,Story,2026-10-07,Done
T-8,Story,2026-10-08,Done
T-9,Story,2026-10-09,Done
T-10,Story,2026-10-10,Done
"""


def test_a_line_with_too_many_fields_is_one_quarantine_row(project):
    project.file("exports/tickets.csv", TEN_LINES)
    _source(project, "exports/tickets.csv", privacy=SHOW_NAMES)
    stats = project.sync().as_dict()["sources"][0]
    # DuckDB reports T-2's line twice and T-4's three times (once per extra field).
    assert (stats["read"], stats["loaded"], stats["duplicates"], stats["quarantined"]) == (
        10,
        6,
        0,
        4,
    )
    assert project.query("select count(*) from tickets") == [(6,)]
    rejected = "select row_number, reason, raw from quarantine where row_key is null order by 1"
    assert project.query(rejected) == [
        (
            3,
            "line 3: TOO MANY COLUMNS (Expected Number of Columns: 4 Found: 6)",
            "T-2,Bug,2026-10-02,Done,late,again",
        ),
        (
            5,
            "line 5: TOO MANY COLUMNS (Expected Number of Columns: 4 Found: 7)",
            "T-4,Bug,2026-10-04,Done,a,b,c",
        ),
        (
            6,
            "line 6: MISSING COLUMNS (Expected Number of Columns: 4 Found: 3)",
            "T-5,Story,2026-10-05",
        ),
    ]
    assert project.query("select row_key, reason from quarantine where row_key is not null") == [
        ("T-6", "created_at: unparsable timestamp 'yesterday'")
    ]
    # Read again, the same file counts the same and leaves its quarantine as it was.
    quarantined = project.query("select * from quarantine order by all")
    again = project.sync(reread=True).as_dict()["sources"][0]
    assert (again["read"], again["duplicates"], again["quarantined"]) == (10, 6, 4)
    assert project.query("select * from quarantine order by all") == quarantined


def test_a_malformed_json_line_is_quarantined_alone(project):
    target = _csv_to(project, "jsonl")
    with target.open("a") as handle:
        handle.write("{not json\n")
    _source(project, "exports/*.jsonl", privacy=SHOW_NAMES)
    report = project.sync()
    stats = report.as_dict()["sources"][0]
    assert (stats["read"], stats["loaded"], stats["quarantined"]) == (4, 3, 1)
    assert project.query("select row_number, raw, reason from quarantine") == [
        (4, "{not json", "line 4: not a JSON object")
    ]


def test_json_lines_without_any_key_are_each_quarantined(project):
    # No line is an object with a key: the file has no column at all, and every line is read.
    project.file("exports/tickets.jsonl", '[1, 2]\n"T-1"\n\n{}\n{"": "T-2"}\n')
    _source(project, "exports/tickets.jsonl")
    stats = project.sync().as_dict()["sources"][0]
    assert (stats["read"], stats["loaded"], stats["quarantined"]) == (4, 0, 4)
    assert project.query("select row_number, reason from quarantine order by 1") == [
        (1, "line 1: not a JSON object"),
        (2, "line 2: not a JSON object"),
        (4, "missing ticket_id; missing created_at"),
        (5, "missing ticket_id; missing created_at"),
    ]


def test_a_glob_loads_every_file(project):
    header, first, _, third = textwrap.dedent(TICKETS_CSV).strip().splitlines()
    project.file("exports/a.csv", f"{header}\n{first}\n")
    project.file("exports/b.csv", f"{header}\n{third}\n")
    _source(project, "exports/*.csv")
    assert project.sync().ok
    assert [r[0] for r in _tickets_in(project)] == ["T-1", "T-3"]


def _cli(project, *args):
    return subprocess.run(
        [sys.executable, "-m", "connectors", "sync", "--config", str(project.config_path), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=120,
    )


def test_cli_json_summary_and_a_bad_source_does_not_stop_the_others(project):
    project.file("exports/tickets.csv", TICKETS_CSV)
    project.configure(
        """
        [[sources]]
        name = "broken"
        kind = "files"
        feed = "incidents"
        path = "exports/missing/*.csv"

        [[sources]]
        name = "tickets"
        kind = "files"
        feed = "tickets"
        path = "exports/tickets.csv"
        """
    )
    result = _cli(project, "--json")
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    tickets = [s for s in summary["sources"] if s["name"] == "tickets"]
    assert tickets == [
        {
            "name": "tickets",
            "feed": "tickets",
            "read": 3,
            "loaded": 3,
            "duplicates": 0,
            "quarantined": 0,
            "error": None,
            "skipped": False,
        }
    ]
    lines = result.stderr.strip().splitlines()
    key_file = project.root / "tandem-privacy.key"
    assert lines == [
        f"tandem: created the privacy key file {key_file} (mode 0600): people are stored as "
        "pseudonyms made with it; keep it, or pseudonyms change",
        f"tandem: source 'broken': no file matches {project.root / 'exports/missing/*.csv'}",
    ]
    assert project.query("select count(*) from tickets")[0][0] == 3
    assert project.query("select source, status from sync_runs order by source") == [
        ("broken", "failed"),
        ("tickets", "ok"),
    ]


def test_cli_table_and_only_one_source(project):
    project.file("exports/tickets.csv", TICKETS_CSV)
    _source(project, "exports/tickets.csv")
    result = _cli(project, "--source", "tickets")
    assert result.returncode == 0, result.stderr
    header, rule, row = result.stdout.strip().splitlines()
    assert header.split() == ["source", "feed", "read", "loaded", "duplicates", "quarantined"]
    assert row.split() == ["tickets", "tickets", "3", "3", "0", "0"]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[[sources]]\nname = 'x'\nkind = 'files'\nfeed = 'tickets'\n",
            "source 'x': kind 'files' needs a `path` (glob)",
        ),
        ("[[sources]]\nname = 'x'\nkind = 'ftp'\n", "source 'x': unknown kind 'ftp'"),
        (
            "[[sources]]\nname = 'x'\nkind = 'files'\nfeed = 'tikets'\npath = 'a.csv'\n",
            "source 'x': kind 'files' has no feed 'tikets'",
        ),
        (
            "[[sources]]\nname = 'x'\nkind = 'files'\nfeed = 'tickets'\npath = 'a.csv'\n"
            "format = 'xlsx'\n",
            "source 'x': unknown format 'xlsx'",
        ),
    ],
)
def test_bad_source_config_names_the_source_and_exits_nonzero(project, toml, message):
    project.configure(toml)
    result = _cli(project)
    assert result.returncode == 1
    assert message in result.stderr


def test_unreadable_config_exits_2_with_one_line(project):
    project.config_path.write_text("[warehouse\npath = 1")
    result = _cli(project)
    assert result.returncode == 2
    assert result.stderr.startswith(f"tandem: {project.config_path}: not valid TOML")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_duplicates_and_bad_rows_read_the_same_in_every_format(project, fmt):
    rows = (
        "ticket_id,type,created_at,status\n"
        "T-1,Story,2026-10-01,To Do\n"
        "T-2,Bug,yesterday,Done\n"
        "T-1,Story,2026-10-02,Done\n"
    )
    csv = project.file("exports/t.csv", rows)
    if fmt != "csv":
        con = duckdb.connect()
        target = csv.with_suffix(f".{fmt}")
        con.execute(
            f"copy (select * from read_csv($p, all_varchar = true)) to '{target}' "
            f"(format {'parquet' if fmt == 'parquet' else 'json'})",
            {"p": str(csv)},
        )
        csv.unlink()
    _source(project, f"exports/t.{fmt}")
    stats = project.sync().as_dict()["sources"][0]
    assert (stats["read"], stats["loaded"], stats["duplicates"], stats["quarantined"]) == (
        3,
        1,
        1,
        1,
    )
    assert project.query("select ticket_id, status from tickets") == [("T-1", "Done")]
    assert project.query("select row_number, reason from quarantine") == [
        (2, "created_at: unparsable timestamp 'yesterday'")
    ]


@pytest.mark.parametrize(
    "pattern, found",
    [
        ("exports/*.csv", ["exports/a.csv", "exports/b.csv"]),
        ("exports/**/*.csv", ["exports/a.csv", "exports/b.csv", "exports/deep/c.csv"]),
        ("exports/*", ["exports/a.csv", "exports/b.csv", "exports/notes.txt"]),  # no folder
        ("exports/b.csv", ["exports/b.csv"]),
    ],
)
def test_matching_files_are_the_globs_files_in_name_order(tmp_path, pattern, found):
    for name in ("exports/b.csv", "exports/a.csv", "exports/deep/c.csv", "exports/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")
    source = SourceConfig("s", "files", options={"path": pattern}, base_dir=tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in matching_files(source)] == found


def test_a_glob_that_matches_nothing_is_named(tmp_path):
    source = SourceConfig("s", "files", options={"path": "none/*.csv"}, base_dir=tmp_path)
    with pytest.raises(SourceError, match=r"source 's': no file matches .*none/\*\.csv"):
        matching_files(source)
