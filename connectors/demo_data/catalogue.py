"""What the demo year is made of: its feeds, teams and people, features, KPIs and models, and
the drift story's fixed facts.

All of it is static. The recipes in the sibling modules read these specs; tests read them to
know what the demo holds.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def feed_frame(frame: pd.DataFrame, feed_name: str) -> pd.DataFrame:
    """`frame` reduced to the feed's columns, in order, with a fresh index; an optional column
    the demo does not draw is all nulls (None, not NaN: a text column stays text)."""
    columns = list(COLUMNS[feed_name])
    out = frame.reindex(columns=columns).reset_index(drop=True)
    for column in columns:
        if column not in frame.columns:
            out[column] = pd.Series([None] * len(out), dtype=object)
    return out


DAYS_IN_YEAR = 365
TEAMS = ("growth", "risk", "forecasting")
TICKET_STATUSES = ("To Do", "In Progress", "Blocked", "Ready for Engineering", "In Review", "Done")
EXPERIMENT_OUTCOMES = ("outcome:productionize", "outcome:abandon", "outcome:more-research")


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


def feature_columns() -> tuple[str, ...]:
    """Every feature column of the inference feed, in order of first use across `MODELS`."""
    names: dict[str, None] = {}
    for spec in MODELS:
        names.update(dict.fromkeys(spec.features))
    return tuple(names)


# Static facts of the drift story; `story(end)` gives its dates and ids for a given year.
# Its days are placed so the whole story falls inside the default window (the 28 days ending
# with `end`): four calm days, the shift 23 days before `end`, the incident, about eleven days
# under the guardrail until the day after the retrain, then recovered. The 28 days before the
# window (the drift page's default reference) hold none of it.
STORY = {
    "model": "recommender",
    "feature": "session_length_s",
    "kpi": "click_through_rate",
    "what_happened": (
        "The upstream sessions service started logging session length in milliseconds; the "
        "recommender kept reading it as seconds until it was retrained on the new unit."
    ),
    "feature_scale_after_drift": 1000.0,
    "drift_start_days_before_end": 23,
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
