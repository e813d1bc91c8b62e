"""What the per-user task counters cost: row triggers (migration 0003) against statement
triggers with transition tables (0005), on a database of its own.

    .venv/bin/python bench/counter_triggers.py postgresql://postgres@127.0.0.1:5432/postgres

For each kind: clearing 10,000 completed tasks, marking 10,000 tasks complete (one
statement each, rolled back so every run sees the same rows), and one-row statements as the
API sends them (a title edit, a toggle, a delete, each committed alone), as the median of
several runs."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

from todo_adapters.sql.engine import PoolSettings, build_engine
from todo_adapters.sql.migrate import downgrade_schema, upgrade_schema

BULK = 10_000
ONE_ROW = 1_000
RUNS = 7
ROUNDS = 5

_SEED = """
INSERT INTO tasks (id, user_id, title, is_completed, created_at, updated_at)
SELECT gen_random_uuid(), $1, 'task ' || g, $3, now(), now() FROM generate_series(1, $2) g
"""


async def _timed(db: asyncpg.Connection, sql: str, *args: object) -> float:
    """Milliseconds for one statement, inside a transaction that is rolled back."""
    async with db.transaction():
        began = time.perf_counter()
        await db.execute(sql, *args)
        elapsed = (time.perf_counter() - began) * 1000
        raise _Rollback(elapsed)


class _Rollback(Exception):
    def __init__(self, elapsed: float) -> None:
        self.elapsed = elapsed


async def _median(db: asyncpg.Connection, sql: str, *args: object) -> float:
    runs = []
    for _ in range(RUNS):
        try:
            await _timed(db, sql, *args)
        except _Rollback as done:
            runs.append(done.elapsed)
    return statistics.median(runs)


async def _one_row_us(db: asyncpg.Connection, sql: str, ids: list[uuid.UUID]) -> float:
    """Microseconds per one-row statement (each its own transaction, as the API runs it)."""
    statement = await db.prepare(sql)
    began = time.perf_counter()
    for task_id in ids:
        await statement.fetchval(task_id)
    return (time.perf_counter() - began) / len(ids) * 1e6


async def _seed(db: asyncpg.Connection) -> uuid.UUID:
    user = uuid.uuid4()
    await db.execute("TRUNCATE users, tasks, task_counters CASCADE")
    await db.execute("INSERT INTO users VALUES ($1, $2, 'hash', now())", user, f"{user}@x")
    await db.execute(_SEED, user, BULK, True)
    return user


async def bulk(db: asyncpg.Connection) -> dict[str, float]:
    user = await _seed(db)
    return {
        "clear 10,000 completed (ms)": await _median(
            db, "DELETE FROM tasks WHERE user_id = $1 AND is_completed", user
        ),
        "mark 10,000 active (ms)": await _median(
            db,
            "UPDATE tasks SET is_completed = false, version = version + 1, updated_at = now()"
            " WHERE user_id = $1 AND is_completed",
            user,
        ),
    }


async def one_row(db: asyncpg.Connection) -> dict[str, float]:
    user = await _seed(db)
    ids = [r[0] for r in await db.fetch("SELECT id FROM tasks LIMIT $1", ONE_ROW)]
    figures = {
        "title edit (µs)": await _one_row_us(
            db, "UPDATE tasks SET title = 'x', version = version + 1 WHERE id = $1", ids
        ),
        "toggle (µs)": await _one_row_us(
            db, "UPDATE tasks SET is_completed = NOT is_completed WHERE id = $1", ids
        ),
        "delete (µs)": await _one_row_us(db, "DELETE FROM tasks WHERE id = $1", ids),
    }
    counted = await db.fetchrow(
        "SELECT total, completed FROM task_counters WHERE user_id = $1", user
    )
    actual = await db.fetchrow(
        "SELECT count(*), count(*) FILTER (WHERE is_completed) FROM tasks WHERE user_id = $1",
        user,
    )
    assert tuple(counted) == tuple(actual), (counted, actual)
    return figures


# 0012: the last revision whose deletes a trigger counts (from 0013 the service's delete
# statement counts them itself, and a bare DELETE is not counted).
KINDS = {"statement triggers (0005)": "0012", "row triggers (0003)": "0004"}


async def _database(url: str, revision: str) -> str:
    admin = await asyncpg.connect(url)
    try:
        name = f"counter_triggers_{uuid.uuid4().hex[:8]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    target = url.rsplit("/", 1)[0] + f"/{name}"
    engine = build_engine(target, PoolSettings(size=1))
    try:
        await upgrade_schema(engine)
        if revision != "head":
            await downgrade_schema(engine, revision)
    finally:
        await engine.dispose()
    return target


async def main(url: str) -> None:
    targets = {kind: await _database(url, revision) for kind, revision in KINDS.items()}
    connections = {kind: await asyncpg.connect(target) for kind, target in targets.items()}
    try:
        results = {kind: await bulk(db) for kind, db in connections.items()}
        # One-row statements take a few hundred µs, mostly the commit: alternate the two
        # kinds round by round so that whatever else runs on the machine hits both alike.
        rounds: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
        for _ in range(ROUNDS):
            for kind, db in connections.items():
                rounds[kind].append(await one_row(db))
        for kind, runs in rounds.items():
            for what in runs[0]:
                results[kind][what] = statistics.median(run[what] for run in runs)
        for kind, figures in results.items():
            print(kind)
            for what, value in figures.items():
                print(f"  {what}: {value:,.1f}")
    finally:
        for db in connections.values():
            await db.close()
        admin = await asyncpg.connect(url)
        for target in targets.values():
            await admin.execute(f'DROP DATABASE "{target.rsplit("/", 1)[1]}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a PostgreSQL server the script may create a database on")
    asyncio.run(main(parser.parse_args().url))
