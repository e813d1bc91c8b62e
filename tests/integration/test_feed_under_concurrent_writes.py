"""The change feed never skips a change, whatever order concurrent transactions commit in:
20 writers (creates, updates, moves, deletes, bulk calls) on one user's tasks for 30 s,
while a follower reads the feed without pause; at the end its copy, built only from the
feed, equals GET /tasks exactly. Several runs; the PgBouncer pass (TEST_PGBOUNCER=1) runs
it again through a transaction-mode pooler."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from tests.integration.conftest import bearer, register
from tests.integration.feed_client import FeedFollower, listed
from todo_api.app import create_app

WRITERS = 20
SECONDS = float(os.environ.get("FEED_STRESS_SECONDS", "30"))
# What a writer may meet when another one deleted or moved the task first.
EXPECTED = {200, 201, 204, 404}


@pytest.fixture
async def busy_client(settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a pool as large as the writers, so their transactions overlap."""
    app = create_app(settings.model_copy(update={"DB_POOL_SIZE": WRITERS + 2}))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def _write_once(
    client: httpx.AsyncClient, headers: dict, ids: list[str], rnd: random.Random
) -> tuple[str, str | None, httpx.Response]:
    """One write of a mix weighted like a busy user's: mostly creates and edits, some
    moves and deletes, now and then a bulk call."""
    pick, target = rnd.random(), rnd.choice(ids) if ids else None
    if pick < 0.35 or target is None:
        task = {"title": "w", "priority": rnd.randint(0, 3), "labels": ["l"]}
        return "create", None, await client.post("/tasks", json=task, headers=headers)
    if pick < 0.70:
        fields = rnd.choice(
            [
                {"title": f"t{rnd.random()}"},
                {"is_completed": rnd.random() < 0.5},
                {"due_at": "2027-05-01T10:00:00+00:00", "priority": rnd.randint(0, 3)},
                {"labels": [f"x{rnd.randint(0, 3)}"]},
            ]
        )
        return (
            "update",
            target,
            await client.patch(f"/tasks/{target}", json=fields, headers=headers),
        )
    if pick < 0.85:
        after = {"after": rnd.choice([None, rnd.choice(ids)])}
        return (
            "move",
            target,
            await client.post(f"/tasks/{target}/move", json=after, headers=headers),
        )
    if pick < 0.97:
        return "delete", target, await client.delete(f"/tasks/{target}", headers=headers)
    if pick < 0.99:
        state = {"is_completed": rnd.random() < 0.3}
        return "mark_all", None, await client.patch("/tasks", json=state, headers=headers)
    clear = {"completed": "true"}
    return "clear", None, await client.delete("/tasks", params=clear, headers=headers)


async def _writer(
    client: httpx.AsyncClient, headers: dict, ids: list[str], seed: int, until: float
) -> Counter[str]:
    rnd = random.Random(seed)
    done: Counter[str] = Counter()
    while time.monotonic() < until:
        kind, target, response = await _write_once(client, headers, ids, rnd)
        # A move "after" a task that was just deleted, or after itself: 404 or 400.
        allowed = EXPECTED | ({400} if kind == "move" else set())
        assert response.status_code in allowed, (kind, response.status_code, response.text)
        done[f"{kind} {response.status_code}"] += 1
        if kind == "create":
            ids.append(response.json()["id"])
        elif target in ids and (kind == "delete" or response.status_code == 404):
            ids.remove(target)  # the writers pick among live tasks again
    return done


@pytest.mark.parametrize("run", range(3))
async def test_a_follower_of_the_feed_ends_with_exactly_what_get_tasks_shows(busy_client, run):
    client = busy_client
    alice = bearer(await register(client, f"alice{run}@example.com"))
    bob = bearer(await register(client, f"bob{run}@example.com"))
    await client.post("/tasks", json={"title": "bob's, never in alice's feed"}, headers=bob)
    ids: list[str] = []
    follower = FeedFollower(client, alice, limit=50)
    until = time.monotonic() + SECONDS

    async def follow() -> None:
        while time.monotonic() < until:
            await follower.page()

    results = await asyncio.gather(
        follow(), *(_writer(client, alice, ids, run * 100 + i, until) for i in range(WRITERS))
    )
    writes: Counter[str] = sum(results[1:], Counter())
    await follower.sync()

    assert follower.tasks == await listed(client, alice)
    # The run did what it claims: every kind of write succeeded many times over.
    for kind in ("create 201", "update 200", "move 200", "delete 204"):
        assert writes[kind] >= 20, writes
    for kind in ("mark_all 200", "clear 200"):
        assert writes[kind] >= 1, writes
    assert follower.pages > 50
    assert all(t["title"] != "bob's, never in alice's feed" for t in follower.tasks.values())
