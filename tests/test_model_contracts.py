"""Model contracts: parsing, green/amber/red at each boundary, `check` and its webhook."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import re
import subprocess
import sys
import textwrap
import threading

import pandas as pd
import pytest

import settings
import warehouse
from connectors.loader import Batch, Loader
from metrics import contracts, db
from metrics.contracts import Contract, KpiTerms
from metrics.filters import Filters
from metrics.quality import Ranking
from tests.helpers.project import ROOT, Project, subprocess_env


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


WEEK = Filters(utc("2026-11-02"), utc("2026-11-09"))

# Model m, the week of 2 Nov: latencies 10..50 ms -> p50 30, p95 48 (rank 3.8: 40 + 0.8 * 10);
# one error in five -> error rate 20%. CTR: 30 clicks / 1000 impressions -> 3%; the week
# before, 20 / 1000 -> 2%.
INFERENCE = pd.DataFrame(
    {
        "request_id": [f"r{i}" for i in range(5)],
        "ts": ["2026-11-03 10:00"] * 5,
        "model": ["m"] * 5,
        "latency_ms": [10.0, 20.0, 30.0, 40.0, 50.0],
        "status": ["ok", "ok", "error", "ok", "ok"],
    }
)
KPIS = pd.DataFrame(
    {
        "date": ["2026-11-02", "2026-11-05", "2026-10-28"],
        "kpi": ["ctr"] * 3,
        "model": ["m"] * 3,
        "numerator": [10, 20, 20],
        "denominator": [500, 500, 1000],
        "unit": ["ratio"] * 3,
        "target": [0.5, 0.5, 0.5],  # the feed's own target: the contract overrides it
    }
)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("contracts") / "w.duckdb"
    with warehouse.writing(path) as write:
        loader = Loader(write, settings.SourceConfig(name="fixture", kind="test"), "s1")
        loader.load(Batch("inference", "inference", frame=INFERENCE))
        loader.load(Batch("kpis", "kpis", frame=KPIS))
        loader.load(
            Batch(
                "deployments",
                "deployments",
                frame=pd.DataFrame(
                    {
                        "deployment_id": ["d1"],
                        "model": ["other"],
                        "team": ["t"],
                        "environment": ["production"],
                        "finished_at": ["2026-11-03"],
                        "status": ["success"],
                    }
                ),
            )
        )
    connection = db.prepare(warehouse.connect_read(path))
    yield connection
    connection.close()


def _contract(**overrides) -> dict[str, Contract]:
    terms = {
        "model": "m",
        "latency_p50_ms": 30.0,
        "latency_p95_ms": 48.0,
        "error_rate_budget": 0.2,
        "kpis": (KpiTerms("ctr", "Click-through rate", target=0.03, guardrail=0.02),),
    }
    terms.update(overrides)
    return {"m": Contract(**terms)}


@pytest.mark.parametrize(
    ("overrides", "status", "reasons"),
    [
        # Every reading exactly at its threshold holds (CTR 2% on 2 Nov, its guardrail 2%).
        (
            {"kpis": (KpiTerms("ctr", "Click-through rate", target=0.03, guardrail=0.02),)},
            "green",
            [],
        ),
        # shown with the decimals that tell the reading from its budget
        ({"latency_p95_ms": 47.9}, "red", ["p95 latency 48.0 ms is over its 47.9 ms budget"]),
        ({"latency_p50_ms": 29.0}, "red", ["p50 latency 30 ms is over its 29 ms budget"]),
        ({"error_rate_budget": 0.19}, "red", ["error rate 20.00% is over its 19.00% budget"]),
        (
            {"error_rate_budget": 0.19999},
            "red",
            ["error rate 20.000% is over its 19.999% budget"],
        ),
        (
            {"kpis": (KpiTerms("ctr", "Click-through rate", target=0.031, guardrail=0.02),)},
            "amber",
            ["Click-through rate 3.00% is below target, guardrail holds (target 3.10%)"],
        ),
        # On target over the week (3%), but 2 Nov (2%) broke the 2.5% guardrail; 5 Nov (4%) held.
        (
            {"kpis": (KpiTerms("ctr", "Click-through rate", target=0.03, guardrail=0.025),)},
            "amber",
            [
                "Click-through rate broke its guardrail on 1 of the 2 days with data, recovered since 5 Nov "
                "(guardrail 2.50%)"
            ],
        ),
        # Both days under 4.1%: still broken on its latest day.
        (
            {"kpis": (KpiTerms("ctr", "Click-through rate", target=0.05, guardrail=0.041),)},
            "red",
            [
                "Click-through rate is below its guardrail on its latest day, 5 Nov "
                "(broke it on 2 of the 2 days with data): 4.00% (guardrail 4.10%)"
            ],
        ),
        # Lower is better (guardrail above target): 5 Nov's 4% is over the 3.5% guardrail.
        (
            {"kpis": (KpiTerms("ctr", "Click-through rate", target=0.025, guardrail=0.035),)},
            "red",
            [
                "Click-through rate is above its guardrail on its latest day, 5 Nov "
                "(broke it on 1 of the 2 days with data): 4.00% (guardrail 3.50%)"
            ],
        ),
        # No target in the contract: the feed's 50% applies, and the reason says so.
        (
            {"kpis": (KpiTerms("ctr", "Click-through rate", guardrail=0.02),)},
            "amber",
            [
                "Click-through rate 3.00% is below target, guardrail holds "
                "(target 50.00%, the feed's: the contract names none)"
            ],
        ),
    ],
)
def test_status_at_each_boundary(con, overrides, status, reasons):
    reading = contracts.readings(con, WEEK, _contract(**overrides))["m"]
    assert reading["status"] == status
    assert reading["reasons"] == reasons


def test_a_reading_carries_its_numbers(con):
    reading = contracts.readings(con, WEEK, _contract())["m"]
    assert reading["serving"] == {
        "requests": 5,
        "errors": 1,
        "error_rate": 0.2,
        "latency_ms": {"p50": 30.0, "p95": 48.0, "p99": pytest.approx(49.6)},
    }
    ctr = reading["kpis"]["ctr"]
    assert ctr["value"] == pytest.approx(0.03) and ctr["previous"] == pytest.approx(0.02)
    assert (ctr["target"], ctr["guardrail"], ctr["status"]) == (0.03, 0.02, "green")
    assert ctr["terms_from"] == {"target": "contract", "guardrail": "contract"}
    assert (ctr["days"], ctr["broken_days"], ctr["window"]) == (2, 0, "last 7 days to 8 Nov")
    assert reading["badge"] == "GREEN · last 7 days to 8 Nov"
    assert reading["budgets"] == {
        "latency_ms": {"p50": 30.0, "p95": 48.0},
        "error_rate": 0.2,
        "estimated": {},
    }


def test_a_model_without_a_contract_still_shows_everything(con):
    readings = contracts.readings(con, WEEK, {})
    assert readings["m"]["contract"] is False
    assert readings["m"]["serving"]["requests"] == 5
    # No contract: the feed's own target (50%) applies, and no budget is checked.
    assert readings["m"]["kpis"]["ctr"]["status"] == "amber"
    assert "no contract: no latency or error budget to check" in readings["m"]["reasons"]
    assert readings["other"]["status"] == "grey"  # deployed, but nothing to judge


def test_a_window_without_data_is_grey_not_green(con):
    empty = Filters(utc("2020-01-06"), utc("2020-01-13"))
    reading = contracts.readings(con, empty, _contract())["m"]
    assert reading["status"] == "grey"
    assert reading["kpis"]["ctr"]["value"] is None
    assert "no requests in this window: budgets not checked" in reading["reasons"]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[models.x]\nkind = 'forest'\n", "model 'x': kind must be one of"),
        (
            "[models.x]\nerror_rate_budget = 'low'\n",
            "model 'x': error_rate_budget must be a number",
        ),
        ("[models.x]\nkpis = [{ target = 1 }]\n", "model 'x': kpis[0] needs a name"),
        ("[models.x\n", "not valid TOML"),
        ("[models.x]\ndrift = { share = 0 }\n", "model 'x': drift.share must be above 0"),
        (
            "[models.x]\ndrift = { thresholds = { f = 0 } }\n",
            "model 'x': drift.thresholds.f must be above 0",
        ),
        ("[models.x]\ndrift = { shares = 0.3 }\n", "model 'x': drift is a table like"),
        ("[models.x]\nranking = { k = 5 }\n", "model 'x': ranking applies to kind = \"ranker\""),
        (
            "[models.x]\nkind = 'ranker'\nranking = { k = 0 }\n",
            "model 'x': ranking.k must be a whole number from 1, got 0",
        ),
        (
            "[models.x]\nkind = 'ranker'\nranking = { k = 2.5 }\n",
            "model 'x': ranking.k must be a whole number from 1, got 2.5",
        ),
        ("[models.x]\nkind = 'ranker'\nranking = { top = 5 }\n", "model 'x': ranking is a table"),
        (
            "[models.x]\nkind = 'ranker'\nranking = { list = 'request_id' }\n",
            "model 'x': ranking.list names the column the rows of one list share; 'request_id' "
            "holds one value per row",
        ),
    ],
)
def test_a_bad_contract_file_names_the_model_and_field(tmp_path, toml, message):
    path = tmp_path / "models.toml"
    path.write_text(toml)
    with pytest.raises(contracts.ContractError, match=re.escape(message)):
        contracts.load(path)


@pytest.mark.parametrize(
    ("toml", "ranking"),
    [
        ("kind = 'ranker'\n", Ranking(10, None)),  # a ranker's defaults: k 10, lists by ts
        ("kind = 'ranker'\nranking = { k = 5 }\n", Ranking(5, None)),
        ("kind = 'ranker'\nranking = { k = 3, list = 'session_id' }\n", Ranking(3, "session_id")),
        ("kind = 'classifier'\n", None),
        ("", None),
    ],
)
def test_a_rankers_terms_are_read_from_its_contract(tmp_path, toml, ranking):
    path = tmp_path / "models.toml"
    path.write_text("[models.x]\n" + toml)
    assert contracts.load(path)["x"].ranking == ranking


def test_the_demo_ships_a_contract_for_every_demo_model():
    from connectors import demo_data

    shipped = contracts.load(ROOT / "models.toml")
    assert set(shipped) == {m.name for m in demo_data.MODELS}
    for spec in demo_data.MODELS:
        assert {k.name for k in shipped[spec.name].kpis} == {k.name for k in spec.kpis}
        assert shipped[spec.name].kind == spec.kind
        # the demo's rankers log a list's items at one ts: the default lists, at k 10
        assert shipped[spec.name].ranking == (Ranking(10) if spec.kind == "ranker" else None)


# -- python -m metrics check ----------------------------------------------------------------


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def do_POST(self):  # noqa: N802 - the http.server API
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    _Receiver.status = 200
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_port}/hook/secret-token"
    server.shutdown()


def _checked_project(project: Project, budget_p95: float) -> Project:
    with warehouse.writing(project.warehouse) as write:
        loader = Loader(write, settings.SourceConfig(name="fixture", kind="test"), "s1")
        loader.load(Batch("inference", "inference", frame=INFERENCE))
        loader.load(Batch("kpis", "kpis", frame=KPIS))
    project.file(
        "models.toml",
        f"""
        [models.m]
        latency_budget_ms = {{ p50 = 30, p95 = {budget_p95} }}
        error_rate_budget = 0.2
        kpis = [{{ name = "ctr", target = 0.03, guardrail = 0.025 }}]
    """,
    )
    project.file(
        "sources.toml",
        textwrap.dedent("""
        [warehouse]
        path = "data/tandem.duckdb"

        [alerts]
        webhook_env = "TANDEM_TEST_WEBHOOK"
    """),
    )
    return project


def _check(project: Project, **env):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "metrics",
            "check",
            "--config",
            str(project.config_path),
            "--since",
            "2026-11-02",
            "--until",
            "2026-11-09",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(**env),
        timeout=120,
    )


def test_check_exits_0_when_every_contract_holds(project, receiver):
    _checked_project(project, 48)
    result = _check(project, TANDEM_TEST_WEBHOOK=receiver[1])
    assert result.returncode == 0, result.stderr
    assert "1 contract checked" in result.stdout and "0 breaches" in result.stdout
    assert _Receiver.received == []  # nothing to report, nothing posted


def test_check_prints_breaches_exits_1_and_posts_them(project, receiver):
    _checked_project(project, 40)
    result = _check(project, TANDEM_TEST_WEBHOOK=receiver[1])
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "BREACH  m: p95 latency 48 ms is over its 40 ms budget"
    assert result.stdout.rstrip().endswith(": 1 breach")
    (posted,) = _Receiver.received
    assert posted["breaches"] == ["m: p95 latency 48 ms is over its 40 ms budget"]
    assert posted["text"].startswith("Tandem: 1 model contract breach from 2026-11-02")


@pytest.mark.parametrize("failure", ["http_500", "unreachable"])
def test_a_failing_webhook_is_reported_never_crashes_or_leaks(project, receiver, failure):
    _checked_project(project, 40)
    url = receiver[1]
    if failure == "http_500":
        _Receiver.status = 500
    else:
        url = "http://127.0.0.1:9/hook/secret-token"  # the discard port: nothing listens
    result = _check(project, TANDEM_TEST_WEBHOOK=url)
    assert result.returncode == 1  # the breach decides the exit code, not the webhook
    assert "Traceback" not in result.stderr
    assert "TANDEM_TEST_WEBHOOK" in result.stderr and "breaches not delivered" in result.stderr
    assert "secret-token" not in result.stderr + result.stdout


def test_check_on_the_demo_runs_against_the_shipped_contracts(demo_env):
    result = subprocess.run(
        [sys.executable, "-m", "metrics", "check", "--models", str(ROOT / "models.toml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    assert "7 contracts checked" in result.stdout
    for line in result.stdout.splitlines()[:-1]:
        assert line.startswith(("BREACH  ", "WARNING "))


@pytest.mark.parametrize(
    ("reading", "sentence"),
    [
        (
            {
                "label": "Checkout conversion",
                "value": 0.031,
                "previous": 0.029,
                "unit": "ratio",
                "target": 0.03,
            },
            "Checkout conversion was **3.10%** this week, up 0.20 points on last week; "
            "target 3.00%.",
        ),
        (
            {
                "label": "Average order value",
                "value": 58.0,
                "previous": 60.5,
                "unit": "EUR",
                "target": None,
            },
            "Average order value was **58.00 EUR** this week, down 2.50 EUR on last week.",
        ),
        (
            {"label": "Retention", "value": None, "previous": 0.9, "unit": "ratio", "target": 0.92},
            "Retention was **no data** this week; target 92.00%.",
        ),
    ],
)
def test_kpi_sentences_in_plain_words(reading, sentence):
    assert contracts.kpi_sentence("x", reading) == sentence


@pytest.mark.parametrize(
    ("model", "terms", "reasons"),
    [
        ("m", {"retraining": {"every_days": 7}}, ["never released to production"]),
        # "other" last shipped on 3 Nov; the week ends 9 Nov: 6 days
        (
            "other",
            {"retraining": {"every_days": 5}},
            ["the last release was 6 days ago (retrain every 5 days)"],
        ),
        ("other", {"retraining": {"every_days": 7}}, []),
        # CTR rose from 2% to 3% (+50%): a fall would trigger, a rise does not ...
        ("m", {"retraining": {"kpi": "ctr", "relative_drop": 0.02}}, []),
        # ... unless lower is better (guardrail above target): then the rise is the bad way
        (
            "m",
            {
                "retraining": {"kpi": "ctr", "relative_drop": 0.02},
                "kpis": (KpiTerms("ctr", "Click-through rate", target=0.01, guardrail=0.04),),
            },
            ["Click-through rate rose 50.0% relative on the window before (trigger: 2.0%)"],
        ),
    ],
)
def test_retraining_trigger(con, model, terms, reasons):
    reading = contracts.readings(con, WEEK, {model: Contract(model=model, **terms)})[model]
    assert reading["retraining"]["reasons"] == reasons
    assert reading["retraining"]["due"] is bool(reasons)
