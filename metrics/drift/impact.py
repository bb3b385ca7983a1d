"""Drift that matters: one model's drifting features, ranked by how their daily drift tracks
the model's daily performance and its main KPI over a window.

NannyML's correlation ranker, with the business KPI beside the model's performance: for each
feature that drifted on at least one day of the window, the Spearman rank correlation between
its daily drift and each daily figure (`spearman`, as scipy.stats.spearmanr computes it).
Spearman only reads ranks, so a p-value method (K-S, chi-square, Z: smaller is more drift) is
read as -p, a distance as it is; a day whose method differs from the feature's usual one is
left out (its scale is another).

Harm: the correlation signed so that it is positive when the figure gets *worse* as the drift
grows (the correlation itself when lower is better, its opposite when higher is better, its
absolute value when the direction is unknown). A feature's score is its larger harm over the
two figures; features rank by score (the highest first), then by the day they first drifted.

At least MIN_DAYS days with both a drift score and the figure are needed for a correlation;
with fewer for both figures, or no feature drifting, there is a sentence and no ranking.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from metrics import models, quality
from metrics.drift.verdicts import METHODS, P_VALUE_METHODS, contract_terms
from metrics.drift.windows import Reference, Window, steps
from metrics.filters import Filters

# Fewer paired days than this and a rank correlation says nothing (at 7 days, |rho| must reach
# about 0.79 for p < 0.05).
MIN_DAYS = 7
# A drifting feature "moves with" a figure when its harm reaches this.
TRACKS_AT = 0.5
# A feature past its threshold on more than this share of the reference's own days (each day
# against the whole reference) drifts by the day, not over time: a calendar column such as
# day_of_week. It is left out of the ranking, and named.
DAY_PATTERN_SHARE = 0.5
# A day's realized performance counts when at least this many labelled rows back it.
MIN_LABELLED = 30

STEP_COLUMNS = ["day", "value", "lower", "upper", "realized", "labelled"]
# The performance figure each kind is judged by, and whether higher is better.
PERFORMANCE = {
    "classifier": ("roc_auc", True),
    "regressor": ("mae", False),
    "ranker": ("ndcg_at_k", True),
}
PERFORMANCE_LABELS = {"roc_auc": "ROC AUC", "mae": "MAE", "ndcg_at_k": "NDCG@{k}"}


@dataclass(frozen=True)
class Figure:
    """A daily figure that drift is compared with: a KPI or the model's performance.

    `values` is indexed by UTC day (datetime.date); `source` says where it comes from
    ("KPI", "realized", "estimated", or "realized and estimated").
    """

    name: str
    label: str
    values: pd.Series
    higher_is_better: bool | None
    source: str

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "source": self.source,
            "higher_is_better": self.higher_is_better,
            "days": int(self.values.notna().sum()),
        }


@dataclass(frozen=True)
class Correlation:
    """Spearman's rho between a feature's daily drift and a figure, over `days` paired days;
    rho None when one side is constant; harm as in the module docstring."""

    rho: float | None
    p_value: float | None
    days: int
    harm: float | None

    def as_json(self) -> dict:
        return {"rho": self.rho, "p_value": self.p_value, "days": self.days, "harm": self.harm}


@dataclass(frozen=True)
class FeatureImpact:
    """One drifting feature: its method, first day past its threshold in the window, days
    drifted, and its correlation with each figure (None: too few days or no figure)."""

    feature: str
    method: str
    first_drift: dt.date
    drifted_days: int
    days: int
    performance: Correlation | None
    kpi: Correlation | None

    @property
    def score(self) -> float | None:
        harms = [c.harm for c in (self.performance, self.kpi) if c and c.harm is not None]
        return max(harms) if harms else None

    def as_json(self) -> dict:
        return {
            "feature": self.feature,
            "method": self.method,
            "first_drift": self.first_drift.isoformat(),
            "drifted_days": self.drifted_days,
            "days": self.days,
            "score": self.score,
            "performance": self.performance.as_json() if self.performance else None,
            "kpi": self.kpi.as_json() if self.kpi else None,
        }


@dataclass
class Impact:
    """The drifting features, most harmful first, and the sentence that says it."""

    sentence: str
    ranking: list[FeatureImpact] = field(default_factory=list)
    performance: Figure | None = None
    kpi: Figure | None = None
    window: Window | None = None
    min_days: int = MIN_DAYS
    # Features left out as day-to-day patterns: name -> (reference days past, reference days).
    day_patterns: dict[str, tuple[int, int]] = field(default_factory=dict)
    # The performance figure per day as drawn: day, value (estimate), lower, upper, realized,
    # labelled; None without a performance figure.
    performance_steps: pd.DataFrame | None = None

    def table(self) -> pd.DataFrame:
        """One row per ranked feature: feature, first_drift, drifted_days, harm (its score), and
        rho and days per figure."""
        rows = []
        for f in self.ranking:
            row = {
                "feature": f.feature,
                "first_drift": f.first_drift,
                "drifted_days": f.drifted_days,
                "harm": f.score,
            }
            for name, c in (("performance", f.performance), ("kpi", f.kpi)):
                row[f"{name}_rho"] = c.rho if c else None
                row[f"{name}_days"] = c.days if c else 0
            rows.append(row)
        return pd.DataFrame(
            rows,
            columns=[
                "feature",
                "first_drift",
                "drifted_days",
                "harm",
                "performance_rho",
                "performance_days",
                "kpi_rho",
                "kpi_days",
            ],
        )

    def as_json(self) -> dict:
        return {
            "sentence": self.sentence,
            "window": None
            if self.window is None
            else {"since": self.window.since.isoformat(), "until": self.window.until.isoformat()},
            "min_days": self.min_days,
            "performance": self.performance.as_json() if self.performance else None,
            "kpi": self.kpi.as_json() if self.kpi else None,
            "ranking": [f.as_json() for f in self.ranking],
            "performance_steps": None
            if self.performance_steps is None
            else [
                {
                    "day": row["day"].isoformat(),
                    **{k: _plain(row[k]) for k in STEP_COLUMNS[1:]},
                }
                for row in self.performance_steps.to_dict("records")
            ],
            "day_patterns": {
                name: {"reference_days_drifted": past, "reference_days": days}
                for name, (past, days) in self.day_patterns.items()
            },
        }


def _plain(value: Any) -> Any:
    # numpy scalars and NaN are not JSON; a missing figure is None
    if hasattr(value, "item"):
        value = value.item()
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


# --- The pure ranking --------------------------------------------------------------------------


def _short(method: str) -> str:
    return next((k for k, (name, _) in METHODS.items() if name == method), method)


def drift_magnitude(method: str, score: float) -> float:
    """A score oriented so that more drift is larger: -p for p-values, the distance as is."""
    return -float(score) if _short(method) in P_VALUE_METHODS else float(score)


def harm(rho: float | None, higher_is_better: bool | None) -> float | None:
    """rho signed so that positive means the figure worsens as drift grows."""
    if rho is None:
        return None
    if higher_is_better is None:
        return abs(rho)
    return -rho if higher_is_better else rho


def spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Spearman's rho and its two-sided p-value, as scipy.stats.spearmanr computes them: the
    Pearson correlation of average ranks, and Student's t with n - 2 degrees of freedom. The t
    tail uses the closed form for whole degrees of freedom (Abramowitz & Stegun 26.7.3-4):
    scipy.stats takes a second to import, longer than the report's whole drift."""
    ranked = np.vstack([pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()])
    rho = float(np.corrcoef(ranked)[1, 0])
    dof = len(x) - 2
    spread = (rho + 1.0) * (1.0 - rho)
    t = math.copysign(math.inf, rho) if spread == 0 else rho * math.sqrt(max(dof / spread, 0.0))
    return rho, _student_two_sided(abs(t), dof)


