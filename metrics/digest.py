"""The weekly digest: one week's retro, what people wrote beside it and its charts, as an HTML
page and a PDF, posted to a Slack incoming webhook or mailed over SMTP.

The retro is `retro.to_html` itself (the same figures, changes and highlights as `retro
--format json`); the digest adds the week's annotations, last week's open actions with their
figure then and now in words, the week's decisions and the charts as PNG images.

Images and PDF come from Debian's Chromium, headless. Plotly's own static export needs
Kaleido: its 0.2 line ships a Chromium of its own, and its 1.x line (which can drive the
system's Chromium) needs Plotly 6, while Tandem pins Plotly 5 for Evidently. So plotly.js draws
each chart in a local page that Chromium screenshots (no network, nothing downloaded), and the
same Chromium prints the digest page to PDF.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import json
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from markdown_it import MarkdownIt

import settings
from metrics import db, delivery, formats, privacy, retro, writeback
from metrics.filters import Filters
from notes import store

TARGETS = ("file", "webhook", "email")
CHROMIUM_TIMEOUT_SECONDS = 90
SEND_TIMEOUT_SECONDS = 30
CHART_SIZE = (900, 340)
# Slack's limits: a section's text at most 3,000 characters, a header's 150.
SLACK_SECTION_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
ONE_LINE_LIMIT = 280

# Tandem's colours for the digest's charts, written into the figures' own template (never
# Plotly's global default, which other libraries change at import). pages/charts.py holds the
# screens' template; metrics/ cannot import pages/, so these few colours are repeated here.
COLOURS = {
    "success": "#21c354",
    "failure": "#ff4b4b",
    "incident": "#803df5",
    "week": "#0068c9",
    "bar": "#0068c9",
}
TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": "sans-serif", "size": 13, "color": "#31333f"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": ["#0068c9", "#83c9ff", "#1b3a6b", "#7f8fa6"],
        # Room for the axis labels (model names, hand-off names) whatever their length.
        "xaxis": {"gridcolor": "#e6eaf1", "automargin": True},
        "yaxis": {"gridcolor": "#e6eaf1", "automargin": True},
    }
)

# User-written Markdown, rendered inert: raw HTML is escaped (html=False), links to
# javascript:/data: are refused by markdown-it's own check, and images are off (a mail client
# would fetch them from wherever the text points).
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable("image")


CSP = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'\">"
)


class DigestError(Exception):
    """A target that could not be reached or made, with a sentence that names no secret."""


@dataclass(frozen=True)
class Chart:
    """One chart of the digest: its title and the PNG Chromium took of it."""

    title: str
    png: bytes


@dataclass(frozen=True)
class Digest:
    """One week's digest: the retro, what people wrote, and the rows behind the charts."""

    retro: retro.Retro
    annotations: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    actions: list[dict[str, Any]]  # open when the week started and not closed by its end
    deployments: pd.DataFrame  # the four weeks up to the week's end
    incidents: pd.DataFrame

    @property
    def label(self) -> str:
        return self.retro.label

    @property
    def scope(self) -> str:
        week = self.retro.week
        return " · ".join(x for x in (week.team, week.model) if x) or "all teams"


def build(config: settings.Config, week: str | None, team: str | None, model: str | None) -> Digest:
    """The digest of an ISO week (default: the last 7 days, today included), as `retro` picks
    it, for one team or model or everything."""
    window = retro.iso_week(week) if week else retro.rolling_week()
    label = week.upper() if week else retro.week_label(window)
    with db.connect(config.warehouse) as con:
        _check_scope(writeback.known(con), team, model)
        delivery.use_attribution_window(con, config.attribution_window_hours)
        built = retro.build(con, window, team, model, config.workflow, label, config.min_people)
        written = writeback.report_block(con, config, built.week)
        month = Filters(built.week.until - 4 * retro.WEEK, built.week.until, team, model)
        deployments = delivery.deployments(con, month)
        if privacy.withheld(con, month, config.min_people)["authors"] is not None:
            # The deployments behind withheld figures are not charted either.
            deployments = deployments.iloc[0:0]
        incidents = delivery.incidents(con, month)
    since, until = built.week.since, built.week.until
    return Digest(
        retro=built,
        annotations=written["annotations"],
        decisions=written["decisions"],
        actions=[a for a in written["actions"] if _open_through(a, since, until)],
        deployments=deployments,
        incidents=incidents,
    )


