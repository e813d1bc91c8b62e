"""After each committed write of a user's tasks the service sends NOTIFY task_changes with
that user's id (only the id), from outside the writing transaction: what wakes the event
streams of every instance. Heard here on a direct connection, as a listener would."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from todo_adapters.sql.notifier import CHANNEL


@pytest.fixture
async def heard(direct_database_url):
    connection = await asyncpg.connect(direct_database_url)
    queue: asyncio.Queue[str] = asyncio.Queue()
    await connection.add_listener(CHANNEL, lambda *args: queue.put_nowait(args[3]))
    yield queue
    await connection.close()


async def _next(queue: asyncio.Queue[str]) -> str:
    return await asyncio.wait_for(queue.get(), timeout=5)


async def test_every_kind_of_write_notifies_its_user_only(client, alice, bob, heard):
    me = (await client.get("/auth/me", headers=alice)).json()["id"]
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
