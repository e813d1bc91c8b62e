"""Optional OpenTelemetry tracing of requests (FastAPI) and SQL statements (the asyncpg
driver). Off unless the `otel` extra is installed and the standard OTEL_* variables ask
for it (an OTLP endpoint, or OTEL_TRACES_EXPORTER=otlp|console); nothing is imported
otherwise, so the service pays nothing for it."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

from todo_api.observability.logging import get_logger

log = get_logger("todo_api.tracing")

_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def _exporter_from_environment() -> Any | None:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    kind = os.environ.get("OTEL_TRACES_EXPORTER", "").lower()
    wanted = kind in {"otlp", "console"} or (
        not kind and any(map(os.environ.get, _ENDPOINT_VARIABLES))
    )
    if not wanted:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter
    except ImportError:
        log.warning("tracing.unavailable", hint="pip install 'todo-service[otel]'")
        return None
    return ConsoleSpanExporter() if kind == "console" else OTLPSpanExporter()


class Tracing:
    """A tracer provider and the instrumentation it feeds."""

    def __init__(self, exporter: Any, *, batch: bool = True) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
        resource = Resource.create(
            {"service.name": os.environ.get("OTEL_SERVICE_NAME", "todo-api")}
        )
        self.provider = TracerProvider(resource=resource)
        processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        self.provider.add_span_processor(processor)

    @classmethod
    def from_environment(cls) -> Tracing | None:
        exporter = _exporter_from_environment()
        return cls(exporter) if exporter is not None else None

    def instrument_app(self, app: FastAPI) -> None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        # Health probes and scrapes every few seconds would drown the useful traces.
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=self.provider, excluded_urls="/health/.*,/metrics"
        )
        log.info("tracing.enabled")

    def instrument_database(self) -> None:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        # The repositories send their statements on asyncpg's connections directly, so the
        # driver is where every statement (and the migrations' and probes') can be seen.
        AsyncPGInstrumentor().instrument(tracer_provider=self.provider)  # type: ignore[no-untyped-call]

    def shutdown(self) -> None:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        # The instrumentor is a process-wide singleton: release it for the next app.
        AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
        self.provider.shutdown()  # flushes the spans still batched
