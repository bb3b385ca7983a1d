"""Demo data: one deterministic, believable year of every canonical feed, ending on a given day.

`generate(end)` returns one DataFrame per canonical feed (see DESIGN.md, "Canonical feeds") for
the 365 UTC days `end - 364 days` .. `end`, for three teams and the models in `MODELS`. It is
pure (no I/O, no DuckDB, no global state) and seeded: the same `end` and `seed` give identical
frames.

What is in the year, so that every page has something to show:
- deployments: staging before production, 2-6 production releases per model per month, about
  one in nine failing or rolled back and fixed forward with a patch release; `pricing` goes to
  production for the first time a third into the year; `lifetime_value` is still a prototype
  (staging only, research tickets, no inference and no KPIs).
- changes: the pull requests each production release shipped, lead times ~2 hours to ~3 weeks.
- incidents: some caused by a release (they name it), some not (data or upstream issues), two
  still open at the end.
- inference: a sampled request log per model (weekends quieter), with late-arriving labels.
  Classifiers log `score` (a probability) and `prediction` (0/1); rankers log `score` (the
  predicted click probability), `prediction` (the position the item was shown at, 1-10) and
  `label` (1.0 if clicked); regressors log `prediction` and `label` in the target's unit and
  no score.
- kpis: daily business KPIs per model against a target and a guardrail (`KpiSpec` says which
  way is better).
- tickets and ticket_transitions: a Jira-like workflow with hand-offs from data science to
  engineering through "Ready for Engineering", blocked spells, reopens and work still open.

The drift story (`STORY`, and `story(end)` for its dates and ids): 35 days before `end` the
upstream sessions service starts logging `session_length_s` in milliseconds. The recommender's
feature jumps a thousandfold and stays there, its click-through rate falls through the
guardrail, an incident is opened two days later, a retrained recommender (a new major version)
reaches production nine days after the shift and resolves the incident, and click-through is
back to its usual level three days after that.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from connectors.feeds import column_names

FEEDS = (
    "deployments",
    "changes",
    "incidents",
    "inference",
    "kpis",
    "tickets",
    "ticket_transitions",
)

COLUMNS: dict[str, tuple[str, ...]] = {name: column_names(name) for name in FEEDS}

DAYS_IN_YEAR = 365
TEAMS = ("growth", "risk", "forecasting")
TICKET_STATUSES = ("To Do", "In Progress", "Blocked", "Ready for Engineering", "In Review", "Done")
EXPERIMENT_OUTCOMES = ("outcome:productionize", "outcome:abandon", "outcome:more-research")


# ---------------------------------------------------------------------------------------------
# What exists: features, KPIs, models, people
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureSpec:
    """One inference feature column: its type, and how a model reads it."""

    name: str
    dtype: str  # "float", "int" (a nullable Int64 column in the frame), "category"
    categories: tuple[str, ...] = ()
    # Long-tailed positive values: models read them on a log scale.
    log_scale: bool = False


FEATURES: dict[str, FeatureSpec] = {
    spec.name: spec
    for spec in (
        FeatureSpec("session_length_s", "float", log_scale=True),
        FeatureSpec("device", "category", ("web", "ios", "android")),
        FeatureSpec("country", "category", ("DE", "FR", "NL", "ES", "IT", "PL")),
        FeatureSpec("num_items", "int"),
        FeatureSpec("days_since_last_visit", "float", log_scale=True),
        FeatureSpec("query_words", "int"),
        FeatureSpec("num_results", "int", log_scale=True),
        FeatureSpec("hour_of_day", "int"),
        FeatureSpec("tenure_months", "int", log_scale=True),
        FeatureSpec("plan", "category", ("free", "basic", "pro")),
        FeatureSpec("monthly_spend_eur", "float", log_scale=True),
        FeatureSpec("support_tickets_90d", "int"),
        FeatureSpec("amount_eur", "float", log_scale=True),
        FeatureSpec("account_age_days", "float", log_scale=True),
        FeatureSpec("is_new_card", "int"),
        FeatureSpec("store_size_m2", "float", log_scale=True),
        FeatureSpec("promo_active", "int"),
        FeatureSpec("day_of_week", "int"),
        FeatureSpec("temperature_c", "float"),
        FeatureSpec("category", "category", ("grocery", "electronics", "fashion", "home", "toys")),
        FeatureSpec("base_price_eur", "float", log_scale=True),
        FeatureSpec("competitor_price_gap", "float"),
    )
}


@dataclass(frozen=True)
class KpiSpec:
    """One daily business KPI of a model, in plain words, with its thresholds.

    `shape` says how a day's row is built: "proportion" (numerator counts out of denominator,
    e.g. clicks out of impressions), "mean" (numerator is a total over denominator, e.g. revenue
    over orders) or "value" (a value only, e.g. forecast accuracy). Green is at or better than
    `target`, red is worse than `guardrail`, amber in between; "better" is higher unless
    `higher_is_better` is False.
    """

    name: str
    unit: str
    shape: str
    higher_is_better: bool
    baseline: float
    target: float
    guardrail: float
    numerator: str | None = None
    denominator: str | None = None
    daily_denominator: float = 0.0
    # (segment, share of the volume, rate relative to the whole); "all" is their sum.
    segments: tuple[tuple[str, float, float], ...] = ()
    # Day-to-day wobble (relative) beyond counting noise, and the weekend's relative level.
    daily_noise: float = 0.012
    weekend_factor: float = 1.0
    # How far seasons, soft patches and releases move it (a retention rate near 1 moves less).
    volatility: float = 1.0


@dataclass(frozen=True)
class ModelSpec:
    """One model: who owns it, what it predicts, its features, KPIs and traffic."""

    name: str
    team: str
    kind: str  # "classifier", "ranker" or "regressor"
    features: tuple[str, ...]
    kpis: tuple[KpiSpec, ...]
    label: str  # the ticket label teams use for it
    daily_requests: int = 0  # logged (sampled) inference rows on a weekday
    latency_median_ms: float = 50.0
    error_rate: float = 0.01
    production_releases_per_month: float = 0.0
    # First production release, in days after the year's first day: None = live before the
    # year began; a model with no production releases at all is still a prototype.
    launched_after_days: int | None = None
    version_at_start: tuple[int, int] = (1, 0)
    # Classifiers: share of positive labels and the decision threshold on the score.
    positive_rate: float = 0.1
    threshold: float = 0.5
    # Regressors: median of the target, in its unit.
    target_median: float = 1.0

    @property
    def is_prototype(self) -> bool:
        return self.production_releases_per_month == 0


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="recommender",
        team="growth",
        kind="ranker",
        features=("session_length_s", "device", "country", "num_items", "days_since_last_visit"),
        kpis=(
            KpiSpec(
                name="click_through_rate",
                unit="ratio",
                shape="proportion",
                higher_is_better=True,
                baseline=0.050,
                target=0.049,
                guardrail=0.043,
                numerator="clicks",
                denominator="impressions",
                daily_denominator=600_000,
                segments=(("web", 0.45, 0.985), ("app", 0.55, 1.012)),
                weekend_factor=1.02,
            ),
        ),
        label="recsys",
        daily_requests=560,
        latency_median_ms=45,
        error_rate=0.008,
        production_releases_per_month=5,
        version_at_start=(2, 11),
    ),
    ModelSpec(
        name="search_ranking",
        team="growth",
        kind="ranker",
        features=("query_words", "num_results", "device", "country", "hour_of_day"),
        kpis=(
            KpiSpec(
                name="conversion_rate",
                unit="ratio",
                shape="proportion",
                higher_is_better=True,
                baseline=0.031,
                target=0.0303,
                guardrail=0.0267,
                numerator="orders",
                denominator="search_sessions",
                daily_denominator=180_000,
                segments=(("web", 0.5, 1.012), ("app", 0.5, 0.988)),
                weekend_factor=0.98,
            ),
        ),
        label="search",
        daily_requests=430,
        latency_median_ms=70,
        error_rate=0.012,
        production_releases_per_month=4,
        version_at_start=(4, 3),
    ),
    ModelSpec(
        name="churn",
        team="risk",
        kind="classifier",
        features=("tenure_months", "plan", "monthly_spend_eur", "support_tickets_90d", "country"),
        kpis=(
            KpiSpec(
                name="retention_rate",
                unit="ratio",
                shape="proportion",
                higher_is_better=True,
                baseline=0.930,
                target=0.918,
                guardrail=0.895,
                numerator="renewed_customers",
                denominator="customers_due_for_renewal",
                daily_denominator=3_000,
                daily_noise=0.004,
                volatility=0.35,
            ),
        ),
        label="churn",
        daily_requests=130,
        latency_median_ms=85,
        error_rate=0.006,
        production_releases_per_month=2.5,
        version_at_start=(1, 7),
        positive_rate=0.09,
        threshold=0.3,
    ),
    ModelSpec(
        name="fraud",
        team="risk",
        kind="classifier",
        features=(
            "amount_eur",
            "country",
            "device",
            "account_age_days",
            "num_items",
            "is_new_card",
        ),
        kpis=(
            KpiSpec(
                name="chargeback_rate",
                unit="ratio",
                shape="proportion",
                higher_is_better=False,
                baseline=0.0042,
                target=0.0043,
                guardrail=0.0049,
                numerator="chargebacks",
                denominator="transactions",
                daily_denominator=150_000,
                weekend_factor=1.02,
            ),
            KpiSpec(
                name="false_decline_rate",
                unit="ratio",
                shape="proportion",
                higher_is_better=False,
                baseline=0.011,
                target=0.0113,
                guardrail=0.0128,
                numerator="declined_genuine_payments",
                denominator="transactions",
                daily_denominator=150_000,
            ),
        ),
        label="fraud",
        daily_requests=320,
        latency_median_ms=25,
        error_rate=0.006,
        production_releases_per_month=3,
        version_at_start=(3, 20),
        positive_rate=0.03,
        threshold=0.25,
    ),
    ModelSpec(
        name="demand_forecast",
        team="forecasting",
        kind="regressor",
        features=("store_size_m2", "promo_active", "day_of_week", "temperature_c", "category"),
        kpis=(
            KpiSpec(
                name="forecast_accuracy",
                unit="ratio",
                shape="value",
                higher_is_better=True,
                baseline=0.870,
                target=0.855,
                guardrail=0.800,
                daily_noise=0.008,
                volatility=0.6,
            ),
            KpiSpec(
                name="stockout_rate",
                unit="ratio",
                shape="proportion",
                higher_is_better=False,
                baseline=0.028,
                target=0.0287,
                guardrail=0.0326,
                numerator="store_items_out_of_stock",
                denominator="store_items",
                daily_denominator=20_000,
                weekend_factor=1.03,
            ),
        ),
        label="forecast",
        daily_requests=160,
        latency_median_ms=120,
        error_rate=0.01,
        production_releases_per_month=3,
        version_at_start=(5, 2),
        target_median=40.0,
    ),
    ModelSpec(
        name="pricing",
        team="forecasting",
        kind="regressor",
        features=("base_price_eur", "competitor_price_gap", "category", "num_items", "device"),
        kpis=(
            KpiSpec(
                name="average_order_value",
                unit="EUR",
                shape="mean",
                higher_is_better=True,
                baseline=60.0,
                target=58.5,
                guardrail=52.0,
                numerator="revenue",
                denominator="orders",
                daily_denominator=5_000,
                weekend_factor=1.04,
                daily_noise=0.01,
            ),
        ),
        label="pricing",
        daily_requests=260,
        latency_median_ms=35,
        error_rate=0.015,
        production_releases_per_month=4,
        launched_after_days=118,
        version_at_start=(1, 0),
        target_median=42.0,
    ),
    ModelSpec(
        name="lifetime_value",
        team="growth",
        kind="regressor",
        features=("tenure_months", "plan", "monthly_spend_eur", "country"),
        kpis=(),
        label="ltv",
        version_at_start=(0, 1),
        target_median=310.0,
    ),
)

MODELS_BY_NAME = {spec.name: spec for spec in MODELS}

# Static facts of the drift story; `story(end)` gives its dates and ids for a given year.
STORY = {
    "model": "recommender",
    "feature": "session_length_s",
    "kpi": "click_through_rate",
    "what_happened": (
        "The upstream sessions service started logging session length in milliseconds; the "
        "recommender kept reading it as seconds until it was retrained on the new unit."
    ),
    "feature_scale_after_drift": 1000.0,
    "drift_start_days_before_end": 35,
    "incident_days_after_drift": 2,
    "retrain_days_after_drift": 9,
    "recovery_days_after_retrain": 3,
}

# Per team: (name, role). Tandem shows teams, never people rankings; names are for realism.
PEOPLE: dict[str, tuple[tuple[str, str], ...]] = {
    "growth": (
        ("Amara Okafor", "data_science"),
        ("Jonas Weber", "data_science"),
        ("Priya Raman", "data_science"),
        ("Lucas Moreau", "engineering"),
        ("Sofia Rossi", "engineering"),
        ("Mateo Garcia", "engineering"),
        ("Hannah Schmidt", "product"),
    ),
    "risk": (
        ("Wei Chen", "data_science"),
        ("Fatima Zahra", "data_science"),
        ("Oskar Nilsson", "engineering"),
        ("Elena Petrova", "engineering"),
        ("Tomas Silva", "engineering"),
        ("Claire Dubois", "product"),
    ),
    "forecasting": (
        ("Kenji Tanaka", "data_science"),
        ("Nadia Haddad", "data_science"),
        ("Lena Fischer", "data_science"),
        ("Arjun Mehta", "engineering"),
        ("Marta Kowalska", "engineering"),
        ("Daniel Byrne", "product"),
    ),
}
TICKET_PROJECT = {"growth": "GRW", "risk": "RSK", "forecasting": "FCST"}

# Share of a day's requests per UTC hour: European traffic, quiet at night, busiest evenings.
_HOURLY_TRAFFIC = np.array(
    [
        1,
        0.6,
        0.4,
        0.3,
        0.3,
        0.5,
        1,
        2,
        3,
        4,
        4.5,
        4.8,
        5,
        4.8,
        4.6,
        4.6,
        4.8,
        5.2,
        5.8,
        6.2,
        6,
        5,
        3.5,
        2,
    ],
    dtype=float,
)
_HOURLY_TRAFFIC /= _HOURLY_TRAFFIC.sum()

_NS_PER_HOUR = 3_600 * 10**9
_NS_PER_DAY = 24 * _NS_PER_HOUR


# ---------------------------------------------------------------------------------------------
# Calendar and small helpers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    """The year's 365 UTC days: `first_day` .. `end`, and the exclusive cutoff after `end`."""

    end: dt.date
    first_day: dt.date
    day_start_ns: np.ndarray  # int64 ns since epoch, midnight UTC of each day
    weekday: np.ndarray  # 0 = Monday

    @property
    def n_days(self) -> int:
        return len(self.day_start_ns)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first_day, dt.time())

    @property
    def cutoff(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time())

    def day(self, index: int) -> dt.datetime:
        return self.start + dt.timedelta(days=index)


