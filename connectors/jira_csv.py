"""Jira's CSV export: tickets and incidents from a file, without any status history.

    [[sources]]
    name = "jira-export"
    kind = "jira_csv"
    path = "exports/jira/*.csv"              # relative to this file's folder
    # date_format = "%d/%b/%y %I:%M %p"      # strptime; Jira's default "23/Nov/26 9:41 AM"
    # timezone = "Europe/Berlin"             # the exporting user's timezone (default UTC)
    # story_points_column = "Custom field (Story Points)"
    # deployment_column = "Custom field (Deployment ID)"  # incidents: the deployment...
    # deployment_label_prefix = "deploy:"    # ...or a label "deploy:<deployment_id>"
    # team, team_label_prefix, model_label_prefix, teams, models, category_label_prefix,
    # roles, incident_type: as for kind "jira"

The export names columns by display name ("Issue key", "Issue Type", "Custom field (Story
Points)") and repeats a column once per value of a multi-value field ("Labels", "Labels", ...;
"Sprint"; "Component/s"); every repeat is read, also when a tool renamed them "Labels.1" (pandas)
or "Labels_1" (DuckDB). Dates are in the exporting user's locale and timezone: `date_format`
and `timezone` say which (month names in English); a date that does not parse is passed on as
text, so the loader quarantines its row with the line number.

An export has no status history: it produces tickets (throughput, lead time from created to
resolved, work mix) but no ticket_transitions, so cycle time, blocked time, hand-offs and
reopens stay empty and the app says the tickets have no status history.
"""

from __future__ import annotations

import csv
import datetime as dt
import glob
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.base import Connector
from connectors.jira import COLUMNS, IssueRules, zone
from connectors.loader import Batch, Reject, SourceError

DEFAULT_DATE_FORMAT = "%d/%b/%y %I:%M %p"
DEFAULT_STORY_POINTS = ("Custom field (Story Points)", "Custom field (Story point estimate)")
KEY_COLUMN = "Issue key"
COMPONENT_COLUMNS = ("Component/s", "Components")
_REPEAT = re.compile(r"(.+?)[._](\d+)")


@dataclass(frozen=True)
class ExportFile:
    """One export file's text, for one feed: what extract yields."""

    feed: str
    path: str
    text: str


def canonical_headers(header: list[str]) -> list[str]:
    """Header names with a tool's renaming of repeated columns undone ("Labels.1" -> "Labels")."""
    present = set(header)
    names = []
    for name in header:
        match = _REPEAT.fullmatch(name)
        names.append(match.group(1) if match and match.group(1) in present else name)
    return names