def _check_scope(known: store.Known, team: str | None, model: str | None) -> None:
    """ValueError naming --team or --model when the warehouse knows no such team or model (a
    digest of nothing would read as a quiet week)."""
    for flag, value, names in (("team", team, known.teams), ("model", model, known.models)):
        if value is not None and value not in names:
            shown = ", ".join(sorted(names)[:8]) + (", …" if len(names) > 8 else "")
            raise ValueError(
                f"--{flag}: {value!r} is not a {flag} the warehouse knows ({shown or 'none'})"
            )


def _open_through(action: dict[str, Any], since: dt.datetime, until: dt.datetime) -> bool:
    """Made before the week and not closed by its end: what the week's retro opens with (the
    rule of notes.store.Store.open_actions, for any 7 days)."""
    made = dt.datetime.fromisoformat(action["created_at"])
    closed = action["closed_at"]
    return made < since and (closed is None or dt.datetime.fromisoformat(closed) >= until)


# --- charts --------------------------------------------------------------------------------


def figures(digest: Digest) -> list[tuple[str, go.Figure]]:
    """The retro's delivery and flow charts: deployments and incidents over the four weeks with
    the week shaded (as on the retro page), and the week's median wait per hand-off."""
    week = digest.retro.week
    timeline = go.Figure(layout={"template": TEMPLATE})
    rows = digest.deployments
    for failed, colour, name in (
        (False, COLOURS["success"], "deployment"),
        (True, COLOURS["failure"], "change failure"),
    ):
        shown = rows[rows["is_change_failure"] == failed] if len(rows) else rows
        timeline.add_scatter(
            x=list(shown["finished_at"]) if len(shown) else [],
            y=list(shown["model"]) if len(shown) else [],
            mode="markers",
            name=name,
            marker={"color": colour, "size": 10},
        )
    timeline.add_scatter(
        x=list(digest.incidents["opened_at"]) if len(digest.incidents) else [],
        y=list(digest.incidents["model"]) if len(digest.incidents) else [],
        mode="markers",
        name="incident",
        marker={"color": COLOURS["incident"], "size": 12, "symbol": "x"},
    )
    timeline.add_vrect(
        x0=week.since, x1=week.until, fillcolor=COLOURS["week"], opacity=0.15, line_width=0
    )
    timeline.update_layout(
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        margin={"t": 30, "b": 10, "l": 10},
    )
    charts = [("Deployments and incidents, last four weeks", timeline)]
    waits = digest.retro.handoffs
    if waits:
        names = [formats.handoff(name) for name in waits]
        hours = [w["median"] for w in waits.values()]
        bars = go.Figure(layout={"template": TEMPLATE})
        bars.add_bar(
            x=hours,
            y=names,
            orientation="h",
            marker={"color": COLOURS["bar"]},
            text=[retro.format_value(h, "hours") for h in hours],
            textposition="auto",
        )
        bars.update_layout(
            xaxis_title="median wait (hours)",
            margin={"t": 10, "b": 10, "l": 10},
            height=140 + 40 * len(names),
        )
        charts.append(("Where work waited: median wait per hand-off this week", bars))
    return charts


def chromium() -> str:
    """The path of Debian's Chromium, or DigestError saying how to install it."""
    found = shutil.which("chromium")
    if not found:
        raise DigestError("Debian's chromium is not installed (apt-get install chromium)")
    return found