def _calendar(end: dt.date) -> _Calendar:
    first_day = end - dt.timedelta(days=DAYS_IN_YEAR - 1)
    day_start_ns = (
        (np.datetime64(first_day, "D") + np.arange(DAYS_IN_YEAR).astype("timedelta64[D]"))
        .astype("datetime64[ns]")
        .astype(np.int64)
    )
    weekday = (first_day.weekday() + np.arange(DAYS_IN_YEAR)) % 7
    return _Calendar(end, first_day, day_start_ns, weekday)


def _ns(moment: dt.datetime) -> int:
    """Nanoseconds since the epoch of a naive datetime read as UTC."""
    return pd.Timestamp(moment).value


def _to_utc(column: pd.Series) -> pd.Series:
    """A column of naive-UTC datetimes (None for missing) as datetime64[ns, UTC], to the second."""
    return pd.to_datetime(column, utc=True).astype("datetime64[ns, UTC]").dt.floor("s")


def _utc_from_ns(ns: np.ndarray) -> pd.Series:
    return pd.Series(ns.astype("datetime64[ns]")).dt.tz_localize("UTC")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _hours(value: float) -> dt.timedelta:
    return dt.timedelta(hours=float(value))


_OFFICE_OPENS, _OFFICE_CLOSES = 8, 19


def _next_office_moment(moment: dt.datetime) -> dt.datetime:
    """`moment` if the office is open then (Mon-Fri 08:00-19:00 UTC), else its next opening."""
    if moment.weekday() < 5 and _OFFICE_OPENS <= moment.hour < _OFFICE_CLOSES:
        return moment
    day = moment.date() if moment.hour < _OFFICE_OPENS else moment.date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(_OFFICE_OPENS))


def _working_time(moment: dt.datetime, rng: np.random.Generator) -> dt.datetime:
    """`moment` if it falls in office hours, else a little after the next opening.

    People ship releases in office hours; one due at night or on a weekend goes out the next
    working morning, once the first coffee is done.
    """
    opening = _next_office_moment(moment)
    if opening == moment:
        return moment
    return opening + dt.timedelta(minutes=float(rng.uniform(30, 130)))


def _after_office_hours(moment: dt.datetime, hours: float) -> dt.datetime:
    """The moment `hours` of office time after `moment`: work pauses at night and weekends."""
    remaining = _hours(hours)
    moment = _next_office_moment(moment)
    while True:
        closes = dt.datetime.combine(moment.date(), dt.time(_OFFICE_CLOSES))
        if moment + remaining < closes:
            return moment + remaining
        remaining -= closes - moment
        moment = _next_office_moment(closes)


def _sprint(day: dt.date) -> str:
    """Two-week sprints numbered by ISO week pairs: weeks 1-2 are S01, weeks 45-46 are S23."""
    iso = day.isocalendar()
    return f"{iso.year}-S{(iso.week + 1) // 2:02d}"


def _story_days(cal: _Calendar) -> dict[str, int]:
    """Day indexes of the story's milestones within the year."""
    drift = cal.n_days - 1 - STORY["drift_start_days_before_end"]
    retrain = drift + STORY["retrain_days_after_drift"]
    return {
        "drift": drift,
        "incident": drift + STORY["incident_days_after_drift"],
        "retrain": retrain,
        "recovery": retrain + STORY["recovery_days_after_retrain"],
    }


def _story_moments(cal: _Calendar) -> dict[str, dt.datetime]:
    """Times of day are fixed so the story reads the same whatever `end` is."""
    days = _story_days(cal)
    return {
        "drift_at": cal.day(days["drift"]) + dt.timedelta(hours=10, minutes=12),
        "incident_opened_at": cal.day(days["incident"]) + dt.timedelta(hours=9, minutes=41),
        "retrain_staging_at": cal.day(days["retrain"]) + dt.timedelta(hours=10, minutes=30),
        "retrain_started_at": cal.day(days["retrain"]) + dt.timedelta(hours=13, minutes=10),
        "retrain_finished_at": cal.day(days["retrain"]) + dt.timedelta(hours=13, minutes=32),
    }


# ---------------------------------------------------------------------------------------------
# Deployments, changes, incidents: the delivery timeline
# ---------------------------------------------------------------------------------------------

_CHANGE_TITLES = (
    "Add {feature} to the {model} feature pipeline",
    "Tune {model} hyperparameters after weekly retrain",
    "Refactor {model} preprocessing into the shared library",
    "Handle missing {feature} in {model} requests",
    "Bump base image of the {model} service",
    "Log {feature} at request time",
    "Speed up {model} batch scoring",
    "Retrain {model} on the last 90 days",
    "Add input validation for {feature}",
    "Update {model} evaluation notebook and thresholds",
    "Cache {model} lookups for returning users",
    "Clean up unused {model} feature flags",
)
_FIX_TITLES = (
    "Fix {model} release: pin serializer version",
    "Revert {feature} encoding change in {model}",
    "Fix health check timeout in the {model} service",
    "Fix schema mismatch for {feature}",
)
_RELEASE_INCIDENT_TITLES = (
    "{model} error rate up after release {version}",
    "{model} responses slow after release {version}",
    "{model} scores missing for part of traffic after release {version}",
    "{model} release {version} reads {feature} from the wrong column",
)
_OTHER_INCIDENT_TITLES = (
    "{model} feature store lookups timing out",
    "Labels for {model} arriving late from the warehouse",
    "{model} nightly training job failed",
    "Upstream outage: {model} requests failing",
    "{model} predictions stale after cache node restart",
)