def _student_two_sided(t: float, dof: int) -> float:
    """P(|T| >= t) for Student's t with a whole number `dof` >= 1 of degrees of freedom.

    With theta = atan(t / sqrt(dof)) and c = cos(theta)^2, P(|T| < t) is a finite series in c
    (A&S 26.7.3-4); a small tail is the rest of the infinite one instead, summed term by term,
    so that it keeps its relative precision (1 minus a number close to 1 would not).
    """
    if math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 0.0
    theta = math.atan2(t, math.sqrt(dof))
    c = math.cos(theta) ** 2
    odd = dof % 2 == 1
    # odd: term k is (2.4...2k)/(1.3...(2k+1)) c^k; even: (1.3...(2k-1))/(2.4...2k) c^k
    first_tail = (dof - 1) // 2 if odd else dof // 2
    term, head = 1.0, 0.0
    for k in range(first_tail):
        head += term
        term *= ((2 * k + 2) / (2 * k + 3) if odd else (2 * k + 1) / (2 * k + 2)) * c
    scale = 2 / math.pi * math.sin(theta) * math.cos(theta) if odd else math.sin(theta)
    inside = scale * head + (2 / math.pi * theta if odd else 0.0)
    if 1.0 - inside > 0.1:
        return 1.0 - inside
    tail, k = 0.0, first_tail
    while term > 1e-17 * tail or tail == 0.0:
        tail += term
        term *= ((2 * k + 2) / (2 * k + 3) if odd else (2 * k + 1) / (2 * k + 2)) * c
        k += 1
        if term == 0.0:
            break
    return scale * tail


