"""Who is looking: sign-in through Streamlit's OpenID Connect, and what that person may see.

Sign-in is configured the Streamlit way, in `.streamlit/secrets.toml` (`[auth]`, one provider,
or named ones as `[auth.<name>]`); who may see what is `[access]` in Tandem's config, read again
on every run, so a person removed from it is refused on their next click. Without `[auth]`
Tandem runs in open mode (the shipped `.streamlit/config.toml` listens on 127.0.0.1 only) and
says so in the sidebar; with `[access]` but no `[auth]` it shows nothing, rather than show
everything to everyone.

The scope decided here is kept in the session for `pages.loaders`, which enforces it where the
numbers are read (`metrics.access`). Sign-ins, refusals and downloads go to the access log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import streamlit as st

from metrics import access, writeback
from pages.loaders import SCOPE_KEY as SCOPE
from pages.loaders import config, scope

OPEN_MODE = "open mode: anyone who can reach this port sees everything"
LOGGED = "access_logged"
_log = logging.getLogger("tandem.access")
# The OpenID Connect settings shared by every provider (the rest name a provider).
SHARED_AUTH_KEYS = frozenset({"redirect_uri", "cookie_secret", "expose_tokens"})


def providers() -> list[str | None] | None:
    """The sign-in providers of `[auth]`: [None] for the one unnamed provider, else their
    names; None when there is no `[auth]` (open mode)."""
    try:
        auth = st.secrets.get("auth") if "auth" in st.secrets else None
    except Exception:  # noqa: BLE001 (no secrets file at all: Streamlit's own error type)
        return None
    if not auth:
        return None
    named = sorted(
        str(key)
        for key, value in auth.items()
        if key not in SHARED_AUTH_KEYS and hasattr(value, "keys") and "client_id" in value
    )
    return named or [None]


def current() -> access.Scope:
    """The scope this run was given (pages.loaders.scope: it refuses when `[access]` is set
    and nobody signed in)."""
    return scope()


def log(event: str, detail: str = "") -> None:
    """One access-log line for the signed-in person; a log that cannot be written is said
    on the page and does not stop it."""
    person = current()
    try:
        writeback.log_access(config(), person.who, event, person.describe(), detail)
    except (writeback.NotesError, writeback.ConfigError) as error:
        st.warning(f"The access log cannot be written: {error}")


def _log_once(key: str, event: str, who: str, what: str, detail: str = "") -> None:
    logged = st.session_state.setdefault(LOGGED, set())
    if key in logged:
        return
    try:
        writeback.log_access(config(), who, event, what, detail)
    except (writeback.NotesError, writeback.ConfigError) as error:
        st.warning(f"The access log cannot be written: {error}")
        return
    logged.add(key)


def _sign_in(names: list[str | None]) -> None:
    st.title("Tandem")
    st.write("Sign in to see your teams' delivery, collaboration and model health.")
    for name in names:
        label = "Sign in" if name is None else f"Sign in with {name.replace('_', ' ').title()}"
        if st.button(label, key=f"sign_in_{name or 'default'}", type="primary"):
            st.login(name) if name else st.login()


def _sign_out_button(where: Any) -> None:
    where.button("Sign out", key="sign_out", on_click=st.logout)


def _user() -> access.User:
    groups = st.user.get("groups") or []
    if isinstance(groups, str):
        groups = [groups]
    return access.User(
        email=str(st.user.get("email") or ""),
        groups=frozenset(str(g) for g in groups),
        name=st.user.get("name"),
    )


def gate() -> access.Scope | None:
    """The scope of whoever is looking, or None (having said why on the page) when they may
    see nothing: not signed in, not allowed, or sign-in missing where `[access]` wants it."""
    cfg = config()
    names = providers()
    if names is None:
        if cfg.access.configured:
            st.error(
                "[access] is set in the configuration but sign-in is not: add an [auth] section "
                "to .streamlit/secrets.toml (see the README), or remove [access] to run in open "
                "mode. Nothing is shown until then."
            )
            return None
        st.sidebar.caption(f":material/lock_open: {OPEN_MODE}")
        st.session_state[SCOPE] = access.LOCAL
        return access.LOCAL
    if not st.user.is_logged_in:
        st.session_state.pop(SCOPE, None)
        _sign_in(names)
        return None
    user = _user()
    if not cfg.access.configured:
        st.error(
            "Sign-in is configured but [access] is not: nobody is let in until the "
            "configuration says who sees which teams (see the README)."
        )
        _sign_out_button(st)
        return None
    try:
        person = access.resolve(cfg.access, user)
    except access.NotAllowed as refusal:
        st.session_state.pop(SCOPE, None)
        _log_once(f"refused:{refusal}", "refused", user.email or "(no email)", str(refusal))
        st.error(f"Not allowed: {refusal}.")
        _sign_out_button(st)
        return None
    st.session_state[SCOPE] = person
    _log_once(f"sign_in:{person.key()}", "sign_in", person.who, person.describe())
    st.sidebar.caption(f"Signed in as **{person.who}** · {person.describe()}")
    _sign_out_button(st.sidebar)
    return person


def not_in_scope(error: Exception) -> None:
    """What a page shows instead of its numbers when the URL names a team or model outside
    the person's scope; the attempt is logged."""
    log("not_in_scope", str(error))
    st.error(str(error))


def sees_rows() -> bool:
    """Whether this run's person may see the rows behind the figures for this run's filters."""
    return current().sees_rows(st.session_state.get("filters"))


def download_button(
    where: Any,
    label: str,
    make: Callable[[], str | bytes],
    file_name: str,
    logged_as: str | None = None,
    **options: Any,
) -> None:
    """A download button in `where` (st, or a column) whose file `make` writes when clicked,
    the download going to the access log then, as `logged_as` (default: the file's name).

    Who is downloading, and where the log is, are read now, in the run that draws the button:
    the click is served outside any run (`on_click="ignore"`, no rerun). Logging in an
    `on_click` made every download rerun the page, and raced it: the rerun could retire the
    file before it was written, and the download never came.
    """
    person, config_now, name = current(), config(), logged_as or file_name

    def logged() -> str | bytes:
        try:
            writeback.log_access(config_now, person.who, "download", person.describe(), name)
        except (writeback.NotesError, writeback.ConfigError) as error:
            # No page to say it on here: the server's log. The file is still served.
            _log.warning("The access log cannot be written: %s", error)
        return make()

    where.download_button(label, logged, file_name=file_name, on_click="ignore", **options)