@dataclass
class _Timeline:
    """Deployments, changes and incidents of the year, with the story's ids."""

    deployments: pd.DataFrame
    changes: pd.DataFrame
    incidents: pd.DataFrame
    # Per model: (finished_at ns, version) of successful production releases, in time order.
    served_versions: dict[str, list[tuple[int, str]]]
    story: dict
    # Per model: (start ns, end ns, severity) of incident windows that hurt its traffic.
    trouble: dict[str, list[tuple[int, int, str]]]


def _plan_release_days(spec: ModelSpec, cal: _Calendar, rng: np.random.Generator) -> list[int]:
    """Days with a planned production release of `spec`, before fix-forwards are added."""
    if spec.is_prototype:
        return []
    per_weekday = spec.production_releases_per_month * 12 / 261
    first = spec.launched_after_days or 0
    blocked = range(-1, -1)
    if spec.name == STORY["model"]:
        # The owning team froze releases while the drift was investigated and right after the
        # retrain, so the story's before/after reads cleanly.
        days = _story_days(cal)
        blocked = range(days["drift"] - 2, days["retrain"] + 3)
    planned = []
    for day in range(first, cal.n_days):
        chance = per_weekday if cal.weekday[day] < 5 else per_weekday * 0.04
        is_launch = spec.launched_after_days is not None and day == first
        if day not in blocked and (is_launch or rng.random() < chance):
            planned.append(day)
    return planned


def _ensure_recent_release(
    plans: dict[str, list[int]], cal: _Calendar, rng: np.random.Generator
) -> tuple[str, int] | None:
    """Make sure the last 7 days hold a production release; return the (model, day) added."""
    recent = range(cal.n_days - 7, cal.n_days - 1)
    if any(day in recent for days in plans.values() for day in days):
        return None
    weekdays = [day for day in recent if cal.weekday[day] < 5]
    model, day = "search_ranking", int(rng.choice(weekdays))
    plans[model] = sorted({*plans[model], day})
    return model, day


class _DeliveryLog:
    """Deployments and the changes they shipped, as recorded, before they get their ids."""

    def __init__(self, deploy_rng: np.random.Generator, change_rng: np.random.Generator):
        self.deploy_rng = deploy_rng
        self.change_rng = change_rng
        self.deployments: list[dict] = []
        self.changes: list[dict] = []

    def deploy(
        self,
        spec: ModelSpec,
        environment: str,
        version: str,
        started: dt.datetime,
        minutes: float,
        status: str,
    ) -> dict:
        started = started.replace(microsecond=0)
        row = {
            "ref": len(self.deployments),
            "model": spec.name,
            "version": version,
            "environment": environment,
            "team": spec.team,
            "started_at": started,
            "finished_at": started + dt.timedelta(seconds=round(float(minutes) * 60)),
            "status": status,
            "commit_sha": self.deploy_rng.bytes(20).hex(),
        }
        self.deployments.append(row)
        return row

    def stage(
        self, spec: ModelSpec, version: str, production_start: dt.datetime, not_before: dt.datetime
    ) -> dt.datetime:
        """Deploy `version` to staging (retrying once if it fails); return when production
        may start: `production_start`, or later if staging took longer."""
        rng = self.deploy_rng
        lead_hours = rng.uniform(1, 4.5) if rng.random() < 0.7 else rng.uniform(20, 27)
        started = max(production_start - _hours(lead_hours), not_before + dt.timedelta(minutes=10))
        status = "failed" if rng.random() < 0.08 else "success"
        attempt = self.deploy(spec, "staging", version, started, rng.uniform(4, 14), status)
        if status == "failed":
            retry_at = attempt["finished_at"] + dt.timedelta(minutes=float(rng.uniform(30, 90)))
            attempt = self.deploy(spec, "staging", version, retry_at, rng.uniform(4, 14), "success")
        return max(production_start, attempt["finished_at"] + dt.timedelta(minutes=20))

    def ship_changes(
        self,
        spec: ModelSpec,
        release: dict,
        count: int,
        previous_start: dt.datetime | None,
        titles: tuple[str, ...] = _CHANGE_TITLES,
        is_fix: bool = False,
    ) -> None:
        """Record `count` pull requests that `release` shipped."""
        rng = self.change_rng
        authors = [name for name, role in PEOPLE[spec.team] if role != "product"]
        for _ in range(count):
            # Lead time (first commit to release): median ~1.7 days, a few hours to 3 weeks;
            # a fix after a failed release is written in a few hours.
            lead = (
                rng.uniform(2, 8)
                if is_fix
                else float(np.clip(rng.lognormal(np.log(40), 1.05), 2, 21 * 24))
            )
            first_commit = min(
                release["finished_at"] - _hours(lead),
                release["started_at"] - dt.timedelta(minutes=45),
            )
            span = (release["started_at"] - first_commit).total_seconds() / 3600
            merged = first_commit + _hours(span * rng.uniform(0.35, 0.95))
            in_office_hours = _working_time(merged, rng)
            if in_office_hours < release["started_at"] - dt.timedelta(minutes=10):
                merged = in_office_hours  # people merge during the day
            # A pull request merged before the previous release would have shipped with it.
            if previous_start is not None and merged <= previous_start:
                latest = release["started_at"] - dt.timedelta(minutes=10)
                earliest = max(previous_start, first_commit) + dt.timedelta(minutes=5)
                if earliest < latest:
                    merged = earliest + (latest - earliest) * float(rng.uniform(0.2, 1))
            title = str(rng.choice(titles)).format(
                model=spec.name.replace("_", " "), feature=str(rng.choice(spec.features))
            )
            self.changes.append(
                {
                    "deployment_ref": release["ref"],
                    "model": spec.name,
                    "first_commit_at": first_commit,
                    "merged_at": merged,
                    "author": str(rng.choice(authors)),
                    "title": title[0].upper() + title[1:],
                }
            )


def _release_history(
    spec: ModelSpec,
    release_days: list[int],
    must_release: tuple[str, int] | None,
    cal: _Calendar,
    log: _DeliveryLog,
) -> tuple[list[tuple[dt.datetime, str]], dict | None]:
    """Record one model's deployments of the year.

    Returns the (finished_at, version) of its successful production releases in time order,
    and the story's retrain release (None for other models).
    """
    rng = log.deploy_rng
    major, minor = spec.version_at_start
    patch = 0
    busy_until = cal.start
    previous_start: dt.datetime | None = None
    served: list[tuple[dt.datetime, str]] = []
    retrain_release = None

    if spec.is_prototype or spec.launched_after_days:
        # Work before the first production release shows as staging deployments of 0.x.
        first_staging = 40 if spec.launched_after_days else cal.n_days - 60
        last_staging = spec.launched_after_days or cal.n_days
        for pre_minor, day in enumerate(range(first_staging, last_staging, 11), start=1):
            started = _working_time(cal.day(day) + _hours(rng.uniform(9, 16)), rng)
            if started >= cal.cutoff - dt.timedelta(hours=1):
                break
            log.deploy(spec, "staging", f"0.{pre_minor}.0", started, rng.uniform(4, 14), "success")

    retrain_day = _story_days(cal)["retrain"] if spec.name == STORY["model"] else None
    if retrain_day is not None:
        release_days = sorted([*release_days, retrain_day])
    for day in release_days:
        if day == retrain_day:
            moments = _story_moments(cal)
            major, minor, patch = major + 1, 0, 0
            version = f"{major}.{minor}.{patch}"
            log.deploy(spec, "staging", version, moments["retrain_staging_at"], 11, "success")
            retrain_release = log.deploy(
                spec, "production", version, moments["retrain_started_at"], 22, "success"
            )
            log.ship_changes(
                spec,
                retrain_release,
                1,
                previous_start,
                titles=("Retrain recommender with session length in milliseconds",),
            )
            log.ship_changes(
                spec,
                retrain_release,
                1,
                previous_start,
                titles=("Add unit check on {feature} at ingestion",),
            )
            served.append((retrain_release["finished_at"], version))
            busy_until = retrain_release["finished_at"]
            previous_start = retrain_release["started_at"]
            continue
        planned_start = _working_time(cal.day(day) + _hours(rng.uniform(9.5, 16.5)), rng)
        settling = planned_start - dt.timedelta(hours=30) < busy_until
        if settling and (spec.name, day) != must_release:
            continue  # the previous release (or its fix) is still settling
        is_launch = day == spec.launched_after_days
        if is_launch:
            major, minor, patch = 1, 0, 0
        else:
            minor, patch = minor + 1, 0
        version = f"{major}.{minor}.{patch}"
        start = log.stage(spec, version, planned_start, not_before=busy_until)
        outcome = (
            "success"
            if is_launch
            else str(rng.choice(["success", "failed", "rolled_back"], p=[0.87, 0.065, 0.065]))
        )
        minutes = {
            "success": rng.uniform(8, 35),
            "failed": rng.uniform(3, 20),
            # Watched for a while, then reverted: the row finishes when the rollback does.
            "rolled_back": rng.uniform(40, 180),
        }[outcome]
        release = log.deploy(spec, "production", version, start, minutes, outcome)
        changes = int(rng.choice([1, 2, 3, 4, 5], p=[0.28, 0.3, 0.22, 0.12, 0.08]))
        log.ship_changes(spec, release, changes, previous_start)
        previous_start, busy_until = release["started_at"], release["finished_at"]
        if outcome == "success":
            served.append((release["finished_at"], version))
            continue
        # Fix forward: a patch release after the failed one, always successful.
        patch += 1
        version = f"{major}.{minor}.{patch}"
        fix_start = _working_time(release["finished_at"] + _hours(rng.uniform(2, 26)), rng)
        fix_start = log.stage(spec, version, fix_start, not_before=release["finished_at"])
        fix = log.deploy(spec, "production", version, fix_start, rng.uniform(8, 30), "success")
        log.ship_changes(spec, fix, 1, previous_start, titles=_FIX_TITLES, is_fix=True)
        served.append((fix["finished_at"], version))
        previous_start, busy_until = fix["started_at"], fix["finished_at"]
    return served, retrain_release


