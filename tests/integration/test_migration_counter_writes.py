"""Migration 0011: a created task counts and numbers itself in one write of the counter,
one number per task even when a statement inserts several, a user's first task starts the
counter, a task for no user is still refused by its foreign key; a statement updating or
deleting tasks of two users counts and numbers each user's; and the downgrade gives
0010's triggers back."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from tests.integration.test_migration_change_feed import (
    _COUNTED,
    _consistent,
    migrated_with_a_user,
)
from tests.integration.test_migration_planning import _execute, _run

_ADD = (
    "INSERT INTO tasks (id, user_id, title, is_completed, created_at, updated_at)"
    " VALUES (:id, :user_id, 't', :done, now(), now())"
)
_ADD_THREE = (
    "INSERT INTO tasks (id, user_id, title, created_at, updated_at)"
    " VALUES (:a, :user_id, 'a', now(), now()), (:b, :user_id, 'b', now(), now()),"
    " (:c, :user_id, 'c', now(), now())"
)
_NUMBERS = "SELECT id, change_seq FROM tasks WHERE user_id = :user_id"
_NEWEST = "SELECT change_seq FROM task_counters WHERE user_id = :user_id"


async def _newest(url: str, user: uuid.UUID) -> int:
    (row,) = await _execute(url, _NEWEST, {"user_id": user})
    return row[0]


async def test_creates_number_themselves_and_the_downgrade_works(empty_database):
    url = {"DATABASE_URL": empty_database}
    user = await migrated_with_a_user(empty_database, "0010")
    before = uuid.uuid4()
    await _execute(empty_database, _ADD, {"id": before, "user_id": user, "done": False})
    n = await _newest(empty_database, user)

    assert "revision 0011" in _run("migrate", "upgrade", "0011", **url).stdout
    done, a, b, c = (uuid.uuid4() for _ in range(4))
    await _execute(empty_database, _ADD, {"id": done, "user_id": user, "done": True})
    await _execute(empty_database, _ADD_THREE, {"a": a, "b": b, "c": c, "user_id": user})
    numbers = dict(await _execute(empty_database, _NUMBERS, {"user_id": user}))
    assert numbers[before] == n
    assert numbers[done] == n + 1
    assert sorted(numbers[t] for t in (a, b, c)) == [n + 2, n + 3, n + 4]
    assert await _newest(empty_database, user) == n + 4
    assert _consistent(await _execute(empty_database, _COUNTED))

    # A user's first task starts their counter; a task for no user is refused as before.
    other = uuid.uuid4()
    await _execute(
        empty_database,
        "INSERT INTO users (id, email, password_hash, created_at)"
        " VALUES (:id, 'bob@example.com', 'h', now())",
        {"id": other},
    )
    first = uuid.uuid4()
    await _execute(empty_database, _ADD, {"id": first, "user_id": other, "done": True})
    assert await _execute(empty_database, _NUMBERS, {"user_id": other}) == [(first, 1)]
    with pytest.raises(IntegrityError, match="foreign key"):
        await _execute(
            empty_database, _ADD, {"id": uuid.uuid4(), "user_id": uuid.uuid4(), "done": False}
        )
    assert _consistent(await _execute(empty_database, _COUNTED))

    # One statement over both users' tasks: each user's counter, by its own key.
    both = {"user_id": user, "other": other}
    n_other = await _newest(empty_database, other)
    await _execute(
        empty_database,
        "UPDATE tasks SET is_completed = NOT is_completed WHERE user_id IN (:user_id, :other)",
        both,
    )
    assert {s for _, s in await _execute(empty_database, _NUMBERS, {"user_id": user})} == {n + 5}
    assert await _execute(empty_database, _NUMBERS, {"user_id": other}) == [(first, n_other + 1)]
    assert _consistent(await _execute(empty_database, _COUNTED))
    await _execute(
        empty_database, "DELETE FROM tasks WHERE id IN (:a, :first)", {"a": a, "first": first}
    )
    deletions = await _execute(empty_database, "SELECT task_id, user_id, seq FROM task_deletions")
    assert sorted(deletions) == sorted([(a, user, n + 6), (first, other, n_other + 2)])
    assert await _newest(empty_database, user) == n + 6
    assert _consistent(await _execute(empty_database, _COUNTED))

    assert "revision 0010" in _run("migrate", "downgrade", "0010", "--yes", **url).stdout
    after = uuid.uuid4()
    await _execute(empty_database, _ADD, {"id": after, "user_id": user, "done": True})
    numbers = dict(await _execute(empty_database, _NUMBERS, {"user_id": user}))
    await _execute(empty_database, "UPDATE tasks SET title = 'u' WHERE id = :b", {"b": b})
    await _execute(empty_database, "DELETE FROM tasks WHERE id = :c", {"c": c})
    numbers = dict(await _execute(empty_database, _NUMBERS, {"user_id": user}))
    assert (numbers[after], numbers[b]) == (n + 7, n + 8)
    deleted = "SELECT seq FROM task_deletions WHERE task_id = :c"
    assert await _execute(empty_database, deleted, {"c": c}) == [(n + 9,)]
    assert await _newest(empty_database, user) == n + 9
    assert _consistent(await _execute(empty_database, _COUNTED))
