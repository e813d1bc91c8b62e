"""The one place that knows every adapter: builds the object graph from Settings."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from dependency_injector import containers, providers

from todo_adapters.clock import SystemClock
from todo_adapters.mail.log_mailer import LoggingMailer
from todo_adapters.mail.outbox import OutboxHooks, RetryingOutbox
from todo_adapters.mail.smtp import SmtpMailer
from todo_adapters.security.bcrypt_hasher import BcryptPasswordHasher
from todo_adapters.security.jwt_issuer import JwtTokenIssuer
from todo_adapters.sql.embedded import EmbeddedPostgres
from todo_adapters.sql.engine import PoolSettings, behind_pooler, build_engine, pool_status
from todo_adapters.sql.errors import is_unavailable
from todo_adapters.sql.health import SqlReadinessProbe
from todo_adapters.sql.migrate import upgrade_schema
from todo_adapters.sql.uow import SqlUnitOfWorkFactory
from todo_api.cursors import CursorCodec
from todo_api.logging import get_logger
from todo_api.metrics import Metrics
from todo_api.settings import Settings
from todo_core.account_service import AccountService
from todo_core.login_throttle import ThrottlePolicy
from todo_core.password_reset import PasswordResetService, ResetPolicy
from todo_core.ports import Mailer, MailOutbox
from todo_core.services import AuthPolicy, AuthService
from todo_core.task_service import TaskService

log = get_logger("todo_api.database")


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def _cores_per_worker(settings: Settings) -> int:
    return max(1, (os.cpu_count() or 1) // settings.WORKERS)


def _pool_settings(settings: Settings) -> PoolSettings:
    return PoolSettings(
        size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
        timeout_s=settings.DB_POOL_TIMEOUT,
        max_waiting=settings.DB_POOL_MAX_WAITING,
        statement_timeout_ms=settings.DB_STATEMENT_TIMEOUT,
        pgbouncer=settings.DB_PGBOUNCER,
    )


# A reset message leaves 0.1 to 1 s after its request: never while that request's response
# is being written, and not at a fixed time after it (the time of a request with a known
# email must not show).
MAIL_HOLD_S = (0.1, 1.0)


def _mailer(settings: Settings) -> Mailer | None:
    """SMTP_URL's server; without one, the log in development (so that a developer can
    follow the link), and nothing in production: no reset token may reach its logs."""
    smtp_url = settings.SMTP_URL.get_secret_value() if settings.SMTP_URL else ""
    if smtp_url:
        return SmtpMailer(smtp_url, settings.MAIL_FROM)
    if settings.is_production:
        return None
    return LoggingMailer(get_logger("todo_api.mail"))


def _mail_outbox(settings: Settings, mailer: Mailer | None, metrics: Metrics) -> MailOutbox | None:
    if mailer is None:
        return None
    sent, failed = metrics.reset_mails.labels("sent"), metrics.reset_mails.labels("failed")
    return RetryingOutbox(
        mailer,
        # A message still undelivered when its link expires would be of no use.
        give_up_after=settings.PASSWORD_RESET_TTL,
        hooks=OutboxHooks(on_sent=sent.inc, on_failed=lambda _reason: failed.inc()),
        hold_s=MAIL_HOLD_S,
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    # Known only once the lifespan has started (it may start an embedded server first).
    database_url = providers.Dependency(instance_of=str)

    clock = providers.Singleton(SystemClock)
    pool_settings = providers.Callable(_pool_settings, settings)
    engine = providers.Singleton(build_engine, database_url=database_url, pool=pool_settings)
    pool_status = providers.Callable(pool_status, engine=engine)
    uow_factory = providers.Singleton(
        SqlUnitOfWorkFactory,
        engine=engine,
        pool=pool_settings,
        autocommit=providers.Callable(
            lambda url, pool: not behind_pooler(url, pool), database_url, pool_settings
        ),
    )
    readiness = providers.Singleton(SqlReadinessProbe, engine=engine)

    password_hasher = providers.Singleton(
        BcryptPasswordHasher,
        rounds=settings.provided.BCRYPT_ROUNDS,
        threads=providers.Callable(_cores_per_worker, settings),
    )
    token_issuer = providers.Singleton(
        JwtTokenIssuer,
        secret=settings.provided.jwt_secret.call(),
        ttl_seconds=settings.provided.ACCESS_TOKEN_TTL,
        issuer=settings.provided.JWT_ISSUER,
        audience=settings.provided.JWT_AUDIENCE,
        clock=clock,
    )

    cursor_codec = providers.Singleton(CursorCodec, secret=settings.provided.jwt_secret.call())
    auth_policy = providers.Singleton(
        AuthPolicy,
        refresh_ttl=providers.Callable(_seconds, settings.provided.REFRESH_TOKEN_TTL),
        throttle=providers.Singleton(
            ThrottlePolicy,
            max_failures=settings.provided.LOGIN_MAX_FAILURES,
            max_failures_per_address=settings.provided.LOGIN_MAX_FAILURES_PER_IP,
            window=providers.Callable(_seconds, settings.provided.LOGIN_FAILURE_WINDOW),
        ),
    )
    auth_service = providers.Factory(
        AuthService,
        uow=uow_factory,
        hasher=password_hasher,
        tokens=token_issuer,
        clock=clock,
        policy=auth_policy,
    )
    account_service = providers.Factory(
        AccountService,
        uow=uow_factory,
        hasher=password_hasher,
        tokens=token_issuer,
        clock=clock,
        policy=auth_policy,
    )
    # The app's metrics, which count what the outbox sends and gives up.
    metrics = providers.Dependency(instance_of=Metrics)
    mailer = providers.Singleton(_mailer, settings)
    # None when no mail can be sent at all: password reset then answers 503.
    mail_outbox = providers.Singleton(_mail_outbox, settings, mailer, metrics)
    reset_policy = providers.Singleton(
        ResetPolicy,
        link=settings.provided.PASSWORD_RESET_URL,
        token_ttl=providers.Callable(_seconds, settings.provided.PASSWORD_RESET_TTL),
        max_mails=settings.provided.PASSWORD_RESET_MAX_MAILS,
    )
    password_reset_service = providers.Factory(
        PasswordResetService,
        uow=uow_factory,
        hasher=password_hasher,
        tokens=token_issuer,
        clock=clock,
        outbox=mail_outbox,
        policy=reset_policy,
        auth=auth_policy,
    )
    # A Singleton: the task service is made per request, the TTL once.
    idempotency_ttl = providers.Singleton(_seconds, settings.provided.IDEMPOTENCY_TTL)
    task_service = providers.Factory(
        TaskService, uow=uow_factory, clock=clock, idempotency_ttl=idempotency_ttl
    )


@asynccontextmanager
async def resolve_database_url(settings: Settings, container: Container) -> AsyncIterator[str]:
    """Point the container at DATABASE_URL, or at an embedded server it starts and stops."""
    if settings.DATABASE_URL:
        container.database_url.override(providers.Object(settings.DATABASE_URL))
        yield settings.DATABASE_URL
        return
    server = await asyncio.to_thread(EmbeddedPostgres, settings.DATA_DIR)
    url = server.url()
    log.info("database.embedded_started", data_dir=str(settings.DATA_DIR))
    container.database_url.override(providers.Object(url))
    try:
        yield url
    finally:
        await asyncio.to_thread(server.stop)


async def migrate_with_retry(container: Container, timeout_s: float) -> None:
    """Migrate as soon as the database answers; retry with backoff for up to `timeout_s`."""
    engine = container.engine()
    deadline = time.monotonic() + timeout_s
    delay = 0.25
    attempt = 1
    while True:
        try:
            await upgrade_schema(engine)
            return
        except Exception as exc:
            if not is_unavailable(exc) or time.monotonic() >= deadline:
                log.error("database.unreachable", attempt=attempt, error=str(exc))
                raise
            log.warning("database.retrying", attempt=attempt, in_seconds=delay, error=str(exc))
        await asyncio.sleep(max(0.0, min(delay, deadline - time.monotonic())))
        delay = min(delay * 2, 4.0)
        attempt += 1


@asynccontextmanager
async def mail_delivery(container: Container, stop_within_s: float) -> AsyncIterator[None]:
    """Reset messages go out in the background while the block runs; at its end, what is
    still queued gets a last attempt of up to `stop_within_s` seconds."""
    outbox = container.mail_outbox()
    if not isinstance(outbox, RetryingOutbox):
        yield
        return
    await outbox.start()
    try:
        yield
    finally:
        await outbox.stop(timeout_s=stop_within_s)
