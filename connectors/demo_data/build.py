"""The demo's entry points: `generate(end, now)` builds every canonical feed of the year as it
stands at `now`, `story(end)` the drift story's dates and ids.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from connectors.demo_data import as_of
from connectors.demo_data.catalogue import feed_frame
from connectors.demo_data.delivery import delivery_timeline
from connectors.demo_data.inference import inference_log
from connectors.demo_data.kpis import daily_kpis
from connectors.demo_data.tickets import tickets_and_transitions
from connectors.demo_data.year import random_streams, year_calendar


def _as_date(end: dt.date) -> dt.date:
    return end.date() if isinstance(end, dt.datetime) else end


def story(end: dt.date, seed: int = 7) -> dict:
    """The drift story's dates and ids for the year `generate(end, seed)` produces.

    Returns a dict: model, feature, kpi, drift_start (date), drift_started_at, incident_id,
    incident_opened_at, retrain_deployment_id, retrain_version, version_before_retrain,
    retrain_finished_at (UTC timestamps), recovery (the first date click-through is back to
    its usual level). Cheap: it builds the delivery timeline only, not the request log.
    """
    return dict(delivery_timeline(_as_date(end), seed).story)


def generate(
    end: dt.date, now: dt.datetime | None = None, seed: int = 7
) -> dict[str, pd.DataFrame]:
    """One year of every canonical feed, ending on (and including) the UTC day `end`, as it
    stands at `now`.

    Args:
        end: the last day of the year of data; the first is `end - 364 days`.
        now: the current instant (naive means UTC): no row of any feed happens after it (see
            `as_of` for what each feed holds then). None: the whole year, to the end of `end`.
            A `now` before the end of `end` cuts the same year there: the ids, and all that
            had happened by then, are those of the whole year.
        seed: seeds `numpy.random.default_rng`; the same `end`, `now` and `seed` give equal
            frames.

    Returns:
        A dict keyed by the names in `FEEDS`, each a DataFrame with that feed's canonical
        columns in order (inference adds one column per feature in `feature_columns()`).
        Timestamps are datetime64[ns, UTC]; kpis.date is a naive datetime64[ns] at midnight.
    """
    end = _as_date(end)
    cal = year_calendar(end)
    timeline = delivery_timeline(end, seed)
    streams = random_streams(seed)
    moment = None if now is None else as_of.naive_utc(now)
    tickets, transitions = tickets_and_transitions(cal, timeline, streams["tickets"], moment)
    frames = {
        "deployments": timeline.deployments,
        "changes": timeline.changes,
        "incidents": feed_frame(timeline.incidents, "incidents"),
        "inference": inference_log(cal, timeline, streams["inference"]),
        "kpis": daily_kpis(cal, timeline, streams["kpis"]),
        "tickets": tickets,
        "ticket_transitions": transitions,
    }
    return frames if moment is None else as_of.cut(frames, moment)
