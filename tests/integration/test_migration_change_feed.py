"""Migration 0008 on a database that already has tasks: each gets its entry in the feed
(number 0, so a full sync finds it), the counts stay kept, and the downgrade gives the
counting back to 0005's triggers."""

from __future__ import annotations

import uuid

from tests.integration.test_migration_planning import _execute, _run

_COUNTED = (
    "SELECT c.total, c.completed, count(t.id), count(t.id) FILTER (WHERE t.is_completed)"
    " FROM task_counters c LEFT JOIN tasks t USING (user_id)"
    " GROUP BY c.user_id, c.total, c.completed"
)


def _consistent(rows: list[tuple]) -> bool:
    return all(
        total == counted and done == counted_done for total, done, counted, counted_done in rows
    )


async def migrated_with_a_user(url: str, revision: str) -> uuid.UUID:
    """The database at this revision, with one user; the user's id."""
    done = _run("migrate", "upgrade", revision, DATABASE_URL=url)
    assert f"revision {revision}" in done.stdout
    user = uuid.uuid4()
    await _execute(
        url,
        "INSERT INTO users (id, email, password_hash, created_at)"
        " VALUES (:id, 'ada@example.com', 'h', now())",
        {"id": user},
    )
    return user


async def test_existing_tasks_enter_the_feed_and_the_downgrade_keeps_counting(empty_database):
    url = {"DATABASE_URL": empty_database}
    user = await migrated_with_a_user(empty_database, "0007")
    ids = [uuid.uuid4() for _ in range(3)]
    await _execute(
        empty_database,
        "INSERT INTO tasks (id, user_id, title, created_at, updated_at, is_completed)"
        " VALUES (:id, :user_id, 't', now(), now(), :done)",
        [{"id": i, "user_id": user, "done": n == 0} for n, i in enumerate(ids)],
    )

    assert "revision 0008" in _run("migrate", "upgrade", "0008", **url).stdout
    entries = await _execute(
        empty_database, "SELECT task_id, user_id, seq, deleted_at FROM task_changes"
    )
    assert sorted(entries) == sorted((i, user, 0, None) for i in ids)
    assert await _execute(empty_database, "SELECT change_seq FROM task_counters") == [(0,)]
    await _execute(
        empty_database, "UPDATE tasks SET is_completed = true WHERE id = :id", {"id": ids[1]}
    )
    await _execute(empty_database, "DELETE FROM tasks WHERE id = :id", {"id": ids[2]})
    assert await _execute(empty_database, "SELECT change_seq FROM task_counters") == [(2,)]
    assert _consistent(await _execute(empty_database, _COUNTED))

    assert "revision 0007" in _run("migrate", "downgrade", "0007", "--yes", **url).stdout
    tables = await _execute(
        empty_database, "SELECT tablename FROM pg_tables WHERE tablename = 'task_changes'"
    )
    assert tables == []
    await _execute(empty_database, "UPDATE tasks SET is_completed = false")
    await _execute(empty_database, "DELETE FROM tasks WHERE id = :id", {"id": ids[0]})
    counted = await _execute(empty_database, _COUNTED)
    assert counted == [(1, 0, 1, 0)]
