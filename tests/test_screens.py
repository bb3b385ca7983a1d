"""The screen contract: every headline figure a page shows (read through AppTest) is the same
figure as `python -m metrics report --json` gives for the same window and team (the retro
page: what `retro --format json` prints), after the page's display rounding.

Each figure is found on the page by its label from metrics/registry.py (or the retro figure's
own label), never by its position, and the expected text is the JSON value formatted by the
rule the page uses. Two warehouses: the demo year, and a small hand-built one whose numbers
are easy to check by eye. One test per page, for 7, 28 and 90 days and for all teams and
the growth team.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import settings
from metrics import formats, retro
from metrics.__main__ import report, retro_text
from metrics.contracts import kpi_sentence
from metrics.registry import label
from metrics.status import BADGES, format_kpi
from pages.charts import kpi_name
from tests.helpers.apptest import open_page
from tests.helpers.project import DEMO_END, Project

# The demo warehouse is behind the `warehouse` fixture's parameters, where the slow plugin
# cannot see it: the whole module is slow.
pytestmark = pytest.mark.slow

WINDOWS = (7, 28, 90)
TEAMS = (None, "growth")
CASES = [
    pytest.param(days, team, id=f"{days}d-{team or 'all'}") for days in WINDOWS for team in TEAMS
]

# --- A small warehouse by hand: two teams, two models, whole numbers -------------------------

DAY = dt.date(2026, 11, 19)  # DEMO_END, the pinned clock's day


def _day(back: int) -> str:
    return (DAY - dt.timedelta(days=back)).isoformat()


def _inference_rows() -> str:
    """Per model and day, over the last 200 days: four requests whose latencies are 10, 20, 30
    and 40 ms (churn) or 100..400 ms (fraud); the last one of each day failed on the last 10
    days. `amount` moves from 10 to 50 in the last 20 days, so churn drifts in every window."""
    lines = ["request_id,ts,model,latency_ms,status,amount,country"]
    for back in range(200):
        for model, scale in (("churn", 1), ("fraud", 10)):
            for i in range(4):
                status = "error" if back < 10 and i == 3 else "ok"
                amount = (50 if back < 20 and model == "churn" else 10) + i
                country = "FR" if i % 2 else "DE"
                lines.append(
                    f"{model}-{back}-{i},{_day(back)} 0{i + 1}:00,{model},"
                    f"{(i + 1) * 10 * scale},{status},{amount},{country}"
                )
    return "\n".join(lines) + "\n"


def _kpi_rows() -> str:
    """A daily click-through rate for churn (target 5%, guardrail 4%) that sits at 3% on the
    last 3 days and at 6% before, and a daily order value for fraud with no terms."""
    lines = ["date,kpi,model,segment,value,numerator,denominator,target,guardrail"]
    for back in range(200):
        clicks = 30 if back < 3 else 60
        lines.append(f"{_day(back)},ctr,churn,all,,{clicks},1000,0.05,0.04")
        lines.append(f"{_day(back)},aov,fraud,all,{20 + back % 3},,,,")
    return "\n".join(lines) + "\n"


FIXTURE_FILES = {
    "deployments.csv": "deployment_id,model,environment,team,finished_at,status\n"
    + "".join(
        f"d{n},{model},production,{team},{_day(back)} 12:00,{status}\n"
        for n, (model, team, back, status) in enumerate(
            [
                ("churn", "growth", 1, "success"),
                ("churn", "growth", 3, "failed"),
                ("churn", "growth", 20, "success"),
                ("churn", "growth", 60, "success"),
                ("fraud", "risk", 2, "success"),
                ("fraud", "risk", 40, "rolled_back"),
            ]
        )
    ),
    "incidents.csv": "incident_id,model,team,opened_at,resolved_at\n"
    f"i1,churn,growth,{_day(3)} 13:00,{_day(3)} 15:00\n"
    f"i2,fraud,risk,{_day(40)} 13:00,{_day(39)} 13:00\n",
    "tickets.csv": "ticket_id,team,model,type,status,created_at,resolved_at\n"
    f"t1,growth,churn,Story,Done,{_day(30)},{_day(2)}\n"
    f"t2,growth,churn,Bug,In Progress,{_day(10)},\n"
    f"t3,risk,fraud,Story,Done,{_day(50)},{_day(45)}\n",
    "inference.csv": _inference_rows(),
    "kpis.csv": _kpi_rows(),
}


@pytest.fixture(scope="module")
def fixture_project(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("screens"))
    for name, text in FIXTURE_FILES.items():
        project.file(f"exports/{name}", text)
    project.configure(
        "".join(
            f'[[sources]]\nname = "{feed}"\nkind = "files"\nfeed = "{feed}"\n'
            f'path = "exports/{feed}.csv"\n\n'
            for feed in ("deployments", "incidents", "tickets", "inference", "kpis")
        )
    )
    result = project.sync()
    assert result.ok, result.as_dict()
    return project


@pytest.fixture(scope="module", params=["demo", "fixture"])
def warehouse(request) -> Project:
    return request.getfixturevalue(f"{request.param}_project")


@pytest.fixture
def screen(warehouse, monkeypatch):
    """Open a page of the app on `warehouse` through app.py, with URL query parameters."""
    monkeypatch.setenv("TANDEM_CONFIG", str(warehouse.config_path))
    st.cache_resource.clear()  # the config is read once per server: read this warehouse's

    def open_(page: str | None, days: int, team: str | None) -> AppTest:
        at = open_page(page, 90, window=f"{days}d", **({"team": team} if team else {}))
        problems = [e.value for e in at.exception] + [e.value for e in at.error]
        assert not problems, problems
        return at

    yield open_
    st.cache_resource.clear()


_reports: dict = {}


def _report(project: Project, days: int, team: str | None, model: str | None = None) -> dict:
    """`python -m metrics report --json` (its function, in-process) for the pages' window of
    `days`: the whole UTC days ending with the pinned clock's day, today included; with
    `model`, `--model` (which adds drift that matters)."""
    key = (project.root, days, team, model)
    if key not in _reports:
        since = DEMO_END - dt.timedelta(days=days - 1)
        until = DEMO_END + dt.timedelta(days=1)
        _reports[key] = report(
            settings.load(project.config_path), since.isoformat(), until.isoformat(), team, model
        )
    return _reports[key]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _badge_lines(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if re.match(r":\w+-badge\[", m.value)]


def _badge(reading: dict) -> str:
    return f":{BADGES[reading['status']]}-badge[{reading['badge']}]"


def _traces(at: AppTest, key: str) -> dict[str, dict]:
    """The named traces of the chart drawn under `key`, their y values as plain lists (Plotly
    ships number arrays base64-encoded)."""
    for chart in at.get("plotly_chart"):
        if key not in chart.proto.id:
            continue
        spec = json.loads(chart.proto.spec)
        out = {}
        for trace in spec["data"]:
            y = trace.get("y")
            if isinstance(y, dict) and "bdata" in y:
                y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
            out[trace.get("name")] = {**trace, "y": list(y) if y is not None else []}
        return out
    raise AssertionError(f"no chart {key!r} on the page")


def _same(shown: list, expected: list) -> bool:
    """The same numbers, a missing one (None, NaN) where the other is missing."""
    if len(shown) != len(expected):
        return False
    for a, b in zip(shown, expected, strict=True):
        gone = [v is None or (isinstance(v, float) and math.isnan(v)) for v in (a, b)]
        if any(gone):
            if not all(gone):
                return False
        elif a != pytest.approx(b, rel=1e-9, abs=1e-12):
            return False
    return True


# --- One test per page ----------------------------------------------------------------------


@pytest.mark.parametrize(("days", "team"), CASES)
def test_weekly_retro(warehouse, screen, days, team):
    """The retro picks its own week (the last 7 days), whatever the window: each figure is
    the one `retro` computes, formatted as `retro` formats it."""
    at = screen(None, days, team)
    # `python -m metrics retro --format json`, through the function the CLI prints.
    printed = json.loads(retro_text(settings.load(warehouse.config_path), None, team, "json"))
    assert printed["figures"]
    shown = _metrics(at)
    changes = {m.label: m.proto.delta for m in at.metric}
    for figure in printed["figures"]:
        assert shown[figure["label"]] == figure["shown"]["this_week"], figure
        assert changes[figure["label"]] == figure["change"]["text"], figure
    # The third surface agrees on the figures `report` has for the same 7 days.
    delivery = _report(warehouse, 7, team)["delivery"]
    assert shown["Deployments"] == retro.format_value(delivery["deployments"], "count")
    assert shown["Change failure rate"] == retro.format_value(
        delivery["change_failure_rate"], "share"
    )


@pytest.mark.parametrize(("days", "team"), CASES)
def test_kpi_check(warehouse, screen, days, team):
    """Each KPI's badge (status and window) and sentence (value, change, target) are the
    report's reading of it."""
    at = screen("pages/kpi_check.py", days, team)
    models = _report(warehouse, days, team)["models"]
    expected = []
    for reading in models.values():
        for name, kpi in reading["kpis"].items():
            line = f"{_badge(kpi)} " + kpi_sentence(name, kpi, f"over the {kpi['window']}")
            if kpi["status"] in ("amber", "red"):
                line += f" {kpi['reason'][0].upper()}{kpi['reason'][1:]}."
            expected.append(line)
    assert expected, "no KPI in the report: nothing compared"
    assert sorted(_badge_lines(at)) == sorted(expected)


