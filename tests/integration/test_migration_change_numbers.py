"""Migration 0010 on a database whose feed 0008 kept: each task takes its entry's number,
each deletion moves to task_deletions, writes go on numbering from the user's counter, and
the downgrade gives 0008's entries back."""

from __future__ import annotations

import uuid

from tests.integration.test_migration_change_feed import (
    _COUNTED,
    _consistent,
    migrated_with_a_user,
)
from tests.integration.test_migration_planning import _execute, _run

_ADD = (
    "INSERT INTO tasks (id, user_id, title, created_at, updated_at)"
    " VALUES (:id, :user_id, 't', now(), now())"
)
_COMPLETE = "UPDATE tasks SET is_completed = true WHERE id = :id"


async def test_numbers_move_onto_the_tasks_and_back(empty_database):
    url = {"DATABASE_URL": empty_database}
    user = await migrated_with_a_user(empty_database, "0009")
    kept, completed, deleted = (uuid.uuid4() for _ in range(3))
    await _execute(empty_database, _ADD, [{"id": i, "user_id": user} for i in (kept, completed)])
    await _execute(empty_database, _ADD, {"id": deleted, "user_id": user})
    await _execute(empty_database, _COMPLETE, {"id": completed})
    await _execute(empty_database, "DELETE FROM tasks WHERE id = :id", {"id": deleted})

    entries = dict(await _execute(empty_database, "SELECT task_id, seq FROM task_changes"))
    (newest,) = await _execute(empty_database, "SELECT change_seq FROM task_counters")
    assert entries[kept] < entries[completed] < entries[deleted] == newest[0]

    assert "revision 0010" in _run("migrate", "upgrade", "0010", **url).stdout
    numbers = await _execute(empty_database, "SELECT id, change_seq FROM tasks")
    assert sorted(numbers) == sorted([(kept, entries[kept]), (completed, entries[completed])])
    deletions = await _execute(empty_database, "SELECT task_id, user_id, seq FROM task_deletions")
    assert deletions == [(deleted, user, entries[deleted])]

    added = uuid.uuid4()
    await _execute(empty_database, _ADD, {"id": added, "user_id": user})
    await _execute(empty_database, _COMPLETE, {"id": kept})
    n = newest[0]
    numbers = await _execute(empty_database, "SELECT id, change_seq FROM tasks")
    assert sorted(numbers) == sorted(
        [(kept, n + 2), (completed, entries[completed]), (added, n + 1)]
    )
    assert await _execute(empty_database, "SELECT change_seq FROM task_counters") == [(n + 2,)]
    assert _consistent(await _execute(empty_database, _COUNTED))

    assert "revision 0009" in _run("migrate", "downgrade", "0009", "--yes", **url).stdout
    entries_back = await _execute(
        empty_database, "SELECT task_id, seq, deleted_at IS NOT NULL FROM task_changes"
    )
    assert sorted(entries_back) == sorted(
        [
            (kept, n + 2, False),
            (completed, entries[completed], False),
            (added, n + 1, False),
            (deleted, entries[deleted], True),
        ]
    )
    await _execute(empty_database, "DELETE FROM tasks WHERE id = :id", {"id": added})
    assert await _execute(empty_database, "SELECT change_seq FROM task_counters") == [(n + 3,)]
    assert _consistent(await _execute(empty_database, _COUNTED))