def _run_chromium(workdir: Path, page: Path, output: Path, *flags: str) -> bytes:
    """Run headless Chromium on a local page for one output file; its bytes."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={workdir / 'chromium-profile'}",
        *flags,
        page.as_uri(),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise DigestError(
            f"chromium made no {output.name} within {CHROMIUM_TIMEOUT_SECONDS} s"
        ) from None
    if not output.exists() or output.stat().st_size == 0:
        said = done.stderr.strip().splitlines()[-1:] or ["no message"]
        raise DigestError(f"chromium made no {output.name} (exit {done.returncode}: {said[0]})")
    return output.read_bytes()


def screenshot(fig: go.Figure, workdir: Path, name: str) -> bytes:
    """A PNG of one Plotly figure: plotly.js (inlined, no network) draws it in a page the size
    of the window, Chromium screenshots it."""
    width = CHART_SIZE[0]
    height = fig.layout.height or CHART_SIZE[1]
    fig = go.Figure(fig).update_layout(width=width, height=height)
    body = fig.to_html(
        full_html=False, include_plotlyjs=True, config={"staticPlot": True, "displayModeBar": False}
    )
    page = workdir / f"{name}.html"
    page.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"><style>body{{margin:0}}</style>'
        f"</head><body>{body}</body></html>",
        encoding="utf-8",
    )
    png = workdir / f"{name}.png"
    return _run_chromium(
        workdir,
        page,
        png,
        f"--window-size={width},{height}",
        "--virtual-time-budget=10000",
        f"--screenshot={png}",
    )


def print_pdf(page_html: str, workdir: Path) -> bytes:
    """The digest page printed to PDF by Chromium (no header or footer)."""
    page = workdir / "digest-print.html"
    page.write_text(page_html, encoding="utf-8")
    pdf = workdir / "digest.pdf"
    return _run_chromium(workdir, page, pdf, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")


# --- rendering -----------------------------------------------------------------------------


def inert(markdown: str) -> str:
    """User-written Markdown as HTML that runs nothing: raw HTML shows as text."""
    return _MARKDOWN.render(markdown)


def _when(annotation: dict[str, Any]) -> str:
    starts = dt.datetime.fromisoformat(annotation["starts_at"])
    if annotation["ends_at"] is None:
        return f"{starts:%a %d %b %H:%M} UTC"
    ends = dt.datetime.fromisoformat(annotation["ends_at"])
    return f"{starts:%a %d %b %H:%M} to {ends:%a %d %b %H:%M} UTC"


def _scope(row: dict[str, Any]) -> str:
    if row.get("model"):
        return f"model {row['model']}"
    return f"team {row['team']}" if row.get("team") else "company"


def _action_figure(action: dict[str, Any]) -> str:
    return action.get("in_words") or "No figure linked."


def sections_html(digest: Digest, charts: list[Chart], image_src: Callable[[int], str]) -> str:
    """The digest's own sections (charts, annotations, actions, decisions) as HTML, escaped;
    `image_src(i)` says where chart i's PNG is (a data: URI in a file, a cid: in a mail)."""
    e = html.escape
    parts: list[str] = []
    if charts:
        parts.append("<h2>Charts</h2>")
        parts += [
            f'<h3>{e(c.title)}</h3><img src="{e(image_src(i))}" alt="{e(c.title)}" '
            f'width="{CHART_SIZE[0]}">'
            for i, c in enumerate(charts)
        ]
    parts.append("<h2>Annotations</h2>")
    parts += [
        f'<div class="note"><p><strong>{e(_when(a))}</strong> · {e(_scope(a))} · '
        f"{e(a['author'])}</p>{inert(a['text'])}</div>"
        for a in digest.annotations
    ] or ["<p>None this week.</p>"]
    parts.append("<h2>Last week's open actions</h2>")
    parts += [
        f'<div class="note">{inert(a["text"])}<p>{e(a["owner"])}, due {e(a["due_week"])} · '
        f"{e(_scope(a))} · {e(a['status'])}</p><p>{e(_action_figure(a))}</p></div>"
        for a in digest.actions
    ] or ["<p>None open.</p>"]
    parts.append("<h2>Decisions</h2>")
    parts += [
        f'<div class="note"><p><strong>{e(d["title"])}</strong> · model {e(d["model"])} · '
        f"{e(d['decided_on'])} · owner {e(d['owner'])}</p>{inert(d['decision'])}"
        + (f"<p>Links: {e(', '.join(d['links']))}</p>" if d["links"] else "")
        + "</div>"
        for d in digest.decisions
    ] or ["<p>None this week.</p>"]
    return "\n".join(parts)


