"""Demo data: one deterministic, believable year of every canonical feed, ending on a given day.

`generate(end, now)` returns one DataFrame per canonical feed (see DESIGN.md, "Canonical feeds")
for the 365 UTC days `end - 364 days` .. `end`, for three teams and the models in `MODELS`, as
they stand at `now`: nothing in any feed happens after it (`as_of` says what each feed holds
then). It is pure (no I/O, no DuckDB, no global state; the caller passes the clock) and seeded:
the same `end`, `now` and `seed` give identical frames.

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

The drift story (`STORY`, and `story(end)` for its dates and ids), inside the default 28-day
window that ends on `end`: 23 days before `end` the upstream sessions service starts logging
`session_length_s` in milliseconds. The recommender's feature jumps a thousandfold and stays
there, its click-through rate falls through the guardrail, an incident is opened two days
later, a retrained recommender (a new major version) reaches production nine days after the
shift and resolves the incident, and click-through is back to its usual level three days after
that, for the window's last twelve days.

Where things are, one module per idea, each importing only the ones above it:
- `catalogue`: the feeds, teams, people, features, KPIs and models, and the story's facts;
- `year`: the calendar, office hours, the story's days and moments, the random streams;
- `incidents` and `delivery`: deployments, changes and incidents (the delivery timeline);
- `inference`: the request log; `kpis`: the daily KPIs; `tickets`: tickets and transitions;
- `as_of`: the year cut at `now`;
- `build`: `generate` and `story`, which this package re-exports.
"""

from connectors.demo_data.build import generate, story
from connectors.demo_data.catalogue import (
    FEEDS,
    MODELS,
    MODELS_BY_NAME,
    STORY,
    TEAMS,
    feature_columns,
)

__all__ = [
    "FEEDS",
    "MODELS",
    "MODELS_BY_NAME",
    "STORY",
    "TEAMS",
    "feature_columns",
    "generate",
    "story",
]