@pytest.mark.parametrize(("days", "team"), CASES)
def test_drift_investigation(warehouse, screen, days, team):
    """The cards for the model the page opens on: dataset drift, share drifted, rows on each
    side, against the window before (the report's default reference)."""
    at = screen("pages/drift_investigation.py", days, team)
    model = at.selectbox(key="drift_model").value
    drift = _report(warehouse, days, team)["models"][model]["drift"]
    assert drift is not None, model
    shown = _metrics(at)
    assert shown[label("dataset_drift")] == ("Yes" if drift["dataset_drift"] else "No")
    share = drift["drift_share"]
    assert shown[label("drift_share")] == ("—" if share is None else f"{share:.0%}")
    assert shown[label("reference_rows")] == f"{drift['reference']['rows']:,} rows"
    assert shown[label("current_rows")] == f"{drift['current']['rows']:,} rows"
    # Drift that matters: `report --json --model` carries it for the one model.
    impact = _report(warehouse, days, team, model)["models"][model]["drift"]["impact"]
    assert f"**{label('drift_impact')}.** {impact['sentence']}" in [m.value for m in at.markdown]
    # The timeline's rows: the performance figure drift impact used, and the reconstruction
    # error with its band, as the report has them.
    traces = _traces(at, "drift-timeline")
    steps = impact["performance_steps"] or []
    if impact["performance"] is not None:
        name = impact["performance"]["label"]
        assert _same(traces[f"realized {name}"]["y"], [r["realized"] for r in steps])
        if any(r["value"] is not None for r in steps):
            assert _same(traces[f"estimated {name}"]["y"], [r["value"] for r in steps])
    related = drift["multivariate"]
    if related["error"] is not None:
        shown_errors = traces["multivariate reconstruction error"]["y"]
        assert _same(shown_errors, [r["error"] for r in related["steps"]])
        band = traces["reconstruction band (reference mean ± 3 sd)"]["y"]
        assert _same(band, [related["lower"]] * len(related["steps"]))
    else:
        assert "multivariate reconstruction error" not in traces
    ranked = [d.value for d in at.dataframe if "Harm" in d.value.columns]
    if impact["ranking"]:
        (frame,) = ranked
        assert list(frame["Feature"]) == [r["feature"] for r in impact["ranking"]]
        assert list(frame["Harm"]) == [formats.number(r["score"], 3) for r in impact["ranking"]]
    else:
        assert not ranked


