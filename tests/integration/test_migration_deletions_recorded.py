"""Migration 0013: the service's delete statements count, number and record their deletions
themselves once the trigger is gone, as the trigger did (one number per statement, the
counts kept); a delete that finds nothing takes no number; and the downgrade gives 0012's
trigger back."""

from __future__ import annotations

import uuid

import asyncpg

from tests.integration.test_migration_change_feed import (
    _COUNTED,
    _consistent,
    migrated_with_a_user,
)
from tests.integration.test_migration_counter_writes import _ADD, _newest
from tests.integration.test_migration_planning import _execute, _run
from todo_adapters.sql.tasks import SqlTaskRepository

_RECORDED = "SELECT task_id, seq FROM task_deletions WHERE user_id = :user_id"
_TRIGGERS = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'tasks'::regclass AND tgname = :name"


async def _add(url: str, user: uuid.UUID, done: bool) -> uuid.UUID:
    task = uuid.uuid4()
    await _execute(url, _ADD, {"id": task, "user_id": user, "done": done})
    return task


async def test_the_service_records_its_deletions_and_the_downgrade_works(empty_database):
    url = {"DATABASE_URL": empty_database}
    user = await migrated_with_a_user(empty_database, "0012")
    one, done_a, done_b, kept = [
        await _add(empty_database, user, done) for done in (False, True, True, False)
    ]
    assert "revision 0013" in _run("migrate", "upgrade", "0013", **url).stdout
    trigger = {"name": "tasks_record_deletions"}
    assert await _execute(empty_database, _TRIGGERS, trigger) == []

    n = await _newest(empty_database, user)
    db = await asyncpg.connect(empty_database)
    try:
        tasks = SqlTaskRepository(db)
        assert await tasks.delete(one, user)
        assert not await tasks.delete(one, user)
        assert await tasks.delete_all(user, True) == 2
        assert await tasks.delete_all(user, True) == 0
    finally:
        await db.close()
    recorded = await _execute(empty_database, _RECORDED, {"user_id": user})
    assert sorted(recorded) == sorted([(one, n + 1), (done_a, n + 2), (done_b, n + 2)])
    assert await _newest(empty_database, user) == n + 2
    assert _consistent(await _execute(empty_database, _COUNTED))

    assert "revision 0012" in _run("migrate", "downgrade", "0012", "--yes", **url).stdout
    assert await _execute(empty_database, _TRIGGERS, trigger) == [("tasks_record_deletions",)]
    await _execute(empty_database, "DELETE FROM tasks WHERE id = :id", {"id": kept})
    recorded = await _execute(empty_database, _RECORDED, {"user_id": user})
    assert (kept, n + 3) in recorded
    assert _consistent(await _execute(empty_database, _COUNTED))