def _options(value: Any, what: str, source: str, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return default
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SourceError(f"source {source!r}: `{what}` is a column name or a list of them")


class JiraCsvConnector(Connector):
    """A Jira CSV export (all fields or current fields): tickets and incidents."""

    kind = "jira_csv"
    produces = ("tickets", "incidents")

    def validate(self) -> None:
        super().validate()
        name = self.source.name
        if self.source.option("path") is None:
            raise SourceError(f"source {name!r}: kind 'jira_csv' needs a `path` (glob)")
        date_format = self.source.option("date_format", DEFAULT_DATE_FORMAT)
        if not isinstance(date_format, str) or "%" not in date_format:
            raise SourceError(
                f"source {name!r}: `date_format` is a strptime format like {DEFAULT_DATE_FORMAT!r}"
            )
        self.date_format = date_format
        self.zone = zone(name, self.source.option("timezone", "UTC"))
        self.story_points = _options(
            self.source.option("story_points_column"),
            "story_points_column",
            name,
            DEFAULT_STORY_POINTS,
        )
        self.deployment = _options(
            self.source.option("deployment_column"), "deployment_column", name, ()
        )
        self.rules = IssueRules.from_options(name, self.source.option)

    # -- I/O ------------------------------------------------------------------------------------

    def _paths(self) -> list[Path]:
        pattern = self.source.path_option("path")
        paths = sorted(Path(p) for p in glob.glob(str(pattern), recursive=True))
        paths = [p for p in paths if p.is_file()]
        if not paths:
            raise SourceError(f"source {self.source.name!r}: no file matches {pattern}")
        return paths

    def estimate(self) -> int | None:
        return len(self._paths()) * (1 if self.source.feed else len(self.produces))

    def extract(self) -> Iterator[ExportFile]:
        wanted = [self.source.feed] if self.source.feed else list(self.produces)
        for path in self._paths():
            try:
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as error:
                raise SourceError(
                    f"source {self.source.name!r}: cannot read {path}: {error}"
                ) from None
            for feed in wanted:
                yield ExportFile(feed, str(path), text)

    # -- pure -----------------------------------------------------------------------------------

    def _instant(self, text: str | None) -> str | None:
        """A date of the export as ISO 8601 in UTC; the text itself if it does not parse."""
        if text is None:
            return None
        try:
            local = dt.datetime.strptime(text, self.date_format)
        except ValueError:
            try:
                local = dt.datetime.fromisoformat(text)
            except ValueError:
                return text  # the loader quarantines the row, naming the value
        if local.tzinfo is None:
            local = local.replace(tzinfo=self.zone)
        return local.astimezone(dt.UTC).isoformat()

    def normalize(self, raw: ExportFile) -> Batch:
        reader = csv.reader(io.StringIO(raw.text, newline=""))
        header = next(reader, None)
        if not header:
            raise SourceError(f"source {self.source.name!r}: {raw.path} is empty")
        names = canonical_headers([h.strip() for h in header])
        if KEY_COLUMN not in names:
            raise SourceError(
                f"source {self.source.name!r}: {raw.path} has no {KEY_COLUMN!r} column "
                f"(is it a Jira CSV export? columns: {', '.join(names[:12])})"
            )
        positions: dict[str, list[int]] = {}
        for index, name in enumerate(names):
            positions.setdefault(name, []).append(index)
        first_feed = self.source.feed or self.produces[0]
        rows: list[dict] = []
        rejects: list[Reject] = []
        line = reader.line_num
        for record in reader:
            start, line = line + 1, reader.line_num
            if not record:
                continue  # a blank line
            if len(record) != len(header):
                if raw.feed == first_feed:
                    rejects.append(
                        Reject(
                            start,
                            _as_csv(record),
                            f"line {start}: {len(record)} fields, the header has {len(header)}",
                        )
                    )
                continue
            row = self._row(raw.feed, record, positions)
            if row is not None:
                rows.append({**row, "__row": start})
        frame = pd.DataFrame(rows, columns=[*COLUMNS[raw.feed], "__row"], dtype=object)
        frame["__row"] = frame["__row"].astype("int64")
        return Batch(raw.feed, raw.path, frame=frame, rejects=rejects)

    def _row(self, feed: str, record: list[str], positions: dict[str, list[int]]) -> dict | None:
        def values(*columns: str) -> list[str]:
            return [
                record[i].strip()
                for column in columns
                for i in positions.get(column, [])
                if record[i].strip()
            ]

        def value(*columns: str) -> str | None:
            found = values(*columns)
            return found[0] if found else None

        issue_type = value("Issue Type")
        if self.rules.is_incident(issue_type) != (feed == "incidents"):
            return None
        labels = values("Labels")
        components = values(*COMPONENT_COLUMNS)
        if feed == "incidents":
            return {
                "incident_id": value(KEY_COLUMN),
                "title": value("Summary"),
                "model": self.rules.model_of(labels, components),
                "team": self.rules.team_of(labels, components),
                "opened_at": self._instant(value("Created")),
                "resolved_at": self._instant(value("Resolved")),
                "severity": value("Priority"),
                "deployment_id": value(*self.deployment) or self.rules.deployment_of(labels),
            }
        assignee = value("Assignee")
        sprints = values("Sprint")
        return {
            "ticket_id": value(KEY_COLUMN),
            "title": value("Summary"),
            "type": issue_type,
            "work_category": self.rules.category_of(labels),
            "team": self.rules.team_of(labels, components),
            "model": self.rules.model_of(labels, components),
            "assignee": assignee,
            "role": self.rules.role(assignee),
            "created_at": self._instant(value("Created")),
            "resolved_at": self._instant(value("Resolved")),
            "status": value("Status"),
            "story_points": value(*self.story_points),
            "sprint": sprints[-1] if sprints else None,
            "labels": labels or None,
        }


def _as_csv(record: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(record)
    return out.getvalue()