@pytest.mark.parametrize(("days", "team"), CASES)
def test_model_overview(warehouse, screen, days, team):
    """Per model: its status badge and summary, each KPI over the window, and the technical
    cards (requests, errors, deployments, latency, error rate, drift). Every model in scope
    over the default 28 days; the first and the last in the other windows (time)."""
    at = screen("pages/model_overview.py", days, team)
    models = _report(warehouse, days, team)["models"]
    choices = at.selectbox(key="overview_model").options
    assert sorted(choices) == sorted(models)
    for model in choices if days == 28 else sorted({choices[0], choices[-1]}):
        if at.selectbox(key="overview_model").value != model:
            at.selectbox(key="overview_model").set_value(model).run()
        reading = models[model]
        shown = _metrics(at)
        lines = _badge_lines(at)
        if reading["contract"] or reading["kpis"]:
            assert lines[0] == (
                f"{_badge(reading)} {reading['summary']}"
                + (f" · owner {reading['owner']}" if reading["owner"] else "")
            ), model
        for name, kpi in reading["kpis"].items():
            assert shown[label("kpi_window", kpi=kpi_name(name))] == format_kpi(
                kpi["value"], kpi["unit"]
            ), (model, name)
            assert f"{_badge(kpi)} {kpi['reason']}" in lines, (model, name)
        served = reading["serving"]
        assert shown[label("requests")] == f"{served['requests']:,}", model
        assert shown[label("errors")] == f"{served['errors']:,}", model
        deployments = reading["deployments"]
        # Withheld below [privacy] min_people authors: "Hidden" on screen, null in the JSON.
        expected = "Hidden" if deployments is None else f"{deployments:,}"
        assert shown[label("deployments")] == expected, model
        assert (deployments is None) == (reading["deployments_withheld"] is not None), model
        for name in ("p50", "p95"):
            value = served["latency_ms"][name]
            assert shown[label(f"latency_{name}")] == (
                "–" if value is None else f"{value:.0f} ms"
            ), (model, name)
        rate = served["error_rate"]
        assert shown[label("error_rate")] == ("–" if rate is None else f"{rate * 100:.2f}%")
        drift = reading["drift"]
        share = None if drift is None else drift["drift_share"]
        assert shown[label("drift_share")] == ("–" if share is None else f"{share:.0%}"), model
        # Estimated performance over the window, and whether the estimates held.
        estimated = reading["quality"].get("estimated") or {}
        figures = {"classifier": ("accuracy", "roc_auc"), "regressor": ("mae",)}
        names = figures.get(reading["quality"].get("kind"), ())
        if any((estimated.get(n) or {}).get("value") is not None for n in names):
            for name in names:
                value = estimated[name]["value"]
                text = (
                    "–" if value is None else f"{value:,.2f}" if name == "mae" else f"{value:.3f}"
                )
                assert shown[label(f"estimated_{name}")] == text, (model, name)
            calibration = reading["quality"]["estimation"]["calibration"]
            said = [line for line in lines if "-badge[Estimates " in line]
            if calibration["trusted"]:
                basis = calibration["basis"]
                expected = (
                    f":green-badge[Estimates trusted] {basis[0].upper()}{basis[1:]}: the "
                    "realized figure stayed inside the band."
                )
            else:
                reason = calibration["reason"]
                expected = f":orange-badge[Estimates not trusted] {reason[0].upper()}{reason[1:]}."
            assert said == [expected], model
        else:
            assert not [n for n in names if label(f"estimated_{n}") in shown], model