def to_html(digest: Digest, charts: list[Chart], image_src: Callable[[int], str]) -> str:
    """The whole page: the retro as `retro --format html` prints it, then the digest's own
    sections."""
    page = retro.to_html(digest.retro)
    # Besides the escaping, a browser that opens the page (and Chromium printing it) runs no
    # script and fetches nothing: only its own images and style.
    page = page.replace('<meta charset="utf-8">', '<meta charset="utf-8">' + CSP, 1)
    extra = sections_html(digest, charts, image_src)
    style = (
        ".note{border-left:3px solid #0068c9;padding-left:.6rem;margin:.6rem 0}"
        "img{max-width:100%;height:auto}</style>"
    )
    page = page.replace("</style>", style, 1)
    intro = f"</h1>\n<p>Tandem weekly digest · {html.escape(digest.scope)}</p>"
    page = page.replace("</h1>", intro, 1)
    return page.replace("</body></html>", extra + "\n</body></html>", 1)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def to_markdown(digest: Digest) -> str:
    """The digest as Markdown text (the email's plain part): the retro's Markdown, then what
    people wrote, as they wrote it."""
    lines = [retro.to_markdown(digest.retro).rstrip("\n"), "", "## Annotations", ""]
    lines += [
        f"- {_when(a)} ({_scope(a)}, {a['author']}): {a['text']}" for a in digest.annotations
    ] or ["None this week."]
    lines += ["", "## Last week's open actions", ""]
    lines += [
        f"- {a['text']} ({a['owner']}, due {a['due_week']}, {a['status']}): {_action_figure(a)}"
        for a in digest.actions
    ] or ["None open."]
    lines += ["", "## Decisions", ""]
    lines += [
        f"- {d['decided_on']} {d['model']}: {d['title']}: {d['decision']}" for d in digest.decisions
    ] or ["None this week."]
    return "\n".join(lines) + "\n"


