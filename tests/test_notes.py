"""The notes store: annotations, decisions and retro actions, on SQLite and a real PostgreSQL.

Every store test runs twice (`notes_url`): on a SQLite file and on the session's PostgreSQL
(tests/plugins/postgres.py). The clock is pinned at Thu 2026-11-19 23:00 UTC (week 2026-W47);
a test that needs another "now" pins it with monkeypatch.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
import threading

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import settings
from metrics import actions, db, writeback
from notes import schema, store, values
from notes.store import Action, Actor, Known, NotesError, NotesForbidden, NotesUnavailable
from tests.helpers.project import ROOT, Project, python_process, subprocess_env

KNOWN = Known.of(
    [
        ("ranking", "search-ranker"),
        ("ranking", "recs"),
        ("fraud", "fraud-detector"),
        (None, "orphan"),
    ],
    ["lead_time", "deployments", "handoff_wait:data_science->engineering"],
)
ANN, BOB, ADMIN = Actor("ann"), Actor("bob"), Actor("root", is_admin=True)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def notes_url(request, tmp_path) -> str:
    """A fresh, empty store's URL: a SQLite file, or a new database on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'tandem-notes.sqlite'}"
    postgres = request.getfixturevalue("postgres")
    return postgres.create_database(f"notes_{request.node.name[-40:]}".lower().replace("-", "_"))


@pytest.fixture
def notes(notes_url):
    with store.open(notes_url) as opened:
        yield opened


def at(monkeypatch, instant: str) -> None:
    monkeypatch.setenv(settings.NOW_ENV, instant)


# --- annotations -----------------------------------------------------------------------------


def test_annotations_overlapping_a_window_show_by_the_scope_rule(notes):
    add = notes.add_annotation
    company = add(ANN, KNOWN, "Holiday freeze", at=utc(2026, 11, 10, 12))
    ranking = add(
        ANN, KNOWN, "Re-org", starts_at=utc(2026, 11, 1), ends_at=utc(2026, 11, 5), team="ranking"
    )
    ranker = add(ANN, KNOWN, "New features", at="2026-11-16T09:30:00Z", model="search-ranker")
    fraud = add(BOB, KNOWN, "On-call swap", at=utc(2026, 11, 12), team="fraud")
    # At the window's end, which is excluded.
    add(BOB, KNOWN, "Too late", at=utc(2026, 11, 20), model="fraud-detector")
    # A range that ends exactly at the window's start still overlaps it.
    recs = add(
        ANN, KNOWN, "Backfill", starts_at=utc(2026, 10, 20), ends_at=utc(2026, 11, 2), model="recs"
    )

    def ids(team=None, model=None, since=None):
        since = since or utc(2026, 11, 2)
        found = notes.annotations(since, utc(2026, 11, 20), KNOWN, team, model)
        return [a.annotation_id for a in found]

    # Earliest first, by where each starts.
    everything = [recs, ranking, company, fraud, ranker]
    assert ids() == [a.annotation_id for a in everything]
    # A team: the company's, the team's, the team's models'.
    assert ids(team="ranking") == [a.annotation_id for a in (recs, ranking, company, ranker)]
    assert ids(team="fraud") == [company.annotation_id, fraud.annotation_id]
    # A model: the company's, its team's (from the warehouse's pairs), its own.
    assert ids(model="search-ranker") == [a.annotation_id for a in (ranking, company, ranker)]
    assert ids(model="orphan") == [company.annotation_id]
    # One second later the backfill range is over before the window starts.
    assert recs.annotation_id not in ids(since=utc(2026, 11, 2, 0, 0, 1))

    assert (ranker.scope, ranking.scope, company.scope) == ("model", "team", "company")
    assert ranker.starts_at == utc(2026, 11, 16, 9, 30) and ranker.ends_at is None
    assert ranker.as_dict() == {
        "annotation_id": ranker.annotation_id,
        "author": "ann",
        "created_at": "2026-11-19T23:00:00+00:00",
        "updated_at": "2026-11-19T23:00:00+00:00",
        "team": None,
        "model": "search-ranker",
        "starts_at": "2026-11-16T09:30:00+00:00",
        "ends_at": None,
        "text": "New features",
        "scope": "model",
    }


