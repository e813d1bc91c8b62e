"""Migration 0016: a task written from then on keeps on its row the words the plain text
search splits its title and description into (NULL from 1,000 bytes on) and its labels
lower-cased; a write that changes its text or labels keeps them again, any other write
leaves them; tasks from before keep NULL (matched from their text and labels, as before);
the downgrade takes columns, trigger and function away."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from tests.integration.test_migration_change_feed import migrated_with_a_user
from tests.integration.test_migration_planning import _execute, _run

_TASKS = [
    ("Buy milk", None, []),
    ("Landingpages für Ärzte", "Ein Entwurf; siehe https://example.com/x?y=1", ["Work"]),
    ("", "", ["ÉMILE", "émile", "a b"]),
    ("It's a \\ back\\slash", "tabs\tand\nnewlines", ["it's", "Back\\Slash", "NULL"]),
    ("edge", "x" * 995, []),  # 4 + 995 bytes: the longest text kept
    ("edge", "x" * 996, []),  # 1,000 bytes
    ("long", "ä" * 600, ["Home"]),  # 600 characters, 1,200 bytes
]
_INSERT = (
    "INSERT INTO tasks (id, user_id, title, description, labels, created_at, updated_at)"
    " VALUES (:id, :user_id, :title, :description, :labels, now(), now())"
)
# What each task keeps against what the walk would work out from its text and labels.
_KEPT = (
    "SELECT id, octet_length(title) + coalesce(octet_length(description), 0),"
    " search_words::text,"
    " to_tsvector('simple', title || ' ' || coalesce(description, ''))::text,"
    " lowered_labels, ARRAY(SELECT lower(label) FROM unnest(labels) AS label)"
    " FROM tasks"
)
_LEFT = (
    "SELECT (SELECT count(*) FROM information_schema.columns WHERE table_name = 'tasks'"
    "        AND column_name IN ('search_words', 'lowered_labels')),"
    " (SELECT count(*) FROM pg_trigger WHERE tgname = 'tasks_keep_walk_keys'),"
    " (SELECT count(*) FROM pg_proc WHERE proname = 'keep_task_walk_keys')"
)


async def _add(url: str, user: uuid.UUID, title: str, description: str | None, labels: list):
    task = uuid.uuid4()
    values = {"title": title, "description": description, "labels": labels}
    await _execute(url, _INSERT, {"id": task, "user_id": user, **values})
    return task


async def _kept(url: str, tasks: list[uuid.UUID]) -> list[tuple]:
    """Each task's kept words and labels, checked against what the walk works out."""
    found = {row[0]: row[1:] for row in await _execute(url, _KEPT)}
    kept = []
    for task in tasks:
        size, words, split, labels, lowered = found[task]
        assert words == (split if size < 1_000 else None), size
        assert labels == lowered
        kept.append((words, labels))
    return kept


async def test_written_tasks_keep_their_walk_keys_and_the_downgrade_drops_them(empty_database):
    url = {"DATABASE_URL": empty_database}
    user = await migrated_with_a_user(empty_database, "0015")
    old = [await _add(empty_database, user, *task) for task in _TASKS]

    assert "revision 0016" in _run("migrate", "upgrade", "0016", **url).stdout
    rows = await _execute(empty_database, "SELECT search_words, lowered_labels FROM tasks")
    assert rows == [(None, None)] * len(_TASKS)

    new = [await _add(empty_database, user, *task) for task in _TASKS]
    kept = await _kept(empty_database, new)
    assert [words is None for words, _ in kept] == [False] * 5 + [True] * 2
    assert kept[3][1] == ["it's", "back\\slash", "null"]

    change = "UPDATE tasks SET {} WHERE id = :id"
    first = {"id": new[0]}
    await _execute(empty_database, change.format("description = 'call Ann'"), first)
    words = "'ann':4 'buy':1 'call':3 'milk':2"
    assert await _kept(empty_database, [new[0]]) == [(words, [])]
    await _execute(empty_database, change.format("labels = '{Errand,HOME}'"), first)
    assert await _kept(empty_database, [new[0]]) == [(words, ["errand", "home"])]
    # Written over by hand (the trigger watches neither column), so that a recomputation
    # would show: a move, a completion, and labels set to what they are leave them.
    keys = "SELECT search_words::text, lowered_labels FROM tasks WHERE id = :id"
    marked = (change.format("search_words = 'marker', lowered_labels = '{marker}'"), first)
    await _execute(empty_database, *marked)
    for write in ("position = 'zz', version = 2", "is_completed = true", "labels = labels"):
        await _execute(empty_database, change.format(write), first)
        assert await _execute(empty_database, keys, first) == [("'marker'", ["marker"])]
    await _execute(empty_database, change.format("title = 'Buy oat milk'"), first)
    words = "'ann':5 'buy':1 'call':4 'milk':3 'oat':2"
    assert await _execute(empty_database, keys, first) == [(words, ["marker"])]
    await _execute(empty_database, *marked)
    await _execute(empty_database, change.format("labels = '{errand}'"), first)
    assert await _execute(empty_database, keys, first) == [("'marker'", ["errand"])]
    await _execute(empty_database, change.format("title = 'x' || title"), {"id": new[5]})
    assert await _kept(empty_database, [new[5]]) == [(None, [])]  # 1,001 bytes now
    await _execute(empty_database, change.format("description = NULL"), {"id": new[5]})
    assert await _kept(empty_database, [new[5]]) == [("'xedge':1", [])]

    # Tasks from before: a write keeps what it changes, the rest stays NULL.
    await _execute(empty_database, change.format("labels = '{Work,Ärger}'"), {"id": old[1]})
    assert await _execute(empty_database, keys, {"id": old[1]}) == [(None, ["work", "ärger"])]
    await _execute(empty_database, change.format("title = title"), {"id": old[1]})
    assert await _execute(empty_database, keys, {"id": old[1]}) == [(None, ["work", "ärger"])]
    await _execute(empty_database, change.format("title = 'Landing'"), {"id": old[1]})
    assert (await _kept(empty_database, [old[1]]))[0][0] is not None
    await _execute(empty_database, change.format("title = 'Milk'"), {"id": old[0]})
    assert await _execute(empty_database, keys, {"id": old[0]}) == [("'milk':1", None)]

    assert "revision 0015" in _run("migrate", "downgrade", "0015", "--yes", **url).stdout
    assert await _execute(empty_database, _LEFT) == [(0, 0, 0)]


async def test_the_upgrade_gives_up_on_a_busy_table_before_readers_wait_long(empty_database):
    """Adding the columns waits for every transaction using tasks, and queues every reader
    behind it: after 2 s it gives up (lock_timeout), not after the statement timeout."""
    url = {"DATABASE_URL": empty_database}
    await migrated_with_a_user(empty_database, "0015")
    holder = await asyncpg.connect(empty_database)
    try:
        async with holder.transaction():
            await holder.fetchval("SELECT count(*) FROM tasks")
            failed = await asyncio.to_thread(_run, "migrate", "upgrade", "0016", **url)
        assert failed.returncode != 0
        assert "lock timeout" in failed.stdout + failed.stderr
    finally:
        await holder.close()
    assert "revision 0016" in _run("migrate", "upgrade", "0016", **url).stdout