def correlate(
    drift: pd.Series, figure: Figure | None, min_days: int = MIN_DAYS
) -> Correlation | None:
    """Spearman's rho of a feature's daily drift magnitude against a figure, on the days both
    have; None without the figure or with fewer than `min_days` such days."""
    if figure is None:
        return None
    paired = pd.concat([drift.rename("drift"), figure.values.rename("figure")], axis=1).dropna()
    days = len(paired)
    if days < min_days:
        return None
    if paired["drift"].nunique() < 2 or paired["figure"].nunique() < 2:
        return Correlation(None, None, days, None)
    rho, p = spearman(paired["drift"].to_numpy(), paired["figure"].to_numpy())
    if math.isnan(rho):
        return Correlation(None, None, days, None)
    return Correlation(rho, p, days, harm(rho, figure.higher_is_better))


def rank(
    line: pd.DataFrame,
    performance: Figure | None,
    kpi: Figure | None,
    window: Window,
    min_days: int = MIN_DAYS,
) -> Impact:
    """The window's drifting features, ranked by how their daily drift tracks the figures.

    Args:
        line: a daily drift timeline (`drift.timeline` with 1-day steps): start, column, role,
            method, score, threshold, drifted. Feature rows inside `window` are ranked; rows
            before it (the reference's own days) only reveal day patterns.
        performance: the model's daily performance (realized or estimated), or None.
        kpi: the model's main KPI per day, or None.
        window: the current window, whole UTC days.
        min_days: the fewest paired days a correlation is computed on.

    Returns:
        An Impact: the ranking (empty when nothing can be ranked) and its sentence.
    """
    impact = Impact("", [], performance, kpi, window, min_days)
    starts = pd.to_datetime(line["start"]).dt.date if not line.empty else pd.Series(dtype=object)
    features = line[(line["role"] == "feature") & line["score"].notna()].assign(day=starts)
    rows = features[(features["day"] >= window.since) & (features["day"] < window.until)]
    before = features[features["day"] < window.since]
    drifting = sorted(set(rows.loc[rows["drifted"].astype(bool), "column"]))
    period = f"{window.since:%-d %b} to {window.until - dt.timedelta(days=1):%-d %b}"
    for feature in list(drifting):
        own = before[before["column"] == feature]
        if len(own) and own["drifted"].astype(bool).mean() > DAY_PATTERN_SHARE:
            impact.day_patterns[feature] = (int(own["drifted"].astype(bool).sum()), len(own))
            drifting.remove(feature)
    if not drifting:
        impact.sentence = (
            f"No feature drifted on any day of the window ({period}): there is no drift to rank."
            if not impact.day_patterns
            else f"No feature drifted in the window ({period}) beyond its usual day-to-day "
            f"pattern ({_patterns(impact.day_patterns)}): there is no drift to rank."
        )
        return impact
    ranked, magnitudes = [], []
    for feature in drifting:
        mine = rows[rows["column"] == feature]
        # past the threshold by its own day's method, whichever it was
        drifted = mine[mine["drifted"].astype(bool)]
        usual = mine["method"].mode().iloc[0]
        mine = mine[mine["method"] == usual].sort_values("day")
        magnitude = pd.Series(
            [drift_magnitude(usual, s) for s in mine["score"]], index=list(mine["day"])
        )
        magnitudes.append(magnitude)
        ranked.append(
            FeatureImpact(
                feature=feature,
                method=usual,
                first_drift=drifted["day"].min(),
                drifted_days=len(drifted),
                days=len(mine),
                performance=correlate(magnitude, performance, min_days),
                kpi=correlate(magnitude, kpi, min_days),
            )
        )
    if all(f.performance is None and f.kpi is None for f in ranked):
        impact.sentence = _too_few(ranked, magnitudes, performance, kpi, min_days, period)
        return impact
    ranked.sort(
        key=lambda f: (
            -(f.score if f.score is not None else -math.inf),
            f.first_drift,
            f.feature,
        )
    )
    impact.ranking = ranked
    impact.sentence = _sentence(ranked, performance, kpi)
    return impact