def _mrkdwn(text: str) -> str:
    """Text for a Slack mrkdwn field: &, < and > escaped (Slack reads <...> as links and
    mentions, so `<!channel>` in a note would ping everyone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _one_line(text: str, limit: int = ONE_LINE_LIMIT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _section(title: str, lines: list[str]) -> dict[str, Any]:
    """A mrkdwn section of whole lines within Slack's limit (never an escape cut in half);
    what does not fit is counted ("… and 3 more")."""
    kept = [f"*{_mrkdwn(title)}*"]
    room = SLACK_SECTION_LIMIT - len(kept[0]) - len("\n… and 9999 more")
    for n, line in enumerate(lines):
        if len(line) + 1 > room:
            kept.append(f"… and {len(lines) - n} more")
            break
        kept.append(line)
        room -= len(line) + 1
    return {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(kept)}}


def slack_message(digest: Digest) -> dict[str, Any]:
    """Slack's incoming-webhook JSON: `text` (the notification's fallback) and `blocks` (a
    header, then mrkdwn sections: figures, highlights, annotations, actions, decisions)."""
    m = _mrkdwn
    title = f"Tandem digest: {digest.label} ({digest.scope})"
    figures_ = [
        f"• *{m(f.label)}*: {m(f.shown('this_week'))} ({m(f.change.text)} vs {m(f.change.basis)})"
        for f in digest.retro.figures
    ]
    notes = [
        f"• {m(_when(a))} ({m(_scope(a))}): {m(_one_line(a['text']))}" for a in digest.annotations
    ] or ["None this week."]
    acts = [
        f"• {m(_one_line(a['text']))} ({m(a['owner'])}, due {m(a['due_week'])}): "
        f"{m(_action_figure(a))}"
        for a in digest.actions
    ] or ["None open."]
    decided = [
        f"• {m(d['decided_on'])} *{m(d['model'])}*: {m(_one_line(d['title']))}"
        for d in digest.decisions
    ] or ["None this week."]
    return {
        "text": m(f"{title}: " + " ".join(digest.retro.highlights)),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": title[:SLACK_HEADER_LIMIT]},
            },
            _section("Figures", figures_),
            _section("Highlights", [f"• {m(h)}" for h in digest.retro.highlights]),
            _section("Annotations", notes),
            _section("Last week's open actions", acts),
            _section("Decisions", decided),
        ],
    }


# --- targets -------------------------------------------------------------------------------


class Outputs:
    """What the targets share, each made once and only when a target needs it: the charts'
    PNGs, the page and its PDF."""

    def __init__(self, digest: Digest, workdir: Path) -> None:
        self.digest = digest
        self.workdir = workdir

    @cached_property
    def charts(self) -> list[Chart]:
        return [
            Chart(title, screenshot(fig, self.workdir, f"chart-{i}"))
            for i, (title, fig) in enumerate(figures(self.digest))
        ]

    @cached_property
    def page(self) -> str:
        """The page with its images inside it (data: URIs), as a file and for the PDF."""
        return to_html(self.digest, self.charts, lambda i: data_uri(self.charts[i].png))

    @cached_property
    def pdf(self) -> bytes:
        return print_pdf(self.page, self.workdir)


def default_out(label: str) -> Path:
    """digest-2026-W47.html in the working folder (a rolling week's words made file-safe)."""
    return Path(f"digest-{re.sub(r'[^A-Za-z0-9]+', '-', label).strip('-')}.html")


def to_file(outputs: Outputs, config: settings.Config, out: Path, dry_run: bool) -> str:
    pdf_path = out.with_suffix(".pdf")
    if dry_run:
        return f"would write {out} and {pdf_path} (dry run: nothing written)"
    page, pdf = outputs.page, outputs.pdf
    # Both written beside their place first, then moved in: never a page without its PDF.
    staged = [
        (out.with_name(out.name + ".part"), out),
        (pdf_path.with_name(pdf_path.name + ".part"), pdf_path),
    ]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staged[0][0].write_text(page, encoding="utf-8")
        staged[1][0].write_bytes(pdf)
        for part, final in staged:
            part.replace(final)
    except OSError as error:
        for part, _ in staged:
            part.unlink(missing_ok=True)
        raise DigestError(f"could not write {error.filename} ({error.strerror})") from None
    return f"wrote {out} and {pdf_path}"


def to_webhook(outputs: Outputs, config: settings.Config, out: Path, dry_run: bool) -> str:
    variable = config.digest.webhook_env
    if variable is None:
        raise DigestError("[digest] webhook_env is not set in the config")
    body = json.dumps(slack_message(outputs.digest), ensure_ascii=False)
    if dry_run:
        print(body)
        return f"would post the JSON above to the URL in ${variable} (dry run: nothing sent)"
    url = config.digest.secret("webhook_env")
    request = urllib.request.Request(
        url.reveal(),  # type: ignore[union-attr]
        data=body.encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_SECONDS) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raise DigestError(f"HTTP {error.code} from the URL in ${variable}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise DigestError(
            f"could not reach the URL in ${variable} ({type(reason).__name__})"
        ) from None
    return f"posted to the URL in ${variable} (HTTP {status})"


def email_message(outputs: Outputs, config: settings.Config) -> EmailMessage:
    """The mail: the Markdown as its plain part, the page as its HTML part with the charts
    inline (cid:), and the PDF attached."""
    digest, c = outputs.digest, config.digest
    message = EmailMessage()
    message["Subject"] = f"Tandem digest: {digest.label} ({digest.scope})"
    message["From"] = c.sender or ""
    message["To"] = ", ".join(c.to)
    message.set_content(to_markdown(digest))
    ids = [make_msgid(domain="tandem.digest") for _ in outputs.charts]
    page = to_html(digest, outputs.charts, lambda i: "cid:" + ids[i][1:-1])
    message.add_alternative(page, subtype="html")
    html_part = message.get_payload()[1]
    for chart, cid in zip(outputs.charts, ids, strict=True):
        html_part.add_related(chart.png, "image", "png", cid=cid)
    message.add_attachment(
        outputs.pdf,
        maintype="application",
        subtype="pdf",
        filename=f"{default_out(digest.label).stem}.pdf",
    )
    return message


def to_email(outputs: Outputs, config: settings.Config, out: Path, dry_run: bool) -> str:
    c = config.digest
    for key, value in (("host", c.host), ("from", c.sender), ("to", c.to)):
        if not value:
            raise DigestError(f"[digest] {key} is not set in the config")
    where = f"{c.host}:{c.port}"
    message = email_message(outputs, config)
    if dry_run:
        login = f" as the user in ${c.user_env}" if c.user_env else ""
        tls = " with STARTTLS" if c.starttls else ""
        print(f"From: {message['From']}\nTo: {message['To']}\nSubject: {message['Subject']}")
        for part in message.walk():
            if not part.is_multipart():
                size = len(part.get_payload(decode=True) or b"")
                name = part.get_filename() or ""
                print(f"  {part.get_content_type()} {name} ({size} bytes)".replace("  ", " ", 1))
        return f"would send to {message['To']} via {where}{tls}{login} (dry run: nothing sent)"
    user, password = c.secret("user_env"), c.secret("password_env")
    step = "connecting"
    try:
        with smtplib.SMTP(c.host, c.port, timeout=SEND_TIMEOUT_SECONDS) as smtp:  # type: ignore[arg-type]
            if c.starttls:
                step = "starting TLS"
                smtp.starttls(context=ssl.create_default_context())
            if user is not None and password is not None:
                step = f"logging in as the user in ${c.user_env}"
                smtp.login(user.reveal(), password.reveal())
            step = "sending"
            refused = smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused:
        raise DigestError(f"{where} refused every recipient") from None
    except smtplib.SMTPResponseException as error:
        raise DigestError(f"SMTP {error.smtp_code} from {where} when {step}") from None
    except (smtplib.SMTPException, OSError) as error:
        raise DigestError(f"{type(error).__name__} from {where} when {step}") from None
    if refused:
        raise DigestError(f"{where} refused {', '.join(sorted(refused))}")
    return f"sent to {message['To']} via {where}"


SENDERS: dict[str, Callable[[Outputs, settings.Config, Path, bool], str]] = {
    "file": to_file,
    "webhook": to_webhook,
    "email": to_email,
}


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="tandem-digest-") as folder:
        yield Path(folder)


def run(
    config: settings.Config,
    week: str | None,
    team: str | None,
    model: str | None,
    targets: list[str],
    out: str | None = None,
    dry_run: bool = False,
) -> int:
    """Build the week's digest and hand it to each target in turn; print each one's outcome
    (failures on stderr, by name); 1 if any failed, else 0."""
    digest = build(config, week, team, model)
    path = Path(out) if out else default_out(digest.label)
    if out and (path.is_dir() or out.endswith(("/", os.sep))):
        path = path / default_out(digest.label)  # a folder: the week's file in it
    failed = False
    with _workdir() as workdir:
        outputs = Outputs(digest, workdir)
        for target in dict.fromkeys(targets):
            try:
                print(f"digest: {target}: {SENDERS[target](outputs, config, path, dry_run)}")
            except (DigestError, settings.ConfigError) as error:
                print(f"digest: {target} failed: {error}", file=sys.stderr)
                failed = True
    return 1 if failed else 0
