"""Idempotency-Key on POST /tasks, on real PostgreSQL: a retry gets the first reply and
creates nothing; concurrent retries create one task; the reply outlives the service."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from sqlalchemy import text

from tests.integration.http import assert_problem, serving
from todo_api.app import create_app

BODY = {"title": "Buy milk", "description": "2 litres"}


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def _titles(client, headers) -> list[str]:
    body = (await client.get("/tasks", params={"limit": 200}, headers=headers)).json()
    return [t["title"] for t in body["tasks"]]


async def _stored_keys(engine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(text("SELECT count(*) FROM idempotency_keys"))).scalar()


async def test_a_retry_gets_the_first_reply_and_creates_nothing(client, alice, engine):
    first = await client.post("/tasks", json=BODY, headers=keyed(alice, "retry-1"))
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    # the same body, written differently, is the same request
    retry = await client.post(
        "/tasks",
        content=b'{ "description" : "2 litres",  "title": "Buy milk"}',
        headers={**keyed(alice, "retry-1"), "Content-Type": "application/json"},
    )
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    for header in ("etag", "location", "content-type"):
        assert retry.headers[header] == first.headers[header]
    assert first.headers["location"] == f"/tasks/{first.json()['id']}"
    assert await _titles(client, alice) == ["Buy milk"]
    assert await _stored_keys(engine) == 1


async def test_a_replay_is_the_reply_as_it_was_even_after_the_task_changed(client, alice):
    first = (await client.post("/tasks", json=BODY, headers=keyed(alice, "k"))).json()
    await client.patch(f"/tasks/{first['id']}", json={"title": "changed"}, headers=alice)
    retry = await client.post("/tasks", json=BODY, headers=keyed(alice, "k"))
    assert retry.json() == first
    assert retry.headers["etag"] == f'"{uuid.UUID(first["id"]).hex}-1"'


async def test_the_same_key_with_another_body_is_a_422(client, alice):
    await client.post("/tasks", json=BODY, headers=keyed(alice, "k"))
    for other in ({**BODY, "title": "Buy oat milk"}, {**BODY, "is_completed": True}):
        response = await client.post("/tasks", json=other, headers=keyed(alice, "k"))
        body = assert_problem(response, 422)
        assert "different body" in body["detail"]
    assert await _titles(client, alice) == ["Buy milk"]


async def test_keys_of_different_users_never_collide(client, alice, bob):
    mine = await client.post("/tasks", json=BODY, headers=keyed(alice, "shared"))
    theirs = await client.post("/tasks", json=BODY, headers=keyed(bob, "shared"))
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert await _titles(client, bob) == ["Buy milk"]


@pytest.mark.parametrize(
    "key", [b"", b"x" * 256, "naïve".encode("latin-1"), b"tab\there", "😀".encode()]
)
async def test_a_malformed_key_is_a_400_and_creates_nothing(client, alice, engine, key):
    response = await client.post("/tasks", json=BODY, headers={**alice, "Idempotency-Key": key})
    body = assert_problem(response, 400)
    assert [e["field"] for e in body["errors"]] == ["Idempotency-Key"]
    assert await _titles(client, alice) == []
    assert await _stored_keys(engine) == 0


async def test_without_a_key_nothing_is_stored(client, alice, engine):
    for _ in range(2):
        assert (await client.post("/tasks", json=BODY, headers=alice)).status_code == 201
    assert await _titles(client, alice) == ["Buy milk", "Buy milk"]
    assert await _stored_keys(engine) == 0


async def test_an_invalid_body_with_a_key_stores_nothing(client, alice, engine):
    response = await client.post("/tasks", json={"title": " "}, headers=keyed(alice, "k"))
    assert_problem(response, 400)
    assert await _stored_keys(engine) == 0
    assert (await client.post("/tasks", json=BODY, headers=keyed(alice, "k"))).status_code == 201


async def test_ten_clients_with_one_key_create_one_task(client, alice):
    for round_ in range(5):
        key = f"burst-{round_}"
        responses = await asyncio.gather(
            *(client.post("/tasks", json=BODY, headers=keyed(alice, key)) for _ in range(10))
        )
        statuses = Counter(r.status_code for r in responses)
        assert set(statuses) <= {201, 409}, statuses
        created = [r for r in responses if r.status_code == 201]
        assert len({r.content for r in created}) == 1
        assert sum("idempotent-replayed" not in r.headers for r in created) == 1
        for conflict in (r for r in responses if r.status_code == 409):
            assert "in progress" in assert_problem(conflict, 409)["detail"]
        # a 409 is answered to a retry that came too early: the retry after it replays
        late = await client.post("/tasks", json=BODY, headers=keyed(alice, key))
        assert late.headers["idempotent-replayed"] == "true"
        assert late.content == created[0].content
    assert len(await _titles(client, alice)) == 5


async def test_a_reply_is_replayed_by_a_restarted_service(settings, client, alice):
    first = await client.post("/tasks", json=BODY, headers=keyed(alice, "survives"))
    async with serving(create_app(settings)) as restarted:
        retry = await restarted.post("/tasks", json=BODY, headers=keyed(alice, "survives"))
        assert retry.status_code == 201
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.content == first.content
        assert await _titles(restarted, alice) == ["Buy milk"]


async def test_expired_keys_are_free_again_and_purged(settings, alice, engine):
    short = settings.model_copy(update={"IDEMPOTENCY_TTL": 1})
    app = create_app(short)
    async with serving(app) as http:
        first = await http.post("/tasks", json=BODY, headers=keyed(alice, "brief"))
        await asyncio.sleep(1.1)
        assert await app.state.container.task_service().purge_expired_idempotency_keys() == 1
        assert await _stored_keys(engine) == 0
        again = await http.post("/tasks", json=BODY, headers=keyed(alice, "brief"))
        assert "idempotent-replayed" not in again.headers
        assert again.json()["id"] != first.json()["id"]


async def test_a_users_keys_go_with_the_user(client, alice, engine):
    await client.post("/tasks", json=BODY, headers=keyed(alice, "k"))
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM users"))
    assert await _stored_keys(engine) == 0