def _too_few(ranked, magnitudes, performance, kpi, min_days: int, period: str) -> str:
    figures = [f for f in (performance, kpi) if f is not None]
    if not figures:
        return (
            f"{len(ranked)} feature(s) drifted ({period}), but this model has neither a "
            "performance figure nor a KPI per day to weigh the drift against."
        )
    have = max(
        len(set(m.dropna().index) & set(f.values.dropna().index))
        for m in magnitudes
        for f in figures
    )
    return (
        f"Too few days to tell which drift matters ({period}): {have} day(s) with both the "
        f"drift and {' or '.join(f.label for f in figures)}, and a correlation needs {min_days}."
    )


def _patterns(patterns: dict[str, tuple[int, int]]) -> str:
    return "; ".join(
        f"{name} is past its threshold on {past} of the reference's {days} days too"
        for name, (past, days) in patterns.items()
    )


def _short_day(day: dt.date) -> str:
    return f"{day:%-d %b}"


def _moves(figure: Figure, corr: Correlation) -> str:
    """ "moves with the click-through rate drop (Spearman −0.82 over 28 days)"."""
    if figure.higher_is_better is None:
        what = figure.label
    else:
        worse = "drop" if figure.higher_is_better else "rise"
        what = f"the {worse} in {figure.label}"
    source = "" if figure.source == "KPI" else f"{figure.source}, "
    return f"{what} ({source}Spearman {_rho(corr.rho)} over {corr.days} days)"


def _rho(rho: float | None) -> str:
    return "—" if rho is None else f"{rho:+.2f}".replace("-", "−")


def _sentence(ranked: list[FeatureImpact], performance, kpi) -> str:
    top = ranked[0]
    earliest = min(f.first_drift for f in ranked)
    first = (
        f"drifted first ({_short_day(top.first_drift)})"
        if top.first_drift == earliest and len(ranked) > 1
        else f"drifted from {_short_day(top.first_drift)}"
    )
    tracked = [
        (figure, corr)
        for figure, corr in ((kpi, top.kpi), (performance, top.performance))
        if corr is not None and corr.harm is not None and corr.harm >= TRACKS_AT
    ]
    if tracked:
        moves = " and with ".join(_moves(f, c) for f, c in tracked)
        return f"{top.feature} {first} and moves with {moves}."
    closest = max(
        (
            (corr.harm, f.feature, figure, corr)
            for f in ranked
            for figure, corr in ((kpi, f.kpi), (performance, f.performance))
            if corr is not None and corr.harm is not None
        ),
        key=lambda item: item[0],
        default=None,
    )
    figures = " or ".join(_worse(f) for f in (kpi, performance) if f is not None)
    text = f"{top.feature} {first}, but no drifting feature moves with {figures}"
    if closest is None:
        return text + ": no correlation could be measured (one side stays constant)."
    _, feature, figure, corr = closest
    needed = {True: -TRACKS_AT, False: TRACKS_AT, None: TRACKS_AT}[figure.higher_is_better]
    return (
        text
        + f": the closest, {feature} against {figure.label}, has Spearman {_rho(corr.rho)} over "
        + f"{corr.days} days (moving with it takes {_rho(needed)}"
        + (" or beyond)." if figure.higher_is_better is not None else " in size).")
    )


