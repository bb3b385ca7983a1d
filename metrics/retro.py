"""The weekly retrospective: one week against the week before and the four weeks up to it,
with highlights in plain words, exportable as Markdown and HTML."""

from __future__ import annotations

import datetime as dt
import html
import numbers
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from metrics import activity, delivery, flow, formats, privacy
from metrics.filters import Filters, describe, last_days
from settings import Workflow

WEEK = dt.timedelta(days=7)


# Which way is good for each retro figure: the one table every "better" and "worse" on the
# page, in the highlights and in the exports comes from. None: neither way is better by itself
# (more tickets finished may be smaller tickets; WIP is a level to watch, not to push).
GOOD_DIRECTION: dict[str, str | None] = {
    "deployments": "higher",
    "lead_time": "lower",
    "change_failure_rate": "lower",
    "recovery_time": "lower",
    "rework_rate": "lower",
    "incidents": "lower",
    "throughput": None,
    "cycle_time": "lower",
    "wip": None,
    "flow_efficiency": "higher",
}

# The people behind each retro figure (metrics.privacy; the registry's entries read their
# `people` from here): a figure of fewer than `[privacy] min_people` people is withheld in that
# window. Incidents are counted per model in production, not per person's work: never withheld.
PEOPLE: dict[str, str | None] = {
    "deployments": "authors",
    "lead_time": "authors",
    "change_failure_rate": "authors",
    "recovery_time": "authors",
    "rework_rate": "authors",
    "incidents": None,
    "throughput": "assignees",
    "cycle_time": "assignees",
    "wip": "assignees",
    "flow_efficiency": "assignees",
}

# What a withheld figure shows in place of its value.
HIDDEN = "Hidden"

# What the levels are, and the figure that has none, as the page and the exports say it.
LEVELS_NOTE = (
    "DORA levels are DORA's 2023 bands; DORA's 2025 report replaced tiers with team profiles."
)
REWORK_NOTE = "Deployment rework rate has no DORA band yet: read its value and its trend."

# What the figures' changes compare with, as the page, the exports and `retro --format json`
# say it.
BASIS = "last week"

# A move from last week this large (relative to last week's shown value) makes a highlight.
HIGHLIGHT_SHARE = 0.1

# The colour of a change by its verdict, on the cards (neutral and unchanged are grey).
VERDICT_COLOURS = {"better": "green", "worse": "red", None: "gray"}

MINUS = "\u2212"


@dataclass(frozen=True)
class Change:
    """A figure's change against its basis, as shown: in the figure's unit at display precision.

    `value` is this week's shown number minus last week's (so the two shown numbers and the
    change always add up), in `unit` ("days", "h", "pts" or "" for counts). `direction` is
    "up", "down" or "unchanged", or None when one week has no figure; `verdict` is "better" or
    "worse" from GOOD_DIRECTION, None when unchanged, neutral or not comparable.
    """

    basis: str
    value: float | None
    unit: str
    direction: str | None
    verdict: str | None
    amount: str  # "+1.2 days", "unchanged", "no figure last week"

    @property
    def compared(self) -> bool:
        return self.direction is not None

    @property
    def text(self) -> str:
        """What the card shows: the amount, then the verdict ("+1.2 days (worse)")."""
        return f"{self.amount} ({self.verdict})" if self.verdict else self.amount

    def as_dict(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "value": self.value,
            "unit": self.unit,
            "direction": self.direction,
            "verdict": self.verdict,
            "amount": self.amount,
            "text": self.text,
        }


