"""What tests share besides fixtures: the repo root, the pinned clock's values, a project folder
with its sources.toml and warehouse, and subprocesses run against this checkout."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb

import settings
from connectors import sync

ROOT = Path(__file__).resolve().parents[2]

# The demo year's last day, and the instant every test reads as "now" (settings.now(), through
# $TANDEM_NOW, which subprocesses inherit): the suite reads the same whatever the real date is.
# A Thursday whose last 7 days hold all four DORA figures, recovery time included.
DEMO_END = dt.date(2026, 11, 19)
PINNED_NOW = "2026-11-19T23:00:00+00:00"


# The privacy key of tests that check pseudonyms: `[privacy] key_env` names this variable.
PRIVACY_KEY_ENV = "TANDEM_TEST_PRIVACY_KEY"
PRIVACY_KEY = "correct horse battery staple"
PRIVACY_TOML = f'[privacy]\nkey_env = "{PRIVACY_KEY_ENV}"\n'


def person(identity: str, key: str = PRIVACY_KEY) -> str:
    """The pseudonym of an identity as a test expects it, computed here with hmac (not with
    connectors.identity): person- and 10 hex characters of HMAC-SHA256(key, lower case)."""
    digest = hmac.new(key.encode(), identity.strip().lower().encode(), hashlib.sha256)
    return "person-" + digest.hexdigest()[:10]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


class Project:
    """A folder with a sources.toml and its warehouse, as a user would have."""

    def __init__(self, root: Path):
        self.root = root
        self.config_path = root / "sources.toml"
        self.warehouse = root / "data" / "tandem.duckdb"

    def configure(self, sources_toml: str) -> settings.Config:
        write(
            self.config_path,
            '[warehouse]\npath = "data/tandem.duckdb"\n\n' + textwrap.dedent(sources_toml),
        )
        return settings.load(self.config_path)

    def file(self, name: str, text: str) -> Path:
        return write(self.root / name, text)

    def sync(self, only: list[str] | None = None, reread: bool = False) -> sync.SyncReport:
        """Sync; `reread`: read every file again, also those unchanged since the last sync."""
        return sync.run(settings.load(self.config_path), only, reread=reread)

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            con.execute("set TimeZone = 'UTC'")
            return con.execute(sql, params or {}).fetchall()
        finally:
            con.close()


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def cli(module: str, *args: str) -> str:
    """`python -m module args...` run in the repo as a user runs it; its standard output. The
    test fails, showing the standard error, when it exits non-zero."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def stop(process: subprocess.Popen, seconds: float = 20) -> None:
    """Ask a process to end; kill it if it has not within `seconds`."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def streamlit_server(
    script: Path, port: int, env: dict[str, str], log: Path, *options: str, seconds: float = 90
) -> Iterator[subprocess.Popen]:
    """`streamlit run script` on 127.0.0.1:`port`, as a user starts it (headless, no usage
    statistics, more `options`), its output appended to `log`; the process once the server
    answers its health check, stopped on leaving the block."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script)]
            + ["--server.headless", "true", "--server.port", str(port)]
            + ["--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
            + list(options),
            cwd=script.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + seconds
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the app did not start:\n" + log.read_text()) from None
                    time.sleep(0.2)
            yield process
        finally:
            stop(process)


def python_process(code: str, *args: str) -> subprocess.Popen:
    """`python -c code args...` in the repo, with pipes for stdin, stdout and stderr (text)."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=subprocess_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