def test_a_signed_in_persons_everything_is_the_company_and_their_teams_and_models(notes):
    add = notes.add_annotation
    company = add(ANN, KNOWN, "Holiday freeze", at=utc(2026, 11, 10, 12))
    ranking = add(ANN, KNOWN, "Re-org", at=utc(2026, 11, 11), team="ranking")
    ranker = add(ANN, KNOWN, "New features", at=utc(2026, 11, 12), model="search-ranker")
    add(BOB, KNOWN, "On-call swap", at=utc(2026, 11, 13), team="fraud")
    add(BOB, KNOWN, "Threshold", at=utc(2026, 11, 14), model="fraud-detector")
    for actor, model in ((ANN, "search-ranker"), (BOB, "fraud-detector")):
        notes.add_decision(
            actor, KNOWN, model=model, title="T", decision="D", owner="o", decided_on="2026-11-12"
        )
    # What a member of ranking is given: the warehouse's pairs seen through their scope.
    mine = Known.of([("ranking", "search-ranker"), ("ranking", "recs")], restricted=True)

    found = notes.annotations(utc(2026, 11, 1), utc(2026, 11, 20), mine)
    assert [a.annotation_id for a in found] == [
        company.annotation_id,
        ranking.annotation_id,
        ranker.annotation_id,
    ]
    assert [d.model for d in notes.decisions(mine)] == ["search-ranker"]
    # Unrestricted (an admin, open mode): everything, as before.
    assert len(notes.annotations(utc(2026, 11, 1), utc(2026, 11, 20), KNOWN)) == 5
    assert len(notes.decisions(KNOWN)) == 2
    # And a member cannot write for a team they do not see.
    with pytest.raises(NotesError, match="team"):
        add(ANN, mine, "Not mine", at=utc(2026, 11, 15), team="fraud")


def test_the_access_log_keeps_who_what_and_scope_newest_first(notes, monkeypatch):
    at(monkeypatch, "2026-11-19T09:00:00Z")
    notes.log_access("alice@example.com", "sign_in", "member of growth")
    at(monkeypatch, "2026-11-19T09:05:00Z")
    notes.log_access("alice@example.com", "download", "member of growth", "retro.md")
    notes.log_access("eve@other.com", "refused", "not in allow", "x" * 1000)
    entries = notes.access_log()
    assert [(e.who, e.event, e.scope) for e in entries] == [
        ("eve@other.com", "refused", "not in allow"),
        ("alice@example.com", "download", "member of growth"),
        ("alice@example.com", "sign_in", "member of growth"),
    ]
    assert entries[1].detail == "retro.md" and entries[2].at == utc(2026, 11, 19, 9)
    # A long detail is cut to its column, never refused (a log line must not fail a download).
    assert len(entries[0].detail) == 2 * schema.NAME_LENGTH and entries[0].detail.endswith("…")
    assert [e.event for e in notes.access_log(limit=1)] == ["refused"]
    with pytest.raises(NotesError, match="event"):
        notes.log_access("alice@example.com", "peek", "member of growth")


def test_only_the_author_or_an_admin_edits_or_deletes_an_annotation(notes, monkeypatch):
    note = notes.add_annotation(ANN, KNOWN, "  Freeze  ", at=utc(2026, 11, 10), team="ranking")
    assert note.text == "Freeze"

    with pytest.raises(NotesForbidden) as refused:
        notes.edit_annotation(BOB, KNOWN, note.annotation_id, text="Mine now")
    assert str(refused.value) == (
        f"author: annotation {note.annotation_id} was written by ann; "
        "only they or an admin may change it"
    )
    with pytest.raises(NotesForbidden):
        notes.delete_annotation(BOB, note.annotation_id)
    assert notes.annotation(note.annotation_id) == note

    at(monkeypatch, "2026-11-20T08:00:00Z")
    edited = notes.edit_annotation(
        ANN,
        KNOWN,
        note.annotation_id,
        text="Freeze, longer",
        starts_at=utc(2026, 11, 10),
        ends_at=utc(2026, 11, 13),
    )
    # Kept: the scope, the author, when it was made; changed: the text, the range, updated_at.
    assert (edited.team, edited.model, edited.author) == ("ranking", None, "ann")
    assert (edited.starts_at, edited.ends_at) == (utc(2026, 11, 10), utc(2026, 11, 13))
    assert edited.created_at == utc(2026, 11, 19, 23)
    assert edited.updated_at == utc(2026, 11, 20, 8)
    # A new scope replaces the old one; a point replaces the range.
    moved = notes.edit_annotation(
        ADMIN, KNOWN, note.annotation_id, model="recs", at=utc(2026, 11, 11)
    )
    assert (moved.team, moved.model, moved.starts_at, moved.ends_at) == (
        None,
        "recs",
        utc(2026, 11, 11),
        None,
    )

    notes.delete_annotation(ADMIN, note.annotation_id)
    assert notes.annotations(utc(2026, 1, 1), utc(2027, 1, 1), KNOWN) == []
    with pytest.raises(
        NotesError, match=f"annotation_id: there is no annotation {note.annotation_id}"
    ):
        notes.annotation(note.annotation_id)