@dataclass(frozen=True)
class Figure:
    """One retro figure: this week, last week and the four weeks up to this one's end.

    For counts the 4-week figure is the weekly average; for medians and rates it is the value
    over the 28 days (a median of four medians would hide the spread). Hours show in one scale
    for the whole row (days from 48 h on, by this week's value), so this week, last week and
    the change read in the same unit.
    """

    key: str
    label: str
    unit: str  # "count", "hours" or "share"
    this_week: float | None
    last_week: float | None
    four_weeks: float | None
    level: str | None = None
    # The windows (this_week, last_week, four_weeks) withheld, with why; their values are None.
    hidden: dict[str, privacy.Withheld] = field(default_factory=dict)
    # What this week's figure counts, in words ("4 of 6 production deployments ..."), so a rate
    # reads against its own denominator, not against the count on the card beside it.
    detail: str | None = None

    @property
    def withheld(self) -> str | None:
        """Why this week's figure is not shown (None when it is)."""
        why = self.hidden.get("this_week")
        return why.reason if why else None

    @property
    def good(self) -> str | None:
        """Which way is better, "higher" or "lower"; None for a neutral figure."""
        return GOOD_DIRECTION[self.key]

    @property
    def scale(self) -> str:
        """The unit the row is shown in: "days" or "h" for hours, else the figure's unit."""
        if self.unit != "hours":
            return self.unit
        reference = next(
            (v for v in (self.this_week, self.last_week, self.four_weeks) if not _missing(v)),
            None,
        )
        return _hours_scale(reference)

    def shown(self, which: str) -> str:
        """One of this_week, last_week or four_weeks, as the page shows it."""
        if which in self.hidden:
            return HIDDEN
        return format_value(getattr(self, which), self.unit, self.scale)

    @property
    def change(self) -> Change:
        """The change from last week, as shown; see Change."""
        if "this_week" in self.hidden or "last_week" in self.hidden:
            return Change(BASIS, None, _change_unit(self.scale), None, None, "hidden")
        if _missing(self.this_week) or _missing(self.last_week):
            missing = (
                "no figure either week"
                if _missing(self.this_week) and _missing(self.last_week)
                else "no figure this week"
                if _missing(self.this_week)
                else "no figure last week"
            )
            return Change(BASIS, None, _change_unit(self.scale), None, None, missing)
        delta = _shown_number(self.this_week, self.scale) - _shown_number(
            self.last_week, self.scale
        )
        unit = _change_unit(self.scale)
        if delta == 0:
            return Change(BASIS, 0.0, unit, "unchanged", None, "unchanged")
        direction = "up" if delta > 0 else "down"
        verdict = None
        if self.good is not None:
            verdict = "better" if (direction == "up") == (self.good == "higher") else "worse"
        magnitude = _number_text(abs(delta))
        if unit == "pts":
            magnitude += " pt" if abs(delta) == 1 else " pts"
        elif unit:
            magnitude += f" {unit}"
        amount = ("+" if delta > 0 else MINUS) + magnitude
        return Change(BASIS, float(delta), unit, direction, verdict, amount)

    def as_dict(self) -> dict[str, Any]:
        """The figure as `retro --format json` prints it: values, what is shown, the change."""
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "good": self.good,
            "this_week": _plain(self.this_week),
            "last_week": _plain(self.last_week),
            "four_weeks": _plain(self.four_weeks),
            "shown": {w: self.shown(w) for w in ("this_week", "last_week", "four_weeks")},
            "change": self.change.as_dict(),
            "level": self.level,
            "withheld": self.withheld,
            "withheld_windows": {which: why.reason for which, why in self.hidden.items()},
            "detail": self.detail,
        }


def _missing(value: float | None) -> bool:
    return value is None or bool(pd.isna(value))


def _plain(value: float | None) -> float | int | None:
    """A figure's value for JSON (numpy numbers are not)."""
    if _missing(value):
        return None
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _hours_scale(value: float | None) -> str:
    return "days" if value is not None and value >= 48 else "h"


def _change_unit(scale: str) -> str:
    return {"share": "pts", "days": "days", "h": "h"}.get(scale, "")


def _shown_number(value: float, scale: str) -> Decimal:
    """The number a value shows as, exactly (shares in %, hours in `scale`, counts as is)."""
    if scale == "share":
        return Decimal(f"{value * 100:.0f}")
    if scale == "days":
        return Decimal(f"{value / 24:.1f}")
    if scale == "count" and float(value).is_integer():
        return Decimal(int(value))
    return Decimal(f"{value:.1f}")


def _number_text(number: Decimal) -> str:
    """A shown number with its own precision: "14", "1.2", "1.0", "1,204"."""
    return f"{number:,}"


