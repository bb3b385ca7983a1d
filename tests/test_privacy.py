"""People stored as pseudonyms: `[privacy]` parsing, the key, aliases, identity mode, no leaks.

The fixture, two files read by the files connector (people in brackets are aliases of one
person in `[[privacy.people]]`, Alice Ng: github alice-ng, jira 5b10ac8d82e05b22cc7d4ef5,
email alice@example.com, canonical identity alice@example.com):

changes.csv   c1 by [alice-ng], c2 by [ALICE@example.com], c3 by borislav-k
tickets.csv   T-1 assigned to [5b10ac8d82e05b22cc7d4ef5] (engineering), T-2 to Cyrus Young
              (data_science), T-3 to Dora Secretkeeper with an unparsable created_at
              (quarantined, a readable row), then a line with too many fields naming Evelyn
              Hiddenfield (quarantined, unreadable: withheld)

Expected pseudonyms are computed in the test with hmac (tests/helpers/project.person): the
author of c1 and c2 and the assignee of T-1 are all person(alice@example.com); three changes
have 2 distinct authors, not 3.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
import subprocess
import sys

import pytest

import settings
from connectors.identity import Identities, pseudonym
from tests.helpers.project import (
    PRIVACY_KEY,
    PRIVACY_KEY_ENV,
    ROOT,
    person,
    subprocess_env,
)

ALICE_EMAIL = "alice@example.com"
ALICE_JIRA = "5b10ac8d82e05b22cc7d4ef5"

CHANGES = """\
change_id,first_commit_at,merged_at,author,title
c1,2026-11-02 09:00,2026-11-02 12:00,alice-ng,Cache lookups
c2,2026-11-03 09:00,2026-11-03 12:00,ALICE@example.com,Retrain
c3,2026-11-04 09:00,2026-11-04 12:00,borislav-k,Tighten budget
"""

TICKETS = """\
ticket_id,title,type,assignee,role,created_at,status
T-1,Ship features,Task,5b10ac8d82e05b22cc7d4ef5,engineering,2026-11-02 09:00,Done
T-2,Try a new loss,Spike,Cyrus Young,data_science,2026-11-03 09:00,To Do
T-3,Broken date,Bug,Dora Secretkeeper,engineering,not a date,To Do
T-4,Too,many,Evelyn Hiddenfield,x,2026-11-04 09:00,Done,EXTRA
"""

# Every raw identity of the fixture, as a case-insensitive search finds it.
RAW_IDENTITIES = (
    "alice-ng",
    ALICE_EMAIL,
    ALICE_JIRA,
    "Alice Ng",
    "borislav-k",
    "Cyrus Young",
    "Dora Secretkeeper",
    "Evelyn Hiddenfield",
)

PEOPLE = f"""
[[privacy.people]]
name = "Alice Ng"
github = "alice-ng"
jira = "{ALICE_JIRA}"
email = "{ALICE_EMAIL}"
teams = ["growth"]
"""

SOURCES = """
[[sources]]
name = "gh-export"
kind = "files"
feed = "changes"
path = "exports/changes.csv"