# --- bad input: one line naming the field, nothing written ------------------------------------

BAD = [
    (
        lambda s: s.add_annotation(ANN, KNOWN, "   ", at=utc(2026, 11, 1)),
        "text: is empty (write 1 to 2,000 characters)",
    ),
    (
        lambda s: s.add_annotation(ANN, KNOWN, "x" * 2001, at=utc(2026, 11, 1)),
        "text: is 2,001 characters, over the limit of 2,000",
    ),
    (
        lambda s: s.add_annotation(ANN, KNOWN, "x", at=utc(2026, 11, 1), team="nope"),
        "team: 'nope' is not a team the warehouse knows (known: fraud, ranking)",
    ),
    (
        lambda s: s.add_annotation(ANN, KNOWN, "x", at=utc(2026, 11, 1), model="nope"),
        "model: 'nope' is not a model the warehouse knows "
        "(known: fraud-detector, orphan, recs, search-ranker)",
    ),
    (
        lambda s: s.add_annotation(
            ANN, KNOWN, "x", starts_at=utc(2026, 11, 5), ends_at=utc(2026, 11, 1)
        ),
        "ends_at: 2026-11-01 00:00 UTC is before starts_at 2026-11-05 00:00 UTC; "
        "a range ends after it starts",
    ),
    (
        lambda s: s.add_annotation(ANN, KNOWN, "x", starts_at=utc(2026, 11, 5)),
        "ends_at: an annotation needs a point (at) or a whole range",
    ),
    (
        lambda s: s.add_annotation(ANN, KNOWN, "x", at="last tuesday"),
        "at: must be an ISO 8601 instant like 2026-11-19T14:00:00Z, got 'last tuesday'",
    ),
    (
        lambda s: s.add_annotation(
            ANN, KNOWN, "x", at=utc(2026, 11, 1), team="ranking", model="recs"
        ),
        "model: an annotation is for the company, one team or one model: give team or model, "
        "not both",
    ),
    (
        lambda s: s.add_action(
            ANN, KNOWN, text="Pair on reviews", owner="ranking", due_week="2026-W46"
        ),
        "due_week: 2026-W46 ended on Sun 15 Nov 2026, before today (2026-11-19); "
        "give this week or a later one",
    ),
    (
        lambda s: s.add_action(ANN, KNOWN, text="Pair", owner="ranking", due_week="2026-48"),
        "due_week: must be an ISO week like 2026-W48, got '2026-48'",
    ),
    (
        lambda s: s.add_action(ANN, KNOWN, text="Pair", owner=" ", due_week="2026-W48"),
        "owner: is empty (write 1 to 200 characters)",
    ),
    (
        lambda s: s.add_action(
            ANN,
            KNOWN,
            text="Pair",
            owner="ann",
            due_week="2026-W48",
            figure_key="latency",
            direction="down",
        ),
        "figure_key: 'latency' is not one of the retro's figures (known: deployments, "
        "handoff_wait:data_science->engineering, lead_time)",
    ),
    (
        lambda s: s.add_action(
            ANN,
            KNOWN,
            text="Pair",
            owner="ann",
            due_week="2026-W48",
            figure_key="lead_time",
            direction="sideways",
        ),
        "direction: must be up or down (the way wanted), got 'sideways'",
    ),
    (
        lambda s: s.add_action(
            ANN, KNOWN, text="Pair", owner="ann", due_week="2026-W48", direction="down"
        ),
        "figure_key: a direction or a value needs the figure it belongs to",
    ),
    (
        lambda s: s.add_decision(
            ANN, KNOWN, model="nope", title="t", decision="d", owner="o", decided_on="2026-11-18"
        ),
        "model: 'nope' is not a model the warehouse knows",
    ),
    (
        lambda s: s.add_decision(
            ANN,
            KNOWN,
            model="recs",
            title="t" * 201,
            decision="d",
            owner="o",
            decided_on="2026-11-18",
        ),
        "title: is 201 characters, over the limit of 200",
    ),
    (
        lambda s: s.add_decision(
            ANN,
            KNOWN,
            model="recs",
            title="t",
            decision="d",
            owner="o",
            decided_on="2026-11-18",
            links=["https://tandem.example/retro?team=ranking", "ftp://x"],
        ),
        "links: 'ftp://x' is not an http(s) URL (a Tandem view, a ticket, a release)",
    ),
    (
        lambda s: s.add_decision(
            ANN, KNOWN, model="recs", title="t", decision="d", owner="o", decided_on="2026-11-20"
        ),
        "decided_on: 2026-11-20 is after today (2026-11-19); log a decision once it is made",
    ),
    (
        lambda s: s.close_action(ANN, 1, "Done"),
        "action_id: there is no action 1",
    ),
]


