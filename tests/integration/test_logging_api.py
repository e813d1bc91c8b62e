"""FR-016/FR-017/SC-010: the app logs every auth event and task operation, and every
refused access, with the request id; it never logs a password, token or hash.

The app logs through structlog and the standard library to stderr. These tests run it with
JSON lines (as in production) and read what its handler writes."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import structlog
from dependency_injector import providers
from fastapi import FastAPI
from sqlalchemy import text

from tests.integration.conftest import failing_inserts
from tests.integration.http import serving
from todo_api.app import create_app
from todo_api.settings import Settings

PASSWORD = "Sup3r-Secret-Passw0rd"
WRONG_PASSWORD = "Wr0ng-Guess-Passw0rd"
BCRYPT_HASH = re.compile(r"\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53}")
JWT_SHAPE = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")


class Logs:
    """What the app writes to its log stream, as parsed JSON lines."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def read(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]

    def one(self, name: str, response: httpx.Response) -> dict:
        """The one `name` event logged while serving `response`."""
        request_id = response.headers["x-request-id"]
        found = [e for e in self.read() if e["event"] == name and e.get("request_id") == request_id]
        assert len(found) == 1, (name, request_id, self.text)
        return found[0]


@pytest.fixture
def logs() -> Logs:
    return Logs()


@asynccontextmanager
async def serving_with_logs(app: FastAPI, logs: Logs) -> AsyncIterator[httpx.AsyncClient]:
    """Serve `app` with its stderr log handler writing to `logs` instead (same handler,
    same formatter, another stream)."""
    (handler,) = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler)
        and isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
    ]
    stderr = handler.setStream(logs.stream)
    assert stderr is sys.stderr
    try:
        async with serving(app) as http:
            yield http
    finally:
        handler.setStream(stderr)


@pytest.fixture
async def client(settings: Settings, logs: Logs) -> AsyncIterator[httpx.AsyncClient]:
    """Overrides conftest's: the app logs JSON lines (as in production) into `logs`."""
    async with serving_with_logs(
        create_app(settings.model_copy(update={"LOG_FORMAT": "json"})), logs
    ) as http:
        yield http


async def register(client, email: str = "ada@example.com"):
    return await client.post("/auth/register", json={"email": email, "password": PASSWORD})


def bearer(response: httpx.Response) -> dict[str, str]:
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_every_line_is_json_and_carries_the_request_id(client, logs):
    response = await client.get("/tasks", headers={"X-Request-ID": "trace-me-42"})

    line = logs.one("request.completed", response)
    assert (line["method"], line["path"], line["status"]) == ("GET", "/tasks", 401)
    assert line["request_id"] == "trace-me-42"
    assert logs.one("auth.token_rejected", response)["request_id"] == "trace-me-42"


async def test_a_registration_is_logged(client, logs):
    response = await register(client)

    event = logs.one("auth.registered", response)
    assert event["user_id"] == response.json()["user"]["id"]


