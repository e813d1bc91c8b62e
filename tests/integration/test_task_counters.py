"""The list total comes from task_counters, which triggers on tasks keep: it must equal a
real count(*) after every kind of write, under concurrency, across user deletion and after
the migration that backfills it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from asyncpg import PostgresError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.integration.conftest import add_user, fresh_database
from todo_adapters.sql.engine import PoolSettings, build_engine
from todo_adapters.sql.migrate import downgrade_schema, upgrade_schema
from todo_adapters.sql.tasks import SqlTaskRepository

# A write of the deadlock test, on a connection in a transaction.
Write = Callable[[AsyncConnection], Awaitable[object]]

# Users whose counter (or its absence, read as zero) disagrees with their tasks.
WRONG_COUNTERS = """
SELECT u.email FROM users u LEFT JOIN task_counters c ON c.user_id = u.id
WHERE coalesce(c.total, 0) <> (SELECT count(*) FROM tasks t WHERE t.user_id = u.id)
   OR coalesce(c.completed, 0)
      <> (SELECT count(*) FROM tasks t WHERE t.user_id = u.id AND t.is_completed)
"""


async def wrong_counters(engine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(text(WRONG_COUNTERS))).scalars())


async def totals(client, headers) -> tuple[int, int, int]:
    """The list total with no filter, completed=true and completed=false; each one read
    both with the page query and past the last page, where it is read on its own."""
    found = []
    for flag in ("", "&completed=true", "&completed=false"):
        page, beyond = [
            (await client.get(f"/tasks?limit=1&offset={offset}{flag}", headers=headers)).json()
            for offset in (0, 10_000)
        ]
        assert page["total"] == beyond["total"], flag
        found.append(page["total"])
    return found[0], found[1], found[2]


async def create(client, headers, done: bool = False) -> str:
    body = {"title": "t", "is_completed": done}
    response = await client.post("/tasks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_totals_follow_every_kind_of_write(client, engine, alice, bob):
    assert await totals(client, alice) == (0, 0, 0)
    first, second = await create(client, alice), await create(client, alice)
    done = await create(client, alice, done=True)
    await create(client, bob)
    assert await totals(client, alice) == (3, 1, 2)
    assert await totals(client, bob) == (1, 0, 1)

    await client.patch(f"/tasks/{first}", json={"is_completed": True}, headers=alice)
    assert await totals(client, alice) == (3, 2, 1)
    await client.put(f"/tasks/{done}", json={"is_completed": False}, headers=alice)
    assert await totals(client, alice) == (3, 1, 2)
    # Writes that leave is_completed as it is: another field, or the same value again.
    await client.patch(f"/tasks/{first}", json={"title": "renamed"}, headers=alice)
    await client.put(f"/tasks/{first}", json={"is_completed": True}, headers=alice)
    await client.patch(f"/tasks/{second}", json={"description": "d"}, headers=alice)
    assert await totals(client, alice) == (3, 1, 2)

    assert (await client.delete(f"/tasks/{first}", headers=alice)).status_code == 204
    assert await totals(client, alice) == (2, 0, 2)
    assert (await client.delete(f"/tasks/{second}", headers=alice)).status_code == 204
    assert (await client.delete(f"/tasks/{done}", headers=alice)).status_code == 204
    assert await totals(client, alice) == (0, 0, 0)
    assert await totals(client, bob) == (1, 0, 1)
    assert await wrong_counters(engine) == []


async def test_concurrent_writes_of_one_user_leave_the_counter_exact(client, engine, alice):
    ids = await asyncio.gather(*(create(client, alice, done=i % 2 == 0) for i in range(50)))

    await asyncio.gather(
        *(client.delete(f"/tasks/{task_id}", headers=alice) for task_id in ids[:15]),
        *(
            client.patch(f"/tasks/{task_id}", json={"is_completed": i % 2 == 1}, headers=alice)
            for i, task_id in enumerate(ids[15:35], start=15)
        ),
        *(create(client, alice, done=True) for _ in range(15)),
    )

    assert await wrong_counters(engine) == []
    assert await totals(client, alice) == (50, 32, 18)


async def add_tasks(connection, user_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    await connection.execute(
        text(
            "INSERT INTO tasks (id, user_id, title, is_completed, created_at, updated_at)"
            " VALUES (:id, :user_id, 't', :done, now(), now())"
        ),
        [{"id": i, "user_id": user_id, "done": n % 3 == 0} for n, i in enumerate(ids)],
    )
    return ids


async def test_deleting_a_user_deletes_their_counter(engine):
    async with engine.begin() as connection:
        ada, bob = await add_user(connection, "ada@example.com"), await add_user(connection, "b@x")
        await add_tasks(connection, ada, 30)
        await add_tasks(connection, bob, 4)

    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": ada})
        counters = (
            await connection.execute(text("SELECT user_id, total, completed FROM task_counters"))
        ).all()

    assert [tuple(c) for c in counters] == [(bob, 4, 2)]


@pytest.mark.parametrize("write", ["insert", "update", "delete"])
async def test_a_user_deleted_during_a_task_write_never_deadlocks(server_url, write):
    """A task write locks the task, then its counter; deleting the user cascades to tasks
    and counters in an order set by trigger names. Here the counters cascade is made to come
    first, and the write is held between its two locks while the user is deleted."""
    async with fresh_database(server_url) as url:
        engine = build_engine(url, PoolSettings(size=3))
        try:
            await upgrade_schema(engine)
            async with engine.begin() as connection:
                # Recreated, the tasks foreign key's cascade trigger gets the newest name.
                for statement in (
                    "ALTER TABLE tasks DROP CONSTRAINT fk_tasks_user_id_users",
                    "ALTER TABLE tasks ADD CONSTRAINT fk_tasks_user_id_users FOREIGN KEY"
                    " (user_id) REFERENCES users (id) ON DELETE CASCADE",
                ):
                    await connection.execute(text(statement))
                cascades = await connection.execute(
                    text(
                        "SELECT c.conname FROM pg_trigger t"
                        " JOIN pg_constraint c ON c.oid = t.tgconstraint"
                        " WHERE t.tgrelid = 'users'::regclass AND c.conname LIKE 'fk_task%'"
                        " ORDER BY t.tgname LIMIT 1"
                    )
                )
                assert cascades.scalar_one() == "fk_task_counters_user_id_users"
                ada = await add_user(connection, "ada@example.com")
                (task,) = await add_tasks(connection, ada, 1)
                # Fires after the foreign key check, before the counting trigger (by name);
                # for a delete, on the locked task before the statement reaches the counter
                # (migration 0013: the delete statement counts, in its own CTEs).
                await connection.execute(
                    text(
                        "CREATE FUNCTION pause() RETURNS trigger LANGUAGE plpgsql AS"
                        " $$ BEGIN PERFORM pg_sleep(0.5); RETURN OLD; END $$"
                    )
                )
                when = "BEFORE DELETE" if write == "delete" else "AFTER INSERT OR UPDATE"
                await connection.execute(
                    text(
                        f"CREATE TRIGGER a_pause {when} ON tasks"
                        " FOR EACH ROW EXECUTE FUNCTION pause()"
                    )
                )

            def statement(sql: str) -> Write:
                return lambda connection: connection.execute(
                    text(sql), {"id": task, "user_id": ada}
                )

            async def delete(connection: AsyncConnection) -> object:
                # The service's own delete: it counts in its statement, not in a trigger.
                raw = await connection.get_raw_connection()
                return await SqlTaskRepository(raw.driver_connection).delete(task, ada)

            writes: dict[str, Write] = {
                "insert": statement(
                    "INSERT INTO tasks (id, user_id, title, created_at, updated_at)"
                    " VALUES (gen_random_uuid(), :user_id, 't', now(), now())"
                ),
                "update": statement(
                    "UPDATE tasks SET is_completed = NOT is_completed WHERE id = :id"
                ),
                "delete": delete,
            }

            async def run(write: Write, delay: float) -> str:
                await asyncio.sleep(delay)
                try:
                    async with engine.begin() as connection:
                        await write(connection)
                except DBAPIError as exc:
                    return type(exc.orig.__cause__).__name__
                except PostgresError as exc:
                    return type(exc).__name__
                return "ok"

            outcomes = await asyncio.gather(
                run(writes[write], 0), run(statement("DELETE FROM users WHERE id = :user_id"), 0.2)
            )

            assert outcomes == ["ok", "ok"]
            assert await wrong_counters(engine) == []
            async with engine.connect() as connection:
                left = await connection.execute(text("SELECT count(*) FROM task_counters"))
                assert left.scalar_one() == 0
        finally:
            await engine.dispose()


async def test_the_migration_counts_the_tasks_already_there(server_url):
    async with fresh_database(server_url) as url:
        engine = build_engine(url, PoolSettings(size=2))
        try:
            await upgrade_schema(engine, "0002")
            async with engine.begin() as connection:
                ada, bob = await add_user(connection, "a@x"), await add_user(connection, "b@x")
                await add_user(connection, "c@x")
                await add_tasks(connection, ada, 7)
                await add_tasks(connection, bob, 2)

            await upgrade_schema(engine)

            async with engine.connect() as connection:
                counters = await connection.execute(
                    text("SELECT user_id, total, completed FROM task_counters")
                )
                assert {tuple(c) for c in counters} == {(ada, 7, 3), (bob, 2, 1)}
            assert await wrong_counters(engine) == []
            async with engine.begin() as connection:
                await add_tasks(connection, bob, 1)
            assert await wrong_counters(engine) == []

            await downgrade_schema(engine, "0002")
            async with engine.connect() as connection:
                left = await connection.execute(
                    text(
                        "SELECT count(*) FROM pg_proc WHERE proname IN"
                        " ('count_tasks', 'lock_tasks_of_user')"
                        " UNION ALL SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
                        " UNION ALL SELECT count(*) FROM pg_class WHERE relname = 'task_counters'"
                    )
                )
                assert list(left.scalars()) == [0, 0, 0]
        finally:
            await engine.dispose()
