"""What people write, from the pages: annotations added through the form land in the store and on
the charts; refused input shows the store's one line and writes nothing; a script in a note
shows as text; a retro action reads its figure then and now. On the demo warehouse, with a
temporary notes store and the pinned clock (Thu 19 Nov 2026)."""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json

import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest, app_test

import settings
from metrics import retro, session, writeback
from notes.store import Actor
from tests.helpers.apptest import open_page
from tests.helpers.project import PINNED_NOW, Project

ME = getpass.getuser()
NOV = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
DEC = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
SCRIPT = "<script>alert('x')</script> **Feature store** migrated"


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


class _PagesManagerOnceNavigated(PagesManager):
    """A server's pages manager after its first run: st.navigation has switched the old
    `pages/` folder mode off for good. AppTest switches it on again before every run, and a
    page run in that mode reruns through app.py (pages.filters), which drops the run's
    button clicks, so a form could never be submitted in a test."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


@pytest.fixture(autouse=True)
def clicks_reach_the_page(monkeypatch):
    monkeypatch.setattr(app_test, "PagesManager", _PagesManagerOnceNavigated)


@pytest.fixture
def notes_env(demo_project: Project, tmp_path, monkeypatch) -> settings.Config:
    """The demo warehouse read through a config whose notes store is a fresh SQLite file."""
    config_path = tmp_path / "sources.toml"
    config_path.write_text(
        f'[warehouse]\npath = "{demo_project.warehouse}"\n\n'
        '[[sources]]\nname = "demo"\nkind = "demo"\nend = "2026-11-19"\n\n'
        f'[notes]\nurl = "sqlite:///{tmp_path / "notes.sqlite"}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TANDEM_CONFIG", str(config_path))
    return settings.load(config_path)


@contextlib.contextmanager
def _store(config: settings.Config):
    with contextlib.closing(writeback.open_store(config)) as notes:
        yield notes


def _known(config: settings.Config, figures=()):
    return writeback.known_at(config.warehouse, figures)


def _open(page: str = "pages/weekly_retro.py", **query) -> AppTest:
    at = open_page(page, 90, **query)
    assert not at.exception, [e.value for e in at.exception]
    return at


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _chart(at: AppTest, key: str) -> dict:
    return next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if key in c.proto.id)


def test_an_annotation_added_through_the_form_is_stored_and_on_the_timeline(notes_env):
    at = _open()
    at.text_area(key="retro-notes-add-text").input("Feature store migrated")
    at.date_input(key="retro-notes-add-day").set_value(dt.date(2026, 11, 18))
    at.time_input(key="retro-notes-add-time").set_value(dt.time(14, 0))
    _button(at, "Add the annotation").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["Annotation added."]

    with _store(notes_env) as notes:
        (stored,) = notes.annotations(NOV, DEC, _known(notes_env))
    assert (stored.text, stored.author, stored.scope) == ("Feature store migrated", ME, "company")
    assert (stored.starts_at, stored.ends_at) == (
        dt.datetime(2026, 11, 18, 14, tzinfo=dt.UTC),
        None,
    )

    spec = _chart(at, "retro-timeline")["layout"]
    lines = [s for s in spec["shapes"] if s["type"] == "line"]
    assert lines == [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": "2026-11-18 14:00:00",
            "x1": "2026-11-18 14:00:00",
            "y0": 0,
            "y1": 1,
            "line": {"color": "#616161", "width": 1.5, "dash": "dash"},
        }
    ]
    (label,) = spec["annotations"]
    assert label["text"] == "✎" and label["x"] == "2026-11-18 14:00:00"
    assert (
        label["hovertext"] == f"✎ Wed 18 Nov 14:00 UTC · company · {ME}<br>Feature store migrated"
    )
    # The cycle-time chart is a time axis too.
    assert _chart(at, "retro-cycle-time")["layout"]["annotations"][-1]["text"] == "✎"
    # The list under the timeline says it in words.
    shown = [m.value for m in at.markdown]
    assert f"✎ **Wed 18 Nov 14:00 UTC** · company · written by {ME}" in shown


def test_the_author_edits_and_deletes_an_annotation_others_only_read_it(notes_env):
    with _store(notes_env) as notes:
        mine = notes.add_annotation(
            writeback.actor(notes_env), _known(notes_env), "Freeze", at="2026-11-18T09:00:00Z"
        )
        notes.add_annotation(Actor("dana"), _known(notes_env), "Dana's", at="2026-11-17T09:00:00Z")
    at = _open()
    # One edit form: for the annotation this user wrote, not for dana's.
    assert [b.label for b in at.button].count("Save") == 1
    at.text_area(key=f"retro-notes-edit-{mine.annotation_id}-text").input("Freeze, all week")
    at.radio(key=f"retro-notes-edit-{mine.annotation_id}-kind").set_value("A range")
    at.date_input(key=f"retro-notes-edit-{mine.annotation_id}-end-day").set_value(
        dt.date(2026, 11, 20)
    )
    _button(at, "Save").click().run()
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["Annotation changed."]
    with _store(notes_env) as notes:
        edited = notes.annotation(mine.annotation_id)
    assert (edited.text, edited.starts_at, edited.ends_at) == (
        "Freeze, all week",
        dt.datetime(2026, 11, 18, 9, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC),
    )
    _button(at, "Delete").click().run()
    assert [s.value for s in at.success] == ["Annotation deleted."]
    with _store(notes_env) as notes:
        assert [n.text for n in notes.annotations(NOV, DEC, _known(notes_env))] == ["Dana's"]


@pytest.mark.parametrize(
    ("fill", "error"),
    [
        ({"text": "   "}, "text: is empty (write 1 to 2,000 characters)"),
        ({"text": "x" * 2001}, "text: is 2,001 characters, over the limit of 2,000"),
        (
            {"text": "Freeze", "range": True, "end": dt.date(2026, 11, 17)},
            "ends_at: 2026-11-17 12:00 UTC is before starts_at 2026-11-18 12:00 UTC; "
            "a range ends after it starts",
        ),
    ],
    ids=["empty", "too-long", "range-backwards"],
)
def test_refused_input_shows_one_line_and_writes_nothing(notes_env, fill, error):
    at = _open()
    at.text_area(key="retro-notes-add-text").input(fill["text"])
    at.date_input(key="retro-notes-add-day").set_value(dt.date(2026, 11, 18))
    at.time_input(key="retro-notes-add-time").set_value(dt.time(12, 0))
    if fill.get("range"):
        at.radio(key="retro-notes-add-kind").set_value("A range")
        at.date_input(key="retro-notes-add-end-day").set_value(fill["end"])
        at.time_input(key="retro-notes-add-end-time").set_value(dt.time(12, 0))
    _button(at, "Add the annotation").click().run()
    assert [e.value for e in at.error] == [error]
    assert not at.success
    with _store(notes_env) as notes:
        assert notes.annotations(NOV, DEC, _known(notes_env)) == []


def test_a_script_in_a_note_shows_as_text(notes_env):
    with _store(notes_env) as notes:
        notes.add_annotation(
            writeback.actor(notes_env),
            _known(notes_env),
            SCRIPT,
            starts_at="2026-11-16T00:00:00Z",
            ends_at="2026-11-17T12:00:00Z",
            model="recommender",
        )
    at = _open()
    shown = [m for m in at.markdown if "alert" in m.value]
    assert [m.value for m in shown] == [
        "&lt;script&gt;alert('x')&lt;/script&gt; **Feature store** migrated"
    ]
    assert not any(m.proto.allow_html for m in at.markdown)
    spec = _chart(at, "retro-timeline")["layout"]
    (band,) = [s for s in spec["shapes"] if s.get("fillcolor") == "#bdbdbd"]
    assert (band["x0"], band["x1"]) == ("2026-11-16 00:00:00", "2026-11-17 12:00:00")
    (label,) = spec["annotations"]
    assert "<script>" not in label["hovertext"]
    assert label["hovertext"].endswith(
        "<br>&lt;script&gt;alert('x')&lt;/script&gt; **Feature store** migrated"
    )


def test_the_retro_opens_with_an_earlier_action_its_figure_then_and_now(notes_env, monkeypatch):
    # Made on Tue 10 Nov, when the team's retro counted 2 deployments; the 7 days to Thu 19 Nov
    # hold 4 (tests/test_app.py).
    monkeypatch.setenv(settings.NOW_ENV, "2026-11-10T12:00:00+00:00")
    with _store(notes_env) as notes:
        made = notes.add_action(
            Actor("dana"),
            _known(notes_env, ["deployments"]),
            text="Ship smaller changes",
            owner="platform",
            due_week="2026-W47",
            figure_key="deployments",
            direction="up",
            figure_value=2,
        )
    monkeypatch.setenv(settings.NOW_ENV, PINNED_NOW)
    at = _open()
    assert "Retro actions" in [s.value for s in at.subheader]
    line = next(m.value for m in at.markdown if "Ship smaller changes" in m.value)
    assert line == (
        "- **Ship smaller changes**: owner platform, due 2026-W47, made Tue 10 Nov by dana. "
        "Deployments went from 2 to 4 (the way wanted)."
    )
    markdowns = [m.value for m in at.markdown]
    assert markdowns.index("**From earlier retros**") < markdowns.index(line)

    at.text_area(key=f"close-{made.action_id}-text").input("Two more releases a week")
    _button(at, "Close the action").click().run()
    assert not at.error, [e.value for e in at.error]
    with _store(notes_env) as notes:
        closed = notes.action(made.action_id)
    assert (closed.status, closed.outcome, closed.closed_by) == (
        "closed",
        "Two more releases a week",
        ME,
    )


def test_an_action_made_on_the_retro_keeps_its_figure_now(notes_env):
    at = _open()
    at.text_area(key="action-text").input("Cut the lead time")
    at.selectbox(key="action-figure").set_value("lead_time")
    at.radio(key="action-direction").set_value("down")
    at.text_input(key="action-person").input("Ana")
    _button(at, "Make the action").click().run()
    assert not at.error, [e.value for e in at.error]
    with _store(notes_env) as notes:
        (action,) = notes.actions(NOV, DEC, _known(notes_env))
    # The 7 days to Thu 19 Nov: a median lead time of 44.5 h as shown (tests/test_app.py).
    assert (action.owner, action.due_week, action.figure_key) == ("Ana", "2026-W47", "lead_time")
    assert (action.figure_direction, round(action.figure_value, 1)) == ("down", 44.5)
    line = next(m.value for m in at.markdown if "Cut the lead time" in m.value)
    assert line.endswith("Lead time (median) stayed at 44.5 h (wanted down).")


def test_an_empty_action_is_refused_in_one_line(notes_env):
    at = _open()
    _button(at, "Make the action").click().run()
    assert [e.value for e in at.error] == ["text: is empty (write 1 to 2,000 characters)"]
    assert writeback.has_store(notes_env) is False or not _actions(notes_env)


def _actions(config):
    with _store(config) as notes:
        return notes.actions(NOV, DEC, _known(config))


def test_kpi_charts_show_a_models_annotations(notes_env):
    with _store(notes_env) as notes:
        notes.add_annotation(
            writeback.actor(notes_env),
            _known(notes_env),
            "Holiday campaign",
            starts_at="2026-11-02T00:00:00Z",
            ends_at="2026-11-09T00:00:00Z",
            model="recommender",
        )
    at = _open("pages/kpi_check.py", window="90d", model="recommender")
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert charts
    for spec in charts:
        bands = [s for s in spec["layout"]["shapes"] if s.get("fillcolor") == "#bdbdbd"]
        assert [(b["x0"], b["x1"]) for b in bands] == [
            ("2026-11-02 00:00:00", "2026-11-09 00:00:00")
        ]
    assert "Holiday campaign" in [m.value for m in at.markdown]


def test_the_exports_hold_the_weeks_annotations_and_actions():
    note = {
        "starts_at": "2026-11-18T14:00:00+00:00",
        "ends_at": None,
        "team": None,
        "model": "recommender",
        "author": "dana",
        "text": "Feature store <b>migrated</b>\nfor good",
    }
    action = {
        "text": "Ship smaller changes",
        "owner": "platform",
        "due_week": "2026-W47",
        "status": "open",
        "outcome": None,
        "in_words": "Deployments went from 2 to 4 (the way wanted).",
    }
    lines = retro._written_lines([note], [action])
    assert lines == [
        "",
        "## Annotations",
        "",
        "- Wed 18 Nov 14:00 UTC (recommender, dana): Feature store &lt;b&gt;migrated&lt;/b&gt; "
        "for good",
        "",
        "## Retro actions",
        "",
        "- Ship smaller changes (owner platform, due 2026-W47, open) "
        "Deployments went from 2 to 4 (the way wanted).",
    ]
    assert retro._written_lines([], []) == [
        "",
        "## Annotations",
        "",
        "None this week.",
        "",
        "## Retro actions",
        "",
        "None open this week.",
    ]


def test_the_html_export_shows_what_people_wrote_as_text(demo_project):
    cfg = settings.load(demo_project.config_path)
    week = retro.rolling_week()
    with session.reading(cfg.warehouse) as con:
        built = retro.build(con, week, None, None, cfg.workflow, retro.week_label(week))
    note = {
        "starts_at": "2026-11-18T14:00:00+00:00",
        "ends_at": "2026-11-19T10:30:00+00:00",
        "team": "growth",
        "model": None,
        "author": "dana",
        "text": "<script>alert(1)</script>",
    }
    page = retro.to_html(built, [note], [])
    assert "<script>" not in page
    assert (
        "<h2>Annotations</h2><p>Wed 18 Nov 14:00 to Thu 19 Nov 10:30 UTC (growth, dana): "
        "&lt;script&gt;alert(1)&lt;/script&gt;</p><h2>Retro actions</h2><p>None open this week.</p>"
    ) in page
    # Without notes read (the CLI's retro), the export is as before.
    assert "Annotations" not in retro.to_markdown(built)


def test_a_store_that_cannot_be_read_is_said_and_the_retro_goes_on(
    notes_env, tmp_path, monkeypatch
):
    config_path = tmp_path / "unset-notes.toml"
    config_path.write_text(
        f'[warehouse]\npath = "{notes_env.warehouse}"\n\n'
        '[[sources]]\nname = "demo"\nkind = "demo"\nend = "2026-11-19"\n\n'
        '[notes]\nurl_env = "TANDEM_TEST_NOTES_URL_UNSET"\n',
        encoding="utf-8",
    )
    monkeypatch.delenv("TANDEM_TEST_NOTES_URL_UNSET", raising=False)
    monkeypatch.setenv("TANDEM_CONFIG", str(config_path))
    at = _open()
    assert not at.exception and at.metric
    assert {w.value for w in at.warning} == {
        "The notes cannot be read: [notes] url_env names the environment variable "
        "TANDEM_TEST_NOTES_URL_UNSET, which is not set"
    }
