"""SC-009: every statement the repositories send for a user, an email, a task or a refresh
token is served by an index. The statements are captured as asyncpg sends them, while
each repository method runs against tables large enough (and ANALYZEd) for the planner to
prefer a sequential scan if no index fitted; then each is EXPLAINed with its parameters,
and (the engine's connections plan each statement once, for any values) as a generic
plan, PREPAREd and EXPLAIN EXECUTEd."""

from __future__ import annotations

import contextlib
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.statements import captured
from todo_adapters.sql.engine import PoolSettings, build_engine
from todo_adapters.sql.task_listing import Filters, walk_statement
from todo_adapters.sql.uow import SqlUnitOfWorkFactory
from todo_core.errors import SessionEndedError
from todo_core.feed import FIRST_ID
from todo_core.listing import (
    NO_FILTER,
    TaskFilter,
    TaskKey,
    TaskQuery,
    TaskSort,
)
from todo_core.ports import FailureLimits, ResetRequest
from todo_core.task_rules import (
    TaskPatch,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def big_tables(direct_database_url: str) -> uuid.UUID:
    """2,000 users with 20 tasks, one of them deleted (counted and numbered in the change feed
    by the triggers), 10 sessions with a refresh token each, a reset token and 10 failed
    logins each; one user's id."""
    # Tens of thousands of rows with their GIN keys and feed entries: more than the pool's
    # statement timeouts (server and client side) allow on a busy machine.
    loader = build_engine(direct_database_url, PoolSettings(size=1, statement_timeout_ms=300_000))
    async with loader.begin() as connection:
        for statement in (
            "INSERT INTO users SELECT gen_random_uuid(), 'user' || g || '@example.com', 'h',"
            " now() FROM generate_series(1, 2000) g",
            "INSERT INTO tasks (id, user_id, title, description, is_completed, created_at,"
            " updated_at, due_at, priority, labels)"
            " SELECT gen_random_uuid(), u.id, 'task ' || g || ' buy milk', 'call the bank',"
            " g % 3 = 0, now() - g * interval '1 minute', now() - g * interval '1 second',"
            " CASE WHEN g % 2 = 0 THEN now() + g * interval '1 day' END, g % 4,"
            " CASE WHEN g % 3 = 0 THEN ARRAY['Work', 'home'] ELSE ARRAY['errand'] END"
            " FROM users u CROSS JOIN generate_series(1, 20) g",
            "INSERT INTO sessions SELECT gen_random_uuid(), u.id, now(), now(),"
            " now() + g * interval '1 day', 'agent', NULL"
            " FROM users u CROSS JOIN generate_series(1, 10) g",
            "INSERT INTO refresh_tokens SELECT md5(random()::text) || md5(random()::text),"
            " s.user_id, s.id, now(), s.expires_at, NULL, NULL FROM sessions s",
            "INSERT INTO password_resets SELECT md5(random()::text) || md5(random()::text),"
            " md5(u.email) || md5(u.email), u.id, now(), now() + interval '30 minutes'"
            " FROM users u",
            "INSERT INTO login_failures (email_key, address, failed_at)"
            " SELECT md5(u.email) || md5(u.email), '10.0.' || (g % 200) || '.1',"
            " now() - g * interval '1 minute' FROM users u CROSS JOIN generate_series(1, 10) g",
            # A deleted task per user, counted and recorded as the service's delete does
            # (migration 0013): the feed's deletions, 2,000 of them.
            "WITH gone AS (DELETE FROM tasks WHERE title = 'task 20 buy milk'"
            " RETURNING id, user_id, is_completed),"
            " numbered AS (UPDATE task_counters AS c SET total = c.total - 1,"
            " completed = c.completed - gone.is_completed::int, change_seq = c.change_seq + 1"
            " FROM gone WHERE c.user_id = gone.user_id RETURNING c.user_id, c.change_seq)"
            " INSERT INTO task_deletions SELECT gone.id, gone.user_id, numbered.change_seq, now()"
            " FROM gone JOIN numbered USING (user_id)",
            "ANALYZE users",
            "ANALYZE tasks",
            "ANALYZE sessions",
            "ANALYZE refresh_tokens",
            "ANALYZE password_resets",
            "ANALYZE login_failures",
            "ANALYZE task_counters",
            "ANALYZE task_deletions",
        ):
            await connection.execute(text(statement))
        user_id = (await connection.execute(text("SELECT id FROM users LIMIT 1"))).scalar_one()
    await loader.dispose()
    return user_id


# Every filter alone, then all of them together (as the label and completed scenario).
_FILTERS = (
    NO_FILTER,
    TaskFilter(due_before=NOW),
    TaskFilter(due_after=NOW),
    TaskFilter(has_due=True),
    TaskFilter(has_due=False),
    TaskFilter(priority=2),
    TaskFilter(labels=("work",)),
    TaskFilter(labels=("work", "HOME")),
    TaskFilter(q="buy"),
    TaskFilter(q="buy mil"),
    TaskFilter(labels=("work",), q="ban", priority=1, due_after=NOW, has_due=True),
)
_KEYS: dict[str, object] = {"priority": 2, "position": "0h"}


async def _at_0i(low: str | None, high: str | None) -> str:
    return "0i"


async def _exercise_every_repository_method(engine: AsyncEngine, user_id: uuid.UUID) -> None:
    uow_factory = SqlUnitOfWorkFactory(engine)
    task_id, other = uuid.uuid4(), uuid.uuid4()
    async with uow_factory() as uow:
        await uow.users.get(user_id)
        await uow.users.get_by_email("user1500@example.com")
        await uow.users.update_password_hash(user_id, "h2")
        for sort in TaskSort:
            for completed in (None, True, False):
                after = TaskKey(_KEYS.get(sort.column, NOW), other)
                for found in _FILTERS if completed is None else (NO_FILTER, _FILTERS[-1]):
                    for query in (
                        TaskQuery(sort=sort, completed=completed, filter=found),
                        TaskQuery(sort=sort, completed=completed, filter=found, after=after),
                    ):
                        await uow.tasks.list(user_id, query)
                    # Past the last page the total is read on its own.
                    await uow.tasks.list(
                        user_id, TaskQuery(sort=sort, completed=completed, filter=found, offset=100)
                    )
        await uow.tasks.labels(user_id)
        await uow.tasks.lock_order(user_id, task_id, None)
        await uow.tasks.lock_order(user_id, task_id, other)
        await uow.tasks.neighbours(user_id, task_id, None)
        await uow.tasks.neighbours(user_id, task_id, other)
        await uow.tasks.set_position(task_id, user_id, "0i", NOW)
        await uow.tasks.set_position(task_id, user_id, "0i", NOW, frozenset({3}))
        await uow.tasks.set_position_in_gap(task_id, user_id, None, _at_0i, NOW)
        await uow.tasks.set_position_in_gap(task_id, user_id, other, _at_0i, NOW)
        await uow.tasks.hold_window(user_id, task_id, "0h", 32)
        await uow.tasks.order_window(user_id, task_id, "0h", 32)
        await uow.tasks.order_window(user_id, task_id, None, 32)
        await uow.tasks.respace(user_id, {other: "0j"}, NOW, task_id, "0k")
        await uow.tasks.get(task_id)
        with contextlib.suppress(SessionEndedError):
            await uow.users.get_in_session(user_id, other)
        await uow.tasks.update(task_id, user_id, TaskPatch(title="x"), NOW)
        await uow.tasks.update(task_id, user_id, TaskPatch(is_completed=True), NOW, frozenset({3}))
        await uow.tasks.update(
            task_id, user_id, TaskPatch(due_at=NOW, priority=1, labels=["a"]), NOW
        )
        await uow.tasks.update(task_id, user_id, TaskPatch(title="y"), NOW, None, other)
        await uow.tasks.delete(task_id, user_id)
        await uow.tasks.delete(task_id, user_id, frozenset({3}))
        await uow.tasks.delete(task_id, user_id, None, other)
        await uow.changes.after(user_id, 0, FIRST_ID, 101, deletions=False)
        await uow.changes.after(user_id, 1, task_id, 101)
        await uow.changes.newest(user_id)
        await uow.changes.purge_deletions(NOW, 1000)
        await uow.tasks.set_completed(user_id, True, NOW, other)
        await uow.tasks.delete_all(user_id, True, other)
        await uow.tasks.owner_of(task_id)
        await uow.refresh_tokens.get("0" * 64)
        await uow.refresh_tokens.spend("0" * 64, NOW)
        await uow.refresh_tokens.purge_expired(NOW - timedelta(days=1), 1000)
        await uow.sessions.touch(other, NOW, NOW)
        await uow.sessions.live(user_id, NOW)
        await uow.sessions.is_live(other)
        await uow.sessions.end(user_id, NOW, other)
        await uow.sessions.end(user_id, NOW)
        await uow.sessions.purge_expired(NOW - timedelta(days=1), 1000)
        key = "0" * 64
        await uow.password_resets.request(
            ResetRequest("user1500@example.com", key, "1" * 64, NOW, NOW, NOW, 5)
        )
        await uow.password_resets.forget_email(key)
        await uow.password_resets.take("0" * 64, NOW)
        await uow.password_resets.void_all(user_id)
        await uow.password_resets.purge_expired(NOW - timedelta(days=1), 1000)
        limits = FailureLimits(pair=10, email=100, address=100)
        attempt_id, _ = await uow.login_failures.attempt(key, "10.0.0.1", NOW, NOW, limits)
        await uow.login_failures.withdraw(attempt_id)
        await uow.login_failures.clear(key, "10.0.0.1")
        await uow.login_failures.clear(key)
        await uow.login_failures.purge_older(NOW - timedelta(days=1), 1000)
        await uow.users.delete(user_id)
        # leaving without commit: nothing changes


# Writes of new rows, transaction control, the idle ping, and asyncpg's own one-time
# lookup of a type it has no codec for yet.
# A purge's batch (statements.purge_expired), planned for its values every time.
_PURGE = re.compile(r"LIMIT \$\d+(::INTEGER)? FOR UPDATE SKIP LOCKED\)$")
_NOT_READS = (
    "INSERT",
    "BEGIN",
    "ROLLBACK",
    "COMMIT",
    "SAVEPOINT",
    "RELEASE",
    "SET LOCAL",
    ";",
    "WITH RECURSIVE TYPEINFO_TREE",
)


async def test_every_repository_statement_uses_an_index(engine, big_tables):
    with captured(engine) as statements:
        await _exercise_every_repository_method(engine, big_tables)
    reads = [(s, p) for s, p in statements if not s.lstrip().upper().startswith(_NOT_READS)]
    assert len(reads) >= 25, "the capture should have seen every repository statement"
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        for statement, parameters in reads:
            # Planned for these values (as a large user's pages and the purges are) ...
            rows = await raw.fetch(f"EXPLAIN {statement}", *parameters)
            plan = "\n".join(row[0] for row in rows)
            assert "Seq Scan" not in plan, f"{statement}\n{plan}"
            if _PURGE.search(statement):
                continue
            # ... and for any values, as the engine's connections run everything else.
            await raw.execute(f"PREPARE generic AS {statement}")
            nulls = ", ".join("NULL" for _ in parameters)
            rows = await raw.fetch(f"EXPLAIN EXECUTE generic{f'({nulls})' if nulls else ''}")
            await raw.execute("DEALLOCATE generic")
            plan = "\n".join(row[0] for row in rows)
            assert "Seq Scan" not in plan, f"generic plan of {statement}\n{plan}"
        await connection.rollback()


async def _plans(engine: AsyncEngine, statements) -> list[str]:
    plans = []
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith(_NOT_READS):
                continue
            rows = await raw.fetch(f"EXPLAIN {statement}", *parameters)
            plans.append("\n".join(row[0] for row in rows))
        await connection.rollback()
    return plans


_COUNTER_ROW = "Index Scan using pk_task_counters on task_counters"


async def test_search_and_labels_are_served_by_their_gin_indexes(engine, big_tables):
    """A user with 20,000 tasks, a few of which match: the search and the label filter
    read the matching index entries (prefixed with the user's id), not the user's tasks."""
    async with engine.begin() as connection:
        # Without the counter triggers: 20,000 updates of one counter row in one
        # transaction, each slower than the last (bench/seed.py), for counts unused here.
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(text("SET LOCAL statement_timeout = 0"))
        await connection.execute(
            text(
                "INSERT INTO tasks (id, user_id, title, description, created_at, updated_at,"
                " labels)"
                " SELECT gen_random_uuid(), :user_id,"
                " CASE WHEN g % 5000 = 0 THEN 'Landingpages ' ELSE 'task ' END || g,"
                " 'notes for task ' || g, now() - g * interval '1 second', now(),"
                " CASE WHEN g % 5000 = 0 THEN ARRAY['Rare'] ELSE ARRAY['common'] END"
                " FROM generate_series(1, 20000) g"
            ),
            {"user_id": big_tables},
        )
        await connection.execute(text("ANALYZE tasks"))
    uow_factory = SqlUnitOfWorkFactory(engine)
    for found, index in (
        (TaskFilter(q="land"), "ix_tasks_search"),
        (TaskFilter(q="landing task"), "ix_tasks_search"),
        (TaskFilter(labels=("rare",)), "ix_tasks_labels"),
    ):
        with captured(engine) as statements:
            async with uow_factory() as uow:
                page = await uow.tasks.list(big_tables, TaskQuery(filter=found))
        assert page.total == 4
        plans = await _plans(engine, statements)
        assert plans, "the capture should have seen the listing"
        for plan in plans:
            if plan.startswith(_COUNTER_ROW):  # The user's size, looked up (large_owners.py).
                continue
            assert index in plan, plan
            assert "Seq Scan" not in plan, plan
    # Each new sort walks its own index from the cursor on: no sort of the user's tasks.
    for sort, index in (
        (TaskSort.DUE_ASC, "ix_tasks_user_due"),
        (TaskSort.DUE_DESC, "ix_tasks_user_due_desc"),
        (TaskSort.PRIORITY_ASC, "ix_tasks_user_priority"),
        (TaskSort.PRIORITY_DESC, "ix_tasks_user_priority"),
        (TaskSort.POSITION, "uq_tasks_user_position"),
    ):
        after = TaskKey(_KEYS.get(sort.column, NOW), uuid.uuid4())
        with captured(engine) as statements:
            async with uow_factory() as uow:
                await uow.tasks.list(big_tables, TaskQuery(sort=sort, after=after))
        plan = (await _plans(engine, statements))[0]  # the page; then maybe the counts
        assert f"Index Scan using {index} " in plan or f"Backward using {index} " in plan, plan
        assert "Sort" not in plan, plan


_KEYED_ONLY = (Filters(labels=True), Filters(q=True), Filters(labels=True, q=True))


async def test_every_walk_reads_its_sort_index_in_order(engine, big_tables, direct_database_url):
    """A large user's walked page (task_listing.walk_statement), for every sort, keyset and
    label or search filter, planned for that user as the repository runs it: an index scan
    in the sort's order that stops with the page, no sort of what it read. (With due date
    and priority conditions too, the planner may rather sort what those select.)"""
    # 20,000 inserts of one user, each counted on their counter row: longer than the
    # pool's statement timeout on a busy machine (as big_tables' loader).
    loader = build_engine(direct_database_url, PoolSettings(size=1, statement_timeout_ms=300_000))
    async with loader.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO tasks (id, user_id, title, created_at, updated_at, due_at,"
                " priority, labels) SELECT gen_random_uuid(), :user, 'buy milk ' || g,"
                " now() - g * interval '1 second', now(), now() + g * interval '1 hour',"
                " g % 4, ARRAY['work'] FROM generate_series(1, 20000) g"
            ),
            {"user": big_tables},
        )
        await connection.execute(text("ANALYZE tasks"))
    await loader.dispose()
    walks = [
        (walk_statement(sort, completed, after, Filters.of(found)), found, sort)
        for sort in TaskSort
        for completed in (None, False)
        for after in (False, True)
        for found in _FILTERS
        if Filters.of(found).owner_keyed
    ]
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        for statement, found, sort in walks:
            values = {
                "user_id": big_tables,
                "is_completed": False,
                "due_before": found.due_before,
                "due_after": found.due_after,
                "priority": found.priority,
                "labels": list(found.labels),
                "q": found.q,
                "after_value": _KEYS.get(sort.column, NOW),
                "after_id": uuid.uuid4(),
                "limit": 51,
                "offset": 0,
                "counted_at": None,
                "walk": 1_000,
            }
            arguments = statement.args(values)
            custom = await raw.fetch(f"EXPLAIN {statement.sql}", *arguments)
            await raw.execute(f"PREPARE generic AS {statement.sql}")
            nulls = ", ".join("NULL" for _ in arguments)
            generic = await raw.fetch(f"EXPLAIN EXECUTE generic({nulls})")
            await raw.execute("DEALLOCATE generic")
            for rows in (custom, generic):
                plan = "\n".join(row[0] for row in rows)
                assert "Seq Scan" not in plan, f"{statement.sql}\n{plan}"
                walked = plan[plan.index("Subquery Scan on walked") :]
                assert re.search(r"Index (Only )?Scan", walked), f"{statement.sql}\n{plan}"
                if Filters.of(found) in _KEYED_ONLY:
                    assert "Sort" not in walked, f"{statement.sql}\n{plan}"
                    assert "Sort" not in plan.split("InitPlan")[0], f"{statement.sql}\n{plan}"
        await connection.rollback()