def _worse(figure: Figure) -> str:
    if figure.higher_is_better is None:
        return figure.label
    return f"a {'drop' if figure.higher_is_better else 'rise'} in {figure.label}"


# --- From the warehouse ------------------------------------------------------------------------


def _day_filters(day: dt.date, model: str) -> Filters:
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return Filters(start, start + dt.timedelta(days=1), None, model)


def _quality(
    con: duckdb.DuckDBPyConnection, kind: str, scoped: Filters, ranking: quality.Ranking
) -> pd.DataFrame:
    if kind == "classifier":
        return quality.classifier_quality(con, scoped, by_version=False)
    if kind == "regressor":
        return quality.regressor_quality(con, scoped, by_version=False)
    return quality.ranker_quality(con, scoped, ranking, by_version=False)


def realized_daily(
    con: duckdb.DuckDBPyConnection,
    model: str,
    kind: str,
    window: Window,
    ranking: quality.Ranking | None = None,
) -> pd.DataFrame:
    """The model's realized performance figure (PERFORMANCE) per day of `window`, from the
    kind's quality query on that day's ok rows: day, value (None: nothing estimates it),
    lower, upper, realized, labelled."""
    name, _ = PERFORMANCE[kind]
    ranking = ranking or quality.Ranking()
    days = steps(window).values()
    # A window without one labelled row has no realized figure on any day: one query says so
    # instead of one per day.
    since, until = window.instants()
    whole = _quality(con, kind, Filters(since, until, None, model), ranking)
    if whole.empty or not int(whole["labelled"].iloc[0]):
        nothing = {"value": None, "lower": None, "upper": None, "realized": None, "labelled": 0}
        return pd.DataFrame([{"day": d.since, **nothing} for d in days], columns=STEP_COLUMNS)
    rows = []
    for day in days:
        found = _quality(con, kind, _day_filters(day.since, model), ranking)
        value = None if found.empty else found[name].iloc[0]
        rows.append(
            {
                "day": day.since,
                "value": None,
                "lower": None,
                "upper": None,
                "realized": None if value is None or pd.isna(value) else float(value),
                "labelled": 0 if found.empty else int(found["labelled"].iloc[0]),
            }
        )
    return pd.DataFrame(rows, columns=STEP_COLUMNS)


def blend(steps: pd.DataFrame, min_labelled: int = MIN_LABELLED) -> tuple[pd.Series, str]:
    """One figure per day from estimation steps (day, value, realized, labelled): the realized
    figure on days with at least `min_labelled` labelled rows, the estimate elsewhere; and
    which of the two the series holds ("realized", "estimated" or "realized and estimated")."""
    values: dict[dt.date, float] = {}
    used: set[str] = set()
    for day, value, realized, labelled in zip(
        steps["day"], steps["value"], steps["realized"], steps["labelled"], strict=True
    ):
        if realized is not None and not pd.isna(realized) and labelled >= min_labelled:
            values[day] = float(realized)
            used.add("realized")
        elif value is not None and not pd.isna(value):
            values[day] = float(value)
            used.add("estimated")
    source = " and ".join(s for s in ("realized", "estimated") if s in used) or "realized"
    return pd.Series(values, dtype=float), source


