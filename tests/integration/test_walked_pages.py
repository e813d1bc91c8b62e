"""A large user's label and search pages, walked (task_listing.walk_statement: each task
matched on its own columns) where the filter's last count says they lie near, are the
pages the GIN indexes give: every page, by cursor and by offset, for every sort, with
mixed-case labels, quotes, backslashes, non-ASCII words and descriptions long enough that
a word passes the search keys' 2,000-byte limit."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.contracts.builders import T0, make_task, store_user
from tests.contracts.task_planning import every_page
from todo_adapters.sql import tasks as sql_tasks
from todo_adapters.sql.filter_totals import FilterTotals
from todo_adapters.sql.large_owners import LARGE_OWNER_TASKS
from todo_adapters.sql.uow import SqlUnitOfWorkFactory
from todo_core.domain import User
from todo_core.listing import TaskFilter, TaskQuery, TaskSort

_TITLES = [
    "Landingpage draft",
    "Buy milk",
    "call O'Brien",
    "back\\slash path",
    "Ärger im Büro",
    "e-mail follow-up",
    "Call the Landlord",
    "Xxxxshort memo",  # q=xxxx matches it, and not the long word
]
_LONG_WORD = "x" * 2_010  # a word the search keys leave out
_DESCRIPTIONS = [
    None,
    "notes: call, buy, write",
    "long " * 220 + "landscape",  # 1,109 bytes: matched the exact way
    f"{_LONG_WORD} land",
    "Ärgerlich: milk",
]
_LABELS = [["Work"], ["work", "Home"], ["HOME"], [], ["Errand", "WORK"], ["home"]]
_FILTERS = [
    TaskFilter(q="land"),
    TaskFilter(q="buy mil"),
    TaskFilter(q="o'brien"),
    TaskFilter(q="back\\slash"),
    TaskFilter(q="ärger"),
    TaskFilter(q="e-mail"),
    TaskFilter(q="xxxx"),
    TaskFilter(q="landsc"),
    TaskFilter(labels=("work",)),
    TaskFilter(labels=("HOME", "Work")),
    TaskFilter(labels=("errand",), q="call"),
    TaskFilter(labels=("old",)),  # half the tasks, none of the newest: the walk falls short
]
_SORTS = [TaskSort.CREATED_DESC, TaskSort.DUE_ASC, TaskSort.PRIORITY_DESC]
_OLD = (LARGE_OWNER_TASKS + 100) // 2 + 50


@pytest.fixture
async def planner(sql_uow: SqlUnitOfWorkFactory, engine: AsyncEngine) -> User:
    """A user of LARGE_OWNER_TASKS + 100 tasks, each text, description and labels
    recurring every few tasks, some without what migration 0016 keeps; analyzed (which
    also moves the GIN indexes' pending entries into the indexes: searched there, each page
    read them all)."""
    user = await store_user(sql_uow)
    async with sql_uow() as uow:
        for i in range(LARGE_OWNER_TASKS + 100):
            await uow.tasks.add(
                make_task(
                    user,
                    minutes=i,
                    title=f"{_TITLES[i % len(_TITLES)]} {i}",
                    description=_DESCRIPTIONS[i % len(_DESCRIPTIONS)],
                    labels=_LABELS[i % len(_LABELS)] + (["Old"] if i < _OLD else []),
                    is_completed=i % 4 == 0,
                    due_at=T0 + timedelta(days=i % 11) if i % 3 else None,
                    priority=i % 4,
                )
            )
        await uow.commit()
    async with engine.begin() as connection:
        # Tasks as if written before migration 0016: every third without its words kept,
        # every fourth without its lowered labels.
        for column, every in (("search_words", 3), ("lowered_labels", 4)):
            await connection.execute(
                text(
                    f"UPDATE tasks SET {column} = NULL WHERE id IN (SELECT id FROM ("
                    "  SELECT id, row_number() OVER (ORDER BY created_at) AS n FROM tasks"
                    f"  WHERE user_id = :user_id) AS numbered WHERE n % {every} = 0)"
                ),
                {"user_id": user.id},
            )
        await connection.execute(text("ANALYZE tasks"))
    return user


async def _offset_pages(sql_uow: SqlUnitOfWorkFactory, user: User, query: TaskQuery) -> list:
    async with sql_uow() as uow:
        return [
            (await uow.tasks.list(user.id, dataclasses.replace(query, offset=offset))).tasks
            for offset in (0, query.limit, 5 * query.limit)
        ]


class _Walks:
    """Counts the walks that gave a full page (taken, not fallen back from)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = 0
        built = sql_tasks.walk_statement

        def walk_statement(*args: Any) -> Any:
            return _Counted(built(*args), self)

        monkeypatch.setattr(sql_tasks, "walk_statement", walk_statement)


@dataclasses.dataclass
class _Counted:
    statement: Any
    walks: _Walks

    async def fetch(self, db: Any, **values: Any) -> list[Any]:
        return self._count(await self.statement.fetch(db, **values), values)

    async def fetch_planned(self, db: Any, **values: Any) -> list[Any]:
        return self._count(await self.statement.fetch_planned(db, **values), values)

    def _count(self, rows: list[Any], values: dict[str, Any]) -> list[Any]:
        self.walks.full += len(rows) == values["limit"]
        return rows


async def test_walked_pages_are_the_indexes_pages(
    sql_uow: SqlUnitOfWorkFactory, planner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sql_uow() as uow:  # Known large from here on.
        await uow.tasks.list(planner.id, TaskQuery())
    queries = [
        TaskQuery(limit=50, sort=sort, filter=found)
        for found, sort in itertools.product(_FILTERS, _SORTS)
    ] + [TaskQuery(limit=50, completed=False, filter=found) for found in _FILTERS]
    walks = _Walks(monkeypatch)
    # Nothing kept: every page from the GIN indexes.
    monkeypatch.setattr(sql_tasks, "FILTER_TOTALS", FilterTotals(capacity=0))
    expected = [
        (await every_page(sql_uow, planner, q), await _offset_pages(sql_uow, planner, q))
        for q in queries
    ]
    assert walks.full == 0
    assert sum(len(pages) for pages, _ in expected) > 20_000

    monkeypatch.setattr(sql_tasks, "FILTER_TOTALS", FilterTotals())
    for query, (pages, offsets) in zip(queries, expected, strict=True):
        async with sql_uow() as uow:  # Its count kept.
            await uow.tasks.list(planner.id, query)
        assert await every_page(sql_uow, planner, query) == pages, query
        assert await _offset_pages(sql_uow, planner, query) == offsets, query
    assert walks.full > 500