@pytest.mark.parametrize(("days", "team"), CASES)
def test_data_sources(warehouse, screen, days, team):
    """Rows held per feed, summed over the sources, are the report's row counts (the page
    honours no filter: the same whatever the window and team)."""
    at = screen("pages/data_sources.py", days, team)
    rows = _report(warehouse, days, team)["rows"]
    held: dict[str, int] = {}
    for frame in (d.value for d in at.dataframe):
        names = {str(c).lower(): c for c in frame.columns}
        if "feed" not in names:
            continue
        counts = next(c for name, c in names.items() if name.startswith("rows"))
        for feed, count in zip(frame[names["feed"]], frame[counts], strict=True):
            held[feed] = held.get(feed, 0) + int(str(count).replace(",", ""))
    assert held and held == {feed: n for feed, n in rows.items() if n}


def test_the_fixture_reads_as_built(fixture_project):
    """The hand-built warehouse's figures, counted by hand, through `report`: the last 7 days
    hold 2 churn and 1 fraud production deployments (one churn failed), 28 requests a model a
    week, of which 4 failed on the last 7 days."""
    seven = _report(fixture_project, 7, None)
    churn, fraud = seven["models"]["churn"], seven["models"]["fraud"]
    assert seven["delivery"]["deployments_attempted"] == 3
    assert (churn["serving"]["requests"], churn["serving"]["errors"]) == (28, 7)
    assert (churn["deployments"], fraud["deployments"]) == (2, 1)
    assert churn["serving"]["latency_ms"]["p50"] == pytest.approx(25.0)
    assert churn["kpis"]["ctr"]["status"] == "red"  # 3% on its last 3 days, guardrail 4%
    assert churn["drift"]["dataset_drift"] in (True, False)
    assert Path(fixture_project.warehouse).exists()