def performance_daily(
    con: duckdb.DuckDBPyConnection,
    model: str,
    kind: str | None,
    current: Window,
    reference: Window,
    ranking: quality.Ranking | None = None,
) -> tuple[Figure | None, pd.DataFrame | None]:
    """The model's performance per day and the steps behind it: for a classifier or a
    regressor, estimated (CBPE, DLE: metrics.estimation, fitted on the reference) with the
    realized figure where at least MIN_LABELLED labelled rows back it; for a ranker, realized
    only (nothing estimates a ranker yet)."""
    if kind not in PERFORMANCE:
        return None, None
    name, higher = PERFORMANCE[kind]
    if kind == "ranker":
        steps = realized_daily(con, model, kind, current, ranking)
        label = PERFORMANCE_LABELS[name].format(k=(ranking or quality.Ranking()).k)
    else:
        from metrics import estimation  # it fits models: imported when drift impact is asked

        found = estimation.estimated(con, model, kind, current, reference)
        steps = found.steps[found.steps["metric"] == name][STEP_COLUMNS].reset_index(drop=True)
        if steps[["value", "realized"]].isna().all().all():
            # no estimate and no step read (e.g. its estimator is not installed): the realized
            # figure per day from the quality queries still says something
            steps = realized_daily(con, model, kind, current, ranking)
        label = PERFORMANCE_LABELS[name]
    values, source = blend(steps)
    return Figure(name, label, values, higher, source), steps


def main_kpi(contract: Any, kpis: pd.DataFrame) -> str | None:
    """The model's main KPI: its contract's retraining KPI, else the contract's first KPI,
    else the first of its KPIs by name in `kpis` (one model's kpi_daily rows)."""
    if contract is not None:
        named = (getattr(contract, "retraining", None) or {}).get("kpi")
        if named:
            return str(named)
        if getattr(contract, "kpis", ()):
            return contract.kpis[0].name
    return None if kpis.empty else str(sorted(kpis["kpi"].unique())[0])


def kpi_figure(contract: Any, kpis: pd.DataFrame) -> Figure | None:
    """The main KPI per day as a Figure; its direction from the contract's target and guardrail
    (or the feed's), None when neither gives both."""
    name = main_kpi(contract, kpis)
    if name is None:
        return None
    rows = kpis[kpis["kpi"] == name]
    if rows.empty:
        return None
    terms = contract.kpi(name) if contract is not None else None
    label = terms.label if terms is not None and terms.label else name.replace("_", " ")
    target = terms.target if terms is not None else None
    guardrail = terms.guardrail if terms is not None else None
    if target is None or guardrail is None:
        target, guardrail = rows["target"].iloc[-1], rows["guardrail"].iloc[-1]
    higher = None
    if (
        target is not None
        and guardrail is not None
        and not pd.isna(target)
        and not pd.isna(guardrail)
    ):
        higher = bool(guardrail < target)
    values = pd.Series(
        list(rows["value"].astype(float)), index=list(pd.to_datetime(rows["date"]).dt.date)
    )
    return Figure(name, label[0].lower() + label[1:] if label else name, values, higher, "KPI")


def drift_impact(
    con: duckdb.DuckDBPyConnection,
    model: str,
    current: Window,
    reference: Reference | None = None,
    contract: Any = None,
) -> Impact:
    """Drift that matters for one model over `current` (whole UTC days), each day against the
    reference (default: the window of equal length just before), from the daily profiles.

    Args:
        contract: the model's contract (its drift thresholds, kind, KPIs), or None.
    """
    from metrics.drift.stored import timeline  # stored imports profiling; keep this light

    thresholds, share = contract_terms(contract)
    reference_window = (reference or Reference()).resolve(con, model, current)
    # The reference's own days too: a feature that "drifts" on most of them is a day pattern.
    span = Window(min(reference_window.since, current.since), current.until)
    line = timeline(con, model, reference_window, span, 1, thresholds, share)
    since, until = current.instants()
    kpis = models.kpi_daily(con, Filters(since, until, None, model))
    kpis = kpis[kpis["model"] == model]
    kind = getattr(contract, "kind", None) or quality.model_kinds(con, model).get(model)
    ranking = getattr(contract, "ranking", None)
    performance, performance_steps = performance_daily(
        con, model, kind, current, reference_window, ranking
    )
    found = rank(line, performance, kpi_figure(contract, kpis), current)
    found.performance_steps = performance_steps
    return found
