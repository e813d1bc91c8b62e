"""The one place that knows every adapter: builds the object graph from Settings."""

from __future__ import annotations

import os
from datetime import timedelta

from dependency_injector import containers, providers

from todo_adapters.clock import SystemClock
from todo_adapters.mail.outbox import OutboxHooks, RetryingOutbox
from todo_adapters.security.bcrypt_hasher import BcryptPasswordHasher
from todo_adapters.security.jwt_issuer import JwtTokenIssuer
from todo_adapters.sql.database_url import direct_url
from todo_adapters.sql.engine import PoolSettings, behind_pooler, build_engine, pool_status
from todo_adapters.sql.health import SqlReadinessProbe
from todo_adapters.sql.listener import PgListener
from todo_adapters.sql.notifier import ChangeNotifier
from todo_adapters.sql.uow import SqlUnitOfWorkFactory
from todo_api.composition.lifespan import configured_mailer
from todo_api.events.hub import StreamHub
from todo_api.events.stream import EventStreams, Feed
from todo_api.http.cursors import CursorCodec
from todo_api.http.sync_tokens import SyncTokens
from todo_api.observability.metrics import Metrics
from todo_api.settings import Settings
from todo_core.account_service import AccountService
from todo_core.auth_service import AuthService
from todo_core.credentials import Credentials
from todo_core.login_throttle import ThrottlePolicy
from todo_core.password_reset import PasswordResetService, ResetPolicy
from todo_core.ports import Mailer, MailOutbox
from todo_core.stream_access import StreamAccess
from todo_core.sync import SyncService
from todo_core.task_service import TaskService


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def _listen_url(settings: Settings, database_url: str) -> str:
    return settings.LISTEN_DATABASE_URL or direct_url(database_url)


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
    behind_a_pooler = providers.Callable(behind_pooler, database_url, pool_settings)
    change_notifier = providers.Singleton(
        ChangeNotifier, engine=engine, in_transaction=behind_a_pooler
    )
    uow_factory = providers.Singleton(
        SqlUnitOfWorkFactory,
        engine=engine,
        pool=pool_settings,
        autocommit=providers.Callable(lambda behind: not behind, behind_a_pooler),
        notifier=change_notifier,
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
    sync_tokens = providers.Singleton(SyncTokens, secret=settings.provided.jwt_secret.call())
    # Made per service, as the services are: an override of the hasher or the issuer (a
    # test's) takes effect at once.
    credentials = providers.Factory(
        Credentials.of,
        hasher=password_hasher,
        tokens=token_issuer,
        clock=clock,
        refresh_ttl=providers.Callable(_seconds, settings.provided.REFRESH_TOKEN_TTL),
        throttle=providers.Singleton(
            ThrottlePolicy,
            max_failures=settings.provided.LOGIN_MAX_FAILURES,
            max_failures_per_address=settings.provided.LOGIN_MAX_FAILURES_PER_IP,
            max_failures_per_email=settings.provided.LOGIN_MAX_FAILURES_PER_EMAIL,
            window=providers.Callable(_seconds, settings.provided.LOGIN_FAILURE_WINDOW),
        ),
    )
    auth_service = providers.Factory(AuthService, uow=uow_factory, credentials=credentials)
    account_service = providers.Factory(AccountService, uow=uow_factory, credentials=credentials)
    # The app's metrics, which count what the outbox sends and gives up.
    metrics = providers.Dependency(instance_of=Metrics)
    mailer = providers.Singleton(configured_mailer, settings)
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
        credentials=credentials,
        outbox=mail_outbox,
        policy=reset_policy,
    )
    # A Singleton: the task service is made per request, the TTL once.
    idempotency_ttl = providers.Singleton(_seconds, settings.provided.IDEMPOTENCY_TTL)
    task_service = providers.Factory(
        TaskService, uow=uow_factory, clock=clock, idempotency_ttl=idempotency_ttl
    )
    sync_retention = providers.Singleton(_seconds, settings.provided.SYNC_RETENTION)
    sync_service = providers.Singleton(
        SyncService, uow=uow_factory, clock=clock, retention=sync_retention
    )
    # Live updates: one listener connection and one hub per worker (events/hub.py).
    stream_access = providers.Singleton(StreamAccess, uow=uow_factory, clock=clock)
    listener = providers.Singleton(
        PgListener,
        database_url=providers.Callable(_listen_url, settings, database_url),
        connect_timeout_s=pool_settings.provided.connect_timeout_s,
    )
    stream_hub = providers.Singleton(
        StreamHub, listener=listener, max_per_user=settings.provided.MAX_STREAMS_PER_USER
    )
    event_streams = providers.Singleton(
        EventStreams,
        hub=stream_hub,
        access=stream_access,
        feed=providers.Singleton(Feed, sync=sync_service, tokens=sync_tokens, clock=clock),
        heartbeat_s=settings.provided.STREAM_HEARTBEAT,
    )
