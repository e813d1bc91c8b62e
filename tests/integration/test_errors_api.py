"""Errors as RFC 9457 problem details: their shape for every status, unknown routes and
methods, no 422 anywhere, a 500 that leaks nothing, and a 503 when the database is gone."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from dependency_injector import providers

from tests.integration.conftest import bearer, failing_inserts, register
from tests.integration.http import serving
from todo_adapters.sql.engine import PoolSettings, build_engine
from todo_adapters.sql.uow import SqlUnitOfWorkFactory
from todo_api.app import create_app

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}
SECRET_TEXT = "s3cr3t-internal-detail"
# Nothing listens on port 1: every connection is refused at once.
DEAD_DATABASE_URL = "postgresql://nobody:nothing@127.0.0.1:1/nowhere"


def assert_problem(response, status: int, path: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["instance"] == path
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def auth_headers(http: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await register(http, f"{uuid.uuid4().hex[:8]}@example.com"))


# --- shape ----------------------------------------------------------------------------


async def test_every_error_status_has_the_problem_shape(client, alice, bob):
    task_id = (await client.post("/tasks", json={"title": "t"}, headers=alice)).json()["id"]
    cases = [
        (400, "POST", "/tasks", {"json": {}, "headers": alice}),
        (401, "GET", "/tasks", {}),
        (403, "GET", f"/tasks/{task_id}", {"headers": bob}),
        (404, "GET", f"/tasks/{uuid.uuid4()}", {"headers": alice}),
        (404, "GET", "/no/such/route", {}),
        (405, "PUT", "/tasks", {"headers": alice}),
    ]
    for status, method, path, options in cases:
        response = await client.request(method, path, **options)
        body = assert_problem(response, status, path)
        assert body["title"] == response.reason_phrase


async def test_a_validation_problem_lists_each_field_with_a_message(client, alice):
    response = await client.post("/tasks", json={"title": "", "extra": 1}, headers=alice)

    body = assert_problem(response, 400, "/tasks")
    assert body["detail"].startswith("Validation failed")
    assert all(set(e) == {"field", "message"} and e["message"] for e in body["errors"])
    assert "extra" in {e["field"] for e in body["errors"]}


async def test_an_unknown_route_is_a_404_problem(client, alice):
    for path in ("/nope", "/tasks/a/b", "/auth"):
        assert_problem(await client.get(path, headers=alice), 404, path)


async def test_a_wrong_method_is_a_405_problem_that_says_what_is_allowed(client, alice):
    for method, path in [("PUT", "/tasks"), ("GET", "/auth/login"), ("POST", "/health/live")]:
        response = await client.request(method, path, headers=alice)
        assert_problem(response, 405, path)
        assert response.headers["allow"]


async def test_no_bad_request_is_ever_a_422(client, alice):
    task_id = (await client.post("/tasks", json={"title": "t"}, headers=alice)).json()["id"]
    json_headers = {**alice, "Content-Type": "application/json"}
    bad_requests = [
        ("POST", "/auth/register", {"json": {"email": 1, "password": ["x"]}}),
        ("POST", "/auth/register", {"json": []}),
        ("POST", "/auth/login", {"json": {"email": "a@example.com"}}),
        ("POST", "/auth/login", {"data": {"username": "a@example.com"}}),
        ("POST", "/tasks", {"json": {"title": ["t"]}, "headers": alice}),
        ("POST", "/tasks", {"content": "{", "headers": json_headers}),
        ("GET", "/tasks?limit=abc&offset=-3&completed=2&sort=x", {"headers": alice}),
        ("GET", "/tasks/123", {"headers": alice}),
        ("PUT", f"/tasks/{task_id}", {"json": {"version": 9}, "headers": alice}),
        ("PATCH", f"/tasks/{task_id}", {"json": "title", "headers": alice}),
        ("DELETE", "/tasks/x", {"headers": alice}),
    ]
    for method, url, options in bad_requests:
        response = await client.request(method, url, **options)
        assert response.status_code == 400, (method, url, response.text)
        assert response.headers["content-type"] == "application/problem+json"


# --- 500 ------------------------------------------------------------------------------


def assert_opaque_500(response, path: str) -> None:
    body = assert_problem(response, 500, path)
    assert body["detail"] == "Internal server error"
    assert body["title"] == "Internal Server Error"
    for leak in (SECRET_TEXT, "Traceback", "RuntimeError", ".py", "line "):
        assert leak not in response.text


async def test_an_unexpected_exception_in_a_route_is_an_opaque_500(settings, caplog):
    app = create_app(settings)

    async def explode() -> None:
        raise RuntimeError(SECRET_TEXT)

    app.add_api_route("/explode", explode)
    # create_app replaced the root logger's handlers, caplog's among them.
    logging.getLogger().addHandler(caplog.handler)
    async with serving(app) as http:
        response = await http.get("/explode", headers={"Origin": "http://localhost:3000"})

    assert_opaque_500(response, "/explode")
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert response.headers["x-content-type-options"] == "nosniff"
    failures = [r for r in caplog.records if isinstance(r.msg, dict) and r.levelno >= logging.ERROR]
    assert any(
        r.msg.get("request_id") == response.json()["request_id"] and r.msg.get("exc_info")
        for r in failures
    ), "the stack trace is logged under the request id"


class _ExplodingTaskService:
    async def list(self, *_: object) -> None:
        raise KeyError(SECRET_TEXT)


async def test_an_unexpected_exception_in_a_service_is_an_opaque_500(settings):
    # JSON logs: the console renderer's rich traceback of this deep stack takes seconds.
    app = create_app(settings.model_copy(update={"LOG_FORMAT": "json"}))
    app.state.container.task_service.override(providers.Object(_ExplodingTaskService()))
    async with serving(app) as http:
        response = await http.get("/tasks", headers=await auth_headers(http))

    assert_opaque_500(response, "/tasks")


@pytest.fixture
async def full_disk(engine):
    async with failing_inserts(engine, "tasks"):
        yield


async def test_a_full_disk_fails_the_write_cleanly_and_reads_still_work(settings, full_disk):
    app = create_app(settings.model_copy(update={"LOG_FORMAT": "json"}))
    async with serving(app) as http:
        headers = await auth_headers(http)
        created = await http.post("/tasks", json={"title": "t"}, headers=headers)
        listed = await http.get("/tasks", headers=headers)

    assert created.status_code in (500, 503), created.text
    body = assert_problem(created, created.status_code, "/tasks")
    assert "space" not in body["detail"]
    assert "INSERT" not in created.text
    assert (listed.status_code, listed.json()["total"]) == (200, 0)


# --- 503 ------------------------------------------------------------------------------


@pytest.fixture
async def dead_engine():
    engine = build_engine(DEAD_DATABASE_URL, PoolSettings(size=1, timeout_s=2))
    yield engine
    await engine.dispose()


async def test_a_lost_database_is_a_503_with_retry_after(settings, dead_engine):
    app = create_app(settings)
    container = app.state.container
    async with serving(app) as http:
        headers = await auth_headers(http)
        container.uow_factory.override(SqlUnitOfWorkFactory(dead_engine))
        calls = [
            ("GET", "/tasks", None),
            ("POST", "/tasks", {"title": "t"}),
            ("GET", f"/tasks/{uuid.uuid4()}", None),
            ("GET", "/auth/me", None),
        ]
        responses = [
            (path, await http.request(method, path, json=body, headers=headers))
            for method, path, body in calls
        ]
        login = await http.post("/auth/login", json={"email": "a@b.example", "password": "x" * 8})

    for path, response in [*responses, ("/auth/login", login)]:
        body = assert_problem(response, 503, path)
        assert int(response.headers["retry-after"]) > 0
        assert "127.0.0.1" not in response.text
        assert "nobody" not in response.text
        assert body["detail"]
