"""A filtered page counts what its filters match only when the user's tasks changed since
the count the repository keeps (filter_totals.py). The contract suite shows the totals
follow every write; this shows the count is not run while nothing changed, and that
pages asking it at once run it once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_adapters.sql import tasks as sql_tasks
from todo_adapters.sql.filter_totals import FILTER_TOTALS, FilterTotals
from todo_adapters.sql.task_listing import COUNTERS, Filters, page_statement
from todo_adapters.sql.tasks import SqlTaskRepository
from todo_adapters.sql.uow import SqlUnitOfWorkFactory
from todo_core.listing import TaskFilter, TaskQuery, TaskSort

_SEARCH = TaskQuery(limit=20, filter=TaskFilter(q="call"))
_PAGE = page_statement(TaskSort.CREATED_DESC, None, False, Filters.of(_SEARCH.filter))


@pytest.fixture
async def user(direct_database_url: str) -> uuid.UUID:
    """A user of 100 tasks, half of them matching `call`."""
    db = await asyncpg.connect(direct_database_url)
    try:
        user_id = await db.fetchval(
            "INSERT INTO users VALUES (gen_random_uuid(), 'caller@example.com', 'h', now())"
            " RETURNING id"
        )
        await db.execute(
            "INSERT INTO tasks (id, user_id, title, created_at, updated_at)"
            " SELECT gen_random_uuid(), $1, CASE WHEN g % 2 = 0 THEN 'call ' ELSE 'buy ' END"
            " || g, now() - g * interval '1 second', now() FROM generate_series(1, 100) g",
            user_id,
        )
    finally:
        await db.close()
    return user_id


def _arguments(user_id: uuid.UUID, counted_at: int | None) -> list[object]:
    return _PAGE.args(
        {
            "user_id": user_id,
            "is_completed": None,
            "q": "call",
            "labels": [],
            "limit": 21,
            "offset": 0,
            "counted_at": counted_at,
        }
    )


async def test_a_page_counts_only_when_the_users_tasks_changed(
    engine: AsyncEngine, user: uuid.UUID
) -> None:
    async with engine.connect() as connection:
        db = (await connection.get_raw_connection()).driver_connection
        page = await SqlTaskRepository(db).list(user, _SEARCH)
        assert page.total == 50
        seq = await db.fetchval("SELECT change_seq FROM task_counters WHERE user_id = $1", user)
        assert FILTER_TOTALS.get((user, None, _SEARCH.filter)) == (seq, 50)

        # Sent the number its count was taken at: no count, and none run.
        rows = await db.fetch(_PAGE.sql, *_arguments(user, seq))
        assert rows[0][-COUNTERS:][2:] == (None, seq)
        plan = await db.fetch(f"EXPLAIN (ANALYZE) {_PAGE.sql}", *_arguments(user, seq))
        (count,) = [row[0] for row in plan if "Aggregate" in row[0]]
        assert "never executed" in count

        # Any other number, or none: counted.
        for sent in (seq - 1, None):
            rows = await db.fetch(_PAGE.sql, *_arguments(user, sent))
            assert rows[0][-COUNTERS:][2:] == (50, seq)
            plan = await db.fetch(f"EXPLAIN (ANALYZE) {_PAGE.sql}", *_arguments(user, sent))
            (count,) = [row[0] for row in plan if "Aggregate" in row[0]]
            assert "never executed" not in count


async def test_concurrent_first_pages_of_a_filter_count_it_once(
    engine: AsyncEngine,
    sql_uow: SqlUnitOfWorkFactory,
    user: uuid.UUID,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counts: list[int] = []

    class Counted(FilterTotals):
        def settle(self, key, sent, seq, counted):  # type: ignore[no-untyped-def]
            if counted is not None:
                counts.append(counted)
            return super().settle(key, sent, seq, counted)

    monkeypatch.setattr(sql_tasks, "FILTER_TOTALS", Counted())

    async def page() -> int:
        async with sql_uow() as uow:
            return (await uow.tasks.list(user, _SEARCH)).total

    # The table held: the first page waits in its statement while the others ask.
    async with engine.begin() as holder:
        await holder.execute(text("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE"))
        pages = asyncio.gather(*(page() for _ in range(3)))
        await asyncio.sleep(0.3)
    assert await pages == [50] * 3
    assert counts == [50]
