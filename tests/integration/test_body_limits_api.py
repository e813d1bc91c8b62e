"""413 for bodies over 1 MiB, decided before the body is read whole; 415 for non-JSON."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import register

MIB = 1024 * 1024


async def test_declared_oversized_body_is_413(client, alice):
    body = json.dumps({"title": "x" * (2 * MIB)}).encode()
    response = await client.post(
        "/tasks", content=body, headers={**alice, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "1 MiB" in response.json()["detail"]
    assert (await client.get("/tasks", headers=alice)).json()["total"] == 0


async def test_streamed_body_is_cut_off_without_being_read_whole(client, alice):
    chunk = b" " * (64 * 1024)
    pulled = 0

    async def two_mebibytes():
        nonlocal pulled
        for _ in range(32):
            pulled += 1
            yield chunk

    response = await client.post(
        "/tasks", content=two_mebibytes(), headers={**alice, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert pulled < 32, "the server kept reading after the limit"


async def test_a_body_just_under_the_limit_is_read(client, alice):
    description = "d" * 10_000
    padding = " " * (MIB - 20_000)
    body = f'{{"title": "big", "description": "{description}"}}{padding}'.encode()
    assert len(body) < MIB
    response = await client.post(
        "/tasks", content=body, headers={**alice, "Content-Type": "application/json"}
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/tasks"),
        ("PUT", "/tasks/{id}"),
        ("PATCH", "/tasks/{id}"),
        ("POST", "/auth/register"),
    ],
)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_non_json_bodies_are_415(client, alice, method, path, content_type):
    task = (await client.post("/tasks", json={"title": "t"}, headers=alice)).json()
    response = await client.request(
        method,
        path.format(id=task["id"]),
        content=b'{"title": "x"}',
        headers={**alice, "Content-Type": content_type},
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


async def test_json_with_charset_and_problem_json_suffix_are_accepted(client, alice):
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await client.post(
            "/tasks", content=b'{"title": "ok"}', headers={**alice, "Content-Type": content_type}
        )
        assert response.status_code == 201, content_type


async def test_login_takes_json_or_the_form_but_nothing_else(client):
    await register(client, "f@example.com", "long enough")
    form = await client.post(
        "/auth/login",
        data={"grant_type": "password", "username": "f@example.com", "password": "long enough"},
    )
    assert form.status_code == 200
    text = await client.post(
        "/auth/login", content=b"f@example.com", headers={"Content-Type": "text/plain"}
    )
    assert text.status_code == 415
