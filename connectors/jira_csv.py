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
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pandas as pd

from connectors.base import Connector
from connectors.files import TrackedFiles
from connectors.jira import COLUMNS, IssueRules, names_option, zone
from connectors.loader import Batch, Reject, SourceError

DEFAULT_DATE_FORMAT = "%d/%b/%y %I:%M %p"
DEFAULT_STORY_POINTS = ("Custom field (Story Points)", "Custom field (Story point estimate)")
KEY_COLUMN = "Issue key"
COMPONENT_COLUMNS = ("Component/s", "Components")
_REPEAT = re.compile(r"(.+?)[._](\d+)")


@dataclass(frozen=True)
class Export:
    """One export file, parsed: where each column is, its records, the lines it could not split."""

    path: str
    # Column name -> its positions (a multi-value field repeats its column).
    positions: Mapping[str, tuple[int, ...]]
    # (line number, fields) of each record with as many fields as the header.
    records: tuple[tuple[int, tuple[str, ...]], ...]
    rejects: tuple[Reject, ...]


@dataclass(frozen=True)
class ExportFile:
    """One parsed export file, for one feed: what extract yields (one parse for every feed)."""

    feed: str
    export: Export


def canonical_headers(header: list[str]) -> list[str]:
    """Header names with a tool's renaming of repeated columns undone ("Labels.1" -> "Labels")."""
    present = set(header)
    names = []
    for name in header:
        match = _REPEAT.fullmatch(name)
        names.append(match.group(1) if match and match.group(1) in present else name)
    return names


def parse_export(source: str, path: str, text: str) -> Export:
    """An export's text as an Export; a SourceError if it is empty or not a Jira export.

    Args:
        source: the source's name, for errors.
        path: the file's path, for errors and as the rows' origin.
        text: the file's whole text.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise SourceError(f"source {source!r}: {path} is empty")
    names = canonical_headers([h.strip() for h in header])
    if KEY_COLUMN not in names:
        raise SourceError(
            f"source {source!r}: {path} has no {KEY_COLUMN!r} column "
            f"(is it a Jira CSV export? columns: {', '.join(names[:12])})"
        )
    positions: dict[str, tuple[int, ...]] = {}
    for index, name in enumerate(names):
        positions[name] = (*positions.get(name, ()), index)
    records: list[tuple[int, tuple[str, ...]]] = []
    rejects: list[Reject] = []
    line = reader.line_num
    for record in reader:
        start, line = line + 1, reader.line_num
        if not record:
            continue  # a blank line
        if len(record) != len(header):
            reason = f"line {start}: {len(record)} fields, the header has {len(header)}"
            rejects.append(Reject(start, _as_csv(record), reason))
            continue
        records.append((start, tuple(record)))
    return Export(path, positions, tuple(records), tuple(rejects))


class JiraCsvConnector(TrackedFiles, Connector):
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
        story_points = self._columns("story_points_column")
        self.story_points = DEFAULT_STORY_POINTS if story_points is None else story_points
        self.deployment = self._columns("deployment_column") or ()
        self.rules = IssueRules.from_options(name, self.source.option)

    def _columns(self, key: str) -> tuple[str, ...] | None:
        return names_option(self.source.option(key), key, self.source.name, "a column name")

    def _wanted(self) -> list[str]:
        return [self.source.feed] if self.source.feed else list(self.produces)

    # -- I/O ------------------------------------------------------------------------------------

    def estimate(self) -> int | None:
        return len(self.tracker.to_read()) * len(self._wanted())

    def extract(self) -> Iterator[ExportFile]:
        paths = self.tracker.to_read()
        for path in paths:
            self.tracker.reading(path)
        for path in paths:
            try:
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as error:
                raise SourceError(
                    f"source {self.source.name!r}: cannot read {path}: {error}"
                ) from None
            export = parse_export(self.source.name, str(path), text)
            for feed in self._wanted():
                yield ExportFile(feed, export)
        self.state = self.tracker.state()

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
        export = raw.export
        rows: list[dict] = []
        for line, record in export.records:
            row = self._row(raw.feed, record, export.positions)
            if row is not None:
                rows.append({**row, "__row": line})
        frame = pd.DataFrame(rows, columns=[*COLUMNS[raw.feed], "__row"], dtype=object)
        frame["__row"] = frame["__row"].astype("int64")
        # Lines that could not be split belong to no feed: the first feed read reports them.
        rejects = list(export.rejects) if raw.feed == self._wanted()[0] else []
        return Batch(raw.feed, export.path, frame=frame, rejects=rejects)

    def _row(
        self, feed: str, record: tuple[str, ...], positions: Mapping[str, tuple[int, ...]]
    ) -> dict | None:
        def values(*columns: str) -> list[str]:
            return [
                record[i].strip()
                for column in columns
                for i in positions.get(column, ())
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
        # The account id where the export has it ("Assignee Id", all fields), as the REST
        # connector stores it; else the display name. Roles read the display name first.
        display = value("Assignee")
        assignee = value("Assignee Id") or display
        sprints = values("Sprint")
        return {
            "ticket_id": value(KEY_COLUMN),
            "title": value("Summary"),
            "type": issue_type,
            "work_category": self.rules.category_of(labels),
            "team": self.rules.team_of(labels, components),
            "model": self.rules.model_of(labels, components),
            "assignee": assignee,
            "role": self.rules.role(assignee, display),
            "created_at": self._instant(value("Created")),
            "resolved_at": self._instant(value("Resolved")),
            "status": value("Status"),
            "story_points": value(*self.story_points),
            "sprint": sprints[-1] if sprints else None,
            "labels": labels or None,
        }


def _as_csv(record: list[str]) -> str:
    """A record as the one CSV line it came from (quoting redone)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(record)
    return out.getvalue()
