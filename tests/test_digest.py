"""`python -m metrics digest`: the week's retro, notes and charts to a file (HTML + PDF), a
Slack incoming webhook (a real local HTTP server) and email (a real local aiosmtpd server)."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import html
import json
import re
import socket
import ssl
import struct
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import settings
from metrics import actions, db, digest, retro, writeback
from metrics.__main__ import main
from notes import store
from settings import Workflow
from tests.helpers.project import write

WEEK = "2026-W47"  # Mon 16 to Sun 22 Nov 2026; the demo ends Thu 19 Nov
WEBHOOK_ENV = "TANDEM_TEST_DIGEST_WEBHOOK"
USER_ENV, PASSWORD_ENV = "TANDEM_TEST_SMTP_USER", "TANDEM_TEST_SMTP_PASSWORD"
SECRET_PATH = "/services/T0000/B0000/s3cr3t-hook-token"
USER, PASSWORD = "digest-bot", "pa55-w0rd-s3cr3t"
SCRIPT_NOTE = "Froze **deploys** <script>alert('digest')</script> <!channel>"
ACTIONS_IN_WORDS = "Deployments went from 5 to 4 (the other way)."


# --- [digest] in settings ------------------------------------------------------------------


def test_the_digest_table_reads_every_key(tmp_path):
    path = write(
        tmp_path / "sources.toml",
        """
        [digest]
        webhook_env = "HOOK"
        host = "smtp.example.com"
        port = 2525
        from = "tandem@example.com"
        to = ["a@example.com", "b@example.com"]
        user_env = "SMTP_USER"
        password_env = "SMTP_PASSWORD"
        starttls = true
        """,
    )
    got = settings.load(path).digest
    assert got == settings.DigestConfig(
        webhook_env="HOOK",
        host="smtp.example.com",
        port=2525,
        sender="tandem@example.com",
        to=("a@example.com", "b@example.com"),
        user_env="SMTP_USER",
        password_env="SMTP_PASSWORD",
        starttls=True,
    )
    assert settings.load(write(tmp_path / "none.toml", "")).digest == settings.DigestConfig()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('port = "25"', "[digest] port must be a whole number 1-65535, got '25'"),
        ("port = 70000", "[digest] port must be a whole number 1-65535, got 70000"),
        (
            'to = ["nobody"]',
            "[digest] to must be an email address or a list of them, got ['nobody']",
        ),
        ('from = "tandem"', "[digest] from must be an email address, got 'tandem'"),
        ('starttls = "yes"', "[digest] starttls must be true or false, got 'yes'"),
        ('webhook_env = ""', "[digest] webhook_env must be a non-empty string, got ''"),
        ('user_env = "U"', "[digest] takes user_env and password_env together"),
        ('password = "x"', "[digest] has unknown keys password (webhook_env, host, port, from,"),
    ],
)
def test_a_bad_digest_key_is_named_in_one_line(tmp_path, body, message):
    path = write(tmp_path / "sources.toml", f"[digest]\n{body}\n")
    with pytest.raises(settings.ConfigError) as raised:
        settings.load(path)
    assert str(raised.value).startswith(f"{path}: {message}")
    assert "\n" not in str(raised.value)


# --- rendering, pure -----------------------------------------------------------------------


def test_user_markdown_is_rendered_inert():
    shown = digest.inert(SCRIPT_NOTE + " [x](javascript:alert(1)) ![i](http://tracker/p.png)")
    assert "<strong>deploys</strong>" in shown
    assert "&lt;script&gt;alert('digest')&lt;/script&gt;" in shown
    assert "<script" not in shown and "javascript:" not in shown.split("[x]")[0]
    assert 'href="javascript' not in shown and "<img" not in shown


def test_slack_text_escapes_its_control_characters():
    assert digest._mrkdwn("a & b <!channel> <http://x|y>") == (
        "a &amp; b &lt;!channel&gt; &lt;http://x|y&gt;"
    )


def test_a_slack_section_keeps_whole_lines_within_slacks_limit():
    lines = [f"• note {n}: " + "&lt;" * 50 for n in range(100)]  # 210 characters each
    text = digest._section("Annotations", lines)["text"]["text"]
    assert len(text) <= digest.SLACK_SECTION_LIMIT
    kept = text.split("\n")
    assert kept[0] == "*Annotations*" and kept[1:-1] == lines[: len(kept) - 2]
    assert kept[-1] == f"… and {100 - (len(kept) - 2)} more"
    assert len(kept) - 2 == 14  # (3000 - 13 - 16) // 211 whole lines of 210 plus a newline
    assert digest._section("Decisions", ["• one"])["text"]["text"] == "*Decisions*\n• one"


@pytest.mark.parametrize(
    ("label", "name"),
    [
        (WEEK, "digest-2026-W47.html"),
        ("Thu 13 – Wed 19 Nov 2026", "digest-Thu-13-Wed-19-Nov-2026.html"),
    ],
)
def test_the_default_file_is_named_for_the_week(label, name):
    assert digest.default_out(label) == Path(name)


# --- the demo week, with notes -------------------------------------------------------------


@pytest.fixture(scope="module")
def notes_file(demo_project, tmp_path_factory):
    """A notes store beside the demo warehouse holding, for WEEK: one annotation in it (with a
    script and a Slack mention) and one before it; an action made the week before linked to
    the deployments, one closed before WEEK, one made in WEEK; one decision in WEEK."""
    path = tmp_path_factory.mktemp("digest-notes") / "notes.sqlite"
    url = f"sqlite:///{path}"
    actor = store.Actor("ann")
    with pytest.MonkeyPatch.context() as patch, db.connect(demo_project.warehouse) as con:
        before = retro.build(con, retro.iso_week("2026-W46"), None, None, Workflow(), "2026-W46")
        known = writeback.known(con, actions.figure_keys(before))
        patch.setenv(settings.NOW_ENV, "2026-11-12T10:00:00Z")  # in W46
        with store.open(url) as notes:
            notes.add_annotation(actor, known, SCRIPT_NOTE, at="2026-11-17T09:30:00Z")
            notes.add_annotation(actor, known, "Outside the week", at="2026-11-05T09:30:00Z")
            notes.add_action(
                actor,
                known,
                text="Ship smaller **changes**",
                owner="ranking",
                due_week=WEEK,
                figure_key="deployments",
                direction="up",
                figure_value=before.figure("deployments").this_week,
            )
            done = notes.add_action(actor, known, text="Closed early", owner="x", due_week=WEEK)
            patch.setenv(settings.NOW_ENV, "2026-11-13T10:00:00Z")
            notes.close_action(actor, done.action_id, "done")
            patch.setenv(settings.NOW_ENV, "2026-11-18T10:00:00Z")  # in WEEK
            notes.add_action(actor, known, text="Made this week", owner="y", due_week=WEEK)
            notes.add_decision(
                actor,
                known,
                model="fraud",
                title="Retrain fraud weekly",
                decision="From W48 the fraud model retrains every Monday",
                owner="risk",
                decided_on="2026-11-18",
            )
    return url


def _config(demo_project, notes_url: str, folder: Path, **digest_keys) -> Path:
    keys = {"webhook_env": WEBHOOK_ENV, "from": "tandem@example.com", "to": ["ml@example.com"]}
    keys |= digest_keys
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in keys.items())
    return write(
        folder / "sources.toml",
        f"""
        [warehouse]
        path = "{demo_project.warehouse}"

        [[sources]]
        name = "demo"
        kind = "demo"

        [notes]
        url = "{notes_url}"

        [digest]
        """
        + lines
        + "\n",
    )


def _retro_json(config: Path, capsys) -> dict:
    assert main(["retro", "--config", str(config), "--week", WEEK, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _run(capsys, config: Path, *args: str) -> tuple[int, str, str]:
    code = main(["digest", "--config", str(config), "--week", WEEK, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _figure_row(f: dict) -> str:
    cells = (f["label"], *(f["shown"][k] for k in ("this_week", "last_week", "four_weeks")))
    return "".join(f"<td>{html.escape(c)}</td>" for c in (*cells, f["change"]["text"]))


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_the_file_holds_the_retro_the_notes_and_the_charts(
    demo_project, notes_file, tmp_path, capsys
):
    config = _config(demo_project, notes_file, tmp_path)
    shown = _retro_json(config, capsys)
    out = tmp_path / "out" / "digest.html"
    code, printed, errors = _run(capsys, config, "--to", "file", "--out", str(out))
    assert (code, errors) == (0, "")
    pdf_path = out.with_suffix(".pdf")
    assert printed == f"digest: file: wrote {out} and {pdf_path}\n"
    page = out.read_text(encoding="utf-8")
    # The figures, changes and highlights of `retro --format json` for the same week.
    assert page.startswith("<!doctype html>") and f"<h1>Retro: {WEEK}</h1>" in page
    for f in shown["figures"]:
        assert _figure_row(f) in page, f["key"]
    for sentence in shown["highlights"]:
        assert f"<li>{html.escape(sentence)}</li>" in page
    # Hand-checked: W46 had 5 deployments, W47 has 4; the action wanted more.
    deployments = next(f for f in shown["figures"] if f["key"] == "deployments")
    assert (deployments["last_week"], deployments["this_week"]) == (5, 4)
    assert ACTIONS_IN_WORDS in page
    assert "<p>Ship smaller <strong>changes</strong></p>" in page
    assert "Closed early" not in page and "Made this week" not in page
    # The annotation of the week, inert; the one before it absent; the decision of the week.
    assert "Tue 17 Nov 09:30 UTC</strong> · company · ann" in page
    assert "&lt;script&gt;alert('digest')&lt;/script&gt;" in page
    assert "<script" not in page.lower() and "Outside the week" not in page
    assert digest.CSP in page  # besides the escaping: no script runs, nothing is fetched
    assert "<strong>Retrain fraud weekly</strong> · model fraud · 2026-11-18" in page
    # Two charts, as PNG inside the page, 900 px wide.
    images = [part.split('"', 1)[0] for part in page.split('src="data:image/png;base64,')[1:]]
    assert len(images) == 2
    assert [_png_size(base64.b64decode(i))[0] for i in images] == [900, 900]
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    # The retro, its notes and two charts print on more than one A4/Letter page.
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) >= 2
    assert f"/Title (Retro: {WEEK})".encode() in pdf


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        self.server.received.append(
            (self.path, self.headers["Content-Type"], self.rfile.read(length))
        )
        self.send_response(self.server.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def hook(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(WEBHOOK_ENV, f"http://127.0.0.1:{server.server_port}{SECRET_PATH}")
    yield server
    server.shutdown()
    server.server_close()


def test_the_webhook_gets_slacks_json(demo_project, notes_file, tmp_path, capsys, hook):
    config = _config(demo_project, notes_file, tmp_path)
    shown = _retro_json(config, capsys)
    code, printed, errors = _run(capsys, config, "--to", "webhook")
    assert (code, errors) == (0, "")
    assert printed == f"digest: webhook: posted to the URL in ${WEBHOOK_ENV} (HTTP 200)\n"
    [(path, kind, body)] = hook.received
    assert (path, kind) == (SECRET_PATH, "application/json")
    message = json.loads(body)
    assert message["text"].startswith(f"Tandem digest: {WEEK} (all teams): ")
    header, *sections = message["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": f"Tandem digest: {WEEK} (all teams)"},
    }
    assert {(s["type"], s["text"]["type"]) for s in sections} == {("section", "mrkdwn")}
    texts = {s["text"]["text"].split("\n", 1)[0]: s["text"]["text"] for s in sections}
    assert list(texts) == [
        "*Figures*",
        "*Highlights*",
        "*Annotations*",
        "*Last week's open actions*",
        "*Decisions*",
    ]
    assert texts["*Figures*"].split("\n")[1:] == [
        f"• *{f['label']}*: {f['shown']['this_week']} ({f['change']['text']} vs last week)"
        for f in shown["figures"]
    ]
    assert texts["*Highlights*"].split("\n")[1:] == [f"• {h}" for h in shown["highlights"]]
    assert texts["*Annotations*"].split("\n")[1:] == [
        "• Tue 17 Nov 09:30 UTC (company): Froze **deploys** "
        "&lt;script&gt;alert('digest')&lt;/script&gt; &lt;!channel&gt;"
    ]
    assert texts["*Last week's open actions*"].split("\n")[1:] == [
        f"• Ship smaller **changes** (ranking, due {WEEK}): {ACTIONS_IN_WORDS}"
    ]
    assert texts["*Decisions*"].split("\n")[1:] == ["• 2026-11-18 *fraud*: Retrain fraud weekly"]
    assert "s3cr3t" not in printed


@pytest.mark.parametrize(("status", "reason"), [(500, "HTTP 500"), (404, "HTTP 404")])
def test_a_failing_webhook_is_named_and_its_url_kept_secret(
    demo_project, notes_file, tmp_path, capsys, hook, status, reason
):
    hook.status = status
    config = _config(demo_project, notes_file, tmp_path)
    code, printed, errors = _run(capsys, config, "--to", "webhook")
    assert code == 1 and printed == ""
    assert errors == f"digest: webhook failed: {reason} from the URL in ${WEBHOOK_ENV}\n"
    assert len(hook.received) == 1 and "s3cr3t" not in errors


def test_an_unreachable_or_unset_webhook_is_named(
    demo_project, notes_file, tmp_path, capsys, monkeypatch
):
    config = _config(demo_project, notes_file, tmp_path)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setenv(WEBHOOK_ENV, f"http://127.0.0.1:{port}{SECRET_PATH}")
    code, _, errors = _run(capsys, config, "--to", "webhook")
    assert code == 1
    assert errors == (
        f"digest: webhook failed: could not reach the URL in ${WEBHOOK_ENV} "
        "(ConnectionRefusedError)\n"
    )
    monkeypatch.delenv(WEBHOOK_ENV)
    code, _, errors = _run(capsys, config, "--to", "webhook")
    assert (code, errors) == (
        1,
        f"digest: webhook failed: [digest] webhook_env names the environment variable "
        f"{WEBHOOK_ENV}, which is not set\n",
    )


# --- email ---------------------------------------------------------------------------------


class _Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.envelopes.append(envelope)
        return "250 OK"


def _login(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    # handled=False: aiosmtpd itself answers a refusal (535), as a real server does.
    return AuthResult(success=ok, handled=False)


def _start_smtp(monkeypatch, tls: ssl.SSLContext | None = None):
    """A real SMTP server on a free local port, logging in USER with PASSWORD; with `tls`, it
    requires STARTTLS before anything else (a login included)."""
    from aiosmtpd.controller import Controller

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_login,
        auth_require_tls=tls is not None,
        tls_context=tls,
        require_starttls=tls is not None,
    )
    controller.start()
    monkeypatch.setenv(USER_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return controller, inbox


@pytest.fixture
def smtp(monkeypatch):
    controller, inbox = _start_smtp(monkeypatch)
    yield controller, inbox
    controller.stop()


@pytest.fixture
def smtp_tls(monkeypatch, tmp_path):
    """The server with STARTTLS on a self-signed certificate for 127.0.0.1, which the client
    trusts through $SSL_CERT_FILE (OpenSSL's default verify paths read it)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    controller, inbox = _start_smtp(monkeypatch, context)
    yield controller, inbox
    controller.stop()


def _smtp_keys(port: int) -> dict:
    return {
        "host": "127.0.0.1",
        "port": port,
        "user_env": USER_ENV,
        "password_env": PASSWORD_ENV,
    }


def test_the_email_carries_the_page_the_charts_and_the_pdf(
    demo_project, notes_file, tmp_path, capsys, smtp_tls
):
    controller, inbox = smtp_tls  # STARTTLS required: the login and the mail go encrypted
    config = _config(
        demo_project, notes_file, tmp_path, starttls=True, **_smtp_keys(controller.port)
    )
    shown = _retro_json(config, capsys)
    code, printed, errors = _run(capsys, config, "--to", "email")
    assert (code, errors) == (0, "")
    assert printed == f"digest: email: sent to ml@example.com via 127.0.0.1:{controller.port}\n"
    [envelope] = inbox.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == ("tandem@example.com", ["ml@example.com"])
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert mail["Subject"] == f"Tandem digest: {WEEK} (all teams)"
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith(f"# Retro: {WEEK}\n") and ACTIONS_IN_WORDS in text
    page = mail.get_body(("html",)).get_content()
    for f in shown["figures"]:
        assert _figure_row(f) in page, f["key"]
    assert "&lt;script&gt;" in page and "<script" not in page.lower()
    images = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 2
    for image in images:
        assert f'src="cid:{image["Content-ID"][1:-1]}"' in page
        assert _png_size(image.get_content())[0] == 900
    [pdf] = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == f"digest-{WEEK}.pdf"
    assert pdf.get_content().startswith(b"%PDF-")
    assert PASSWORD not in printed and PASSWORD.encode() not in envelope.original_content


def test_several_targets_each_say_how_they_went(
    demo_project, notes_file, tmp_path, capsys, smtp, hook, monkeypatch
):
    controller, inbox = smtp
    monkeypatch.setenv(PASSWORD_ENV, "wrong-" + PASSWORD)
    config = _config(demo_project, notes_file, tmp_path, **_smtp_keys(controller.port))
    code, printed, errors = _run(capsys, config, "--to", "webhook", "--to", "email")
    assert code == 1
    assert printed == f"digest: webhook: posted to the URL in ${WEBHOOK_ENV} (HTTP 200)\n"
    assert errors == (
        f"digest: email failed: SMTP 535 from 127.0.0.1:{controller.port} when logging in as "
        f"the user in ${USER_ENV}\n"
    )
    assert inbox.envelopes == [] and len(hook.received) == 1
    assert PASSWORD not in printed + errors and "s3cr3t" not in printed + errors


def test_a_dry_run_prints_what_would_go_and_sends_nothing(
    demo_project, notes_file, tmp_path, capsys, smtp, hook
):
    controller, inbox = smtp
    config = _config(
        demo_project, notes_file, tmp_path, starttls=True, **_smtp_keys(controller.port)
    )
    out = tmp_path / "never.html"
    code, printed, errors = _run(
        capsys,
        config,
        *("--to", "file", "--to", "webhook", "--to", "email", "--out", str(out), "--dry-run"),
    )
    assert (code, errors) == (0, "")
    lines = printed.splitlines()
    assert lines[0] == (
        f"digest: file: would write {out} and {out.with_suffix('.pdf')} (dry run: nothing written)"
    )
    assert json.loads(lines[1])["blocks"][0]["text"]["text"] == f"Tandem digest: {WEEK} (all teams)"
    assert lines[2] == (
        f"digest: webhook: would post the JSON above to the URL in ${WEBHOOK_ENV} "
        "(dry run: nothing sent)"
    )
    assert lines[3:6] == [
        "From: tandem@example.com",
        "To: ml@example.com",
        f"Subject: Tandem digest: {WEEK} (all teams)",
    ]
    assert any(line.startswith(" application/pdf digest-2026-W47.pdf (") for line in lines)
    assert lines[-1] == (
        f"digest: email: would send to ml@example.com via 127.0.0.1:{controller.port} with "
        f"STARTTLS as the user in ${USER_ENV} (dry run: nothing sent)"
    )
    assert not out.exists() and inbox.envelopes == [] and hook.received == []
    assert PASSWORD not in printed and "s3cr3t" not in printed


def test_the_week_is_the_retros(demo_project, notes_file, tmp_path, capsys):
    config = _config(demo_project, notes_file, tmp_path)
    assert main(["digest", "--config", str(config), "--week", "last", "--to", "file"]) == 2
    assert capsys.readouterr().err == "tandem: --week must look like 2026-W47, got 'last'\n"
    built = digest.build(settings.load(config), None, None, None)
    assert built.retro.week.until == dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def test_an_unknown_team_or_model_is_refused_in_one_line(
    demo_project, notes_file, tmp_path, capsys
):
    config = _config(demo_project, notes_file, tmp_path)
    assert main(["digest", "--config", str(config), "--team", "nobody", "--to", "file"]) == 2
    assert capsys.readouterr().err == (
        "tandem: --team: 'nobody' is not a team the warehouse knows (forecasting, growth, risk)\n"
    )
    assert main(["digest", "--config", str(config), "--model", "nope", "--to", "webhook"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tandem: --model: 'nope' is not a model the warehouse knows (churn, ")


def test_an_out_folder_gets_the_weeks_file_in_it(demo_project, notes_file, tmp_path, capsys):
    config = _config(demo_project, notes_file, tmp_path)
    folder = tmp_path / "digests"
    folder.mkdir()
    code, printed, errors = _run(capsys, config, "--to", "file", "--out", str(folder), "--dry-run")
    assert (code, errors) == (0, "")
    page = folder / "digest-2026-W47.html"
    assert printed == (
        f"digest: file: would write {page} and {page.with_suffix('.pdf')} "
        "(dry run: nothing written)\n"
    )