@pytest.mark.parametrize(
    ("write", "message"), BAD, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(BAD)]
)
def test_bad_input_is_refused_in_one_line_naming_the_field_and_nothing_is_written(
    notes, write, message
):
    with pytest.raises(NotesError) as refused:
        write(notes)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)
    everything = (utc(2000, 1, 1), utc(2100, 1, 1))
    assert notes.annotations(*everything, KNOWN) == []
    assert notes.decisions(KNOWN) == []
    assert notes.actions(*everything, KNOWN) == []


# --- decisions -------------------------------------------------------------------------------


def test_a_models_decisions_newest_first_and_in_a_week(notes):
    def decide(model, day, title):
        return notes.add_decision(
            ANN,
            KNOWN,
            model=model,
            title=title,
            decision="Ship v3 behind a flag",
            context="p95 latency doubled with v2",
            options="keep v2; ship v3; distil v3",
            owner="ranking",
            decided_on=day,
            links=["https://tandem.example/model_overview?model=search-ranker&since=2026-11-01"],
        )

    first = decide("search-ranker", "2026-11-10", "Ship v3")
    second = decide("search-ranker", dt.date(2026, 11, 17), "Roll back v3")
    other = decide("fraud-detector", "2026-11-17", "Retrain weekly")

    assert notes.decisions(KNOWN, "search-ranker") == [second, first]
    # The retro's week 2026-W47: Mon 16 Nov to Mon 23 Nov.
    week = notes.decisions(
        KNOWN, "search-ranker", since=dt.date(2026, 11, 16), until=dt.date(2026, 11, 23)
    )
    assert week == [second]
    assert notes.decisions(KNOWN, team="fraud") == [other]
    assert notes.decisions(KNOWN) == [other, second, first]
    assert first.links == (
        "https://tandem.example/model_overview?model=search-ranker&since=2026-11-01",
    )
    assert first.as_dict()["decided_on"] == "2026-11-10"
    assert (first.options, first.owner, first.author) == (
        "keep v2; ship v3; distil v3",
        "ranking",
        "ann",
    )


# --- retro actions ---------------------------------------------------------------------------


