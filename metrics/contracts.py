"""Model contracts (models.toml) and each model's reading against its contract.

A contract is what data science, engineering and product agreed for a model: owner and team,
latency budget (p50, p95 in ms), error-rate budget, business KPIs with target and guardrail,
drift overrides, a retraining trigger, budgets on the estimated performance (before labels
arrive) and, for a ranker, how its lists are scored. `readings`
turns the warehouse into one plain, JSON-ready reading per model with a green/amber/red status
and the reasons in words.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from metrics import access, activity, drift, estimation, models, quality, serving
from metrics.db import frame
from metrics.drift import multivariate
from metrics.estimation import METRIC_WORDS
from metrics.filters import Filters
from metrics.status import (
    Status,
    badge_text,
    format_kpi,
    kpi_window_status,
    window_text,
    worst,
)
from profiling.store import model_columns

KINDS = quality.KINDS
# The figures estimated before labels arrive, by model kind (metrics/estimation: CBPE for a
# classifier, DLE for a regressor), and the side of a budget each must stay on.
ESTIMATED = {
    "classifier": ("accuracy", "precision", "recall", "f1", "roc_auc"),
    "regressor": ("mae", "rmse"),
}
LOSSES = ("mae", "rmse")  # budgets on these are maximums; on the others, minimums


class ContractError(ValueError):
    """A contract file that cannot be used, with a sentence naming the file, model and field."""


@dataclass(frozen=True)
class KpiTerms:
    """A KPI a model answers for: its name in the kpis feed, a label in plain words, and the
    target and guardrail agreed (None: use the feed's own)."""

    name: str
    label: str
    target: float | None = None
    guardrail: float | None = None


@dataclass(frozen=True)
class Contract:
    """One model's contract."""

    model: str
    owner: str | None = None
    team: str | None = None
    kind: str | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    error_rate_budget: float | None = None
    kpis: tuple[KpiTerms, ...] = ()
    drift: dict[str, Any] = field(default_factory=dict)
    retraining: dict[str, Any] = field(default_factory=dict)
    ranking: quality.Ranking | None = None
    estimated: dict[str, float] = field(default_factory=dict)

    def kpi(self, name: str) -> KpiTerms | None:
        return next((k for k in self.kpis if k.name == name), None)


def _number(raw: Any, where: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ContractError(f"{where} must be a number, got {raw!r}")
    return float(raw)


def _drift_terms(raw: Any, where: str) -> dict[str, Any]:
    """`drift = { share = 0.3, thresholds = { feature = 0.2 } }`, checked: a share in (0, 1],
    thresholds above 0."""
    if not isinstance(raw, dict) or not set(raw) <= {"share", "thresholds"}:
        raise ContractError(f"{where}: drift is a table like {{ share = 0.5, thresholds = {{}} }}")
    terms: dict[str, Any] = {}
    if "share" in raw:
        share = _number(raw["share"], f"{where}: drift.share")
        if not 0 < share <= 1:
            raise ContractError(f"{where}: drift.share must be above 0 and at most 1")
        terms["share"] = share
    thresholds = raw.get("thresholds", {})
    if not isinstance(thresholds, dict):
        raise ContractError(f"{where}: drift.thresholds is a table of feature = threshold")
    terms["thresholds"] = {}
    for feature, value in thresholds.items():
        threshold = _number(value, f"{where}: drift.thresholds.{feature}")
        if not threshold > 0:
            raise ContractError(f"{where}: drift.thresholds.{feature} must be above 0")
        terms["thresholds"][str(feature)] = threshold
    return terms


def _ranking_terms(raw: Any, kind: str | None, where: str) -> quality.Ranking | None:
    """`ranking = { k = 10, list = "session_id" }`, checked: a ranker's, k a whole number from
    1, list a column whose value the rows of one list share (default: their `ts`)."""
    if raw is None:
        return quality.Ranking() if kind == "ranker" else None
    if kind != "ranker":
        raise ContractError(f'{where}: ranking applies to kind = "ranker" only')
    if not isinstance(raw, dict) or not set(raw) <= {"k", "list"}:
        raise ContractError(f'{where}: ranking is a table like {{ k = 10, list = "session_id" }}')
    k = raw.get("k", quality.Ranking.k)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ContractError(f"{where}: ranking.k must be a whole number from 1, got {k!r}")
    column = raw.get("list")
    if column is not None and (not isinstance(column, str) or not column):
        raise ContractError(f"{where}: ranking.list must be a column name, got {column!r}")
    if column in quality.NOT_A_LIST:
        raise ContractError(
            f"{where}: ranking.list names the column the rows of one list share; {column!r} "
            "holds one value per row (request_id is the feed's key)"
        )
    return quality.Ranking(k, column)


def _estimated_terms(raw: Any, kind: str | None, where: str) -> dict[str, float]:
    """`estimated = { accuracy = 0.80, mae = 12.0 }`, checked: metrics estimated for the
    model's kind, a rate between 0 and 1, a loss above 0."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: estimated is a table like {{ accuracy = 0.80 }}")
    known = [m for metrics in ESTIMATED.values() for m in metrics]
    terms = {}
    for metric, value in raw.items():
        key = f"{where}: estimated.{metric}"
        if metric not in known:
            raise ContractError(f"{key} is not an estimated metric (one of {', '.join(known)})")
        fits = [k for k, metrics in ESTIMATED.items() if metric in metrics]
        if kind not in fits:
            raise ContractError(
                f'{key} applies to kind = "{fits[0]}" only'
                + (f", and this model is a {kind}" if kind else "; set the model's kind")
            )
        budget = _number(value, key)
        if metric in LOSSES and not budget > 0:
            raise ContractError(f"{key} must be above 0, got {value!r}")
        if metric not in LOSSES and not 0 < budget <= 1:
            raise ContractError(f"{key} must be above 0 and at most 1, got {value!r}")
        terms[str(metric)] = budget
    return terms


def _contract(model: str, raw: Any, origin: str) -> Contract:
    where = f"{origin}: model {model!r}"
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: expected a table")
    kind = raw.get("kind")
    if kind is not None and kind not in KINDS:
        raise ContractError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    latency = raw.get("latency_budget_ms", {})
    if not isinstance(latency, dict):
        raise ContractError(f"{where}: latency_budget_ms is a table like {{ p50 = 50, p95 = 120 }}")
    kpis = []
    for index, item in enumerate(raw.get("kpis", [])):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ContractError(f"{where}: kpis[{index}] needs a name")
        kpis.append(
            KpiTerms(
                name=item["name"],
                label=str(item.get("label") or item["name"].replace("_", " ").capitalize()),
                target=_number(item.get("target"), f"{where}: kpi {item['name']!r} target"),
                guardrail=_number(
                    item.get("guardrail"), f"{where}: kpi {item['name']!r} guardrail"
                ),
            )
        )
    return Contract(
        model=model,
        owner=raw.get("owner"),
        team=raw.get("team"),
        kind=kind,
        latency_p50_ms=_number(latency.get("p50"), f"{where}: latency_budget_ms.p50"),
        latency_p95_ms=_number(latency.get("p95"), f"{where}: latency_budget_ms.p95"),
        error_rate_budget=_number(raw.get("error_rate_budget"), f"{where}: error_rate_budget"),
        kpis=tuple(kpis),
        drift=_drift_terms(raw.get("drift", {}), where),
        retraining=dict(raw.get("retraining", {})),
        ranking=_ranking_terms(raw.get("ranking"), kind, where),
        estimated=_estimated_terms(raw.get("estimated"), kind, where),
    )


def load(path: Path | None) -> dict[str, Contract]:
    """The contracts in `path` by model, or none when there is no file."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContractError(f"contract file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ContractError(f"{path}: not valid TOML ({error})") from None
    table = data.get("models", {})
    if not isinstance(table, dict):
        raise ContractError(f"{path}: [models.<name>] tables expected")
    return {model: _contract(model, raw, str(path)) for model, raw in table.items()}


def serving_window(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Per model over the whole window: requests, errors, error rate, latency p50/p95/p99 (from
    serving profiles for a model whose rows stay on its own engine: metrics/serving.py)."""
    return serving.window(con, filters)


def _plain(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return float(value)


def _in_scope(
    con: duckdb.DuckDBPyConnection, filters: Filters, contracts: dict[str, Contract]
) -> list[str]:
    catalog = activity.catalog(con)
    if filters.team:
        catalog = catalog[catalog["team"] == filters.team]
    names = set(catalog["model"].dropna())
    names |= {m for m, c in contracts.items() if not filters.team or c.team == filters.team}
    if filters.model:
        names &= {filters.model}
    # On a connection restricted to a person's teams, their models only (the contracts name all).
    visible = access.visible_models(con)
    if visible is not None:
        names &= visible
    return sorted(names)


def _terms(
    contract_value: float | None, feed_value: Any, what: str, contracted: bool
) -> tuple[float | None, str | None, str | None]:
    """The contract's target or guardrail, else the feed's: (value, where it came from, the
    words saying so when it is the feed's)."""
    if contract_value is not None:
        return contract_value, "contract", None
    value = _plain(feed_value)
    if value is None:
        return None, None, None
    note = "the feed's: the contract names none" if contracted else "the feed's"
    return value, "feed", note


def kpi_reading(
    name: str,
    terms: KpiTerms | None,
    row: Any,
    days: list[tuple[Any, float | None]],
    previous: float | None,
    window: str,
) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """One KPI over the window against the contract's target and guardrail (the feed's only
    where the contract names none): its reading, and the reason in words when it is not green.
    """
    target, target_from, target_note = _terms(
        terms.target if terms else None,
        None if row is None else row.target,
        "target",
        terms is not None,
    )
    guardrail, guardrail_from, guardrail_note = _terms(
        terms.guardrail if terms else None,
        None if row is None else row.guardrail,
        "guardrail",
        terms is not None,
    )
    value = _plain(row.value) if row is not None else None
    unit = row.unit if row is not None else None
    status = kpi_window_status(value, days, target, guardrail)
    label = terms.label if terms else name.replace("_", " ").capitalize()
    reading = {
        "label": label,
        "value": value,
        "previous": previous,
        "target": target,
        "guardrail": guardrail,
        "terms_from": {"target": target_from, "guardrail": guardrail_from},
        "unit": unit,
        "status": status.level,
        "reason": status.reason,
        "window": window,
        "badge": badge_text(status.level, window),
        "days": status.days,
        "broken_days": status.broken_days,
        "recovered_since": None
        if status.recovered_since is None
        else status.recovered_since.isoformat(),
    }

    def said(what: str, number: float | None, note: str | None) -> str:
        return f"{what} {format_kpi(number, unit)}" + (f", {note}" if note else "")

    if status.level == "red":
        latest = days[-1][1] if days else value
        text = (
            f"{label} is {status.reason}: {format_kpi(latest, unit)} "
            f"({said('guardrail', guardrail, guardrail_note)})"
        )
    elif status.level == "amber" and status.broken_days:
        text = f"{label} {status.reason} ({said('guardrail', guardrail, guardrail_note)})"
    elif status.level == "amber":
        text = (
            f"{label} {format_kpi(value, unit)} is {status.reason} "
            f"({said('target', target, target_note)})"
        )
    elif status.level == "grey" and (target is not None or guardrail is not None):
        text = f"{label}: {status.reason}"
    else:
        return reading, None
    return reading, (status.level, text)


def _kpi_readings(
    model: str,
    contract: Contract | None,
    now: pd.DataFrame,
    before: pd.DataFrame,
    daily: pd.DataFrame,
    window: str,
) -> tuple[dict[str, dict], list[tuple[str, str]]]:
    readings: dict[str, dict] = {}
    reasons: list[tuple[str, str]] = []
    rows = {r.kpi: r for r in now[now["model"] == model].itertuples()}
    previous = {r.kpi: r.value for r in before[before["model"] == model].itertuples()}
    mine = daily[daily["model"] == model]
    names = list(rows) + [k.name for k in (contract.kpis if contract else ()) if k.name not in rows]
    for name in names:
        series = mine[mine["kpi"] == name]
        days = [
            (pd.Timestamp(day).date(), _plain(v))
            for day, v in zip(series["date"], series["value"], strict=True)
        ]
        reading, reason = kpi_reading(
            name,
            contract.kpi(name) if contract else None,
            rows.get(name),
            days,
            _plain(previous.get(name)),
            window,
        )
        readings[name] = reading
        if reason:
            reasons.append(reason)
    return readings, reasons


def model_status(
    reasons: list[tuple[str, str]], kpis: dict[str, dict], budgets_checked: bool
) -> Status:
    """A model's status over the window from its KPIs' statuses and the reasons found (broken
    budgets, drifted inputs): the worst of them, grey when nothing could be checked; the reason
    is "contract held" when green, else the reasons, worst first."""
    levels = [level for level, _ in reasons if level != "grey"]
    levels += [k["status"] for k in kpis.values() if k["status"] != "grey"]
    if budgets_checked:
        levels.append("green")
    level = worst(levels) if levels else "grey"
    order = {"red": 0, "amber": 1, "grey": 2}
    texts = [text for _, text in sorted(reasons, key=lambda r: order[r[0]])]
    if level == "green":
        return Status(level, "contract held")
    return Status(level, "; ".join(texts) or "nothing to check in this window")


def _apart(value: float, budget: float, decimals: int) -> tuple[str, str]:
    """`value` and `budget` with the fewest decimals (at least `decimals`) that tell them
    apart, so a reading over its budget never reads "1.00% is over its 1.00% budget"."""
    for places in range(decimals, decimals + 6):
        shown = f"{value:,.{places}f}", f"{budget:,.{places}f}"
        if shown[0] != shown[1]:
            return shown
    return shown


def _serving_reasons(
    serving: dict[str, Any] | None, contract: Contract | None
) -> list[tuple[str, str]]:
    if contract is None:
        return [("grey", "no contract: no latency or error budget to check")]
    if serving is None:
        return [("grey", "no requests in this window: budgets not checked")]
    reasons = []
    for name, budget in (("p50", contract.latency_p50_ms), ("p95", contract.latency_p95_ms)):
        latency = serving["latency_ms"][name]
        if budget is not None and latency is not None and latency > budget:
            shown, limit = _apart(latency, budget, 0)
            reasons.append(("red", f"{name} latency {shown} ms is over its {limit} ms budget"))
    rate, budget = serving["error_rate"], contract.error_rate_budget
    if budget is not None and rate is not None and rate > budget:
        shown, limit = _apart(rate * 100, budget * 100, 2)
        reasons.append(("red", f"error rate {shown}% is over its {limit}% budget"))
    return reasons


def labels_note(days: int, unlabelled_days: int) -> str:
    """How far the labels have come over the window's days with rows, in words."""
    if days == 0:
        return "no rows in this window"
    if unlabelled_days == 0:
        return f"labels for all {days} days" if days > 1 else "labels for its one day"
    if unlabelled_days == days:
        return (
            f"no labels yet for any of the {days} days"
            if days > 1
            else "no labels yet for its one day"
        )
    return f"no labels yet for {unlabelled_days} of the {days} days"


def estimated_reasons(
    budgets: dict[str, float],
    estimated: dict[str, Any] | None,
    estimation: dict[str, Any] | None,
    note: str,
) -> list[tuple[str, str]]:
    """The budgets on estimated metrics against the window's estimates and their bands.

    Args:
        budgets: metric -> budget (a minimum; a maximum for the losses in `LOSSES`).
        estimated: the model's `quality.estimated`, {metric: {value, lower, upper, realized}}
            over the window (metrics/estimation), None when there is none.
        estimation: the model's `quality.estimation`: `reason` when there is no estimate,
            `calibration` with `trusted` and its `reason` when the estimates missed.
        note: how far the labels have come (`labels_note`), said after each reason.

    Returns:
        (level, text) per budget not held: red when the whole band is on the wrong side of the
        budget, amber when the estimate is but its band reaches the budget; grey when there is
        no estimate or it is not trusted (the budget is then not checked).
    """
    reasons: list[tuple[str, str]] = []
    estimated, estimation = estimated or {}, estimation or {}
    calibration = estimation.get("calibration") or {}
    for metric, budget in budgets.items():
        name = METRIC_WORDS[metric]
        entry = estimated.get(metric) or {}
        value, lower, upper = (_plain(entry.get(k)) for k in ("value", "lower", "upper"))
        if value is not None and calibration.get("trusted") is False:
            why = calibration.get("reason") or "the estimate is not trusted"
            reasons.append(("grey", f"budget on estimated {name} not checked: {why}"))
            continue
        if value is None:
            why = estimation.get("reason") or calibration.get("reason") or "no estimate"
            reasons.append(("grey", f"budget on estimated {name} not checked: {why}"))
            continue
        is_loss = metric in LOSSES
        wrong_side = value > budget if is_loss else value < budget
        if not wrong_side:
            continue
        edge = lower if is_loss else upper
        whole_band = edge is not None and (edge > budget if is_loss else edge < budget)
        shown, limit = _apart(value, budget, 2)
        text = f"estimated {name} {shown} is {'over' if is_loss else 'under'} its {limit} budget"
        if whole_band:
            reasons.append(("red", f"{text} ({note})"))
        else:
            band = "" if lower is None or upper is None else f" {lower:,.2f} to {upper:,.2f}"
            reasons.append(("amber", f"{text}, but its band{band} reaches it ({note})"))
    return reasons


def _retraining(
    contract: Contract | None, kpis: dict[str, dict], last_release: Any, until: Any
) -> dict[str, Any]:
    """Whether the contract's retraining trigger has fired: by age of the latest production
    release (`every_days`), or by a relative fall of a KPI on the previous window."""
    released = None if last_release is None or pd.isna(last_release) else last_release
    result: dict[str, Any] = {
        "due": False,
        "reasons": [],
        "last_release_at": None if released is None else released.isoformat(),
    }
    trigger = contract.retraining if contract else {}
    every = trigger.get("every_days")
    if every is not None:
        if released is None:
            result["reasons"].append("never released to production")
        else:
            age = (until - released).total_seconds() / 86400
            if age > float(every):
                result["reasons"].append(
                    f"the last release was {age:.0f} days ago (retrain every {every} days)"
                )
    name, drop = trigger.get("kpi"), trigger.get("relative_drop")
    reading = kpis.get(name) if name else None
    if (
        reading
        and drop is not None
        and reading["value"] is not None
        and reading["previous"] not in (None, 0)
    ):
        change = (reading["value"] - reading["previous"]) / abs(reading["previous"])
        target, guardrail = reading["target"], reading["guardrail"]
        lower_is_better = target is not None and guardrail is not None and guardrail > target
        worse = change if lower_is_better else -change
        if worse >= float(drop):
            verb = "rose" if lower_is_better else "fell"
            result["reasons"].append(
                f"{reading['label']} {verb} {abs(change) * 100:.1f}% relative on the window "
                f"before (trigger: {float(drop) * 100:.1f}%)"
            )
    result["due"] = bool(result["reasons"])
    return result


def readings(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    contracts: dict[str, Contract],
    reference: drift.Reference | None = None,
    deep: bool = True,
) -> dict[str, dict[str, Any]]:
    """Each model in scope over the window: its KPIs (value, previous window, target,
    guardrail, status), serving health, quality, drift against `reference` (default: the
    window before), and its contract status with the reasons. Dataset drift is amber.

    `deep=False` leaves out what no status depends on and costs the most: the realized quality
    (`quality` holds only the kind and the estimate of a model whose contract budgets it), the
    multivariate drift, and the estimated performance of models whose contract sets no budget
    on it (the statuses are the same either way; pages that show only statuses read it so).

    Green: every KPI on target and every budget held. Amber: a target missed while its
    guardrail holds. Red: a guardrail or a budget broken. Grey: nothing could be checked.
    """
    now = models.kpi_window(con, filters)
    before = models.kpi_window(con, filters.previous())
    daily = models.kpi_daily(con, filters)
    window = window_text(filters.since, filters.until)
    serving_rows = {r["model"]: r for r in serving_window(con, filters).to_dict("records")}
    releases = dict(
        frame(con, "last_production_release", **filters.params())[
            ["model", "released_at"]
        ].itertuples(index=False)
    )
    label_days = (
        {
            r.model: (int(r.days), int(r.unlabelled_days))
            for r in frame(con, "inference_label_days", **filters.params()).itertuples()
        }
        if any(c.estimated for c in contracts.values())
        else {}
    )
    kinds = {m: c.kind for m, c in contracts.items() if c.kind}
    rankings = {m: c.ranking for m, c in contracts.items() if c.ranking}
    # The realized quality is shown (Model overview, the report), never judged: a status-only
    # reading leaves out the costliest read of the window's rows (the ROC AUC ranks every
    # labelled score). An estimate a budget judges needs the model's kind: the contract's, else
    # the one its rows leave no doubt about.
    budgets_estimates = any(c.estimated for c in contracts.values())
    inferred = quality.model_kinds(con, filters.model) if deep or budgets_estimates else {}
    qualities = (
        quality.quality(con, filters, kinds, rankings=rankings, inferred=inferred) if deep else {}
    )
    kinds = {**inferred, **kinds}
    result = {}
    for model in _in_scope(con, filters, contracts):
        contract = contracts.get(model)
        kpis, reasons = _kpi_readings(model, contract, now, before, daily, window)
        row = serving_rows.get(model)
        serving = (
            None
            if row is None
            else {
                "requests": int(row["requests"]),
                "errors": int(_plain(row["errors"]) or 0),
                "latency_ms": {p: _plain(row[f"latency_{p}_ms"]) for p in ("p50", "p95", "p99")},
                "error_rate": _plain(row["error_rate"]),
            }
        )
        reasons += _serving_reasons(serving, contract)
        drifted = _drift_reading(con, model, filters, contract, reference, deep)
        if drifted and drifted["dataset_drift"]:
            names = [c for c, v in drifted["columns"].items() if v["drifted"]]
            reasons.append(
                (
                    "amber",
                    f"its inputs drifted: {len(names)} of {drifted['tested']} features "
                    f"({', '.join(names)})",
                )
            )
        # estimated performance beside the realized, against the drift reading's reference
        quality_reading = qualities.get(model, {})
        budgeted = contract is not None and bool(contract.estimated)
        if budgeted and not deep:
            quality_reading = {"kind": kinds.get(model)}
        if deep or budgeted:
            quality_reading = quality_reading | estimation.reading(
                con,
                model,
                kinds.get(model) if budgeted else quality_reading.get("kind"),
                drift.day_window(filters.since, filters.until),
                reference,
            )
        if contract is not None and contract.estimated:
            # quality's `estimated` and `estimation`: the window's estimate (metrics/estimation)
            reasons += estimated_reasons(
                contract.estimated,
                quality_reading.get("estimated"),
                quality_reading.get("estimation"),
                labels_note(*label_days.get(model, (0, 0))),
            )
        status = model_status(reasons, kpis, serving is not None and contract is not None)
        order = {"red": 0, "amber": 1, "grey": 2}
        result[model] = {
            "contract": contract is not None,
            "owner": contract.owner if contract else None,
            "kpis": kpis,
            "serving": serving
            or {
                "requests": 0,
                "errors": 0,
                "latency_ms": {"p50": None, "p95": None, "p99": None},
                "error_rate": None,
            },
            "budgets": None
            if contract is None
            else {
                "latency_ms": {"p50": contract.latency_p50_ms, "p95": contract.latency_p95_ms},
                "error_rate": contract.error_rate_budget,
                "estimated": dict(contract.estimated),
            },
            "quality": quality_reading,
            "drift": drifted,
            "retraining": _retraining(contract, kpis, releases.get(model), filters.until),
            "status": status.level,
            "summary": status.reason,
            "window": window,
            "badge": badge_text(status.level, window),
            "reasons": [text for _, text in sorted(reasons, key=lambda r: order[r[0]])],
            "breaches": [text for level, text in reasons if level == "red"],
        }
    return result


def _drift_reading(
    con: duckdb.DuckDBPyConnection,
    model: str,
    filters: Filters,
    contract: Contract | None,
    reference: drift.Reference | None,
    deep: bool = True,
) -> dict[str, Any] | None:
    """The model's drift over the window (whole days), or None without inference features;
    with the multivariate drift when `deep`."""
    if not any(c.role == "feature" for c in model_columns(con, model)):
        return None
    thresholds, share = drift.contract_terms(contract)
    current = drift.day_window(filters.since, filters.until)
    result = drift.model_drift(con, model, current, reference, thresholds, share)
    if not result.current["rows"]:
        return None
    if not deep:
        return {**result.as_json(), "tested": len(result.tested)}
    # The relation between features, against the same reference, on a bounded daily sample.
    related = multivariate.reconstruction_drift(
        con,
        model,
        current,
        (reference or drift.Reference()).resolve(con, model, current),
        step_days=drift.timeline_bucket_days(current),
    )
    return {**result.as_json(), "tested": len(result.tested), "multivariate": related.as_json()}


def breaches(readings_: dict[str, dict[str, Any]]) -> list[str]:
    """One line per broken guardrail or budget (red), model by model."""
    return [f"{model}: {text}" for model, r in readings_.items() for text in r["breaches"]]


def warnings(readings_: dict[str, dict[str, Any]]) -> list[str]:
    """One line per missed target whose guardrail holds, per guardrail broken earlier in the
    window and recovered since, and per estimate past its budget within its band (amber),
    model by model."""
    return [
        f"{model}: {text}"
        for model, r in readings_.items()
        if r["status"] == "amber"
        for text in r["reasons"]
        if text not in r["breaches"]
        and (" target" in text or "broke its guardrail" in text or text.startswith("estimated "))
    ]


def kpi_sentence(name: str, reading: dict[str, Any], period: str = "this week") -> str:
    """A KPI reading in plain words: "Click-through rate was 3.30% this week, down 1.2 points
    on last week; target 4.90%." Ratios move in percentage points, other units in their own."""
    value, previous, unit = reading["value"], reading["previous"], reading["unit"]
    before = "last week" if period == "this week" else "the period before"
    text = f"{reading['label']} was **{format_kpi(value, unit)}** {period}"
    if value is not None and previous is not None:
        change = value - previous
        if unit in {"ratio", "%"}:
            size = f"{abs(change) * 100:.2f} points"
        else:
            size = format_kpi(abs(change), unit)
        if abs(change) < 1e-12:
            text += f", the same as {before}"
        else:
            text += f", {'up' if change > 0 else 'down'} {size} on {before}"
    if reading["target"] is not None:
        text += f"; target {format_kpi(reading['target'], unit)}"
    return text + "."
