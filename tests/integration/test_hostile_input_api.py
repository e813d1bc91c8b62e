"""Input built to break parsers and databases: each is a clear 400 or 413, never a 500."""

from __future__ import annotations

import pytest

from tests.integration.http import assert_problem

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"title": "x", "is_completed": ' + b"9" * 5000 + b"}", "out of range"),
        (b'{"title": "\xc3\x28"}', "invalid UTF-8"),
    ],
    ids=["deep-nesting", "5000-digit-number", "invalid-utf8"],
)
async def test_unparsable_bodies_are_a_400(client, alice, body, reason):
    response = await client.post("/tasks", content=body, headers={**alice, **JSON})
    problem = assert_problem(response, 400)
    assert reason in problem["errors"][0]["message"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"title": 1e999}',
        b'{"title": "x", "is_completed": 1e999}',
        b'{"title": {"nested": {"deeper": ["x"]}}}',
        b'{"title": "nul \\u0000 inside"}',
        b'{"title": "x", "description": "nul \\u0000 inside"}',
        b"null",
        b'"just a string"',
        b"[]",
    ],
)
async def test_wrong_shapes_and_nul_bytes_are_a_400(client, alice, body):
    response = await client.post("/tasks", content=body, headers={**alice, **JSON})
    assert_problem(response, 400)
    assert (await client.get("/tasks", headers=alice)).json()["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "1" + "0" * 400},
        {"limit": "1e3"},
        {"offset": "-1"},
        {"offset": "99999999999999999999999"},
        {"sort": "title; DROP TABLE tasks"},
        {"cursor": "x" * 10_000},
    ],
)
async def test_hostile_query_parameters_are_a_400(client, alice, params):
    assert_problem(await client.get("/tasks", params=params, headers=alice), 400)


async def test_an_over_long_path_id_is_a_400(client, alice):
    assert_problem(await client.get("/tasks/" + "a" * 5000, headers=alice), 400)