def _timeline(end: dt.date, seed: int) -> _Timeline:
    """Deployments, changes and incidents for the year ending on `end` (cheap: no inference)."""
    cal = _calendar(end)
    streams = _streams(seed)
    moments = _story_moments(cal)
    plans = {spec.name: _plan_release_days(spec, cal, streams["deployments"]) for spec in MODELS}
    must_release = _ensure_recent_release(plans, cal, streams["deployments"])
    log = _DeliveryLog(streams["deployments"], streams["changes"])
    cutoff_ns = _ns(cal.cutoff)
    served: dict[str, list[tuple[int, str]]] = {}
    retrain_release: dict = {}
    for spec in MODELS:
        history, retrain = _release_history(spec, plans[spec.name], must_release, cal, log)
        served[spec.name] = [(_ns(at), v) for at, v in history if _ns(at) < cutoff_ns]
        if retrain is not None:
            retrain_release = retrain
    deployments, changes = log.deployments, log.changes

    deploy_frame = pd.DataFrame(deployments)
    # Everything happens before the end of the last day.
    deploy_frame = deploy_frame[deploy_frame["finished_at"] < cal.cutoff]
    deploy_frame = deploy_frame.sort_values(["model", "started_at", "ref"], kind="stable")
    deploy_frame["deployment_id"] = (
        "dep-"
        + deploy_frame["model"]
        + "-"
        + (deploy_frame.groupby("model").cumcount() + 1).map("{:04d}".format)
    )
    id_of_ref = dict(zip(deploy_frame["ref"], deploy_frame["deployment_id"], strict=True))

    change_frame = pd.DataFrame(changes)
    change_frame["deployment_id"] = change_frame["deployment_ref"].map(id_of_ref)
    change_frame = change_frame.dropna(subset=["deployment_id"])
    change_frame = change_frame.sort_values(["merged_at", "deployment_id"], kind="stable")
    change_frame["change_id"] = (
        "pr-"
        + change_frame["model"]
        + "-"
        + (change_frame.groupby("model").cumcount() + 101).map("{:04d}".format)
    )

    incidents, trouble = _incidents(deploy_frame, cal, moments, streams["incidents"])
    retrain_id = id_of_ref[retrain_release["ref"]]
    story_incident = incidents.loc[incidents["is_story"]].iloc[0]
    previous_versions = [
        v for ns, v in served[STORY["model"]] if ns < _ns(moments["retrain_finished_at"])
    ]
    days = _story_days(cal)
    story_facts = {
        "model": STORY["model"],
        "feature": STORY["feature"],
        "kpi": STORY["kpi"],
        "drift_start": cal.day(days["drift"]).date(),
        "drift_started_at": pd.Timestamp(moments["drift_at"], tz="UTC"),
        "incident_id": story_incident["incident_id"],
        "incident_opened_at": pd.Timestamp(moments["incident_opened_at"], tz="UTC"),
        "retrain_deployment_id": retrain_id,
        "retrain_version": retrain_release["version"],
        "version_before_retrain": (
            previous_versions[-1]
            if previous_versions
            else "{}.{}.0".format(*MODELS_BY_NAME[STORY["model"]].version_at_start)
        ),
        "retrain_finished_at": pd.Timestamp(moments["retrain_finished_at"], tz="UTC"),
        "recovery": cal.day(days["recovery"]).date(),
    }

    deploy_out = deploy_frame.assign(
        started_at=_to_utc(deploy_frame["started_at"]),
        finished_at=_to_utc(deploy_frame["finished_at"]),
    )
    change_out = change_frame.assign(
        first_commit_at=_to_utc(change_frame["first_commit_at"]),
        merged_at=_to_utc(change_frame["merged_at"]),
    )
    return _Timeline(
        deployments=_frame(deploy_out.sort_values(["finished_at", "deployment_id"]), "deployments"),
        changes=_frame(change_out, "changes"),
        incidents=incidents,
        served_versions=served,
        story=story_facts,
        trouble=trouble,
    )


def _incidents(
    deployments: pd.DataFrame,
    cal: _Calendar,
    moments: dict[str, dt.datetime],
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict[str, list[tuple[int, int, str]]]]:
    """Incidents of the year, and per model the windows in which they hurt its traffic."""
    rows: list[dict] = []
    severities = ["sev1", "sev2", "sev3"]
    typical_hours = {"sev1": 4, "sev2": 10, "sev3": 26}
    cutoff = cal.cutoff

    def resolution(severity: str) -> dt.timedelta:
        return _hours(np.clip(rng.lognormal(np.log(typical_hours[severity]), 0.7), 0.5, 72))

    def describe(templates, model, version="", feature=None) -> str:
        spec = MODELS_BY_NAME[model]
        title = str(rng.choice(templates)).format(
            model=model.replace("_", " "),
            version=version,
            feature=feature or str(rng.choice(spec.features)),
        )
        return title[0].upper() + title[1:]

    production = deployments[deployments["environment"] == "production"]
    story_model = STORY["model"]
    days = _story_days(cal)
    story_span = (cal.day(days["drift"] - 3), cal.day(days["recovery"] + 3))
    # Incidents that are not meant to be open at the end are resolved well before it.
    late = cutoff - dt.timedelta(days=5)

    # Releases that broke something after going out: they count as change failures.
    successes = production[
        (production["status"] == "success")
        & (production["finished_at"] < late)
        & ~((production["model"] == story_model) & production["finished_at"].between(*story_span))
    ]
    for _, release in successes.sample(n=min(14, len(successes)), random_state=rng).iterrows():
        severity = str(rng.choice(severities, p=[0.12, 0.4, 0.48]))
        opened = release["finished_at"] + _hours(min(rng.lognormal(np.log(4), 0.9), 24))
        rows.append(
            {
                "model": release["model"],
                "team": release["team"],
                "opened_at": opened,
                "resolved_at": opened + resolution(severity),
                "severity": severity,
                "deployment_id": release["deployment_id"],
                "title": describe(_RELEASE_INCIDENT_TITLES, release["model"], release["version"]),
                "trouble_from": release["finished_at"],
            }
        )
    # About half of the rollbacks were triggered by an incident that names the release.
    for _, release in production[production["status"] == "rolled_back"].iterrows():
        if rng.random() < 0.5:
            opened = release["started_at"] + dt.timedelta(minutes=float(rng.uniform(12, 30)))
            rows.append(
                {
                    "model": release["model"],
                    "team": release["team"],
                    "opened_at": opened,
                    "resolved_at": release["finished_at"],
                    "severity": str(rng.choice(["sev2", "sev3"])),
                    "deployment_id": release["deployment_id"],
                    "title": describe(
                        _RELEASE_INCIDENT_TITLES, release["model"], release["version"]
                    ),
                    "trouble_from": opened,
                }
            )
    # Incidents no release caused: data, infrastructure, upstream services.
    live = [spec for spec in MODELS if not spec.is_prototype]
    for _ in range(11):
        spec = live[int(rng.integers(len(live)))]
        first = spec.launched_after_days or 0
        day = int(rng.integers(first + 5, cal.n_days - 5))
        opened = cal.day(day) + _hours(rng.uniform(0, 24))
        if spec.name == story_model and story_span[0] <= opened <= story_span[1]:
            continue
        severity = str(rng.choice(severities, p=[0.1, 0.35, 0.55]))
        rows.append(
            {
                "model": spec.name,
                "team": spec.team,
                "opened_at": opened,
                "resolved_at": opened + resolution(severity),
                "severity": severity,
                "deployment_id": None,
                "title": describe(_OTHER_INCIDENT_TITLES, spec.name),
                "trouble_from": opened - _hours(rng.uniform(0.2, 2)),
            }
        )
    # The story: noticed two days in; the upstream change is not a deployment of ours.
    rows.append(
        {
            "model": story_model,
            "team": MODELS_BY_NAME[story_model].team,
            "opened_at": moments["incident_opened_at"],
            "resolved_at": moments["retrain_finished_at"],
            "severity": "sev2",
            "deployment_id": None,
            "title": (
                "Recommendations got worse: click-through down since session length changed unit"
            ),
            "trouble_from": moments["drift_at"],
            "is_story": True,
        }
    )
    # Two still open at the end of the year. Late labels do not fail any request.
    rows.append(
        {
            "model": "fraud",
            "team": "risk",
            "opened_at": cutoff - _hours(rng.uniform(40, 60)),
            "resolved_at": None,
            "severity": "sev3",
            "deployment_id": None,
            "title": "Chargeback labels from the payment provider arriving two days late",
            "trouble_from": None,
        }
    )
    recent = production[
        (production["status"] == "success")
        & (production["finished_at"] >= cutoff - dt.timedelta(days=7))
        & (production["finished_at"] < cutoff - dt.timedelta(hours=6))
    ]
    if len(recent):
        release = recent.iloc[-1]
        opened = release["finished_at"] + _hours(rng.uniform(1, 5))
        rows.append(
            {
                "model": release["model"],
                "team": release["team"],
                "opened_at": opened,
                "resolved_at": None,
                "severity": "sev3",
                "deployment_id": release["deployment_id"],
                "title": describe(_RELEASE_INCIDENT_TITLES, release["model"], release["version"]),
                "trouble_from": release["finished_at"],
            }
        )

    frame = pd.DataFrame(rows)
    frame["is_story"] = frame["is_story"].eq(True)
    frame = frame[frame["opened_at"] < cutoff].sort_values("opened_at", kind="stable")
    frame = frame.reset_index(drop=True)
    frame["incident_id"] = [f"INC-{number:04d}" for number in range(1, len(frame) + 1)]

    trouble: dict[str, list[tuple[int, int, str]]] = {}
    story_ns = _ns(moments["incident_opened_at"] + dt.timedelta(hours=8))
    for row in frame.itertuples():
        if row.trouble_from is None or pd.isna(row.trouble_from):
            continue
        until = cutoff if pd.isna(row.resolved_at) else row.resolved_at
        # In the story, requests failed only until validation was patched, hours after the
        # incident was opened; the wrong unit itself degraded quality, not availability.
        until_ns = story_ns if row.is_story else _ns(until)
        trouble.setdefault(row.model, []).append((_ns(row.trouble_from), until_ns, row.severity))

    frame["opened_at"] = _to_utc(frame["opened_at"])
    frame["resolved_at"] = _to_utc(frame["resolved_at"])
    frame["deployment_id"] = (
        frame["deployment_id"].astype(object).where(frame["deployment_id"].notna(), None)
    )
    return frame, trouble


