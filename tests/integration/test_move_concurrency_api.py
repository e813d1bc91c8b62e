"""Concurrent moves in one list (issue 20): 20 clients move one user's tasks at random for
10 s, some creating tasks meanwhile; afterwards `sort=position` lists every task exactly
once, in a strict order of distinct positions."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter

from tests.integration.conftest import bearer, register
from tests.integration.http import serving
from todo_api.app import create_app

CLIENTS = 20
SECONDS = 10.0


async def _all_by_position(http, headers) -> list[dict]:
    tasks, params = [], {"sort": "position", "limit": 200}
    while True:
        response = await http.get("/tasks", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        tasks += body["tasks"]
        if body["next_cursor"] is None:
            return tasks
        params["cursor"] = body["next_cursor"]


async def test_20_clients_moving_at_random_never_lose_or_duplicate_a_position(settings):
    app = create_app(settings.model_copy(update={"DB_POOL_SIZE": CLIENTS}))
    async with serving(app) as http:
        headers = bearer(await register(http, "mover@example.com"))
        ids = []
        for i in range(30):
            created = await http.post("/tasks", json={"title": f"t{i}"}, headers=headers)
            ids.append(created.json()["id"])
        statuses: Counter[int] = Counter()
        deadline = time.monotonic() + SECONDS

        async def mover(n: int) -> None:
            rng = random.Random(n)
            while time.monotonic() < deadline:
                if n < 2:  # two clients keep adding tasks at the end meanwhile
                    response = await http.post("/tasks", json={"title": "new"}, headers=headers)
                    ids.append(response.json()["id"])
                    statuses[response.status_code] += 1
                    continue
                task, after = rng.sample(ids, 2)
                body = {"after": None if rng.random() < 0.2 else after}
                response = await http.post(f"/tasks/{task}/move", json=body, headers=headers)
                statuses[response.status_code] += 1

        await asyncio.gather(*(mover(n) for n in range(CLIENTS)))
        listed = await _all_by_position(http, headers)

    assert set(statuses) == {200, 201}, statuses
    assert statuses[200] > 100, "the clients should have moved tasks many times"
    assert sorted(t["id"] for t in listed) == sorted(ids)  # every task, exactly once
    positions = [t["position"] for t in listed]
    assert all(a < b for a, b in itertools.pairwise(positions)), "a total order"
    # Each move bumped its task's version; respacing (many moves to the top wear that
    # gap) bumps those of the tasks it respaces too.
    assert sum(t["version"] - 1 for t in listed) >= statuses[200]
    assert max(len(p) for p in positions) <= 64
