"""The demo year's tickets and their transitions: a Jira-like workflow with hand-offs from data
science to engineering, blocked spells, reopens, incident follow-ups, the drift story's two
tickets, and work still open at the end.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from connectors.demo_data.catalogue import (
    EXPERIMENT_OUTCOMES,
    MODELS,
    MODELS_BY_NAME,
    PEOPLE,
    STORY,
    TEAMS,
    TICKET_PROJECT,
    feed_frame,
)
from connectors.demo_data.delivery import Timeline
from connectors.demo_data.year import (
    OFFICE_HOURS_PER_DAY,
    Calendar,
    after_office_hours,
    hours,
    story_moments,
    to_utc,
)

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
        self.move_at(after_office_hours(self.at, office_hours), to_status, assignee, role)

    def move_at(self, at: dt.datetime, to_status: str, assignee: str, role: str) -> None:
        at = max(at, self.at + dt.timedelta(minutes=5))
        self.moves.append((at, self.status, to_status, assignee, role))
        self.status, self.at = to_status, at


def _lognormal_hours(rng: np.random.Generator, median: float, sigma: float) -> float:
    return float(rng.lognormal(np.log(median), sigma))


def _sprint(day: dt.date) -> str:
    """Two-week sprints numbered by ISO week pairs: weeks 1-2 are S01, weeks 45-46 are S23."""
    iso = day.isocalendar()
    return f"{iso.year}-S{(iso.week + 1) // 2:02d}"


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
        work = min(work * rng.uniform(8, 20), 60 * OFFICE_HOURS_PER_DAY)
    if rng.random() < 0.12:
        flow.move("Blocked", work * rng.uniform(0.2, 0.6), assignee, role)
        blocked = _lognormal_hours(rng, 13, 0.8)
        if rng.random() < 0.08:
            blocked = rng.uniform(25, 60) * OFFICE_HOURS_PER_DAY  # another team, for weeks
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


def _story_tickets(cal: Calendar, timeline: Timeline) -> list[tuple[dict, _Flow]]:
    """The two tickets the drift story left behind: the bug hunt and the retrain hand-off."""
    moments = story_moments(cal)
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
    bug_flow.move_at(bug["created_at"] + hours(0.6), "In Progress", engineer, "engineering")
    # Waiting on the sessions team to confirm the unit change.
    bug_flow.move_at(bug_flow.at + hours(26), "Blocked", engineer, "engineering")
    bug_flow.move_at(bug_flow.at + hours(47), "In Progress", engineer, "engineering")
    bug_flow.move_at(retrained - hours(20), "In Review", engineer, "engineering")
    bug_flow.move_at(retrained + hours(1.2), "Done", engineer, "engineering")

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
        retrain["created_at"] + hours(0.8), "In Progress", scientist, "data_science"
    )
    retrain_flow.move_at(retrained - hours(48), "Ready for Engineering", scientist, "data_science")
    retrain_flow.move_at(retrained - hours(26), "In Progress", engineer, "engineering")
    retrain_flow.move_at(retrained - hours(4), "In Review", engineer, "engineering")
    retrain_flow.move_at(retrained + hours(0.5), "Done", engineer, "engineering")
    return [(bug, bug_flow), (retrain, retrain_flow)]


def _draw_ticket(team: str, day: int, cal: Calendar, rng: np.random.Generator) -> dict:
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
        "created_at": cal.day(day) + hours(rng.uniform(8.5, 18)),
        "story_points": points,
        "labels": labels,
    }


def tickets_and_transitions(
    cal: Calendar,
    timeline: Timeline,
    rng: np.random.Generator,
    now: dt.datetime | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tickets and their transitions, cut at the end of the year or at `now` (a naive UTC
    datetime) if earlier: what is open then stays open."""
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
            + hours(rng.uniform(0.2, 2)),
            "story_points": float(rng.choice([1, 2, 3])),
            "labels": [MODELS_BY_NAME[incident.model].label, "incident"],
        }
        planned.append((ticket, _ticket_moves(ticket, rng, PEOPLE[incident.team])))
    planned.extend(_story_tickets(cal, timeline))

    return _ticket_frames(planned, cal, rng, now)


def _ticket_frames(
    planned: list[tuple[dict, _Flow]],
    cal: Calendar,
    rng: np.random.Generator,
    now: dt.datetime | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cut every planned ticket at the end of the year, number them, and build both frames
    as they stand at `now` (nothing after it), if that is earlier.

    Outcomes are drawn for the year's decided experiments whatever `now` is, so a ticket seen
    earlier reads as it does at the end of the year, only with its later moves missing.
    """
    cutoff = cal.cutoff
    planned = [item for item in planned if item[0]["created_at"] < cutoff]
    planned.sort(key=lambda item: (item[0]["created_at"], item[0]["title"]))

    def happened(at: dt.datetime) -> bool:
        return at < cutoff and (now is None or at <= now)

    today = cal.end if now is None else min(cal.end, now.date())
    counters = dict.fromkeys(TEAMS, 100)
    tickets, transitions = [], []
    for ticket, flow in planned:
        counters[ticket["team"]] += 1
        ticket_id = f"{TICKET_PROJECT[ticket['team']]}-{counters[ticket['team']]}"
        year_moves = [move for move in flow.moves if move[0] < cutoff]
        outcome = None
        if ticket["type"] == "Experiment" and any(move[2] == "Done" for move in year_moves):
            outcome = str(rng.choice(EXPERIMENT_OUTCOMES, p=[0.35, 0.4, 0.25]))
        if not happened(ticket["created_at"]):
            continue
        moves = [move for move in year_moves if happened(move[0])]
        status = moves[-1][2] if moves else "To Do"
        assignee = moves[-1][3] if moves else ticket["assignee"]
        role = moves[-1][4] if moves else ticket["role"]
        labels = list(ticket["labels"])
        if outcome is not None and status == "Done":
            labels.append(outcome)
        resolved_at = moves[-1][0] if status == "Done" else None
        if status == "Done":
            sprint = _sprint(resolved_at.date())
        elif moves or ticket["created_at"].date() >= today - dt.timedelta(days=13):
            sprint = _sprint(today)  # carried into the current sprint
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
    ticket_frame["created_at"] = to_utc(ticket_frame["created_at"])
    ticket_frame["resolved_at"] = to_utc(ticket_frame["resolved_at"])
    ticket_frame["story_points"] = ticket_frame["story_points"].astype(float)
    transition_frame = pd.DataFrame(transitions)
    transition_frame["at"] = to_utc(transition_frame["at"])
    transition_frame = transition_frame.sort_values(["at", "ticket_id"], kind="stable")
    return feed_frame(ticket_frame, "tickets"), feed_frame(transition_frame, "ticket_transitions")
