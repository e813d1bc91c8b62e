"""User story 5 through HTTP: many concurrent users on a small pool, isolated from each
other (SC-003). Latency targets are measured by `make bench`, not by timed tests."""

from __future__ import annotations

import asyncio

from tests.integration.conftest import bearer, register

USERS = 100


async def test_100_concurrent_users_share_a_small_pool_without_errors(client, settings):
    assert settings.DB_POOL_SIZE + settings.DB_MAX_OVERFLOW < USERS

    async def one_user(n: int) -> tuple[str, list[dict]]:
        registered = await register(client, f"user{n}@example.com")
        headers = bearer(registered)
        created = await client.post("/tasks", json={"title": f"task of {n}"}, headers=headers)
        assert created.status_code == 201, created.text
        listed = await client.get("/tasks", headers=headers)
        assert listed.status_code == 200, listed.text
        return registered["user"]["id"], listed.json()["tasks"]

    results = await asyncio.gather(*(one_user(n) for n in range(USERS)))

    for n, (user_id, tasks) in enumerate(results):
        assert [(t["title"], t["user_id"]) for t in tasks] == [(f"task of {n}", user_id)]
