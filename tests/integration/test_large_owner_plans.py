"""The engine's connections plan each statement once, for any user: a small user's label
and search pages are never planned again. A large user's are planned for that user
every time, from their first page on, instead of taking that generic plan, made for an
average user (one that sorts every match); where the filter's last count says the page
lies among the user's first tasks in the sort's order, by a statement that walks them,
whose one plan does."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_adapters.sql.large_owners import LARGE_OWNER_TASKS
from todo_adapters.sql.task_listing import Filters, page_statement, walk_statement
from todo_adapters.sql.tasks import SqlTaskRepository
from todo_core.listing import TaskFilter, TaskQuery, TaskSort

_SEARCH = TaskQuery(limit=20, filter=TaskFilter(q="call"))
_RARE = TaskQuery(limit=20, filter=TaskFilter(q="call 2998"))
_PAGE = page_statement(TaskSort.CREATED_DESC, None, False, Filters.of(_SEARCH.filter))
_WALK = walk_statement(TaskSort.CREATED_DESC, None, False, Filters.of(_SEARCH.filter))
_PLANS = (
    "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)"
    " FROM pg_prepared_statements WHERE statement = $1"
)
_TASKS = (
    "INSERT INTO tasks (id, user_id, title, created_at, updated_at)"
    " SELECT gen_random_uuid(), u.id, CASE WHEN g % 2 = 0 THEN 'call ' ELSE 'buy ' END || g,"
    " now() - g * interval '1 second', now() FROM users u CROSS JOIN generate_series(1, $2) g"
    " WHERE u.email LIKE $1"
)


@pytest.fixture
async def users(direct_database_url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """1,000 users of 10 tasks, one of LARGE_OWNER_TASKS + 1,000 (half of them matching
    `call`), analyzed: a small user's id and the large one's."""
    db = await asyncpg.connect(direct_database_url)
    try:
        await db.execute(
            "INSERT INTO users SELECT gen_random_uuid(), 'user' || g || '@example.com', 'h',"
            " now() FROM generate_series(1, 1000) g"
            " UNION ALL SELECT gen_random_uuid(), 'large@example.com', 'h', now()"
        )
        await db.execute(_TASKS, "user%", 10)
        await db.execute(_TASKS, "large@example.com", LARGE_OWNER_TASKS + 1_000)
        await db.execute("ANALYZE users")
        await db.execute("ANALYZE tasks")
        small, large = [
            await db.fetchval("SELECT id FROM users WHERE email = $1", email)
            for email in ("user1@example.com", "large@example.com")
        ]
    finally:
        await db.close()
    return small, large


async def _plans(db: asyncpg.Connection, sql: str = _PAGE.sql) -> tuple[int, int]:
    generic, custom = await db.fetchrow(_PLANS, sql)
    return generic, custom


async def test_a_large_users_search_pages_are_planned_for_them(engine: AsyncEngine, users):
    small, large = users
    async with engine.connect() as connection:
        db = (await connection.get_raw_connection()).driver_connection
        tasks = SqlTaskRepository(db)
        # (The pooled connection may have run the statement before.)
        generic, custom = await _plans(db)
        # A small user's pages: the generic plan from the first.
        for _ in range(8):
            page = await tasks.list(small, _SEARCH)
            assert page.total == 5
        assert await _plans(db) == (generic + 8, custom)

        # Not listed by this worker yet: their size is looked up before their first page,
        # which is planned for them.
        first = await tasks.list(large, _SEARCH)
        assert first.counts.all == LARGE_OWNER_TASKS + 1_000
        assert first.total == (LARGE_OWNER_TASKS + 1_000) // 2
        assert await _plans(db) == (generic + 8, custom + 1)

        # Half their tasks match: the next pages are walked, on the walk's one plan.
        walked = await _plans(db, _WALK.sql)
        for _ in range(8):
            assert await tasks.list(large, _SEARCH) == first
        assert await _plans(db, _WALK.sql) == (walked[0] + 8, walked[1])
        assert await _plans(db) == (generic + 8, custom + 1)

        # One of their tasks matches: planned for them, each time.
        for _ in range(3):
            rare = await tasks.list(large, _RARE)
            assert [task.title for task in rare.tasks] == ["call 2998"]
        assert await _plans(db) == (generic + 8, custom + 4)

        # The forced custom plan ended with its transaction.
        await tasks.list(small, _SEARCH)
        assert await _plans(db) == (generic + 9, custom + 4)