@dataclass
class Retro:
    """Everything the retro screen and its exports show, for one team (or all) and one week."""

    week: Filters
    label: str
    figures: list[Figure]
    highlights: list[str]
    incidents: pd.DataFrame
    experiments: pd.DataFrame
    work_mix: pd.DataFrame
    handoffs: dict[str, dict[str, Any]]
    has_history: bool
    # The four weeks' cycle time {"median", "p85"} in hours: the lines on the cycle-time chart,
    # from the same flow summary as the figures' four-week levels.
    cycle_time_four_weeks: dict[str, float | None] = field(default_factory=dict)
    # The tickets in progress at the week's end, oldest first (flow.aging_wip), or why they are
    # withheld: the rows behind the work-in-progress figure, read once for both.
    aging_wip: pd.DataFrame | privacy.Withheld | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # The incident attribution rule in force (metrics.delivery.attribution_rule).
    attribution: dict[str, Any] = field(default_factory=dict)
    # This week's people bases withheld (metrics.privacy), with why: "assignees" hides the
    # work mix and hand-off waits too, "authors" the rows behind the delivery figures.
    withheld: dict[str, privacy.Withheld] = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        """What the levels are, the figure without one, and the attribution rule, in words."""
        rule = self.attribution.get("rule")
        notes = [LEVELS_NOTE, REWORK_NOTE] + ([f"Incident attribution: {rule}."] if rule else [])
        hidden = {why for f in self.figures for why in f.hidden.values()}
        return notes + sorted(why.note for why in hidden)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)

    def hidden_text(self, basis: str) -> str | None:
        """What stands in for a section built on `basis` ("authors", "assignees") when this
        week's is withheld ("Hidden: fewer than 3 people — hidden."); None when shown."""
        why = self.withheld.get(basis)
        return f"{HIDDEN}: {why.reason}." if why else None


def iso_week(text: str) -> Filters:
    """The UTC Monday-to-Monday window of an ISO week like 2026-W47."""
    try:
        year, week = text.upper().split("-W")
        monday = dt.date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise ValueError(f"--week must look like 2026-W47, got {text!r}") from None
    start = dt.datetime(monday.year, monday.month, monday.day, tzinfo=dt.UTC)
    return Filters(start, start + WEEK)


def recent_weeks(until: dt.datetime, count: int = 12) -> list[str]:
    """The ISO weeks (like 2026-W47) of the `count` weeks up to `until`, newest first."""
    last_day = (until - dt.timedelta(microseconds=1)).date()
    monday = last_day - dt.timedelta(days=last_day.weekday())
    labels = []
    for n in range(count):
        year, week, _ = (monday - dt.timedelta(weeks=n)).isocalendar()
        labels.append(f"{year}-W{week:02d}")
    return labels


def rolling_week(now: dt.datetime | None = None) -> Filters:
    """The last 7 days as everywhere in Tandem: the 7 whole UTC days ending with today."""
    return last_days(7, now)


def week_label(week: Filters) -> str:
    """The name a retro gives its week: the ISO week's name, else which 7 days they are."""
    if week.since.weekday() == 0 and week.until - week.since == WEEK:
        year, number, _ = week.since.isocalendar()
        return f"{year}-W{number:02d}"
    return describe(week)


def _scoped(window: Filters, team: str | None, model: str | None) -> Filters:
    return Filters(window.since, window.until, team, model)


# The label each retro figure shows, by its entry in metrics/registry.py (which reads them from
# here): one place to rename a figure on the page, in the export and in the highlights.
LABELS = {
    "deployment_frequency": "Deployments",
    "lead_time": "Lead time (median)",
    "change_failure": "Change failure rate",
    "recovery_time": "Recovery time (median)",
    "rework_rate": "Deployment rework rate",
    "incidents_opened": "Incidents opened",
    "throughput": "Tickets finished",
    "cycle_time": "Cycle time (median)",
    "wip": "Work in progress (at the end)",
    "flow_efficiency": "Flow efficiency",
}


def _readings(
    con: duckdb.DuckDBPyConnection,
    week: Filters,
    workflow: Workflow,
    min_people: int = privacy.DEFAULT_MIN_PEOPLE,
) -> tuple[dict[str, tuple[dict, dict, dict]], dict[str, dict]]:
    """Per window (this week, last week, the four weeks to it): the delivery, flow and activity
    summaries, and what is withheld; each computed once, for the figures and the rest. Also
    this week's aging work in progress and work mix, whose rows the page shows."""
    last = week.previous()
    month = Filters(week.until - 4 * WEEK, week.until, week.team, week.model)
    # The four weeks end when this week does: the same work in progress at the end.
    aging = flow.aging_wip(con, week, workflow)
    mix = flow.work_mix(con, week, workflow)
    readings = {}
    withheld = {}
    for name, window in (("this", week), ("last", last), ("month", month)):
        d = delivery.summary(con, window)
        f = flow.flow_summary(
            con,
            window,
            workflow,
            wip=None if name == "last" else len(aging),
            mix=mix if name == "this" else None,
        )
        a = activity.activity_summary(con, window)
        readings[name] = (d, f, a)
        withheld[name] = privacy.withheld(con, window, min_people)
    return readings, withheld, aging, mix


