"""The application factory. Serve with `uvicorn --factory todo_api.app:create_app`."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable
from importlib import metadata

from dependency_injector import providers
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from pydantic import SecretStr
from starlette.routing import BaseRoute

from todo_api.composition.container import Container
from todo_api.composition.lifespan import app_lifespan
from todo_api.http.cors import cors_policy
from todo_api.http.drain import Drain
from todo_api.http.envelope import REQUEST_ID_HEADER, RequestEnvelope
from todo_api.http.error_handlers import claim_literal_paths, install_error_handlers
from todo_api.observability.logging import configure_logging, get_logger
from todo_api.observability.metrics import Metrics
from todo_api.observability.tracing import Tracing
from todo_api.routers.accounts import account, auth, password_reset
from todo_api.routers.accounts.login_form import LOGIN_COMPONENTS
from todo_api.routers.events import routes as events
from todo_api.routers.openapi import install_openapi, operation_id
from todo_api.routers.operations import health, home
from todo_api.routers.operations import metrics as operations
from todo_api.routers.tasks import changes, labels
from todo_api.routers.tasks import routes as tasks
from todo_api.settings import Settings

log = get_logger("todo_api.app")


def package_version() -> str:
    """The installed package's version (pyproject.toml's): one version everywhere."""
    try:
        return metadata.version("todo-service")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


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


def create_app(
    settings: Settings | None = None,
    container: Container | None = None,
    tracing: Tracing | None = None,
    drain: Drain | None = None,
) -> FastAPI:
    """`drain`: a served worker's SIGTERM handling (http/drain.py); tests and tools run
    without."""
    settings = settings or Settings()
    configure_logging(settings.LOG_LEVEL, settings.json_logs)
    container = container or Container(settings=providers.Object(settings))
    runtime = _Runtime(container, tracing or Tracing.from_environment(), drain)
    # Swagger UI and ReDoc from files shipped in a package, not a CDN: /docs works offline
    # and behind networks that block third-party scripts.
    app = FastAPIOffline(
        title="Todo API",
        version=package_version(),
        description="Register, log in with JWTs, and manage your own tasks. Every GET route "
        "also answers HEAD: the same status and headers, no body.",
        lifespan=app_lifespan(settings, container, runtime.started, runtime.stopping),
        # /tasks/ is not /tasks: an unknown route is a 404, not a redirect to a guessed URL.
        redirect_slashes=False,
        # Tracing, when asked for, is OpenTelemetry's instrumentation (observability/
        # tracing.py); FastAPI's own would look up the providers on every request for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        generate_unique_id_function=operation_id,
    )
    app.state.container = container
    app.state.drain = drain
    app.state.metrics = runtime.metrics
    install_error_handlers(app)
    install_openapi(app, components=LOGIN_COMPONENTS)
    app.add_middleware(
        RequestEnvelope,
        metrics=runtime.metrics,
        form_paths=frozenset({"/auth/login", "/auth/token"}),
        cors=cors_policy(settings.cors_origins, REQUEST_ID_HEADER),
    )
    app.state.api_routes = runtime.api_routes = _include_routers(app)
    if runtime.tracing is not None:
        runtime.tracing.instrument_app(app)
    return app


class _Runtime:
    """The app's own parts that live as long as it serves: metrics, tracing and SIGTERM
    draining, started once the database is ready and stopped first at shutdown."""

    def __init__(self, container: Container, tracing: Tracing | None, drain: Drain | None):
        self.container = container
        self.tracing = tracing
        self.drain = drain
        # The API's routes, which the metrics label requests by; known once they are added.
        self.api_routes: list[BaseRoute] = []
        self.metrics = Metrics(routes=lambda: self.api_routes)
        self._give_back_sigterm: Callable[[], None] | None = None
        container.metrics.override(providers.Object(self.metrics))

    def started(self) -> None:
        self.metrics.set_pool_status(self.container.pool_status)
        if self.tracing is not None:
            self.tracing.instrument_database()
        if self.drain is not None:
            # At the first SIGTERM every event stream ends: its client reconnects to an
            # instance that stays, and this one can stop without waiting for them.
            hub = self.container.stream_hub()
            self.drain.on_stop(lambda: hub.end_all("shutdown"))
            self._give_back_sigterm = self.drain.install(asyncio.get_running_loop())

    def stopping(self) -> None:
        if self._give_back_sigterm is not None:
            self._give_back_sigterm()
        self.metrics.close()
        if self.tracing is not None:
            self.tracing.shutdown()


def _include_routers(app: FastAPI) -> list[BaseRoute]:
    """Every API route, the task routes first: routing tries each route's pattern in turn,
    and they answer most of the requests."""
    # The feed first: /tasks/changes is not the task with the id "changes".
    routers = (
        changes, tasks, labels, events, auth, account, password_reset, health, operations, home
    )  # fmt: skip
    every_route = [r for m in routers for r in m.router.routes]
    for module in routers:
        claim_literal_paths(module.router, every_route)
        app.include_router(module.router)
    return [r for m in routers for r in m.router.routes]


def openapi_document() -> str:
    """The OpenAPI document as committed in openapi.json; builds the app without a database
    (the document depends on no setting)."""
    settings = Settings(DATABASE_URL="postgresql://unused/", JWT_SECRET=SecretStr("x" * 32))
    document = create_app(settings).openapi()
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
