"""Incremental sync: files unchanged since the last sync are not read, and a sync with nothing
to read writes nothing (the warehouse file is not even copied)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import warehouse
from tests.helpers.contracts.jira_csv import EXPORT
from tests.helpers.project import ROOT, subprocess_env

DEPLOYS_A = "deployment_id,environment,finished_at,status\nd1,production,2026-11-01,success\n"
DEPLOYS_B = (
    "deployment_id,environment,finished_at,status\n"
    "d2,production,2026-11-02,success\n"
    "d3,staging,2026-11-03,success\n"
)


def _configure(project, extra: str = "", glob: str = "exports/*.csv") -> None:
    project.configure(
        f"""
        [[sources]]
        name = "deploys"
        kind = "files"
        feed = "deployments"
        path = "{glob}"
        {extra}
        """
    )


def _two_files(project) -> None:
    project.file("exports/a.csv", DEPLOYS_A)
    project.file("exports/b.csv", DEPLOYS_B)
    _configure(project)


def _stats(report) -> tuple[int, int, int, int] | str:
    """(read, loaded, duplicates, quarantined) of the one source, or "skipped"."""
    [source] = report.sources
    assert source.ok, source.error
    if source.skipped:
        assert not source.feeds
        return "skipped"
    [stats] = source.feeds.values()
    return stats.read, stats.loaded, stats.duplicates, stats.quarantined


def _recorded(project) -> dict:
    [(state,)] = project.query("select state from source_state where source = 'deploys'")
    return json.loads(state)["files"]


def _statuses(project) -> list[tuple]:
    return project.query("select deployment_id, status from deployments order by 1")


def test_a_second_sync_of_unchanged_files_reads_and_writes_nothing(project):
    _two_files(project)
    assert _stats(project.sync()) == (3, 3, 0, 0)
    token = warehouse.version(project.warehouse)
    runs = project.query("select count(*) from sync_runs")

    report = project.sync()

    assert _stats(report) == "skipped"
    assert report.as_dict()["sources"] == [
        {
            "name": "deploys",
            "feed": None,
            "read": 0,
            "loaded": 0,
            "duplicates": 0,
            "quarantined": 0,
            "error": None,
            "skipped": True,
        }
    ]
    # Not copied, not swapped: the same file (inode, mtime, size), no sync run recorded.
    assert warehouse.version(project.warehouse) == token
    assert project.query("select count(*) from sync_runs") == runs
    assert not list(project.root.glob(f".{project.warehouse.name}.sync-*"))
    assert len(_statuses(project)) == 3


def test_new_content_with_the_size_and_mtime_put_back_is_read(project):
    """Size and mtime alone would miss it: the fingerprint of the content is checked too."""
    _two_files(project)
    project.sync()
    path = project.root / "exports/b.csv"
    before = path.stat()
    changed = DEPLOYS_B.replace("d3,staging,", "d3,preprod,")
    assert len(changed) == len(DEPLOYS_B)
    path.write_text(changed)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size

    # b.csv read again (2 rows: d3 changed, d2 as it was); a.csv, before it, not read.
    assert _stats(project.sync()) == (2, 1, 1, 0)
    assert project.query("select environment from deployments where deployment_id = 'd3'") == [
        ("preprod",)
    ]


def test_a_touched_file_with_the_same_content_is_not_read(project):
    _two_files(project)
    project.sync()
    token = warehouse.version(project.warehouse)
    path = project.root / "exports/a.csv"
    touched = path.stat().st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(touched, touched))

    assert _stats(project.sync()) == "skipped"
    assert warehouse.version(project.warehouse) == token

    # A sync that writes anyway (b.csv gains a row) records a.csv's new mtime, unread.
    project.file("exports/b.csv", DEPLOYS_B + "d4,production,2026-11-04,success\n")
    assert _stats(project.sync()) == (3, 1, 2, 0)
    assert _recorded(project)[str(path)]["mtime_ns"] == touched
    assert _stats(project.sync()) == "skipped"


def test_an_appended_file_loads_only_its_new_rows_once(project):
    _two_files(project)
    project.sync()
    with (project.root / "exports/b.csv").open("a") as handle:
        handle.write("d4,production,2026-11-04,success\nd5,production,2026-11-05,failed\n")

    # b.csv is read whole (4 rows): its 2 old rows are unchanged, its 2 new ones load.
    assert _stats(project.sync()) == (4, 2, 2, 0)
    assert project.query("select count(*), count(distinct deployment_id) from deployments") == [
        (5, 5)
    ]
    assert _stats(project.sync()) == "skipped"


def test_a_new_file_is_read_with_the_files_after_it_only(project):
    _two_files(project)
    project.sync()
    # After the others by name: only it is read.
    project.file(
        "exports/c.csv", "deployment_id,environment,finished_at,status\nd9,dev,2026-11-09,success\n"
    )
    assert _stats(project.sync()) == (1, 1, 0, 0)
    # After a.csv, before b.csv and c.csv by name: it and both after it are read (a later
    # file's row wins a key they share, as if every file were read), a.csv is not. It says d2
    # failed; b.csv, read after it, says d2 succeeded, and wins.
    project.file(
        "exports/ab.csv",
        "deployment_id,environment,finished_at,status\nd2,production,2026-11-02,failed\n",
    )
    # ab (1 row: d2 replaced), b (2 rows: d2 back as b.csv has it, d3 unchanged), c (1 unchanged).
    report = project.sync()
    assert _stats(report) == (4, 2, 2, 0)
    assert ("d2", "success") in _statuses(project)
    # Whoever runs the sync is told why two unchanged files were read again.
    assert report.notices == [
        "source 'deploys': the new file ab.csv sorts before 2 file(s) an earlier sync read "
        "(b.csv, c.csv), which are read again with it (files are read in name order, and a "
        "later file's row wins a key they share): name new exports so that they sort last, "
        "e.g. by date"
    ]


def test_a_new_file_that_sorts_last_or_a_changed_one_gives_no_notice(project):
    _two_files(project)
    project.sync()
    project.file(
        "exports/c.csv", "deployment_id,environment,finished_at,status\nd9,dev,2026-11-09,success\n"
    )
    assert project.sync().notices == []
    # A changed file read with those after it: that is what changing a file means, no notice.
    project.file("exports/a.csv", DEPLOYS_A.replace("success", "failed"))
    report = project.sync()
    assert _stats(report) == (4, 1, 3, 0) and report.notices == []


def test_a_changed_config_reads_the_files_again(project):
    project.file("exports/a.csv", DEPLOYS_A.replace("success", "OK"))
    _configure(project)
    assert _stats(project.sync()) == (1, 0, 0, 1)  # "OK" is no deployment status
    assert _stats(project.sync()) == "skipped"
    _configure(project, 'values.status = { OK = "success" }')
    assert _stats(project.sync()) == (1, 1, 0, 0)
    assert _statuses(project) == [("d1", "success")]
    assert project.query("select count(*) from quarantine") == [(0,)]
    assert _stats(project.sync()) == "skipped"


def test_reread_reads_unchanged_files_again(project):
    _two_files(project)
    project.sync()
    assert _stats(project.sync(reread=True)) == (3, 0, 3, 0)


def test_a_gone_file_is_forgotten_and_its_rows_stay(project):
    _two_files(project)
    project.sync()
    (project.root / "exports/a.csv").unlink()
    # Nothing to read: b.csv is unchanged. The next sync that writes forgets a.csv.
    assert _stats(project.sync()) == "skipped"
    project.file(
        "exports/c.csv", "deployment_id,environment,finished_at,status\nd9,dev,2026-11-09,success\n"
    )
    assert _stats(project.sync()) == (1, 1, 0, 0)
    assert sorted(os.path.basename(p) for p in _recorded(project)) == ["b.csv", "c.csv"]
    assert len(_statuses(project)) == 4


def test_a_source_whose_last_sync_failed_is_synced_again(project):
    _two_files(project)
    project.sync()
    _configure(project, glob="exports/missing/*.csv")
    assert not project.sync().ok
    _configure(project)
    # The files are as the last successful sync read them: skipped, but recorded as a sync
    # that succeeded (the warehouse is written), so the source's status is no longer failed.
    report = project.sync()
    assert _stats(report) == "skipped"
    assert project.query(
        "select arg_max(status, finished_at) from sync_runs where source = 'deploys'"
    ) == [("ok",)]


def test_a_jira_export_unchanged_is_skipped(project):
    project.file("exports/jira.csv", EXPORT.read_text("utf-8"))
    project.configure(
        """
        [privacy]
        show_names = true

        [[sources]]
        name = "jira-export"
        kind = "jira_csv"
        path = "exports/*.csv"
        """
    )
    assert project.sync().ok
    tickets = project.query("select count(*) from tickets")
    assert tickets[0][0] > 0
    assert [s.skipped for s in project.sync().sources] == [True]
    assert project.query("select count(*) from tickets") == tickets


def test_the_cli_says_unchanged_skipped(project):
    _two_files(project)
    command = [sys.executable, "-m", "connectors", "sync", "--config", str(project.config_path)]
    first = subprocess.run(command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[2].split() == [
        "deploys",
        "unchanged,",
        "skipped",
        "0",
        "0",
        "0",
        "0",
    ]