def _figures(
    readings: dict[str, tuple[dict, dict, dict]], withheld: dict[str, dict]
) -> list[Figure]:
    windows = {"this": "this_week", "last": "last_week", "month": "four_weeks"}

    def hidden(key):
        basis = PEOPLE[key]
        return {
            windows[name]: why
            for name, found in withheld.items()
            if basis and (why := found[basis]) is not None
        }

    def pick(getter, name, average=False):
        value = getter(*readings[name])
        if average and value is not None:
            return value / 4
        return value

    specs = [
        (
            "deployments",
            LABELS["deployment_frequency"],
            "count",
            lambda d, f, a: d["deployments"],
            True,
            lambda d: d["levels"]["deployment_frequency"],
        ),
        (
            "lead_time",
            LABELS["lead_time"],
            "hours",
            lambda d, f, a: d["lead_time_hours"]["median"],
            False,
            lambda d: d["levels"]["lead_time"],
        ),
        (
            "change_failure_rate",
            LABELS["change_failure"],
            "share",
            lambda d, f, a: d["change_failure_rate"],
            False,
            lambda d: d["levels"]["change_failure_rate"],
        ),
        (
            "recovery_time",
            LABELS["recovery_time"],
            "hours",
            lambda d, f, a: d["recovery_time_hours"]["median"],
            False,
            lambda d: d["levels"]["recovery_time"],
        ),
        (
            "rework_rate",
            LABELS["rework_rate"],
            "share",
            lambda d, f, a: d["rework_rate"],
            False,
            None,
        ),
        (
            "incidents",
            LABELS["incidents_opened"],
            "count",
            lambda d, f, a: a["incidents_opened"],
            True,
            None,
        ),
        (
            "throughput",
            LABELS["throughput"],
            "count",
            lambda d, f, a: f["throughput"],
            True,
            None,
        ),
        (
            "cycle_time",
            LABELS["cycle_time"],
            "hours",
            lambda d, f, a: f["cycle_time_hours"]["median"],
            False,
            None,
        ),
        (
            "wip",
            LABELS["wip"],
            "count",
            lambda d, f, a: f["wip"],
            False,
            None,
        ),
        (
            "flow_efficiency",
            LABELS["flow_efficiency"],
            "share",
            lambda d, f, a: f["flow_efficiency"],
            False,
            None,
        ),
    ]
    figures = []
    for key, label, unit, getter, average, level in specs:
        gone = hidden(key)
        values = {
            "this_week": pick(getter, "this"),
            "last_week": pick(getter, "last"),
            "four_weeks": pick(getter, "month", average),
        }
        figures.append(
            Figure(
                key=key,
                label=label,
                unit=unit,
                **{which: None if which in gone else v for which, v in values.items()},
                level=level(readings["this"][0]) if level and "this_week" not in gone else None,
                hidden=gone,
                detail=None if "this_week" in gone else _detail(key, readings["this"][0]),
            )
        )
    return figures


def _detail(key: str, d: dict[str, Any]) -> str | None:
    """What this week's delivery figure counts, in words (None for the other figures)."""
    if key == "deployments":
        return "successful production deployments"
    if key == "change_failure_rate" and d["deployments_attempted"]:
        attempted = d["deployments_attempted"]
        text = (
            f"{d['failed_deployments']} of {attempted} production deployments failed, "
            "were rolled back or caused an incident"
        )
        unsuccessful = attempted - d["deployments"]
        if unsuccessful:
            text += f"; the {attempted} include {unsuccessful} that did not succeed"
        return text
    if key == "rework_rate" and d["deployments"]:
        return f"{d['rework_deployments']} of {d['deployments']} successful production deployments"
    return None