def _frame(frame: pd.DataFrame, feed_name: str) -> pd.DataFrame:
    """`frame` reduced to the feed's columns, in order, with a fresh index."""
    return frame.loc[:, list(COLUMNS[feed_name])].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Inference
# ---------------------------------------------------------------------------------------------


def _draw_feature(
    name: str,
    rng: np.random.Generator,
    row_day: np.ndarray,
    ts_ns: np.ndarray,
    cal: _Calendar,
) -> np.ndarray:
    """True values of one feature for the given requests: floats, or category codes."""
    n = len(row_day)
    year_fraction = row_day / cal.n_days
    match name:
        case "session_length_s":
            return rng.lognormal(np.log(180), 0.9, n)
        case "device":
            # The apps slowly win share from the web over the year.
            web = 0.5 - 0.08 * year_fraction
            u = rng.random(n)
            return np.where(u < web, 0, np.where(u < web + (1 - web) * 0.6, 1, 2))
        case "country":
            return rng.choice(6, n, p=[0.34, 0.2, 0.14, 0.13, 0.11, 0.08])
        case "num_items":
            return np.minimum(rng.poisson(1.8, n), 8).astype(float)
        case "days_since_last_visit":
            return rng.exponential(6.0, n)
        case "query_words":
            return np.clip(rng.poisson(2.4, n) + 1, 1, 10).astype(float)
        case "num_results":
            return np.minimum(rng.negative_binomial(2, 0.08, n), 60).astype(float)
        case "hour_of_day":
            return ((ts_ns // _NS_PER_HOUR) % 24).astype(float)
        case "tenure_months":
            return np.minimum(rng.geometric(1 / 16, n) - 1, 72).astype(float)
        case "plan":
            return rng.choice(3, n, p=[0.45, 0.38, 0.17])
        case "monthly_spend_eur":
            return rng.lognormal(np.log(24), 0.7, n)
        case "support_tickets_90d":
            return np.minimum(rng.poisson(0.7, n), 8).astype(float)
        case "amount_eur":
            return rng.lognormal(np.log(45), 1.0, n)
        case "account_age_days":
            return rng.lognormal(np.log(420), 1.1, n)
        case "is_new_card":
            return (rng.random(n) < 0.12).astype(float)
        case "store_size_m2":
            return rng.lognormal(np.log(1200), 0.5, n)
        case "promo_active":
            return (rng.random(n) < 0.2).astype(float)
        case "day_of_week":
            return cal.weekday[row_day].astype(float)
        case "temperature_c":
            day_of_year = cal.first_day.timetuple().tm_yday + row_day
            season = np.sin(2 * np.pi * (day_of_year - 110) / 365.25)
            return 11 + 9 * season + rng.normal(0, 3.5, n)
        case "category":
            return rng.choice(5, n, p=[0.4, 0.12, 0.2, 0.18, 0.1])
        case "base_price_eur":
            return rng.lognormal(np.log(35), 0.8, n)
        case "competitor_price_gap":
            return rng.normal(0.0, 0.08, n)
    raise KeyError(name)


def _calibrate_intercept(signal: np.ndarray, rate: float) -> float:
    """The intercept b with mean(sigmoid(signal + b)) == rate, by bisection."""
    low, high = -20.0, 20.0
    for _ in range(40):
        middle = (low + high) / 2
        if _sigmoid(signal + middle).mean() < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _request_times(
    spec: ModelSpec, cal: _Calendar, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted request times (ns) of one model over the year, and each request's day index.

    Weekends are quieter, traffic grows through the year, some days are busier than others,
    and within a day requests follow European waking hours.
    """
    n_days = cal.n_days
    expected = (
        spec.daily_requests
        * np.where(cal.weekday >= 5, 0.7, 1.0)
        * (1 + 0.15 * np.arange(n_days) / n_days)
        * rng.lognormal(0, 0.07, n_days)
    )
    row_day = np.repeat(np.arange(n_days), rng.poisson(expected))
    hour = rng.choice(24, size=len(row_day), p=_HOURLY_TRAFFIC)
    within_day_ms = ((hour + rng.random(len(row_day))) * 3_600_000).astype(np.int64)
    # Offsets stay within their day, so sorting by (day, offset) keeps `row_day` in step.
    order = np.lexsort((within_day_ms, row_day))
    return cal.day_start_ns[row_day] + within_day_ms[order] * 10**6, row_day


def _model_signals(
    spec: ModelSpec,
    true_values: dict[str, np.ndarray],
    seen_values: dict[str, np.ndarray],
    retrained: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Per request: the truth's linear signal and the one the model computes from the log.

    Each feature is standardised as the model learnt it. Models saturate outside the range
    they were trained on (as tree ensembles do), so a value in the wrong unit carries no
    information any more; the retrained version learnt the new unit.
    """
    n = len(retrained)
    true_signal = np.zeros((n, len(spec.features)))
    seen_signal = np.zeros((n, len(spec.features)))
    for column, name in enumerate(spec.features):
        feature = FEATURES[name]
        if feature.dtype == "category":
            effect = rng.normal(0, 1, len(feature.categories))
            effect = (effect - effect.mean()) / (effect.std() or 1.0)
            true_signal[:, column] = effect[true_values[name].astype(int)]
            seen_signal[:, column] = true_signal[:, column]
            continue
        scale = np.log1p if feature.log_scale else np.asarray
        true_scaled, seen_scaled = scale(true_values[name]), scale(seen_values[name])
        mean, std = true_scaled.mean(), true_scaled.std() or 1.0
        true_signal[:, column] = (true_scaled - mean) / std
        seen_signal[:, column] = np.clip((seen_scaled - mean) / std, -2.5, 2.5)
        if name == STORY["feature"] and retrained.any():
            relearnt = seen_scaled[retrained]
            seen_signal[retrained, column] = np.clip(
                (relearnt - relearnt.mean()) / relearnt.std(), -2.5, 2.5
            )

    weights = rng.normal(0, 1, len(spec.features))
    weights /= np.linalg.norm(weights)
    if spec.name == STORY["model"]:
        # Session length is the recommender's strongest signal, which is why its unit mattered.
        story_column = spec.features.index(STORY["feature"])
        others = np.delete(np.arange(len(weights)), story_column)
        weights[others] *= 0.4 / np.linalg.norm(weights[others])
        weights[story_column] = math.sqrt(1 - 0.4**2)
    strength = {"classifier": 1.6, "ranker": 2.0, "regressor": 1.0}[spec.kind]
    return strength * true_signal @ weights, strength * seen_signal @ weights


def _predictions(
    spec: ModelSpec,
    true_score: np.ndarray,
    model_score: np.ndarray,
    row_day: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prediction, score, outcome) per request, as the model's kind logs them."""
    n = len(true_score)
    if spec.kind == "classifier":
        intercept = _calibrate_intercept(true_score, spec.positive_rate)
        outcome = (rng.random(n) < _sigmoid(true_score + intercept)).astype(float)
        score = _sigmoid(model_score + intercept)
        return (score >= spec.threshold).astype(float), score, outcome
    if spec.kind == "ranker":
        # Each day's candidates are ranked by the model; the top tenth is shown first, the
        # next tenth second, and so on. Clicks follow true relevance, discounted by position
        # (an item shown tenth is seen a tenth as often), so a model that ranks badly loses
        # clicks even though users want the same things.
        by_day = np.lexsort((model_score, row_day))
        day_offsets = np.concatenate(([0], np.cumsum(np.bincount(row_day))))
        rank = np.empty(n)
        rank[by_day] = np.arange(n) - day_offsets[row_day[by_day]]
        day_size = np.diff(day_offsets)[row_day]
        position = np.clip(1 + np.floor((1 - (rank + 0.5) / day_size) * 10), 1, 10)
        intercept = _calibrate_intercept(true_score, 0.1)
        outcome = (rng.random(n) < _sigmoid(true_score + intercept) / position).astype(float)
        return position, _sigmoid(model_score + intercept), outcome
    # Regressors: a positive target (units sold, euros) that is lognormal around its median.
    outcome = spec.target_median * np.exp(0.35 * true_score)
    if spec.name == "demand_forecast":
        outcome = np.round(outcome)  # units sold
    return spec.target_median * np.exp(0.35 * model_score), np.full(n, np.nan), outcome


def _inference_for_model(
    spec: ModelSpec,
    cal: _Calendar,
    timeline: _Timeline,
    rng: np.random.Generator,
) -> dict[str, np.ndarray] | None:
    """Inference rows of one model, one array per column; None for a model not in production."""
    served = timeline.served_versions[spec.name]
    if spec.is_prototype or not served:
        return None
    ts, row_day = _request_times(spec, cal, rng)

    release_ns = np.array([ns for ns, _ in served], dtype=np.int64)
    versions = np.array(
        ["{}.{}.0".format(*spec.version_at_start), *[v for _, v in served]], dtype=object
    )
    version_index = np.searchsorted(release_ns, ts, side="right")
    if spec.launched_after_days is not None:
        # A model launched this year serves no traffic before its first production release.
        keep = version_index > 0
        ts, row_day, version_index = ts[keep], row_day[keep], version_index[keep]
    n = len(ts)

    # True feature values, then what the request log saw (the story's unit change).
    is_story_model = spec.name == STORY["model"]
    retrained = np.zeros(n, dtype=bool)
    if is_story_model:
        retrain_position = [v for _, v in served].index(timeline.story["retrain_version"]) + 1
        retrained = version_index >= retrain_position
    true_values: dict[str, np.ndarray] = {}
    seen_values: dict[str, np.ndarray] = {}
    for name in spec.features:
        true_values[name] = seen_values[name] = _draw_feature(name, rng, row_day, ts, cal)
        if is_story_model and name == STORY["feature"]:
            drift_ns = _ns(_story_moments(cal)["drift_at"])
            seen_values[name] = np.where(
                ts >= drift_ns,
                true_values[name] * STORY["feature_scale_after_drift"],
                true_values[name],
            )

    true_signal, seen_signal = _model_signals(spec, true_values, seen_values, retrained, rng)
    true_score = true_signal + rng.normal(0, 0.8, n)  # what no feature explains
    # Each version has its own skill: the noise it adds to what the features say.
    version_noise = rng.uniform(0.45, 0.75, len(versions))
    model_score = seen_signal + rng.normal(0, 1, n) * version_noise[version_index]
    prediction, score, outcome = _predictions(spec, true_score, model_score, row_day, rng)

    # Failures: a base rate per model, much higher while an incident hurt its traffic.
    error_chance = np.full(n, spec.error_rate)
    slower = np.ones(n)
    for start_ns, end_ns, severity in timeline.trouble.get(spec.name, []):
        window = (ts >= start_ns) & (ts < end_ns)
        error_chance[window] *= {"sev1": 12, "sev2": 6, "sev3": 2.5}[severity]
        slower[window] *= {"sev1": 1.8, "sev2": 1.5, "sev3": 1.15}[severity]
    is_error = rng.random(n) < np.minimum(error_chance, 0.5)

    # Latency: lognormal around the model's median, each version a little faster or slower,
    # a thin slow tail; failed requests either time out or fail fast.
    version_speed = rng.uniform(0.9, 1.12, len(versions))
    latency = (
        spec.latency_median_ms * version_speed[version_index] * slower * rng.lognormal(0, 0.35, n)
    )
    slow_tail = rng.random(n) < 0.004
    latency[slow_tail] *= rng.uniform(4, 15, slow_tail.sum())
    timed_out = is_error & (rng.random(n) < 0.5)
    latency[timed_out] = rng.uniform(1000, 3000, timed_out.sum())
    fast_fail = is_error & ~timed_out
    latency[fast_fail] = rng.uniform(3, 20, fast_fail.sum())

    # Labels arrive late: ~90% known after two weeks, none in the last two days.
    age_days = (_ns(cal.cutoff) - ts) / _NS_PER_DAY
    label_chance = np.clip(0.9 * (age_days - 2) / 12, 0, 0.9)
    has_label = (rng.random(n) < label_chance) & ~is_error

    columns: dict[str, np.ndarray] = {
        "request_id": np.array([f"req-{spec.name}-{i:07d}" for i in range(1, n + 1)], dtype=object),
        "ts": ts,
        "model": np.full(n, spec.name, dtype=object),
        "model_version": versions[version_index],
        "latency_ms": np.round(latency, 2),
        "status": np.where(is_error, "error", "ok").astype(object),
        "prediction": np.round(np.where(is_error, np.nan, prediction), 4),
        "score": np.round(np.where(is_error, np.nan, score), 5),
        "label": np.where(has_label, outcome, np.nan),
    }
    for name in spec.features:
        feature = FEATURES[name]
        values = seen_values[name]
        if feature.dtype == "category":
            columns[name] = np.array(feature.categories, dtype=object)[values.astype(int)]
        elif feature.dtype == "int":
            columns[name] = values.astype(float)
        else:
            columns[name] = np.round(values, 3)
    return columns


def feature_columns() -> tuple[str, ...]:
    """Every feature column of the inference feed, in order of first use across `MODELS`."""
    names: dict[str, None] = {}
    for spec in MODELS:
        names.update(dict.fromkeys(spec.features))
    return tuple(names)


def _inference(cal: _Calendar, timeline: _Timeline, rng: np.random.Generator) -> pd.DataFrame:
    """One wide request log across models; a feature a model lacks is None/NaN on its rows."""
    parts = []
    for spec, model_rng in zip(MODELS, rng.spawn(len(MODELS)), strict=True):
        part = _inference_for_model(spec, cal, timeline, model_rng)
        if part is not None:
            parts.append(part)
    names = COLUMNS["inference"] + feature_columns()
    merged: dict[str, np.ndarray] = {}
    for name in names:
        pieces = []
        for part in parts:
            if name in part:
                pieces.append(part[name])
                continue
            size = len(part["ts"])
            if name in FEATURES and FEATURES[name].dtype == "category":
                pieces.append(np.full(size, None, dtype=object))
            else:
                pieces.append(np.full(size, np.nan))
        merged[name] = np.concatenate(pieces)
    order = np.argsort(merged["ts"], kind="stable")
    frame = pd.DataFrame({name: values[order] for name, values in merged.items()})
    frame["ts"] = _utc_from_ns(frame["ts"].to_numpy())
    # Integer features stay integers (nullable), as a real log would have them: drift tests
    # treat a low-cardinality integer as categorical, a float never.
    for name, feature in FEATURES.items():
        if feature.dtype == "int" and name in frame:
            frame[name] = frame[name].round().astype("Int64")
    return frame


# ---------------------------------------------------------------------------------------------
# KPIs
# ---------------------------------------------------------------------------------------------


def _story_kpi_factor(cal: _Calendar) -> np.ndarray:
    """Per day, the share of the recommender's usual click-through that it reached.

    Full effect (-34%) while the feature was in the wrong unit, weighted by the hours of the
    day it lasted; after the retrain, three days to climb back as the new version's
    recommendations refresh.
    """
    days = _story_days(cal)
    moments = _story_moments(cal)
    drop = 0.34
    factor = np.ones(cal.n_days)
    drift_share = 1 - (moments["drift_at"] - cal.day(days["drift"])).total_seconds() / 86_400
    factor[days["drift"]] = 1 - drop * drift_share
    factor[days["drift"] + 1 : days["retrain"]] = 1 - drop
    retrain_share = (moments["retrain_finished_at"] - cal.day(days["retrain"])).total_seconds()
    retrain_share /= 86_400
    recovery_days = STORY["recovery_days_after_retrain"]
    factor[days["retrain"]] = 1 - drop * (retrain_share + (1 - retrain_share) * 0.9)
    for offset in range(1, recovery_days):
        factor[days["retrain"] + offset] = 1 - drop * (1 - offset / recovery_days)
    return factor


def _kpis(cal: _Calendar, timeline: _Timeline, rng: np.random.Generator) -> pd.DataFrame:
    """Daily KPI rows: one per (day, kpi, model, segment), "all" being the segments' sum."""
    n_days = cal.n_days
    dates = pd.to_datetime(cal.day_start_ns.astype("datetime64[ns]"))
    is_weekend = cal.weekday >= 5
    production = timeline.deployments[
        (timeline.deployments["environment"] == "production")
        & (timeline.deployments["status"] == "success")
    ]
    day_of = (
        (production["finished_at"].astype("int64") - cal.day_start_ns[0]) // _NS_PER_DAY
    ).to_numpy()
    story_days = _story_days(cal)
    frames = []
    for spec in MODELS:
        release_days = day_of[(production["model"] == spec.name).to_numpy()]
        for kpi in spec.kpis:
            # "Goodness" around 1: a slow season, a small yearly trend, two soft patches of a
            # few weeks (competitor promotions, a bad data week), daily wobble, and small
            # lasting nudges from releases that fade over a month.
            t = np.arange(n_days) / n_days
            swing = kpi.volatility
            goodness = (
                (1 + 0.012 * swing * (t - 0.5))
                * (1 + 0.018 * swing * np.sin(2 * np.pi * (t + rng.uniform())))
                * np.where(is_weekend, kpi.weekend_factor, 1.0)
                * rng.lognormal(0, kpi.daily_noise, n_days)
            )
            latest_patch_end = story_days["drift"] - 40
            for _ in range(2):
                length = int(rng.integers(9, 20))
                start = int(rng.integers(0, latest_patch_end - length))
                goodness[start : start + length] *= 1 - swing * rng.uniform(0.035, 0.06)
            nudge = np.zeros(n_days)
            for day in release_days:
                nudge[day] += swing * rng.normal(0.003, 0.006)
            carried = np.zeros(n_days)
            for day in range(n_days):
                carried[day] = (carried[day - 1] * 0.96 if day else 0.0) + nudge[day]
            goodness *= 1 + np.clip(carried, -0.03, 0.03)
            if spec.launched_after_days and kpi.name == "average_order_value":
                # Before the pricing model, orders were a little smaller.
                launch = spec.launched_after_days
                lift = np.clip((np.arange(n_days) - launch) / 14, 0, 1)
                goodness *= 0.98 + 0.02 * lift
            if spec.name == STORY["model"] and kpi.name == STORY["kpi"]:
                goodness *= _story_kpi_factor(cal)
            level = kpi.baseline * (goodness if kpi.higher_is_better else 1 / goodness)
            frames.append(_kpi_rows(spec, kpi, dates, level, rng))
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(["date", "model", "kpi", "segment"], kind="stable").reset_index(
        drop=True
    )


def _kpi_rows(
    spec: ModelSpec,
    kpi: KpiSpec,
    dates: pd.DatetimeIndex,
    level: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Rows of one KPI: per segment, and "all" as their sum so ratios aggregate correctly."""
    n_days = len(dates)
    segments = kpi.segments or (("all", 1.0, 1.0),)
    numerators, denominators, values = {}, {}, {}
    if kpi.shape == "value":
        values["all"] = np.round(level, 4)
    else:
        volume = kpi.daily_denominator * rng.lognormal(0, 0.05, n_days)
        for segment, share, relative in segments:
            denominator = rng.poisson(volume * share).astype(float)
            if kpi.shape == "proportion":
                numerator = rng.binomial(
                    denominator.astype(np.int64), np.clip(level * relative, 0, 1)
                ).astype(float)
            else:
                numerator = np.round(
                    denominator * level * relative * rng.lognormal(0, 0.004, n_days), 2
                )
            numerators[segment], denominators[segment] = numerator, denominator
        if kpi.segments:
            numerators["all"] = sum(numerators[s] for s, _, _ in segments)
            denominators["all"] = sum(denominators[s] for s, _, _ in segments)
        for segment in numerators:
            values[segment] = numerators[segment] / denominators[segment]
    rows = []
    for segment, value in values.items():
        rows.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "kpi": kpi.name,
                    "model": spec.name,
                    "segment": segment,
                    "value": value,
                    "numerator": numerators.get(segment, np.full(n_days, np.nan)),
                    "denominator": denominators.get(segment, np.full(n_days, np.nan)),
                    "unit": kpi.unit,
                    "target": kpi.target,
                    "guardrail": kpi.guardrail,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Tickets
# ---------------------------------------------------------------------------------------------

_TICKET_TITLES = {
    "Story": (
        "Add {feature} to the {model} feature pipeline",
        "Serve {model} scores through the batch API",
        "Expose the {model} version in response headers",
        "Backfill {feature} for the last 90 days",
        "Move {model} training to the shared feature store",
        "Add a shadow deployment step for {model}",
        "Productionize the new {model} candidate",
        "Show {model} explanations in the admin tool",
    ),
    "Bug": (
        "{model}: null {feature} values fail the request",
        "{model} p95 latency above budget at peak",
        "Wrong timezone in the {model} training window",
        "{model}: duplicate rows in the labels table",
        "Retry storm when the {model} feature store times out",
    ),
    "Task": (
        "Upgrade pandas in the {model} service",
        "Document the {model} retraining runbook",
        "Clean up unused {model} feature flags",
        "Add an alert on the {model} error rate",
        "Pin dependencies of the {model} training image",
        "Rotate credentials of the {model} pipeline",
    ),
    "Spike": (
        "Investigate {feature} as a signal for {model}",
        "Compare gradient boosting with the logistic baseline for {model}",
        "Explore why {model} underperforms on {feature} outliers",
        "Assess how label delay affects {model} monitoring",
        "Prototype embeddings for {model}",
    ),
    "Experiment": (
        "A/B test: {model} with {feature} reweighted",
        "A/B test: new {model} candidate against the current one",
        "Offline experiment: {model} with calibrated scores",
        "Experiment: shorter retraining window for {model}",
    ),
    "Learning": (
        "Talk prep: lessons from running {model}",
        "Deep dive: how {model} is trained and served",
    ),
}
_OFFLINE_EXPERIMENT_TITLES = (
    "Offline experiment: {model} candidate with {feature}",
    "Backtest the {model} candidate on last year's data",
    "Offline experiment: {model} with calibrated scores",
)
_LEARNING_TITLES = (
    "Course: causal inference for product analytics",
    "Reading group: monitoring ML systems in production",
    "Workshop: DuckDB for analysts",
    "Learn: feature stores and point-in-time joins",
)
_PLATFORM_TITLES = (
    "Upgrade the shared CI runners",
    "Migrate team dashboards to the new warehouse",
    "Onboarding checklist for new joiners",
    "Set up the on-call rota for next quarter",
    "Tidy up the team's cloud costs",
    "Write the quarterly planning doc",
)
_TYPE_SHARE = {  # of tickets about a live model (platform work and learning are added apart)
    "Story": 0.35,
    "Task": 0.14,
    "Bug": 0.15,
    "Spike": 0.13,
    "Experiment": 0.18,
    "Learning": 0.05,
}
_PROTOTYPE_TYPE_SHARE = {  # of tickets about a model not yet in production
    "Story": 0.12,
    "Task": 0.08,
    "Bug": 0.0,
    "Spike": 0.38,
    "Experiment": 0.37,
    "Learning": 0.05,
}
_ROLE_SHARE = {
    "Story": {"engineering": 0.5, "data_science": 0.4, "product": 0.1},
    "Bug": {"engineering": 0.75, "data_science": 0.25, "product": 0.0},
    "Task": {"engineering": 0.5, "data_science": 0.35, "product": 0.15},
    "Spike": {"engineering": 0.1, "data_science": 0.9, "product": 0.0},
    "Experiment": {"engineering": 0.0, "data_science": 0.9, "product": 0.1},
    "Learning": {"engineering": 0.4, "data_science": 0.5, "product": 0.1},
}


def _work_category(ticket_type: str, labels: list[str]) -> str:
    """Category from type and labels, as the default config maps them."""
    if ticket_type == "Task":
        return "maintenance" if "tech-debt" in labels else "development"
    return {
        "Story": "development",
        "Bug": "maintenance",
        "Spike": "research",
        "Experiment": "experiment",
        "Learning": "learning",
    }[ticket_type]


class _Flow:
    """A ticket's moves through the workflow, in time order, each after the one before."""

    def __init__(self, created_at: dt.datetime):
        self.status = "To Do"
        self.at = created_at
        self.moves: list[tuple[dt.datetime, str, str, str, str]] = []

    def move(self, to_status: str, office_hours: float, assignee: str, role: str) -> None:
        """Move `office_hours` of office time after the previous move (or the creation)."""
        self.move_at(_after_office_hours(self.at, office_hours), to_status, assignee, role)

    def move_at(self, at: dt.datetime, to_status: str, assignee: str, role: str) -> None:
        at = max(at, self.at + dt.timedelta(minutes=5))
        self.moves.append((at, self.status, to_status, assignee, role))
        self.status, self.at = to_status, at


def _lognormal_hours(rng: np.random.Generator, median: float, sigma: float) -> float:
    return float(rng.lognormal(np.log(median), sigma))


# Office hours per calendar day on average (11 a weekday, none at weekends): turns a span
# of calendar days into office hours.
_OFFICE_HOURS_PER_DAY = (_OFFICE_CLOSES - _OFFICE_OPENS) * 5 / 7


def _ticket_moves(
    ticket: dict, rng: np.random.Generator, team_people: tuple[tuple[str, str], ...]
) -> _Flow:
    """The moves of an ordinary ticket, decided up front and cut at the end of the year later.

    Spans are office hours (11 a working day): a 3-point story takes about a day of them.
    """
    flow = _Flow(ticket["created_at"])
    assignee, role = ticket["assignee"], ticket["role"]
    is_follow_up = "incident" in ticket["labels"]
    if not is_follow_up and rng.random() < 0.05:
        return flow  # stays in the backlog
    size = ((ticket["story_points"] if not math.isnan(ticket["story_points"]) else 3) / 3) ** 0.7
    flow.move("In Progress", _lognormal_hours(rng, 1 if is_follow_up else 20, 1.0), assignee, role)
    # An A/B test runs for a week or two before it is decided.
    work_median = {"Experiment": 70, "Spike": 22, "Learning": 9}.get(ticket["type"], 15 * size)
    work = _lognormal_hours(rng, work_median, 0.7)
    if rng.random() < 0.02:
        # The odd ticket that drags on for weeks (up to three months).
        work = min(work * rng.uniform(8, 20), 60 * _OFFICE_HOURS_PER_DAY)
    if rng.random() < 0.12:
        flow.move("Blocked", work * rng.uniform(0.2, 0.6), assignee, role)
        blocked = _lognormal_hours(rng, 13, 0.8)
        if rng.random() < 0.08:
            blocked = rng.uniform(25, 60) * _OFFICE_HOURS_PER_DAY  # another team, for weeks
        flow.move("In Progress", blocked, assignee, role)
        work *= 0.6
    hands_off = (
        role == "data_science" and ticket["type"] in ("Story", "Task") and rng.random() < 0.65
    )
    if hands_off:
        engineers = [name for name, r in team_people if r == "engineering"]
        flow.move("Ready for Engineering", work, assignee, role)
        assignee, role = str(rng.choice(engineers)), "engineering"
        flow.move("In Progress", _lognormal_hours(rng, 26, 0.9), assignee, role)
        work = _lognormal_hours(rng, 12 * size, 0.7)
    flow.move("In Review", work, assignee, role)
    flow.move("Done", _lognormal_hours(rng, 6, 0.8), assignee, role)
    if rng.random() < 0.05:
        flow.move("In Progress", rng.uniform(8, 65), assignee, role)
        flow.move("In Review", _lognormal_hours(rng, 3, 0.6), assignee, role)
        flow.move("Done", _lognormal_hours(rng, 1.5, 0.6), assignee, role)
    return flow


def _story_tickets(cal: _Calendar, timeline: _Timeline) -> list[tuple[dict, _Flow]]:
    """The two tickets the drift story left behind: the bug hunt and the retrain hand-off."""
    moments = _story_moments(cal)
    spec = MODELS_BY_NAME[STORY["model"]]
    people = dict(PEOPLE[spec.team])
    engineer, scientist = "Lucas Moreau", "Amara Okafor"
    opened, retrained = moments["incident_opened_at"], moments["retrain_finished_at"]

    bug = {
        "title": f"{timeline.story['incident_id']}: session_length_s arrives in milliseconds",
        "type": "Bug",
        "team": spec.team,
        "model": spec.name,
        "assignee": engineer,
        "role": people[engineer],
        "created_at": opened + dt.timedelta(minutes=25),
        "story_points": 3.0,
        "labels": [spec.label, "incident", "data-quality"],
    }
    bug_flow = _Flow(bug["created_at"])
    bug_flow.move_at(bug["created_at"] + _hours(0.6), "In Progress", engineer, "engineering")
    # Waiting on the sessions team to confirm the unit change.
    bug_flow.move_at(bug_flow.at + _hours(26), "Blocked", engineer, "engineering")
    bug_flow.move_at(bug_flow.at + _hours(47), "In Progress", engineer, "engineering")
    bug_flow.move_at(retrained - _hours(20), "In Review", engineer, "engineering")
    bug_flow.move_at(retrained + _hours(1.2), "Done", engineer, "engineering")

    retrain = {
        "title": "Retrain the recommender on session length in milliseconds",
        "type": "Story",
        "team": spec.team,
        "model": spec.name,
        "assignee": scientist,
        "role": people[scientist],
        "created_at": opened + dt.timedelta(hours=3),
        "story_points": 5.0,
        "labels": [spec.label, "incident", "retrain"],
    }
    retrain_flow = _Flow(retrain["created_at"])
    retrain_flow.move_at(
        retrain["created_at"] + _hours(0.8), "In Progress", scientist, "data_science"
    )
    retrain_flow.move_at(retrained - _hours(48), "Ready for Engineering", scientist, "data_science")
    retrain_flow.move_at(retrained - _hours(26), "In Progress", engineer, "engineering")
    retrain_flow.move_at(retrained - _hours(4), "In Review", engineer, "engineering")
    retrain_flow.move_at(retrained + _hours(0.5), "Done", engineer, "engineering")
    return [(bug, bug_flow), (retrain, retrain_flow)]


def _draw_ticket(team: str, day: int, cal: _Calendar, rng: np.random.Generator) -> dict:
    """One ordinary ticket created by `team` on `day`: what it is about and who holds it."""
    people = PEOPLE[team]
    # The prototype's research starts five months before the end of the year.
    candidates = [
        spec
        for spec in MODELS
        if spec.team == team and not (spec.is_prototype and day < cal.n_days - 150)
    ]
    spec = None
    if rng.random() < 0.12:
        # Team work not about one model: platform chores and learning.
        ticket_type = "Task" if rng.random() < 0.55 else "Learning"
        titles = _PLATFORM_TITLES if ticket_type == "Task" else _LEARNING_TITLES
    else:
        spec = candidates[int(rng.integers(len(candidates)))]
        pre_production = spec.is_prototype or (
            spec.launched_after_days is not None and day < spec.launched_after_days
        )
        shares = _PROTOTYPE_TYPE_SHARE if pre_production else _TYPE_SHARE
        ticket_type = str(rng.choice(list(shares), p=list(shares.values())))
        titles = _TICKET_TITLES[ticket_type]
        if pre_production and ticket_type == "Experiment":
            titles = _OFFLINE_EXPERIMENT_TITLES
    roles = _ROLE_SHARE[ticket_type]
    role = str(rng.choice(list(roles), p=list(roles.values())))
    labels = [spec.label] if spec else ["platform"]
    if ticket_type == "Learning":
        labels = ["learning"]
    if ticket_type == "Task" and rng.random() < 0.5:
        labels.append("tech-debt")
    if ticket_type == "Bug" and rng.random() < 0.3:
        labels.append("data-quality")
    title = str(rng.choice(titles)).format(
        model=spec.name.replace("_", " ") if spec else "",
        feature=str(rng.choice(spec.features)) if spec else "",
    )
    points = float(rng.choice([1, 2, 3, 5, 8], p=[0.15, 0.25, 0.3, 0.2, 0.1]))
    # Research, experiments and learning are often left unestimated.
    if rng.random() < {"Learning": 0.7, "Spike": 0.3, "Experiment": 0.3}.get(ticket_type, 0.15):
        points = math.nan
    return {
        "title": title[0].upper() + title[1:],
        "type": ticket_type,
        "team": team,
        "model": spec.name if spec else None,
        "assignee": str(rng.choice([name for name, r in people if r == role])),
        "role": role,
        "created_at": cal.day(day) + _hours(rng.uniform(8.5, 18)),
        "story_points": points,
        "labels": labels,
    }


def _tickets(
    cal: _Calendar, timeline: _Timeline, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tickets and their transitions, cut at the end of the year (what is open stays open)."""
    planned: list[tuple[dict, _Flow]] = []
    for team in TEAMS:
        people = PEOPLE[team]
        for day in range(cal.n_days):
            if cal.weekday[day] >= 5:
                continue
            for _ in range(int(rng.poisson(2.8))):
                ticket = _draw_ticket(team, day, cal, rng)
                planned.append((ticket, _ticket_moves(ticket, rng, people)))

    # Every incident but the story's (which has its own) leaves a follow-up bug.
    for incident in timeline.incidents.itertuples():
        if incident.is_story:
            continue
        engineers = [name for name, r in PEOPLE[incident.team] if r == "engineering"]
        ticket = {
            "title": f"{incident.incident_id} follow-up: {incident.title}",
            "type": "Bug",
            "team": incident.team,
            "model": incident.model,
            "assignee": str(rng.choice(engineers)),
            "role": "engineering",
            "created_at": incident.opened_at.tz_convert(None).to_pydatetime()
            + _hours(rng.uniform(0.2, 2)),
            "story_points": float(rng.choice([1, 2, 3])),
            "labels": [MODELS_BY_NAME[incident.model].label, "incident"],
        }
        planned.append((ticket, _ticket_moves(ticket, rng, PEOPLE[incident.team])))
    planned.extend(_story_tickets(cal, timeline))

    return _ticket_frames(planned, cal, rng)


def _ticket_frames(
    planned: list[tuple[dict, _Flow]], cal: _Calendar, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cut every planned ticket at the end of the year, number them, and build both frames."""
    cutoff = cal.cutoff
    planned = [item for item in planned if item[0]["created_at"] < cutoff]
    planned.sort(key=lambda item: (item[0]["created_at"], item[0]["title"]))
    counters = dict.fromkeys(TEAMS, 100)
    tickets, transitions = [], []
    for ticket, flow in planned:
        counters[ticket["team"]] += 1
        ticket_id = f"{TICKET_PROJECT[ticket['team']]}-{counters[ticket['team']]}"
        moves = [move for move in flow.moves if move[0] < cutoff]
        status = moves[-1][2] if moves else "To Do"
        assignee = moves[-1][3] if moves else ticket["assignee"]
        role = moves[-1][4] if moves else ticket["role"]
        labels = list(ticket["labels"])
        if ticket["type"] == "Experiment" and status == "Done":
            labels.append(str(rng.choice(EXPERIMENT_OUTCOMES, p=[0.35, 0.4, 0.25])))
        resolved_at = moves[-1][0] if status == "Done" else None
        if status == "Done":
            sprint = _sprint(resolved_at.date())
        elif moves or ticket["created_at"].date() >= cal.end - dt.timedelta(days=13):
            sprint = _sprint(cal.end)  # carried into the current sprint
        else:
            sprint = None  # still in the backlog
        tickets.append(
            {
                "ticket_id": ticket_id,
                "title": ticket["title"],
                "type": ticket["type"],
                "work_category": _work_category(ticket["type"], labels),
                "team": ticket["team"],
                "model": ticket["model"],
                "assignee": assignee,
                "role": role,
                "created_at": ticket["created_at"],
                "resolved_at": resolved_at,
                "status": status,
                "story_points": ticket["story_points"],
                "sprint": sprint,
                "labels": labels,
            }
        )
        for at, from_status, to_status, mover, mover_role in moves:
            transitions.append(
                {
                    "ticket_id": ticket_id,
                    "at": at,
                    "from_status": from_status,
                    "to_status": to_status,
                    "assignee": mover,
                    "role": mover_role,
                }
            )
    ticket_frame = pd.DataFrame(tickets)
    ticket_frame["created_at"] = _to_utc(ticket_frame["created_at"])
    ticket_frame["resolved_at"] = _to_utc(ticket_frame["resolved_at"])
    ticket_frame["story_points"] = ticket_frame["story_points"].astype(float)
    transition_frame = pd.DataFrame(transitions)
    transition_frame["at"] = _to_utc(transition_frame["at"])
    transition_frame = transition_frame.sort_values(["at", "ticket_id"], kind="stable")
    return _frame(ticket_frame, "tickets"), _frame(transition_frame, "ticket_transitions")


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent random stream per feed, all from `default_rng(seed)`.

    Separate streams keep a feed's data unchanged when another feed's recipe changes, and let
    `story()` build the delivery timeline without drawing the request log.
    """
    names = ("deployments", "changes", "incidents", "inference", "kpis", "tickets")
    return dict(zip(names, np.random.default_rng(seed).spawn(len(names)), strict=True))


def _as_date(end: dt.date) -> dt.date:
    return end.date() if isinstance(end, dt.datetime) else end


def story(end: dt.date, seed: int = 7) -> dict:
    """The drift story's dates and ids for the year `generate(end, seed)` produces.

    Returns a dict: model, feature, kpi, drift_start (date), drift_started_at, incident_id,
    incident_opened_at, retrain_deployment_id, retrain_version, version_before_retrain,
    retrain_finished_at (UTC timestamps), recovery (the first date click-through is back to
    its usual level). Cheap: it builds the delivery timeline only, not the request log.
    """
    return dict(_timeline(_as_date(end), seed).story)


def generate(end: dt.date, seed: int = 7) -> dict[str, pd.DataFrame]:
    """One year of every canonical feed, ending on (and including) the UTC day `end`.

    Args:
        end: the last day of the year of data; the first is `end - 364 days`.
        seed: seeds `numpy.random.default_rng`; the same `end` and `seed` give equal frames.

    Returns:
        A dict keyed by the names in `FEEDS`, each a DataFrame with that feed's canonical
        columns in order (inference adds one column per feature in `feature_columns()`).
        Timestamps are datetime64[ns, UTC]; kpis.date is a naive datetime64[ns] at midnight.
    """
    end = _as_date(end)
    cal = _calendar(end)
    timeline = _timeline(end, seed)
    streams = _streams(seed)
    tickets, transitions = _tickets(cal, timeline, streams["tickets"])
    return {
        "deployments": timeline.deployments,
        "changes": timeline.changes,
        "incidents": _frame(timeline.incidents, "incidents"),
        "inference": _inference(cal, timeline, streams["inference"]),
        "kpis": _kpis(cal, timeline, streams["kpis"]),
        "tickets": tickets,
        "ticket_transitions": transitions,
    }
