"""The application factory. Serve with `uvicorn --factory todo_api.app:create_app`."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dependency_injector import providers
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from pydantic import SecretStr

from todo_api.container import (
    Container,
    mail_delivery,
    migrate_with_retry,
    resolve_database_url,
)
from todo_api.drain import Drain
from todo_api.errors import install_error_handlers
from todo_api.logging import configure_logging, get_logger
from todo_api.login_form import LOGIN_COMPONENTS
from todo_api.maintenance import periodic
from todo_api.metrics import Metrics
from todo_api.middleware import REQUEST_ID_HEADER, RequestEnvelope
from todo_api.openapi import install_openapi, operation_id
from todo_api.routers import account, auth, health, operations, password_reset, tasks
from todo_api.settings import Settings
from todo_api.tracing import Tracing

log = get_logger("todo_api.app")


def create_served_app() -> FastAPI:
    """What `todo-api serve` runs in each worker: the app, draining on SIGTERM, with the
    cycle collector tuned for a long-lived server process."""
    settings = Settings()
    app = create_app(settings, drain=Drain(settings.SHUTDOWN_DRAIN_SECONDS))
    # Under load the collector took a fifth of a worker's CPU (py-spy: about 110 µs per
    # GET), walking the heap of modules, classes, routes and schemas again and again. What
    # exists now lives as long as the process: frozen, no collection walks it. A larger
    # first generation makes collections rarer; reference counting frees request garbage.
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_FIRST_GENERATION, 10, 10)
    return app


GC_FIRST_GENERATION = 10_000
# At shutdown, how long reset messages still queued get for a last attempt.
MAIL_STOP_SECONDS = 5.0


def create_app(
    settings: Settings | None = None,
    container: Container | None = None,
    tracing: Tracing | None = None,
    drain: Drain | None = None,
) -> FastAPI:
    """`drain`: a served worker's SIGTERM handling (drain.py); tests and tools run without."""
    settings = settings or Settings()
    configure_logging(settings.LOG_LEVEL, settings.json_logs)
    container = container or Container(settings=providers.Object(settings))
    tracing = tracing or Tracing.from_environment()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with resolve_database_url(settings, container):
            await migrate_with_retry(container, settings.DB_CONNECT_TIMEOUT)
            metrics.set_pool_status(container.pool_status)
            if tracing is not None:
                tracing.instrument_database()
            log.info("app.started", env=settings.APP_ENV)
            give_back_sigterm = drain.install(asyncio.get_running_loop()) if drain else None
            try:
                every = settings.REFRESH_PURGE_INTERVAL
                async with (
                    mail_delivery(container, stop_within_s=MAIL_STOP_SECONDS),
                    periodic(
                        every,
                        lambda: container.auth_service().purge_expired(),
                        "maintenance.sessions_purged",
                    ),
                    periodic(
                        every,
                        lambda: container.password_reset_service().purge_expired(),
                        "maintenance.password_resets_purged",
                    ),
                    periodic(
                        every,
                        lambda: container.task_service().purge_expired_idempotency_keys(),
                        "maintenance.idempotency_keys_purged",
                    ),
                ):
                    yield
            finally:
                if give_back_sigterm is not None:
                    give_back_sigterm()
                metrics.close()
                await container.engine().dispose()
                if tracing is not None:
                    tracing.shutdown()
                log.info("app.stopped")

    # Swagger UI and ReDoc from files shipped in a package, not a CDN: /docs works offline
    # and behind networks that block third-party scripts.
    app = FastAPIOffline(
        title="Todo API",
        version="1.0.0",
        description="Register, log in with JWTs, and manage your own tasks. Every GET route "
        "also answers HEAD: the same status and headers, no body.",
        lifespan=lifespan,
        # /tasks/ is not /tasks: an unknown route is a 404, not a redirect to a guessed URL.
        redirect_slashes=False,
        # Tracing, when asked for, is OpenTelemetry's instrumentation (tracing.py); FastAPI's
        # own would look up the providers on every request for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        generate_unique_id_function=operation_id,
    )
    app.state.container = container
    app.state.drain = drain
    app.state.metrics = metrics = Metrics(routes=lambda: app.state.api_routes)
    container.metrics.override(providers.Object(metrics))
    install_error_handlers(app)
    install_openapi(app, components=LOGIN_COMPONENTS)
    app.add_middleware(
        RequestEnvelope,
        metrics=metrics,
        form_paths=frozenset({"/auth/login"}),
        cors={
            "allow_origins": settings.cors_origins,
            "allow_credentials": True,
            "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            "allow_headers": [
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
                REQUEST_ID_HEADER,
            ],
            "expose_headers": [
                "ETag",
                "Idempotent-Replayed",
                "Location",
                "Retry-After",
                "WWW-Authenticate",
                REQUEST_ID_HEADER,
            ],
            "max_age": 600,
        },
    )
    # The task routes first: routing tries each route's pattern in turn, and they answer
    # most of the requests.
    routers = (tasks, auth, account, password_reset, health, operations)
    for module in routers:
        app.include_router(module.router)
    app.state.api_routes = [r for m in routers for r in m.router.routes]
    if tracing is not None:
        tracing.instrument_app(app)
    return app


def openapi_document() -> str:
    """The OpenAPI document as committed in openapi.json; builds the app without a database
    (the document depends on no setting)."""
    settings = Settings(DATABASE_URL="postgresql://unused/", JWT_SECRET=SecretStr("x" * 32))
    document = create_app(settings).openapi()
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