def _highlights(figures: list[Figure], limit: int = 2) -> list[str]:
    """The biggest moves from last week, in words: the same basis, numbers and verdicts as the
    figures' changes.

    A move counts from HIGHLIGHT_SHARE of last week's shown value (any move from zero counts).
    Up to `limit` improvements, then regressions, then moves of neutral figures, each group
    largest first.
    """
    groups: dict[str | None, list[tuple[float, Figure]]] = {"better": [], "worse": [], None: []}
    for f in figures:
        change = f.change
        if change.direction not in ("up", "down"):
            continue
        base = abs(_shown_number(f.last_week, f.scale))
        relative = abs(change.value) / float(base) if base else float("inf")
        if relative < HIGHLIGHT_SHARE:
            continue
        groups[change.verdict].append((relative, f))
    sentences = []
    for verdict, verb in (("better", "improved"), ("worse", "got worse"), (None, "")):
        moves = sorted(groups[verdict], key=lambda m: m[0], reverse=True)[:limit]
        for _, f in moves:
            change = f.change
            if verdict is None:
                verb = "went up" if change.direction == "up" else "went down"
            sentences.append(
                f"{f.label} {verb}: {f.shown('this_week')} this week against "
                f"{f.shown('last_week')} {BASIS} ({change.amount})."
            )
    return sentences or [
        f"A steady week: no figure moved {HIGHLIGHT_SHARE:.0%} or more from {BASIS}."
    ]


def build(
    con: duckdb.DuckDBPyConnection,
    week: Filters,
    team: str | None,
    model: str | None,
    workflow: Workflow,
    label: str,
    min_people: int = privacy.DEFAULT_MIN_PEOPLE,
) -> Retro:
    """The retro for `week` (any 7-day window), for one team or model or everything; each
    figure withheld in a window where fewer than `min_people` people are behind it."""
    week = _scoped(week, team, model)
    readings, withheld_in, aging, mix = _readings(con, week, workflow, min_people)
    figures = _figures(readings, withheld_in)
    summary = readings["this"][1]
    mix = flow.mix_groups(mix, workflow)
    withheld = {basis: why for basis, why in withheld_in["this"].items() if why is not None}
    return Retro(
        week=week,
        label=label,
        figures=figures,
        highlights=_highlights(figures),
        incidents=delivery.incidents(con, week),
        experiments=flow.experiments(con, week, workflow),
        work_mix=mix.iloc[0:0] if "assignees" in withheld else mix,
        handoffs={} if "assignees" in withheld else summary["handoff_wait_hours"],
        has_history=flow.has_history(con, week),
        cycle_time_four_weeks=readings["month"][1]["cycle_time_hours"],
        aging_wip=withheld.get("assignees", aging),
        attribution=delivery.attribution_rule(con),
        withheld=withheld,
    )


def format_value(value: float | None, unit: str, scale: str | None = None) -> str:
    """A figure as a person reads it: counts plain, hours as h or days, shares as %.

    Hours show as days from 48 h on unless `scale` ("h" or "days") says which.
    """
    if _missing(value):
        return "–"
    if unit == "share":
        return f"{value * 100:.0f}%"
    if unit == "hours":
        scale = scale if scale in ("h", "days") else _hours_scale(value)
        return f"{value / 24:.1f} days" if scale == "days" else f"{value:.1f} h"
    return f"{value:,.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def change_text(f: Figure) -> str:
    """The change from last week as the card shows it: "+3 (better)", "\u22124 pts (worse)",
    "+14" (a neutral figure), "unchanged" or "no figure last week"."""
    return f.change.text


def _table_rows(retro: Retro) -> list[list[str]]:
    return [
        [
            f.label,
            f.shown("this_week"),
            f.shown("last_week"),
            f.shown("four_weeks"),
            change_text(f),
            f.level or "",
        ]
        for f in retro.figures
    ]


def _detail_lines(retro: Retro) -> list[str]:
    """What this week's rates count, one sentence per figure that has it (as under the cards)."""
    return [f"{f.label} this week: {f.detail}." for f in retro.figures if f.detail]


HEADER = [
    "",
    "This week",
    "Last week",
    "4 weeks",
    f"Change vs {BASIS}",
    "DORA level (2023 bands)",
]