def test_a_weeks_retro_opens_with_the_actions_made_before_it_and_not_closed(notes, monkeypatch):
    at(monkeypatch, "2026-11-12T16:00:00Z")  # the retro of 2026-W46
    cut = notes.add_action(
        ANN,
        KNOWN,
        text="Review models within a day",
        owner="ranking",
        due_week="2026-w47",
        team="ranking",
        figure_key="handoff_wait:data_science->engineering",
        direction="down",
        figure_value=31.0,
    )
    company = notes.add_action(
        BOB, KNOWN, text="Fix the flaky deploy", owner="Bob", due_week="2026-W47"
    )
    fraud = notes.add_action(
        BOB, KNOWN, text="Label backlog", owner="fraud", due_week="2026-W48", team="fraud"
    )
    at(monkeypatch, "2026-11-18T10:00:00Z")  # in 2026-W47
    closed = notes.close_action(ANN, company.action_id, "  Fixed: retries on 502  ")
    made_in_w47 = notes.add_action(
        ANN, KNOWN, text="Write the runbook", owner="ann", due_week="2026-W48"
    )

    assert cut.due_week == "2026-W47"  # written as ISO names it
    assert (cut.figure_key, cut.figure_direction, cut.figure_value) == (
        "handoff_wait:data_science->engineering",
        "down",
        31.0,
    )
    assert (closed.status, closed.outcome, closed.closed_by) == (
        "closed",
        "Fixed: retries on 502",
        "ann",
    )
    assert closed.closed_at == utc(2026, 11, 18, 10)
    with pytest.raises(
        NotesError, match=r"^action_id: action \d+ was closed on 2026-11-18 10:00 UTC by ann$"
    ):
        notes.close_action(BOB, company.action_id, "again")

    def ids(week, team=None, model=None):
        return [a.action_id for a in notes.open_actions(week, KNOWN, team, model)]

    # W47's retro: made before Mon 16 Nov and not closed by its end (the company one was).
    assert ids("2026-W47") == [cut.action_id, fraud.action_id]
    assert ids("2026-W47", team="ranking") == [cut.action_id]
    assert ids("2026-W47", model="fraud-detector") == [fraud.action_id]
    # W48's: W47's new one joins.
    assert ids("2026-W48") == [cut.action_id, fraud.action_id, made_in_w47.action_id]
    # Open at some time in the window (report --json): the closed one too, it was open then.
    window = [a.action_id for a in notes.actions(utc(2026, 11, 16), utc(2026, 11, 20), KNOWN)]
    assert window == [cut.action_id, company.action_id, fraud.action_id, made_in_w47.action_id]
    after = [a.action_id for a in notes.actions(utc(2026, 11, 19), utc(2026, 11, 20), KNOWN)]
    assert company.action_id not in after


# --- the schema and the URL ------------------------------------------------------------------


VERSION = {"version_table": schema.VERSION_TABLE}


def test_the_schema_is_migrated_on_open_and_a_newer_one_is_refused(notes_url):
    with store.open(notes_url) as first:
        assert store.revision(first) == store.HEAD
        assert ScriptDirectory(str(store.MIGRATIONS_DIR)).get_current_head() == store.HEAD
        # The migrations build exactly the tables notes/schema.py declares.
        with first.engine.connect() as con:
            assert (
                compare_metadata(MigrationContext.configure(con, opts=VERSION), schema.metadata)
                == []
            )
        first.add_annotation(ANN, KNOWN, "kept", at=utc(2026, 11, 1))
    with store.open(notes_url) as again:  # already at HEAD: nothing to do, nothing lost
        assert [a.text for a in again.annotations(utc(2026, 1, 1), utc(2027, 1, 1), KNOWN)] == [
            "kept"
        ]
        with again.engine.begin() as con:
            con.execute(sa.text("update tandem_notes_version set version_num = '0099'"))
    with pytest.raises(
        NotesUnavailable, match=r"has a schema this Tandem does not know .*upgrade Tandem"
    ):
        store.open(notes_url)


def test_a_failing_url_is_shown_with_its_password_masked(postgres):
    url = postgres.url("postgres", password="hunter2-wrong")
    with pytest.raises(NotesUnavailable) as refused:
        store.open(settings.Secret(url))
    message = str(refused.value)
    assert "hunter2-wrong" not in message
    assert message.startswith(
        f"cannot open the notes store postgresql+psycopg://tandem:***@127.0.0.1:{postgres.port}/postgres: "
    )
    assert "password authentication failed" in message


