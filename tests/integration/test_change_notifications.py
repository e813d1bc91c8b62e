"""After each committed write of a user's tasks the service sends NOTIFY task_changes with
that user's id (only the id), from outside the writing transaction, when some listener
watches the user (holds their watch lock shared, as a listener with a stream of theirs
open does): what wakes the event streams of every instance. Heard and watched here on a
direct connection, as a listener would."""

from __future__ import annotations

import asyncio
from uuid import UUID

import asyncpg
import pytest

from tests.integration.conftest import VIA_PGBOUNCER
from tests.integration.notifications import hearing
from todo_adapters.sql.stream_locks import watch_key


@pytest.fixture
async def hearing_here(direct_database_url):
    async with hearing(direct_database_url) as both:
        yield both


@pytest.fixture
def listener(hearing_here) -> asyncpg.Connection:
    return hearing_here[0]


@pytest.fixture
def heard(hearing_here) -> asyncio.Queue[str]:
    return hearing_here[1]


async def _watch(listener: asyncpg.Connection, user_id: str) -> None:
    await listener.execute("SELECT pg_advisory_lock_shared($1)", watch_key(UUID(user_id)))


async def _my_id(client, headers) -> str:
    return str((await client.get("/auth/me", headers=headers)).json()["id"])


async def _next(queue: asyncio.Queue[str]) -> str:
    return await asyncio.wait_for(queue.get(), timeout=5)


async def test_every_kind_of_write_notifies_its_user_only(client, alice, bob, heard, listener):
    me = await _my_id(client, alice)
    await _watch(listener, me)
    await _watch(listener, await _my_id(client, bob))
    task = (await client.post("/tasks", json={"title": "a"}, headers=alice)).json()
    other = (await client.post("/tasks", json={"title": "b"}, headers=alice)).json()
    assert [await _next(heard), await _next(heard)] == [me, me]
    writes = [
        client.patch(f"/tasks/{task['id']}", json={"title": "new"}, headers=alice),
        client.post(f"/tasks/{task['id']}/move", json={"after": other["id"]}, headers=alice),
        client.patch("/tasks", json={"is_completed": True}, headers=alice),
        client.delete("/tasks", params={"completed": "true"}, headers=alice),
    ]
    for write in writes:
        response = await write
        assert response.status_code < 300, response.text
        assert await _next(heard) == me
    # A write that changed nothing, and bob's read, notify no one.
    assert (await client.delete(f"/tasks/{task['id']}", headers=alice)).status_code == 404
    await client.get("/tasks", headers=bob)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(heard.get(), timeout=0.5)


async def test_a_user_no_listener_watches_is_not_notified(client, alice, heard, listener):
    me = await _my_id(client, alice)
    assert (await client.post("/tasks", json={"title": "a"}, headers=alice)).status_code == 201
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(heard.get(), timeout=0.5)

    await _watch(listener, me)
    assert (await client.post("/tasks", json={"title": "b"}, headers=alice)).status_code == 201
    assert await _next(heard) == me

    await listener.execute("SELECT pg_advisory_unlock_shared($1)", watch_key(UUID(me)))
    assert (await client.post("/tasks", json={"title": "c"}, headers=alice)).status_code == 201
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(heard.get(), timeout=0.5)


@pytest.mark.skipif(
    VIA_PGBOUNCER,
    reason="through a transaction pooler the notifier's connection ends at PgBouncer, which"
    " replaces a dropped server connection unseen, and the server side shows only COMMIT",
)
async def test_a_notification_outlives_its_dropped_connection(client, alice, heard, listener):
    me = await _my_id(client, alice)
    await _watch(listener, me)
    assert (await client.post("/tasks", json={"title": "a"}, headers=alice)).status_code == 201
    assert await _next(heard) == me
    # The notifier's kept connection goes (as in a server restart or an idle timeout;
    # found by its last statement, so that no other connection of the run is touched):
    # the write after it is still announced.
    killed = await listener.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND query LIKE 'SELECT pg_notify(%'"
    )
    assert killed == 1
    assert (await client.post("/tasks", json={"title": "b"}, headers=alice)).status_code == 201
    assert await _next(heard) == me
