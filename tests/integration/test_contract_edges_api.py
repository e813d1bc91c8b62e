"""Edges of the contract found by a black-box run against `make run`."""

from __future__ import annotations

import pytest

from tests.integration.http import assert_problem

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/tasks", b'{"title": "\\ud800"}', "title"),
        ("/tasks", b'{"title": "ok", "description": "x\\udfff"}', "description"),
        (
            "/auth/register",
            b'{"email": "a\\ud800@example.com", "password": "long enough"}',
            "email",
        ),
        (
            "/auth/register",
            b'{"email": "s@example.com", "password": "long \\ud800 enough"}',
            "password",
        ),
    ],
)
async def test_unpaired_surrogates_are_a_400_not_a_500(client, alice, path, body, field):
    response = await client.post(path, content=body, headers={**alice, **JSON})
    assert [e["field"] for e in assert_problem(response, 400)["errors"]] == [field]


async def test_every_broken_field_is_listed_whatever_broke_it(client, alice):
    body = {"title": "x" * 256, "description": "y" * 10_001, "is_completed": "no", "bogus": 1}
    response = await client.post("/tasks", json=body, headers=alice)
    fields = {e["field"] for e in assert_problem(response, 400)["errors"]}
    assert fields == {"title", "description", "is_completed", "bogus"}
    register = await client.post(
        "/auth/register", json={"email": "bad", "password": "short", "x": 1}
    )
    assert {e["field"] for e in assert_problem(register, 400)["errors"]} == {
        "email",
        "password",
        "x",
    }


async def test_get_with_a_stale_if_match_is_412(client, alice):
    created = await client.post("/tasks", json={"title": "t"}, headers=alice)
    url = f"/tasks/{created.json()['id']}"
    assert_problem(await client.get(url, headers={**alice, "If-Match": '"zzz"'}), 412)
    current = await client.get(url, headers={**alice, "If-Match": created.headers["etag"]})
    assert current.status_code == 200


async def test_preflight_carries_the_envelope_and_refusals_are_problems(client):
    allowed = await client.options(
        "/tasks",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert allowed.headers["x-request-id"]
    assert allowed.headers["x-content-type-options"] == "nosniff"
    refused = await client.options(
        "/tasks",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    body = assert_problem(refused, 400)
    assert body["request_id"] == refused.headers["x-request-id"]
    assert "access-control-allow-origin" not in refused.headers


async def test_a_trailing_slash_is_an_unknown_route_not_a_redirect(client, alice):
    assert_problem(await client.get("/tasks/", headers=alice), 404)


@pytest.mark.parametrize("value", ["yes", "1", "on", "TRUE", "0"])
async def test_completed_takes_only_true_or_false(client, alice, value):
    response = await client.get("/tasks", params={"completed": value}, headers=alice)
    assert assert_problem(response, 400)["errors"][0]["field"] == "completed"


async def test_405_on_the_docs_lists_what_they_allow(client):
    response = await client.delete("/docs")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, HEAD"


async def test_every_operation_documents_405(client):
    document = (await client.get("/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "405" in operation["responses"], (method, path)


async def test_requests_refused_before_routing_are_counted_under_their_route(client):
    await client.post("/auth/login", content=b"x", headers={"Content-Type": "text/plain"})
    metrics = (await client.get("/metrics")).text
    assert 'http_requests_total{method="POST",route="/auth/login",status="415"} 1.0' in metrics


async def test_a_body_without_content_type_is_415(client, alice):
    response = await client.post("/tasks", content=b'{"title": "x"}', headers=alice)
    assert "Content-Type" in assert_problem(response, 415)["detail"]


async def test_invalid_utf8_reads_like_any_malformed_json(client, alice):
    response = await client.post("/tasks", content=b'{"title": "\xff"}', headers={**alice, **JSON})
    body = assert_problem(response, 400)
    assert body["detail"] == "Malformed JSON in request body"
    assert body["errors"][0]["field"] == "body"


async def test_browser_code_can_read_the_auth_challenge(client):
    response = await client.get("/tasks", headers={"Origin": "http://localhost:3000"})
    assert "www-authenticate" in response.headers["access-control-expose-headers"].lower()
