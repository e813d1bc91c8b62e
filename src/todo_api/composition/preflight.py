"""What a start refuses, said in one line that names the setting: the settings the adapters
parse (DATABASE_URL, SMTP_URL, MAIL_FROM), the database answering within
DB_CONNECT_TIMEOUT, and its schema being one this release knows. `todo-api check` and
`todo-api serve` run the same steps, so they refuse alike."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_adapters.mail.smtp import parse_smtp_url, sender_address
from todo_adapters.sql.database_url import parse_database_url
from todo_adapters.sql.errors import is_unavailable
from todo_adapters.sql.migrate import current_revision, is_known_revision
from todo_api.observability.logging import get_logger
from todo_api.settings import Settings

# Its own logger, so that a command (which reports a failure once, in one line) can leave
# the retries out.
retries = get_logger("todo_api.database.retries")


class StartupError(Exception):
    """A start cannot go on: `setting` is the variable to fix (or "" when none is)."""

    def __init__(self, setting: str, reason: str) -> None:
        # An adapter's own message may already begin with the setting's name.
        named = not setting or reason.startswith(f"{setting} ")
        super().__init__(reason if named else f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason


def reason(error: BaseException) -> str:
    """One line saying what went wrong: the driver's own message rather than SQLAlchemy's
    wrapping of it (and its "Background on this error" link)."""
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        error = error.orig
    text = " ".join(str(error).split())
    if isinstance(error, (TimeoutError, asyncio.TimeoutError)) and not text:
        return "timed out"
    return text or type(error).__name__


def _check_database_url(setting: str, url: str) -> None:
    try:
        parse_database_url(url)
    except (ValueError, sa_exc.ArgumentError) as exc:
        # SQLAlchemy's message repeats the URL, password and all: never shown.
        said = str(exc)
        named = said.startswith("DATABASE_URL")
        said = setting + said.removeprefix("DATABASE_URL") if named else ""
        raise StartupError(
            setting,
            f"{said or 'not a URL'} (expected postgresql://user:password@host:5432/database)",
        ) from None


def check_urls(settings: Settings) -> None:
    """DATABASE_URL, LISTEN_DATABASE_URL, SMTP_URL and MAIL_FROM parse as the adapters will
    parse them; LISTEN_DATABASE_URL is set when DATABASE_URL goes through PgBouncer."""
    if settings.DATABASE_URL:
        _check_database_url("DATABASE_URL", settings.DATABASE_URL)
    if settings.LISTEN_DATABASE_URL:
        _check_database_url("LISTEN_DATABASE_URL", settings.LISTEN_DATABASE_URL)
    elif settings.DB_PGBOUNCER:
        # LISTEN through transaction pooling would listen on whichever server connection
        # ran it, and live updates would be lost without a word: refused instead.
        raise StartupError(
            "LISTEN_DATABASE_URL",
            "must be set to a direct connection (not through PgBouncer) when DB_PGBOUNCER is "
            "on: live updates (GET /events) LISTEN on it",
        )
    smtp_url = settings.SMTP_URL.get_secret_value() if settings.SMTP_URL else ""
    if smtp_url:
        try:
            parse_smtp_url(smtp_url)
        except ValueError as exc:
            raise StartupError("SMTP_URL", str(exc)) from None
    try:
        sender_address(settings.MAIL_FROM)
    except ValueError as exc:
        raise StartupError("MAIL_FROM", str(exc)) from None


def check_data_dir(settings: Settings) -> None:
    """Without JWT_SECRET, the development secret kept under DATA_DIR can be read or made."""
    if settings.JWT_SECRET is not None:
        return
    try:
        settings.jwt_secret()
    except OSError as exc:
        raise StartupError(
            "DATA_DIR",
            f"cannot keep the development JWT secret in {settings.DATA_DIR}: {exc.strerror} "
            "(set JWT_SECRET, or a DATA_DIR this user can write)",
        ) from None


async def wait_for_database(engine: AsyncEngine, settings: Settings) -> str | None:
    """The schema revision, once the database answers; retried with backoff for up to
    DB_CONNECT_TIMEOUT seconds while it is unreachable. A refusal (wrong role, password or
    database name) or a revision this release does not know fails at once."""
    timeout_s = settings.DB_CONNECT_TIMEOUT
    deadline = time.monotonic() + timeout_s
    delay = 0.25
    while True:
        left = max(deadline - time.monotonic(), 0.5)
        try:
            revision = await asyncio.wait_for(current_revision(engine), timeout=left)
            break
        except Exception as exc:
            if not is_unavailable(exc):
                raise StartupError("DATABASE_URL", reason(exc)) from exc
            if time.monotonic() >= deadline:
                raise StartupError(
                    "DATABASE_URL",
                    f"host {engine.url.host or '(default)'} unreachable for {timeout_s:g} s "
                    f"(DB_CONNECT_TIMEOUT): {reason(exc)}",
                ) from exc
            retries.warning("database.retrying", in_seconds=delay, error=reason(exc))
        await asyncio.sleep(max(0.0, min(delay, deadline - time.monotonic())))
        delay = min(delay * 2, 4.0)
    if revision is not None and not is_known_revision(revision):
        raise StartupError(
            "DATABASE_URL",
            f"the database is at schema revision {revision}, which this release does not "
            "know (migrated by a newer release?)",
        )
    return revision
