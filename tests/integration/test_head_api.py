"""HEAD on every GET route: the GET's status and headers, no body; through the ASGI app
and through the real server (uvicorn), whose connection must stay usable after it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import bearer
from tests.integration.processes import served_for_tests

# Headers that differ between any two answers.
_PER_ANSWER = {"date", "x-request-id"}


def _comparable(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in _PER_ANSWER}


async def _same_as_get(client, path: str, headers: dict[str, str]) -> httpx.Response:
    got = await client.get(path, headers=headers)
    head = await client.head(path, headers=headers)
    assert head.status_code == got.status_code, path
    assert head.content == b"", path
    assert _comparable(head) == _comparable(got), path
    assert int(head.headers["content-length"]) == len(got.content) > 0, path
    return head


async def test_head_answers_like_get_without_a_body(client, alice):
    task = (await client.post("/tasks", json={"title": "t"}, headers=alice)).json()
    for path in ("/tasks", "/tasks?completed=true", f"/tasks/{task['id']}", "/auth/me"):
        await _same_as_get(client, path, alice)
    for path in ("/health/live", "/health/ready", "/openapi.json"):
        await _same_as_get(client, path, {})
    head = await _same_as_get(client, f"/tasks/{task['id']}", alice)
    assert head.headers["etag"] == f'"{task["id"].replace("-", "")}-1"'
    assert head.headers["content-type"] == "application/json"


async def test_head_fails_as_get_fails(client, alice, bob):
    task = (await client.post("/tasks", json={"title": "t"}, headers=alice)).json()
    for path, headers, status in [
        ("/tasks", {}, 401),
        (f"/tasks/{task['id']}", bob, 403),
        ("/tasks/not-a-uuid", alice, 400),
        ("/nowhere", alice, 404),
    ]:
        head = await _same_as_get(client, path, headers)
        assert head.status_code == status
        assert head.headers["content-type"] == "application/problem+json"


async def test_head_honours_if_none_match(client, alice):
    created = await client.post("/tasks", json={"title": "t"}, headers=alice)
    path = f"/tasks/{created.json()['id']}"
    head = await client.head(path, headers={**alice, "If-None-Match": created.headers["etag"]})
    assert head.status_code == 304
    assert head.headers["etag"] == created.headers["etag"]


async def test_head_on_a_route_without_get_is_a_405(client):
    head = await client.head("/auth/login")
    assert head.status_code == 405
    assert head.content == b""
    assert head.headers["allow"] == "POST"


@pytest.mark.timeout(120)
def test_head_over_a_real_connection(database_url: str, tmp_path: Path):
    with (
        served_for_tests(database_url, tmp_path) as service,
        httpx.Client(base_url=service.base) as http,
    ):
        registered = http.post(
            "/auth/register", json={"email": "head@example.com", "password": "correct horse"}
        )
        headers = bearer(registered.json())
        http.post("/tasks", json={"title": "t"}, headers=headers)
        for path in ("/tasks", "/auth/me", "/health/live"):
            got = http.get(path, headers=headers)
            # the same keep-alive connection carries the HEAD, then the next GET
            head = http.head(path, headers=headers)
            assert head.status_code == got.status_code == 200
            assert head.content == b""
            assert head.headers["content-length"] == str(len(got.content))
            assert http.get(path, headers=headers).content == got.content