async def test_a_successful_login_is_logged(client, logs):
    user_id = (await register(client)).json()["user"]["id"]

    response = await client.post(
        "/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )

    assert logs.one("auth.login_succeeded", response)["user_id"] == user_id


@pytest.mark.parametrize(
    ("email", "password"), [("Ada@Example.com", WRONG_PASSWORD), ("nobody@example.com", PASSWORD)]
)
async def test_a_failed_login_is_logged_with_the_email_as_given(client, logs, email, password):
    await register(client)

    response = await client.post("/auth/login", json={"email": email, "password": password})

    assert response.status_code == 401
    event = logs.one("auth.login_failed", response)
    assert event["email"] == email
    assert event["level"] == "warning"


@pytest.mark.parametrize(
    "typed",
    ["MySecretPassw0rd!", "MySecretPassw0rd!@", "ada@example.com MySecretPassw0rd!", "x" * 300],
)
async def test_what_is_not_an_email_is_never_logged(client, logs, typed):
    """Issue 23: a password typed into the email field was logged as the email."""
    response = await client.post("/auth/login", json={"email": typed, "password": PASSWORD})
    form = await client.post("/auth/login", data={"username": typed, "password": PASSWORD})

    for answer in (response, form):
        assert answer.status_code == 401
        event = logs.one("auth.login_failed", answer)
        assert "email" not in event
        assert (event["email_valid"], event["email_length"]) == (False, len(typed))
    assert "MySecretPassw0rd" not in logs.text
    assert "xxxxxxxxxx" not in logs.text


async def test_each_task_operation_is_logged_with_user_and_task(client, logs):
    headers = bearer(await register(client))
    user_id = (await client.get("/auth/me", headers=headers)).json()["id"]

    created = await client.post("/tasks", json={"title": "t"}, headers=headers)
    task_id = created.json()["id"]
    put = await client.put(f"/tasks/{task_id}", json={"is_completed": True}, headers=headers)
    patch = await client.patch(f"/tasks/{task_id}", json={"title": "u"}, headers=headers)
    deleted = await client.delete(f"/tasks/{task_id}", headers=headers)

    for name, response in [
        ("task.created", created),
        ("task.updated", put),
        ("task.updated", patch),
        ("task.deleted", deleted),
    ]:
        event = logs.one(name, response)
        assert (event["user_id"], event["task_id"]) == (user_id, task_id), name


async def test_bulk_writes_and_keyed_creates_are_logged_once_with_their_count(client, logs):
    headers = bearer(await register(client))
    user_id = (await client.get("/auth/me", headers=headers)).json()["id"]
    keyed = {**headers, "Idempotency-Key": "k-1"}
    created = await client.post("/tasks", json={"title": "t"}, headers=keyed)
    replayed = await client.post("/tasks", json={"title": "t"}, headers=keyed)
    await client.post("/tasks", json={"title": "u"}, headers=headers)
    marked = await client.patch("/tasks", json={"is_completed": True}, headers=headers)
    cleared = await client.delete("/tasks", params={"completed": "true"}, headers=headers)

    event = logs.one("task.created", created)
    assert (event["user_id"], event["task_id"]) == (user_id, created.json()["id"])
    assert logs.one("task.create_replayed", replayed)["user_id"] == user_id
    event = logs.one("tasks.marked", marked)
    assert (event["user_id"], event["count"], event["is_completed"]) == (user_id, 2, True)
    event = logs.one("tasks.cleared", cleared)
    assert (event["user_id"], event["count"], event["completed"]) == (user_id, 2, True)


async def test_a_refused_access_to_another_users_task_is_logged(client, logs):
    owner = bearer(await register(client, "owner@example.com"))
    intruder = bearer(await register(client, "intruder@example.com"))
    intruder_id = (await client.get("/auth/me", headers=intruder)).json()["id"]
    task_id = (await client.post("/tasks", json={"title": "t"}, headers=owner)).json()["id"]

    for method in ("GET", "PUT", "PATCH", "DELETE"):
        body = {"title": "x"} if method in {"PUT", "PATCH"} else None
        response = await client.request(method, f"/tasks/{task_id}", json=body, headers=intruder)
        assert response.status_code == 403
        event = logs.one("task.access_denied", response)
        assert (event["user_id"], event["task_id"]) == (intruder_id, task_id), method
        assert event["level"] == "warning"


async def test_no_password_token_or_hash_is_ever_logged(client, logs, engine):
    registered = await register(client)
    token = registered.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    form = {"username": "ada@example.com", "password": PASSWORD}
    logins = [
        await client.post("/auth/login", json={"email": "ada@example.com", "password": PASSWORD}),
        await client.post("/auth/login", data=form),
        await client.post("/auth/login", data={**form, "password": WRONG_PASSWORD}),
        await client.post(
            "/auth/login", json={"email": "ada@example.com", "password": WRONG_PASSWORD}
        ),
        await client.post(
            "/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
        ),
        await client.post("/auth/register", json={"email": "x@example.com", "password": "short"}),
    ]
    await client.get("/auth/me", headers=headers)
    await client.get("/auth/me", headers={"Authorization": f"Bearer {token}tampered"})
    await client.post("/tasks", json={"title": "t"}, headers=headers)
    async with engine.connect() as connection:
        stored_hash = (await connection.execute(text("SELECT password_hash FROM users"))).scalar()

    assert [r.status_code for r in logins] == [200, 200, 401, 401, 400, 400]
    assert "auth.login_failed" in logs.text  # the capture works
    tokens = [token] + [r.json()["access_token"] for r in logins[:2]]
    secrets = [PASSWORD, WRONG_PASSWORD, stored_hash, *tokens, token.split(".")[2]]
    for secret in secrets:
        assert secret not in logs.text
    assert not BCRYPT_HASH.search(logs.text)
    assert not JWT_SHAPE.search(logs.text)


class _BrokenHasher:
    """A password hasher that fails unexpectedly, after receiving the password."""

    async def verify(self, password: str, password_hash: str) -> bool:
        raise RuntimeError("hasher exploded")

    async def verify_dummy(self, password: str) -> None:
        raise RuntimeError("hasher exploded")


@pytest.mark.parametrize(
    "log_format",
    ["json", "console"],
)
async def test_a_500_during_login_logs_its_stack_trace_but_not_the_password(
    settings, logs, log_format
):
    app = create_app(settings.model_copy(update={"LOG_FORMAT": log_format}))
    async with serving_with_logs(app, logs) as http:
        await register(http)
        app.state.container.password_hasher.override(providers.Object(_BrokenHasher()))
        response = await http.post(
            "/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
        )

    assert response.status_code == 500
    assert "hasher exploded" in logs.text  # the stack trace is there
    assert response.headers["x-request-id"] in logs.text
    assert PASSWORD not in logs.text


@pytest.fixture
async def failing_user_insert(engine):
    async with failing_inserts(engine, "users"):
        yield


async def test_a_failed_insert_does_not_log_the_hash_it_was_given(
    client, logs, failing_user_insert
):
    response = await register(client)

    assert response.status_code == 500
    assert "No space left on device" in logs.text  # the failure is logged
    assert not BCRYPT_HASH.search(logs.text)


@pytest.mark.parametrize("log_format", ["json", "console"])
async def test_control_characters_in_logged_values_are_escaped(settings, logs, log_format):
    app = create_app(settings.model_copy(update={"LOG_FORMAT": log_format}))
    async with serving_with_logs(app, logs) as http:
        # No white space: structlog's console renderer quotes only values that have some.
        response = await http.get("/nowhere/%00evil%1B[31m")

    assert response.status_code == 404
    assert "\x00" not in logs.text
    assert "\x1b" not in logs.text
    (line,) = [line for line in logs.text.splitlines() if "request.completed" in line]
    assert "\\x00evil" in line or "\\u0000evil" in line