def to_dict(retro: Retro) -> dict[str, Any]:
    """The retro's figures as `retro --format json` prints them: the same figures, shown values,
    changes, basis, verdicts and highlights as the page.

    Values are in the figure's unit (counts, hours, shares 0-1); `shown` and `change` are the
    page's words. The 4-week figure is the weekly average for counts and the 28-day value for
    medians and rates.
    """
    last = retro.week.previous()
    month = Filters(retro.week.until - 4 * WEEK, retro.week.until)
    return {
        "label": retro.label,
        "week": {**retro.week.as_dict(), "days": describe(retro.week)},
        "basis": BASIS,
        "last_week": {"since": last.since.isoformat(), "until": last.until.isoformat()},
        "four_weeks": {"since": month.since.isoformat(), "until": month.until.isoformat()},
        "figures": [f.as_dict() for f in retro.figures],
        "highlights": retro.highlights,
        "has_history": retro.has_history,
        "attribution": retro.attribution,
        "withheld": {basis: why.reason for basis, why in retro.withheld.items()},
        "notes": retro.notes,
    }


def _when(note: dict[str, Any]) -> str:
    """An annotation's time in words: "Tue 18 Nov 14:00 UTC", or a range "… to …"."""
    starts = dt.datetime.fromisoformat(note["starts_at"])
    if not note.get("ends_at"):
        return f"{starts:%a %d %b %H:%M} UTC"
    ends = dt.datetime.fromisoformat(note["ends_at"])
    return f"{starts:%a %d %b %H:%M} to {ends:%a %d %b %H:%M} UTC"


def _written_lines(annotations: list[dict[str, Any]], actions: list[dict[str, Any]]) -> list[str]:
    """What people wrote beside the week, as plain lines (HTML characters escaped, so a note
    pasted into a wiki or mail runs nothing): `notes` and `actions` as writeback gives them."""
    e = html.escape
    lines = ["", "## Annotations", ""]
    if not annotations:
        lines.append("None this week.")
    for note in annotations:
        scope = note.get("model") or note.get("team") or "company"
        text = " ".join(e(note["text"]).split())
        lines.append(f"- {_when(note)} ({scope}, {e(note['author'])}): {text}")
    lines += ["", "## Retro actions", ""]
    if not actions:
        lines.append("None open this week.")
    for action in actions:
        state = "open" if action["status"] == "open" else f"closed: {e(action['outcome'] or '')}"
        line = (
            f"- {e(action['text'])} (owner {e(action['owner'])}, due {action['due_week']}, {state})"
        )
        if action.get("in_words"):
            line += f" {e(action['in_words'])}"
        lines.append(line)
    return lines


def _span(retro: Retro, everything: str) -> str:
    """The week's days and whose figures they are: "Mon 16 Nov 2026 to Sun 22 Nov 2026 (UTC),
    risk."; `everything` when no team or model is chosen."""
    scope = " · ".join(x for x in (retro.week.team, retro.week.model) if x) or everything
    last_day = retro.week.until - dt.timedelta(seconds=1)
    return f"{retro.week.since:%a %d %b %Y} to {last_day:%a %d %b %Y} (UTC), {scope}."


