"""Migration 0007 on a database with tasks: each existing task gets the position a new task
created at its time would get (so the order is creation order), the defaults fill the new
columns, and the downgrade takes them away again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.integration.test_cli import _run
from todo_adapters.sql.database_url import parse_database_url
from todo_core.ordering import end_position

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


async def _execute(url: str, sql: str, params: dict | list | None = None) -> list[tuple]:
    target = parse_database_url(url)
    engine = create_async_engine(target.url, connect_args=target.connect_args)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(sql), params or {})
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_existing_tasks_get_positions_in_creation_order_and_the_downgrade_works(
    empty_database: str,
):
    url = {"DATABASE_URL": empty_database}
    assert "revision 0006" in _run("migrate", "upgrade", "0006", **url).stdout
    user = uuid.uuid4()
    await _execute(
        empty_database,
        "INSERT INTO users VALUES (:id, 'ada@example.com', 'h', now())",
        {"id": user},
    )
    rows = [
        {"id": uuid.uuid4(), "user_id": user, "at": T0 + timedelta(minutes=m)} for m in (5, 0, 9)
    ]
    await _execute(
        empty_database,
        "INSERT INTO tasks (id, user_id, title, created_at, updated_at)"
        " VALUES (:id, :user_id, 't', :at, :at)",
        rows,
    )

    assert "revision 0007" in _run("migrate", "upgrade", "0007", **url).stdout
    found = await _execute(
        empty_database,
        "SELECT id, position, due_at, priority, labels FROM tasks ORDER BY position",
    )
    by_time = sorted(rows, key=lambda r: r["at"])
    assert [r[0] for r in found] == [r["id"] for r in by_time]
    assert [r[1] for r in found] == [end_position(r["at"], r["id"]) for r in by_time]
    assert [r[2:] for r in found] == [(None, 0, [])] * 3

    assert "revision 0006" in _run("migrate", "downgrade", "0006", "--yes", **url).stdout
    columns = await _execute(
        empty_database,
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'tasks'",
    )
    assert {c for (c,) in columns}.isdisjoint({"due_at", "priority", "labels", "position"})
    functions = await _execute(
        empty_database, "SELECT proname FROM pg_proc WHERE proname LIKE 'task\\_%'"
    )
    assert functions == []
