"""Headers on every response: X-Request-ID, Cache-Control on auth responses,
X-Content-Type-Options, and CORS for the frontend's origin only."""

from __future__ import annotations

import re

import pytest

FRONTEND = "http://localhost:3000"
PREFLIGHT_HEADERS = "authorization,content-type,if-match,x-request-id"


# --- X-Request-ID ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_id", ["abc-123", "6f1c2a9e-0d4b-4c55-9a53-0c3f3d3c2b1a", "trace.span:1@svc/a+b=c_d"]
)
async def test_a_sane_request_id_is_echoed_and_used_in_problems(client, request_id):
    response = await client.get("/tasks", headers={"X-Request-ID": request_id})

    assert response.headers["x-request-id"] == request_id
    assert response.json()["request_id"] == request_id


async def test_a_request_id_is_generated_when_none_is_sent(client):
    first = await client.get("/health/live")
    second = await client.get("/health/live")

    generated = first.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}|[0-9a-f-]{36}", generated)
    assert second.headers["x-request-id"] != generated


@pytest.mark.parametrize(
    "request_id", ["has spaces", "x" * 129, "<script>alert(1)</script>", "semi;colon", ""]
)
async def test_an_insane_request_id_is_replaced_by_a_generated_one(client, request_id):
    response = await client.get("/tasks", headers={"X-Request-ID": request_id})

    replaced = response.headers["x-request-id"]
    assert replaced != request_id
    assert re.fullmatch(r"[0-9a-f]{32}|[0-9a-f-]{36}", replaced)
    assert response.json()["request_id"] == replaced


# --- Cache-Control and nosniff --------------------------------------------------------


async def test_every_auth_response_is_no_store(client, alice):
    credentials = {"email": "alice@example.com", "password": "correct horse"}
    responses = [
        await client.post(
            "/auth/register", json={"email": "c@example.com", "password": "correct horse"}
        ),
        await client.post("/auth/register", json=credentials),  # 400 taken
        await client.post("/auth/login", json=credentials),
        await client.post("/auth/login", json={**credentials, "password": "wrong password"}),
        await client.post("/auth/login", data={"username": credentials["email"], "password": "x"}),
        await client.get("/auth/me", headers=alice),
        await client.get("/auth/me"),
    ]

    assert [r.status_code for r in responses] == [201, 400, 200, 401, 401, 200, 401]
    for response in responses:
        assert "no-store" in response.headers["cache-control"], response.request.url


async def test_every_response_is_nosniff(client, alice):
    task = (await client.post("/tasks", json={"title": "t"}, headers=alice)).json()
    responses = [
        await client.get("/tasks", headers=alice),
        await client.get(f"/tasks/{task['id']}", headers=alice),
        await client.delete(f"/tasks/{task['id']}", headers=alice),
        await client.get("/tasks"),
        await client.get("/nope"),
        await client.get("/health/live"),
        await client.get("/openapi.json"),
        await client.get("/docs"),
    ]

    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff", response.request.url


async def test_responses_are_never_html_except_the_docs(client, alice):
    task = (await client.post("/tasks", json={"title": "<h1>hi</h1>"}, headers=alice)).json()

    for response in (
        await client.get(f"/tasks/{task['id']}", headers=alice),
        await client.get("/tasks", headers=alice),
        await client.get("/tasks/<script>", headers=alice),
    ):
        assert "html" not in response.headers["content-type"]


# --- CORS -----------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [FRONTEND, "http://127.0.0.1:3000"])
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/tasks"), ("PUT", "/tasks/x"), ("PATCH", "/tasks/x"), ("DELETE", "/tasks/x")],
)
async def test_a_preflight_from_the_frontend_is_answered(client, origin, method, path):
    response = await client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": PREFLIGHT_HEADERS,
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert method in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert all(h in allowed for h in PREFLIGHT_HEADERS.split(","))


async def test_a_credentialed_request_from_the_frontend_echoes_its_exact_origin(client, alice):
    response = await client.get(
        "/tasks", headers={**alice, "Origin": FRONTEND, "Cookie": "session=1"}
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "origin" in response.headers["vary"].lower()
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed
    assert "location" in exposed


async def test_errors_carry_cors_headers_so_the_frontend_can_read_them(client):
    response = await client.get("/tasks", headers={"Origin": FRONTEND})

    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == FRONTEND


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://localhost:3001", "null", "http://localhost"]
)
async def test_another_origin_gets_no_allow_origin(client, alice, origin):
    simple = await client.get("/tasks", headers={**alice, "Origin": origin})
    preflight = await client.options(
        "/tasks",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )

    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