def to_markdown(
    retro: Retro,
    annotations: list[dict[str, Any]] | None = None,
    actions: list[dict[str, Any]] | None = None,
    everything: str = "all teams",
) -> str:
    """The retro as Markdown, for the retro notes; with the week's annotations and retro
    actions (as `report --json` gives them) when the caller read them. `everything` says what
    no team chosen covers for the reader (access.Scope.everything)."""
    lines = [
        f"# Retro: {retro.label}",
        "",
        _span(retro, everything),
        "",
        "## Highlights",
        "",
    ]
    lines += [f"- {h}" for h in retro.highlights]
    lines += ["", "## Figures", "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in _table_rows(retro)]
    lines += [""] + [f"_{line}_" for line in _detail_lines(retro) + retro.notes]
    if not retro.has_history:
        lines += [
            "",
            "_No ticket status history: cycle time, flow efficiency and hand-off "
            "waits need the tickets' transitions (a Jira CSV export has none)._",
        ]
    lines += ["", "## Incidents", ""]
    if retro.incidents.empty:
        lines.append("None this week.")
    for r in retro.incidents.itertuples():
        state = (
            "open"
            if pd.isna(r.resolved_at)
            else f"resolved in {format_value(r.recovery_time_hours, 'hours')}"
        )
        lines.append(
            f"- {r.incident_id} ({r.severity or 'no severity'}, {r.model}): "
            f"{r.title or 'untitled'}: {state}"
        )
    lines += ["", "## Where work waited", ""]
    flow_hidden = retro.hidden_text("assignees")
    if flow_hidden:
        lines.append(flow_hidden)
    elif not retro.handoffs:
        lines.append("No hand-off between roles this week.")
    for name, wait in retro.handoffs.items():
        lines.append(
            f"- {formats.handoff(name)}: {wait['count']} hand-offs, median wait "
            f"{format_value(wait['median'], 'hours')}"
        )
    lines += ["", "## Work mix", ""]
    lines += [flow_hidden] if flow_hidden else ["| Group | Share | Target |", "|---|---|---|"]
    for r in retro.work_mix.itertuples():
        lines.append(
            f"| {r.group} | {format_value(r.share, 'share')} | {format_value(r.target, 'share')} |"
        )
    lines += ["", "## Experiments decided", ""]
    if retro.experiments.empty:
        lines.append("None this week.")
    for r in retro.experiments.itertuples():
        lines.append(f"- {r.ticket_id} {r.title or ''} ({r.model or 'no model'}): {r.outcome}")
    if annotations is not None or actions is not None:
        lines += _written_lines(annotations or [], actions or [])
    return "\n".join(lines) + "\n"


def to_html(
    retro: Retro,
    annotations: list[dict[str, Any]] | None = None,
    actions: list[dict[str, Any]] | None = None,
    everything: str = "all teams",
) -> str:
    """The retro as a standalone HTML page (escaped), for mail or a wiki; with the week's
    annotations and retro actions when given (see to_markdown)."""
    e = html.escape
    span = _span(retro, everything)
    rows = "".join(
        "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in _table_rows(retro)
    )
    head = "".join(f"<th>{e(h)}</th>" for h in HEADER)
    highlights = "".join(f"<li>{e(h)}</li>" for h in retro.highlights)
    incidents = (
        "".join(
            f"<li>{e(str(r.incident_id))} ({e(str(r.severity))}, {e(str(r.model))}): "
            f"{e(str(r.title or 'untitled'))}</li>"
            for r in retro.incidents.itertuples()
        )
        or "<li>None this week.</li>"
    )
    flow_hidden = retro.hidden_text("assignees")
    waits = (
        "".join(
            f"<li>{e(formats.handoff(name))}: {w['count']} hand-offs, median wait "
            f"{e(format_value(w['median'], 'hours'))}</li>"
            for name, w in retro.handoffs.items()
        )
        or f"<li>{e(flow_hidden or 'No hand-off between roles this week.')}</li>"
    )
    mix = "".join(
        f"<tr><td>{e(r.group)}</td><td>{e(format_value(r.share, 'share'))}</td>"
        f"<td>{e(format_value(r.target, 'share'))}</td></tr>"
        for r in retro.work_mix.itertuples()
    ) or (f'<tr><td colspan="3">{e(flow_hidden)}</td></tr>' if flow_hidden else "")
    experiments = (
        "".join(
            f"<li>{e(str(r.ticket_id))} {e(str(r.title or ''))}: {e(str(r.outcome))}</li>"
            for r in retro.experiments.itertuples()
        )
        or "<li>None this week.</li>"
    )
    notes = "".join(f"<p><em>{e(note)}</em></p>" for note in _detail_lines(retro) + retro.notes)
    written = ""
    if annotations is not None or actions is not None:
        # _written_lines escapes what people wrote; the lines are Markdown list items.
        for line in _written_lines(annotations or [], actions or []):
            if line.startswith("## "):
                written += f"<h2>{line[3:]}</h2>"
            elif line:
                written += f"<p>{line.removeprefix('- ')}</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Retro: {e(retro.label)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}
td:first-child,th:first-child{{text-align:left}}</style></head><body>
<h1>Retro: {e(retro.label)}</h1>
<p>{e(span)}</p>
<h2>Highlights</h2><ul>{highlights}</ul>
<h2>Figures</h2><table><tr>{head}</tr>{rows}</table>
{notes}
<h2>Incidents</h2><ul>{incidents}</ul>
<h2>Where work waited</h2><ul>{waits}</ul>
<h2>Work mix</h2><table><tr><th>Group</th><th>Share</th><th>Target</th></tr>{mix}</table>
<h2>Experiments decided</h2><ul>{experiments}</ul>
{written}
</body></html>
"""
