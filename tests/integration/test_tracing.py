"""Optional OpenTelemetry tracing, checked with an in-memory exporter: one server span per
request, SQL spans inside it, nothing for health probes; off unless OTEL_* asks for it."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.integration.conftest import bearer, register
from tests.integration.http import serving
from todo_api.app import create_app
from todo_api.observability.tracing import Tracing


async def test_requests_and_their_sql_are_traced(settings):
    exporter = InMemorySpanExporter()
    tracing = Tracing(exporter, batch=False)
    async with serving(create_app(settings, tracing=tracing)) as http:
        headers = bearer(await register(http, "trace@example.com"))
        exporter.clear()
        assert (await http.post("/tasks", json={"title": "t"}, headers=headers)).status_code == 201
        await http.get("/health/ready")
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind.name == "SERVER"]
    assert [s.name for s in server] == ["POST /tasks"]
    inserts = [s for s in spans if s.name.startswith("INSERT")]
    assert inserts, [s.name for s in spans]
    assert {s.context.trace_id for s in inserts} == {server[0].context.trace_id}
    assert all(s.attributes and s.attributes.get("db.system") == "postgresql" for s in inserts)
    assert not any("health" in s.name for s in spans)


@pytest.mark.parametrize(
    ("environment", "enabled"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_off_unless_otel_variables_ask_for_it(monkeypatch, environment, enabled):
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    tracing = Tracing.from_environment()
    assert (tracing is not None) is enabled
    if tracing is not None:
        tracing.provider.shutdown()