def test_the_notes_config(tmp_path, monkeypatch):
    def parse(table: dict) -> settings.Config:
        return settings.parse(
            {"warehouse": {"path": "data/tandem.duckdb"}, **table}, tmp_path, "sources.toml"
        )

    default = parse({})
    assert default.notes_url().reveal() == f"sqlite:///{tmp_path / 'data' / 'tandem-notes.sqlite'}"
    relative = parse({"notes": {"url": "sqlite:///shared/notes.sqlite", "admins": ["ann"]}})
    assert relative.notes_url().reveal() == f"sqlite:///{tmp_path / 'shared' / 'notes.sqlite'}"
    assert relative.notes.admins == ("ann",)
    monkeypatch.setenv("TANDEM_NOTES_URL", "postgresql+psycopg://tandem:s3cret@db/notes")
    from_env = parse({"notes": {"url_env": "TANDEM_NOTES_URL"}})
    secret = from_env.notes_url()
    assert secret.reveal() == "postgresql+psycopg://tandem:s3cret@db/notes"
    assert "s3cret" not in repr(secret) and "s3cret" not in repr(from_env)

    for table, message in [
        (
            {"url": "postgresql+psycopg://tandem:s3cret@db/notes"},
            "sources.toml: [notes] url holds a password: put the whole URL in an environment "
            "variable and name it in url_env",
        ),
        ({"url": "notes.sqlite"}, "sources.toml: [notes] url must be a SQLAlchemy URL like"),
        (
            {"url": "sqlite:///a", "url_env": "X"},
            "sources.toml: [notes] takes url or url_env, not both",
        ),
        ({"admins": "ann"}, "sources.toml: [notes] admins must be a list of user names"),
        ({"path": "x"}, "sources.toml: [notes] has unknown keys path (url, url_env, admins)"),
    ]:
        with pytest.raises(settings.ConfigError) as refused:
            parse({"notes": table})
        assert str(refused.value).startswith(message)
        assert "s3cret" not in str(refused.value)
    monkeypatch.delenv("TANDEM_NOTES_URL")
    with pytest.raises(
        settings.ConfigError,
        match=r"^\[notes\] url_env names the environment variable TANDEM_NOTES_URL, which is not set$",
    ):
        from_env.notes_url()


def test_the_author_without_sign_in_is_the_os_user(monkeypatch):
    monkeypatch.setattr(values.getpass, "getuser", lambda: "carol")
    assert store.local_actor() == Actor("carol", False)
    assert store.local_actor(["carol"]) == Actor("carol", True)


