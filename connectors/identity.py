"""People's identities at ingest: the privacy key, pseudonyms, and one identity per person.

A change author, a ticket's or a transition's assignee is stored as `person-` + the first 10
hex characters of HMAC-SHA256(key, canonical identity). The canonical identity of someone
listed in `[[privacy.people]]` is the first of their email, GitHub login and Jira account id
(lower case), whichever alias a tool names them by; anyone else's is the value the tool gives,
trimmed and in lower case (logins and emails do not tell case apart). With `[privacy]
show_names = true` a listed person's aliases become their `name` and anyone else's value is
kept as written.

The key is the value of the environment variable `[privacy] key_env` names; with none named,
the content of a key file beside the config (`PrivacyConfig.key_file`), made on the first sync
with 64 random hex characters and mode 0600. The warehouse records the mode (names or
pseudonyms) and the key's fingerprint, an HMAC of a fixed text under the key, never the key.

Pure but for `load_key`, which reads the environment and reads or writes the key file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from settings import ConfigError, PrivacyConfig, Secret

PSEUDONYM_PREFIX = "person-"
PSEUDONYM_HEX = 10
NAMES = "names"
PSEUDONYMS = "pseudonyms"
# What the fingerprint is an HMAC of: a fixed text, so it tells keys apart without showing one.
_FINGERPRINT_TEXT = b"tandem privacy key fingerprint"
KEY_FILE_MODE = 0o600
WITHHELD_REASON = "not read column by column, and may name people"


def pseudonym(key: bytes, canonical: str) -> str:
    """`person-` + 10 hex characters of HMAC-SHA256(key, canonical), as UTF-8."""
    digest = hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX]


def fingerprint(key: bytes) -> str:
    """16 hex characters that change with the key and do not reveal it."""
    return hmac.new(key, _FINGERPRINT_TEXT, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class KeyResolution:
    """The key a sync pseudonymises with, and the one line to tell if a key file was made."""

    key: Secret
    created: Path | None = None

    @property
    def notice(self) -> str | None:
        if self.created is None:
            return None
        return (
            f"created the privacy key file {self.created} (mode 0600): people are stored as "
            "pseudonyms made with it; keep it, or pseudonyms change"
        )


def load_key(privacy: PrivacyConfig) -> KeyResolution:
    """The privacy key: from the variable `key_env` names, else the key file (made if absent).

    ConfigError naming the variable, never its value, when it is named but empty or unset.
    """
    if privacy.key_env:
        value = os.environ.get(privacy.key_env, "")
        if not value.strip():
            raise ConfigError(
                f"[privacy] key_env names the environment variable {privacy.key_env}, "
                "which is not set (or empty)"
            )
        return KeyResolution(Secret(value.strip()))
    path = privacy.key_file
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    else:
        if not text:
            raise ConfigError(f"the privacy key file {path} is empty: restore it or delete it")
        return KeyResolution(Secret(text))
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # O_EXCL: two first syncs at once cannot both write a key; the mode is set at creation.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    except FileExistsError:
        return load_key(privacy)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    os.chmod(path, KEY_FILE_MODE)  # a umask may have narrowed it; never wider than 0600
    return KeyResolution(Secret(value), created=path)


class Identities:
    """Maps an identity as a tool gives it to what the warehouse stores: a pseudonym or a name.

    Args:
        privacy: the `[privacy]` config (show_names, people).
        key: the privacy key (unused, and may be None, when show_names is true).
    """

    def __init__(self, privacy: PrivacyConfig, key: Secret | None):
        self.show_names = privacy.show_names
        if not self.show_names and key is None:
            raise ValueError("pseudonyms need a key")
        self._key = key.reveal().encode("utf-8") if key is not None else b""
        self._person: dict[str, tuple[str, str]] = {}  # alias (lower) -> (canonical, name)
        for person in privacy.people:
            for alias in person.aliases:
                self._person[alias.lower()] = (person.canonical, person.name)
        self._cache: dict[str, str] = {}

    @property
    def mode(self) -> str:
        return NAMES if self.show_names else PSEUDONYMS

    @property
    def fingerprint(self) -> str | None:
        """The key's fingerprint when pseudonymising; None with names (no key in play)."""
        return None if self.show_names else fingerprint(self._key)

    def canonical(self, value: str) -> str:
        """The identity a value stands for: a listed person's canonical alias, else itself."""
        text = value.strip()
        listed = self._person.get(text.lower())
        return listed[0] if listed else text.lower()

    def __call__(self, value: str | None) -> str | None:
        """What the warehouse stores for `value`: None stays None, blank text is None."""
        if value is None:
            return None
        cached = self._cache.get(value)
        if cached is not None:
            return cached
        text = value.strip()
        if not text:
            return None
        if self.show_names:
            listed = self._person.get(text.lower())
            stored = listed[1] if listed else text
        else:
            stored = pseudonym(self._key, self.canonical(text))
        self._cache[value] = stored
        return stored

    def withhold(self, raw: str) -> str:
        """A raw record that may name people, as quarantine keeps it under pseudonyms: JSON
        with a keyed digest of the content (the same record always gives the same text)."""
        digest = hmac.new(self._key, raw.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
        return json.dumps({"withheld": WITHHELD_REASON, "digest": digest})

    def many(self, values: Iterable[str | None]) -> list[str | None]:
        return [self(v) for v in values]
