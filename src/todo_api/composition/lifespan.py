"""Starting and stopping, in one place for the app and the `todo-api` command: which
database (DATABASE_URL or the embedded server), migrating it as soon as it answers, which
mailer, and the app's lifespan that runs them with the background jobs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

from dependency_injector import providers
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_adapters.mail.log_mailer import LoggingMailer
from todo_adapters.mail.outbox import RetryingOutbox
from todo_adapters.mail.smtp import SmtpMailer
from todo_adapters.sql.embedded import EmbeddedPostgres
from todo_adapters.sql.migrate import upgrade_schema
from todo_api.composition.jobs import purge_jobs
from todo_api.composition.preflight import StartupError, check_urls, reason, wait_for_database
from todo_api.composition.streaming import live_updates
from todo_api.observability.logging import get_logger
from todo_api.settings import Settings
from todo_core.ports import Mailer

if TYPE_CHECKING:
    from todo_api.composition.container import Container

log = get_logger("todo_api.database")

# At shutdown, how long reset messages still queued get for a last attempt.
MAIL_STOP_SECONDS = 5.0


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """DATABASE_URL, or the embedded server under DATA_DIR, started for as long as the block
    runs (and stopped after it unless another process still uses it). Raises
    EmbeddedPostgresMissingError when that is needed and not installed."""
    if settings.DATABASE_URL:
        yield settings.DATABASE_URL
        return
    server = EmbeddedPostgres(settings.DATA_DIR)
    log.info("database.embedded_started", data_dir=str(settings.DATA_DIR))
    try:
        yield server.url()
    finally:
        if not server.stop():
            log.info("database.embedded_kept", reason="left running for the others using it")


async def ready_database(engine: AsyncEngine, settings: Settings) -> None:
    """Migrate as soon as the database answers (preflight.wait_for_database: retried for up
    to DB_CONNECT_TIMEOUT). Raises StartupError naming the setting."""
    await wait_for_database(engine, settings)
    try:
        await upgrade_schema(engine)
    except Exception as exc:
        raise StartupError("DATABASE_URL", f"migrating the schema failed: {reason(exc)}") from exc


def smtp_mailer(settings: Settings) -> SmtpMailer | None:
    """SMTP_URL's server, or None when it is not set."""
    smtp_url = settings.SMTP_URL.get_secret_value() if settings.SMTP_URL else ""
    return SmtpMailer(smtp_url, settings.MAIL_FROM) if smtp_url else None


def configured_mailer(settings: Settings) -> Mailer | None:
    """SMTP_URL's server; without one, the log in development (so that a developer can
    follow the link), and nothing in production: no reset token may reach its logs."""
    if (smtp := smtp_mailer(settings)) is not None:
        return smtp
    if settings.is_production:
        return None
    return LoggingMailer(get_logger("todo_api.mail"))


@contextlib.asynccontextmanager
async def _mail_delivery(container: Container) -> AsyncIterator[None]:
    """Reset messages go out in the background while the block runs; at its end, what is
    still queued gets a last attempt of up to MAIL_STOP_SECONDS."""
    outbox = container.mail_outbox()
    if not isinstance(outbox, RetryingOutbox):
        yield
        return
    await outbox.start()
    try:
        yield
    finally:
        await outbox.stop(timeout_s=MAIL_STOP_SECONDS)


@contextlib.asynccontextmanager
async def _database(settings: Settings, container: Container) -> AsyncIterator[None]:
    """The container pointed at the database for as long as the block runs; the embedded
    server starts and stops in a thread, off the event loop."""
    chosen = contextlib.ExitStack()
    url = await asyncio.to_thread(chosen.enter_context, database_url(settings))
    try:
        container.database_url.override(providers.Object(url))
        await ready_database(container.engine(), settings)
        try:
            yield
        finally:
            await container.engine().dispose()
    finally:
        await asyncio.to_thread(chosen.close)


def _start_failed(error: Exception) -> None:
    """A failed start in one line naming the setting; the trace at DEBUG only."""
    if isinstance(error, StartupError):
        log.error("app.start_failed", setting=error.setting, reason=error.reason)
    else:
        log.error("app.start_failed", reason=f"{type(error).__name__}: {reason(error)}")
    log.debug("app.start_failed_trace", exc_info=error)


def app_lifespan(
    settings: Settings,
    container: Container,
    started: Callable[[], Any],
    stopping: Callable[[], Any],
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """What the app runs around serving: the database (migrated), mail delivery and the
    purge jobs. `started` runs once the database is ready, `stopping` first thing at the
    end (both the app's own: metrics, tracing, SIGTERM draining)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as database:
            try:
                check_urls(settings)
                await database.enter_async_context(_database(settings, container))
            except Exception as exc:
                _start_failed(exc)
                raise
            started()
            log.info("app.started", env=settings.APP_ENV)
            try:
                async with (
                    _mail_delivery(container),
                    purge_jobs(container, settings.REFRESH_PURGE_INTERVAL),
                    live_updates(container),
                ):
                    yield
            finally:
                stopping()
        log.info("app.stopped")

    return lifespan