# --- concurrent writers while a sync runs ----------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, threading
    from notes import schema, store

    url, process = sys.stdin.readline().strip(), sys.argv[1]
    known = store.Known.of([("ranking", "search-ranker")])
    with store.open(url) as notes:
        def write(thread):
            for i in range(int(sys.argv[2])):
                actor = store.Actor(f"p{process}")
                note = notes.add_annotation(
                    actor, known, f"p{process}-t{thread}-{i}",
                    at="2026-11-18T12:00:00Z", team="ranking",
                )
                # A read, then a write, in one transaction.
                notes.edit_annotation(actor, known, note.annotation_id, text=note.text + " ok")
        threads = [threading.Thread(target=write, args=(t,)) for t in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print("done")
    """
)


def test_writes_from_several_processes_and_threads_while_a_sync_runs_are_all_kept(
    notes_url, tmp_path
):
    project = Project(tmp_path / "project")
    project.configure(
        """
        [[sources]]
        name = "demo"
        kind = "demo"
        feed = "deployments"
        end = "2026-11-19"
        """
    )
    sync = subprocess.Popen(
        [sys.executable, "-m", "connectors", "sync", "--config", str(project.config_path)],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    processes, per_thread = 4, 15
    writers = [python_process(WRITER, str(p), str(per_thread)) for p in range(processes)]
    for writer in writers:
        writer.stdin.write(notes_url + "\n")
        writer.stdin.flush()
    # The same store from this process's threads, at the same time.
    with store.open(notes_url) as notes:
        known = Known.of([("ranking", "search-ranker")])

        def write(thread):
            for i in range(per_thread):
                made = notes.add_action(
                    ANN, known, text=f"here-t{thread}-{i}", owner="ranking", due_week="2026-W48"
                )
                notes.close_action(BOB, made.action_id, f"closed-t{thread}-{i}")

        threads = [threading.Thread(target=write, args=(t,)) for t in range(3)]
        for t in threads:
            t.start()
        sync_was_running = sync.poll() is None
        for t in threads:
            t.join()
        outputs = [w.communicate(timeout=240) for w in writers]
        sync_out, sync_err = sync.communicate(timeout=240)

        assert sync.returncode == 0, sync_err
        assert sync_was_running, "the sync ended before the writers wrote"
        for writer, (out, err) in zip(writers, outputs, strict=True):
            assert writer.returncode == 0, err
            assert out.strip() == "done"
        written = notes.annotations(utc(2026, 11, 18), utc(2026, 11, 19), known, team="ranking")
        assert sorted(a.text for a in written) == sorted(
            f"p{p}-t{t}-{i} ok"
            for p in range(processes)
            for t in range(2)
            for i in range(per_thread)
        )
        made = notes.actions(utc(2026, 11, 1), utc(2026, 12, 1), known)
        assert sorted((a.text, a.outcome) for a in made) == sorted(
            (f"here-t{t}-{i}", f"closed-t{t}-{i}") for t in range(3) for i in range(per_thread)
        )
    ((deployments,),) = project.query("select count(*) from deployments")
    assert deployments > 0


# --- actions in words, from the retro's own figures ------------------------------------------


def _action(key, value, direction="down") -> Action:
    return Action(
        action_id=1,
        author="ann",
        created_at=utc(2026, 11, 12),
        updated_at=utc(2026, 11, 12),
        team="ranking",
        model=None,
        text="Review within a day",
        owner="ranking",
        due_week="2026-W47",
        figure_key=key,
        figure_direction=None if key is None else direction,
        figure_value=value,
        status="open",
        outcome=None,
        closed_at=None,
        closed_by=None,
    )


HANDOFF = "handoff_wait:data_science->engineering"


@pytest.mark.parametrize(
    ("action", "now", "words"),
    [
        (
            _action(HANDOFF, 31.0),
            actions.Reading(HANDOFF, actions.label(HANDOFF), "hours", 12.0),
            "Hand-off wait data science → engineering went from 31.0 h to 12.0 h (the way wanted).",
        ),
        # Days from 48 h, by the value now (as the card shows it now): 50 h = 2.1 days,
        # 73 h = 3.0 days; 69.7 h then and 44.5 h now read in hours, as the card's 44.5 h.
        (
            _action("lead_time", 50.0),
            actions.Reading("lead_time", "Lead time (median)", "hours", 73.0),
            "Lead time (median) went from 2.1 days to 3.0 days (the other way).",
        ),
        (
            _action("lead_time", 69.7),
            actions.Reading("lead_time", "Lead time (median)", "hours", 44.5),
            "Lead time (median) went from 69.7 h to 44.5 h (the way wanted).",
        ),
        (
            _action("rework_rate", 0.25),
            actions.Reading("rework_rate", "Deployment rework rate", "share", 0.2),
            "Deployment rework rate went from 25% to 20% (the way wanted).",
        ),
        # 0.248 and 0.252 both show as 25%: no move.
        (
            _action("rework_rate", 0.248),
            actions.Reading("rework_rate", "Deployment rework rate", "share", 0.252),
            "Deployment rework rate stayed at 25% (wanted down).",
        ),
        (
            _action("deployments", None, "up"),
            actions.Reading("deployments", "Deployments", "count", 14),
            "Deployments had no figure when the action was made; now 14.",
        ),
        (
            _action("deployments", 9, "up"),
            actions.Reading("deployments", "Deployments", "count", None),
            "Deployments was 9 when the action was made; no figure now.",
        ),
        (_action(None, None), actions.Reading("x", "x", "count", 3), None),
    ],
)
def test_an_actions_figure_in_words(action, now, words):
    assert actions.in_words(action, now) == words


def test_figure_labels_are_the_retros():
    assert [actions.label(k) for k in ("deployments", "lead_time", "incidents", HANDOFF)] == [
        "Deployments",
        "Lead time (median)",
        "Incidents opened",
        "Hand-off wait data science → engineering",
    ]


def test_report_json_gains_the_notes_of_its_window_and_scope(demo_env, tmp_path, capsys):
    """On the demo warehouse: the action's figure now is the retro's own value (`retro
    --format json` for the action's team and the window's last 7 days)."""
    from metrics.__main__ import main

    config_path = tmp_path / "sources.toml"
    config_path.write_text(
        f'[warehouse]\npath = "{demo_env.warehouse}"\n\n'
        f'[[sources]]\nname = "demo"\nkind = "demo"\n\n'
        f'[notes]\nurl = "sqlite:///{tmp_path / "notes.sqlite"}"\n',
        encoding="utf-8",
    )
    config = settings.load(config_path)
    with db.connect(config.warehouse) as con:
        known = writeback.known(con, ["lead_time"])
    team = "growth"
    model = sorted(known.models_of(team))[0]
    with store.open(config.notes_url()) as notes:
        notes.add_annotation(ANN, known, "Company offsite", at=utc(2026, 11, 17, 9))
        notes.add_annotation(ANN, known, "Other team", at=utc(2026, 11, 17, 9), team="risk")
        notes.add_decision(
            ANN,
            known,
            model=model,
            title="Retrain",
            decision="Weekly",
            owner=team,
            decided_on="2026-11-18",
        )
        action = notes.add_action(
            ANN,
            known,
            text="Smaller PRs",
            owner=team,
            due_week="2026-W48",
            team=team,
            figure_key="lead_time",
            direction="down",
            figure_value=40.0,
        )
    assert (
        main(
            [
                "report",
                "--config",
                str(config_path),
                "--since",
                "2026-11-13",
                "--until",
                "2026-11-20",
                "--team",
                team,
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert [a["text"] for a in report["annotations"]] == ["Company offsite"]
    assert [d["title"] for d in report["decisions"]] == ["Retrain"]
    (row,) = report["actions"]
    assert row["action_id"] == action.action_id

    assert main(["retro", "--config", str(config_path), "--team", team, "--format", "json"]) == 0
    figures = {f["key"]: f for f in json.loads(capsys.readouterr().out)["figures"]}
    lead_time = figures["lead_time"]["this_week"]
    assert row["figure_now"]["value"] == lead_time
    # growth's median lead time in the 7 days 13-19 Nov is 44.48 h (44.5 h on the card): up
    # from the 40.0 h the action was made at, against the direction wanted.
    assert round(lead_time, 2) == 44.48
    assert row["in_words"] == "Lead time (median) went from 40.0 h to 44.5 h (the other way)."
    assert row["figure_now"]["week"]["since"] == "2026-11-13T00:00:00+00:00"


def test_a_sqlite_store_is_in_wal_mode_with_a_busy_timeout(tmp_path):
    with (
        store.open(f"sqlite:///{tmp_path / 'notes.sqlite'}") as notes,
        notes.engine.connect() as con,
    ):
        assert con.exec_driver_sql("pragma journal_mode").scalar() == "wal"
        assert con.exec_driver_sql("pragma busy_timeout").scalar() == 30_000


def test_report_reads_no_notes_and_creates_no_file_before_any_were_written(tmp_path):
    config = settings.parse({}, tmp_path, "sources.toml")
    assert config.notes_url().reveal() == f"sqlite:///{tmp_path / 'data' / 'tandem-notes.sqlite'}"
    assert not writeback.has_store(config)
    store.open(config.notes_url()).close()
    assert writeback.has_store(config)


def test_a_write_that_fails_after_its_insert_leaves_nothing(notes, monkeypatch):
    """One transaction per write: the insert is rolled back when reading it back fails."""

    def broken(self, con, annotation_id, lock=False):
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(store.Store, "_annotation", broken)
    with pytest.raises(RuntimeError, match="the disk went away"):
        notes.add_annotation(ANN, KNOWN, "half", at=utc(2026, 11, 1))
    monkeypatch.undo()
    assert notes.annotations(utc(2026, 1, 1), utc(2027, 1, 1), KNOWN) == []
    kept = notes.add_annotation(ANN, KNOWN, "whole", at=utc(2026, 11, 1))
    assert [a.text for a in notes.annotations(utc(2026, 1, 1), utc(2027, 1, 1), KNOWN)] == ["whole"]
    assert kept.text == "whole"