[[sources]]
name = "jira-export"
kind = "files"
feed = "tickets"
path = "exports/tickets.csv"
"""


def configure(project, privacy: str) -> None:
    project.file("exports/changes.csv", CHANGES)
    project.file("exports/tickets.csv", TICKETS)
    project.configure("[privacy]\n" + privacy + "\n" + PEOPLE + SOURCES)


def authors(project) -> list[tuple]:
    return project.query("select change_id, author from changes order by change_id")


def assignees(project) -> list[tuple]:
    return project.query("select ticket_id, assignee, role from tickets order by ticket_id")


@pytest.fixture
def keyed(project, monkeypatch):
    """The fixture with the key in $TANDEM_TEST_PRIVACY_KEY."""
    monkeypatch.setenv(PRIVACY_KEY_ENV, PRIVACY_KEY)
    configure(project, f'key_env = "{PRIVACY_KEY_ENV}"')
    return project


# -- the pseudonyms -------------------------------------------------------------------------


def test_people_are_stored_as_the_hmac_of_their_canonical_identity(keyed):
    report = keyed.sync()
    assert report.ok, report.as_dict()
    alice = person(ALICE_EMAIL)
    # Hand-checked once: HMAC-SHA256("correct horse battery staple", "alice@example.com").
    assert (
        alice
        == "person-"
        + (
            hmac.new(
                b"correct horse battery staple", b"alice@example.com", hashlib.sha256
            ).hexdigest()[:10]
        )
    )
    assert authors(keyed) == [("c1", alice), ("c2", alice), ("c3", person("borislav-k"))]
    # The Jira account id is Alice's third alias; roles came with the rows and stay.
    assert assignees(keyed) == [
        ("T-1", alice, "engineering"),
        ("T-2", person("Cyrus Young"), "data_science"),
    ]


def test_two_aliases_of_one_person_count_once(keyed):
    assert keyed.sync().ok
    # Three changes by alice-ng, ALICE@example.com and borislav-k: two people, not three.
    assert keyed.query("select count(*), count(distinct author) from changes") == [(3, 2)]
    # Across tools: the people of changes and tickets together are 3 (Alice, Boris, Cyrus).
    assert keyed.query(
        "select count(distinct who) from (select author as who from changes "
        "union all select assignee from tickets)"
    ) == [(3,)]


def test_pseudonyms_are_stable_across_syncs(keyed):
    assert keyed.sync().ok
    first = (authors(keyed), assignees(keyed))
    again = keyed.sync(reread=True)  # the files are unchanged: read them again all the same
    counts = {row["feed"]: (row["loaded"], row["duplicates"]) for row in again.as_dict()["sources"]}
    # Nothing changed: every good row is the same row again, not loaded anew.
    assert counts == {"changes": (0, 3), "tickets": (0, 2)}
    assert (authors(keyed), assignees(keyed)) == first
    assert again.notices == []


def test_show_names_keeps_names_and_joins_aliases_under_the_persons_name(project):
    configure(project, "show_names = true")
    assert project.sync().ok
    assert authors(project) == [("c1", "Alice Ng"), ("c2", "Alice Ng"), ("c3", "borislav-k")]
    assert assignees(project) == [
        ("T-1", "Alice Ng", "engineering"),
        ("T-2", "Cyrus Young", "data_science"),
    ]
    # No key is needed, so none is made.
    assert not (project.root / settings.DEFAULT_PRIVACY_KEY_FILE).exists()
    assert project.query("select value from tandem_meta where key = 'identity_mode'") == [
        ("names",)
    ]


def test_no_raw_identity_anywhere_in_the_warehouse(keyed):
    report = keyed.sync()
    assert [r["quarantined"] for r in report.as_dict()["sources"]] == [0, 2]
    found = []
    tables = keyed.query(
        "select table_name, column_name from information_schema.columns "
        "where data_type like 'VARCHAR%' order by all"
    )
    assert ("quarantine", "raw") in tables and ("tickets", "assignee") in tables
    for table, column in tables:
        for identity in RAW_IDENTITIES:
            hits = keyed.query(
                f'select count(*) from "{table}" '
                f'where lower(cast("{column}" as varchar)) like $pattern',
                {"pattern": f"%{identity.lower()}%"},
            )[0][0]
            if hits:
                found.append((table, column, identity))
    assert found == []
    # The quarantined rows: T-3 readable, its assignee pseudonymised in the raw record; the
    # line with too many fields withheld, a digest in its place.
    (readable,), (withheld,) = keyed.query(
        "select raw from quarantine order by row_number nulls last"
    )
    assert json.loads(readable)["assignee"] == person("Dora Secretkeeper")
    assert json.loads(withheld)["withheld"] == "not read column by column, and may name people"


# -- the key --------------------------------------------------------------------------------


def test_without_key_env_a_key_file_is_made_0600_and_said_once(project, monkeypatch):
    monkeypatch.delenv(PRIVACY_KEY_ENV, raising=False)
    configure(project, "min_people = 3")
    key_file = project.root / "tandem-privacy.key"
    first = project.sync()
    assert first.ok
    assert first.notices == [
        f"created the privacy key file {key_file} (mode 0600): people are stored as "
        "pseudonyms made with it; keep it, or pseudonyms change"
    ]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) == 64
    assert authors(project)[2] == ("c3", person("borislav-k", key=key))
    again = project.sync()
    assert again.notices == [] and authors(project)[2] == ("c3", person("borislav-k", key=key))


def test_the_cli_says_it_made_the_key_file(project, monkeypatch):
    monkeypatch.delenv(PRIVACY_KEY_ENV, raising=False)
    configure(project, "")
    result = subprocess.run(
        [sys.executable, "-m", "connectors", "sync", "--config", str(project.config_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    key_file = project.root / "tandem-privacy.key"
    assert result.stderr.splitlines() == [
        f"tandem: created the privacy key file {key_file} (mode 0600): people are stored as "
        "pseudonyms made with it; keep it, or pseudonyms change"
    ]


def test_the_embedded_default_keeps_its_key_beside_the_warehouse(tmp_path):
    config = settings.default_config(tmp_path)
    assert config.privacy.key_file == config.warehouse.parent / "tandem-privacy.key"
    assert config.warehouse.parent == tmp_path / "data"


def test_a_named_but_empty_key_variable_is_named_never_its_value(project, monkeypatch):
    configure(project, 'key_env = "TANDEM_TEST_NO_SUCH_KEY"')
    monkeypatch.delenv("TANDEM_TEST_NO_SUCH_KEY", raising=False)
    with pytest.raises(settings.ConfigError) as raised:
        project.sync()
    assert str(raised.value) == (
        "[privacy] key_env names the environment variable TANDEM_TEST_NO_SUCH_KEY, "
        "which is not set (or empty)"
    )
    assert not project.warehouse.exists()  # refused before anything was written
    monkeypatch.setenv("TANDEM_TEST_NO_SUCH_KEY", "   ")
    result = subprocess.run(
        [sys.executable, "-m", "connectors", "sync", "--config", str(project.config_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(TANDEM_TEST_NO_SUCH_KEY="   "),
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"tandem: {raised.value}"


# -- the identity mode ----------------------------------------------------------------------


def _meta(project) -> dict[str, str]:
    return dict(project.query("select key, value from tandem_meta"))


def test_the_warehouse_records_the_mode_and_a_fingerprint_not_the_key(keyed):
    assert keyed.sync().ok
    meta = _meta(keyed)
    expected = hmac.new(
        PRIVACY_KEY.encode(), b"tandem privacy key fingerprint", hashlib.sha256
    ).hexdigest()[:16]
    assert (meta["identity_mode"], meta["identity_key_fingerprint"]) == ("pseudonyms", expected)
    assert PRIVACY_KEY not in json.dumps(meta)


def test_switching_names_or_key_rewrites_every_person_and_never_mixes(keyed, monkeypatch):
    assert keyed.sync().ok
    # To names: the pseudonyms cannot be turned back, so the people are read again.
    configure(keyed, "show_names = true")
    named = keyed.sync()
    assert named.notices == [
        "[privacy] changed how people are stored (pseudonyms -> names): read again the "
        "people of gh-export, jira-export"
    ]
    assert authors(keyed) == [("c1", "Alice Ng"), ("c2", "Alice Ng"), ("c3", "borislav-k")]
    assert _meta(keyed)["identity_mode"] == "names"
    # Back to pseudonyms, with another key: every person under the new key, none under either
    # the names or the old key.
    monkeypatch.setenv(PRIVACY_KEY_ENV, "another key")
    configure(keyed, f'key_env = "{PRIVACY_KEY_ENV}"')
    assert keyed.sync().ok
    alice = person(ALICE_EMAIL, key="another key")
    assert authors(keyed) == [
        ("c1", alice),
        ("c2", alice),
        ("c3", person("borislav-k", key="another key")),
    ]
    assert assignees(keyed)[0] == ("T-1", alice, "engineering")
    monkeypatch.setenv(PRIVACY_KEY_ENV, "a third key")
    changed = keyed.sync()
    assert changed.notices == [
        "[privacy] changed how people are stored (pseudonyms -> pseudonyms, a new key): "
        "read again the people of gh-export, jira-export"
    ]
    people = {a for _, a in authors(keyed)} | {a for _, a, _ in assignees(keyed)}
    assert people == {
        person(ALICE_EMAIL, key="a third key"),
        person("borislav-k", key="a third key"),
        person("Cyrus Young", key="a third key"),
    }


def test_a_mode_change_needs_every_source_in_the_sync(keyed):
    assert keyed.sync().ok
    configure(keyed, "show_names = true")
    before = authors(keyed)
    with pytest.raises(settings.ConfigError, match=r"without --source.*\(jira-export\)"):
        keyed.sync(only=["gh-export"])
    assert authors(keyed) == before  # the live warehouse is as it was


def test_a_warehouse_from_before_pseudonyms_is_read_again(project, monkeypatch):
    configure(project, "show_names = true")
    assert project.sync().ok
    # An older Tandem recorded no mode: its people are names.
    import duckdb

    con = duckdb.connect(str(project.warehouse))
    con.execute("delete from tandem_meta where key like 'identity_%'")
    con.close()
    monkeypatch.setenv(PRIVACY_KEY_ENV, PRIVACY_KEY)
    configure(project, f'key_env = "{PRIVACY_KEY_ENV}"')
    assert project.sync().ok
    assert authors(project)[0] == ("c1", person(ALICE_EMAIL))


# -- settings and the pure mapping ----------------------------------------------------------


def parse(privacy: dict) -> settings.Config:
    return settings.parse({"privacy": privacy}, ROOT, "tandem.toml")


def test_the_privacy_table_parses_into_privacy_config():
    config = parse(
        {
            "min_people": 4,
            "key_env": "TANDEM_PRIVACY_KEY",
            "people": [{"name": "Alice Ng", "github": "alice-ng", "email": ALICE_EMAIL}],
        }
    )
    assert config.min_people == config.privacy.min_people == 4
    assert (config.privacy.key_env, config.privacy.show_names) == ("TANDEM_PRIVACY_KEY", False)
    [alice] = config.privacy.people
    assert (alice.aliases, alice.canonical) == ((ALICE_EMAIL, "alice-ng"), ALICE_EMAIL)
    assert config.privacy.key_file == ROOT / "tandem-privacy.key"
    assert parse({}).privacy == settings.PrivacyConfig(key_file=ROOT / "tandem-privacy.key")


@pytest.mark.parametrize(
    ("privacy", "message"),
    [
        ({"show_name": True}, "[privacy] has unknown keys show_name"),
        ({"key_env": 42}, "[privacy] key_env must name an environment variable"),
        ({"key_env": ""}, "[privacy] key_env must name an environment variable"),
        ({"show_names": "yes"}, "[privacy] show_names must be true or false, got 'yes'"),
        ({"min_people": 0}, "[privacy] min_people must be a whole number of at least 1"),
        ({"people": {"name": "x"}}, "[privacy] people must be an array of tables"),
        ({"people": [{"github": "x"}]}, "[[privacy.people]] #1 needs a name"),
        ({"people": [{"name": "A"}]}, "[[privacy.people]] 'A' needs at least one of email"),
        (
            {"people": [{"name": "A", "slack": "a"}]},
            "[[privacy.people]] #1 has unknown keys slack",
        ),
        (
            {
                "people": [
                    {"name": "A", "github": "al"},
                    {"name": "B", "email": "b@x", "jira": "AL"},
                ]
            },
            "[[privacy.people]] 'B' jira: the alias is already 'A''s",
        ),
        ({"people": [{"name": "A", "github": "a", "teams": "g"}]}, "teams must be a list"),
    ],
)
def test_a_bad_privacy_table_is_one_line_naming_the_key(privacy, message):
    with pytest.raises(settings.ConfigError) as raised:
        parse(privacy)
    text = str(raised.value)
    assert text.startswith("tandem.toml: ") and message in text and "\n" not in text


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("alice-ng", ALICE_EMAIL),
        ("  Alice@Example.com ", ALICE_EMAIL),
        (ALICE_JIRA, ALICE_EMAIL),
        ("Borislav-K", "borislav-k"),
    ],
)
def test_an_identity_maps_to_its_canonical_pseudonym(value, canonical):
    privacy = parse({"people": [{"name": "Alice Ng", "github": "alice-ng", "jira": ALICE_JIRA,
                                 "email": ALICE_EMAIL}]}).privacy  # fmt: skip
    identities = Identities(privacy, settings.Secret(PRIVACY_KEY))
    assert identities(value) == person(canonical) == pseudonym(PRIVACY_KEY.encode(), canonical)
    assert identities(None) is None and identities("  ") is None
    assert len(identities(value)) == len("person-") + 10
