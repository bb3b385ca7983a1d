"""A real PostgreSQL server for tests: initdb into a temp dir, one per test session.

A pytest plugin, registered once in tests/conftest.py (`pytest_plugins`): any test takes the
`postgres` fixture as an argument, with nothing to import.

    def test_something(postgres):
        url = postgres.create_database("something")  # postgresql+psycopg://tandem:...@.../something

The server listens on a free TCP port on 127.0.0.1 (password auth, scram-sha-256) and on a unix
socket inside its temp dir (trust, for the fixture's own admin work). initdb and postgres refuse
to run as root, so as root they run as Debian's `postgres` user through `runuser`. Without the
binaries or the psycopg driver the tests skip, unless TANDEM_REQUIRE_POSTGRES=1 (CI) makes that
a failure.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE_ENV = "TANDEM_REQUIRE_POSTGRES"
USER = "tandem"
ADMIN = "tandem_admin"
SYSTEM_USER = "postgres"  # Debian's package creates it


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"PostgreSQL is required ({REQUIRE_ENV}=1) but {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


def _bin_dir() -> Path | None:
    """The newest Debian PostgreSQL bin dir, else the one holding `initdb` on PATH."""

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.parent.name
        return tuple(int(part) for part in name.split(".") if part.isdigit())

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Postgres:
    """A running server: where it listens and the password of its `tandem` user."""

    host: str
    port: int
    user: str
    password: str
    socket_dir: Path

    def url(self, database: str, password: str | None = None) -> str:
        """The SQLAlchemy URL of `database` for the `tandem` user (psycopg 3 driver)."""
        secret = self.password if password is None else password
        return f"postgresql+psycopg://{self.user}:{secret}@{self.host}:{self.port}/{database}"

    def admin(self, statement, database: str = "postgres") -> None:
        """Run one statement as the superuser over the unix socket (autocommit)."""
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=ADMIN,
            dbname=database,
            autocommit=True,
        ) as con:
            con.execute(statement)

    def create_database(self, name: str) -> str:
        """A fresh database owned by the `tandem` user (dropped first if it exists); its URL."""
        from psycopg import sql

        self.admin(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        self.admin(
            sql.SQL("create database {} owner {}").format(
                sql.Identifier(name), sql.Identifier(self.user)
            )
        )
        return self.url(name)


def _runner() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        _unavailable(f"running as root and there is no {SYSTEM_USER!r} user to run it as")
    return ["runuser", "-u", SYSTEM_USER, "--"]


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr or done.stdout}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server for the whole test session, stopped and deleted at the end."""
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        _unavailable("initdb/pg_ctl were not found (apt-get install postgresql)")
    if importlib.util.find_spec("psycopg") is None:
        _unavailable('the psycopg driver is not installed (pip install "psycopg[binary]")')
    runner = _runner()
    # Not pytest's tmp_path: its parents are private to root, and the server may run as
    # another user, who must reach its own data dir.
    root = Path(tempfile.mkdtemp(prefix="tandem-pg-"))
    data, sockets, log = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    password = secrets.token_urlsafe(16)
    admin_password = secrets.token_urlsafe(16)
    pwfile = root / "admin.pw"
    pwfile.write_text(admin_password + "\n", encoding="utf-8")
    if runner:
        system = pwd.getpwnam(SYSTEM_USER)
        for path in (root, sockets, pwfile):
            os.chown(path, system.pw_uid, system.pw_gid)
    port = _free_port()
    pg_ctl = [*runner, str(bin_dir / "pg_ctl"), "-D", str(data)]
    started = False
    try:
        try:
            _run(
                [
                    *runner,
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    ADMIN,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
                "initdb",
            )
            options = (
                f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c full_page_writes=off -c synchronous_commit=off"
            )
            _run([*pg_ctl, "-l", str(log), "-o", options, "-w", "-t", "60", "start"], "pg_ctl")
            started = True
            server = Postgres("127.0.0.1", port, USER, password, sockets)
            from psycopg import sql

            server.admin(
                sql.SQL("create role {} login password {}").format(
                    sql.Identifier(USER), sql.Literal(password)
                )
            )
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"could not start PostgreSQL: {error}\n{tail}")
        yield server
    finally:
        if started:
            subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)
