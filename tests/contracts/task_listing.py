"""The listing part of the TaskRepository contract: filters, orders, offset and keyset
paging. TaskRepositoryContract includes it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from tests.contracts.builders import T0, make_task, store_tasks, store_user
from todo_core.domain import (
    Task,
    User,
)
from todo_core.listing import (
    TaskKey,
    TaskQuery,
    TaskSort,
)
from todo_core.ports import UnitOfWorkFactory

LATER = T0 + timedelta(days=1)


async def listed(
    uow_factory: UnitOfWorkFactory, user: User, sort: TaskSort = TaskSort.CREATED_DESC
) -> list[Task]:
    async with uow_factory() as uow:
        return (await uow.tasks.list(user.id, TaskQuery(sort=sort))).tasks


class TaskListingContract:
    @pytest.fixture
    async def owner(self, uow_factory: UnitOfWorkFactory) -> User:
        return await store_user(uow_factory)

    @pytest.fixture
    async def stranger(self, uow_factory: UnitOfWorkFactory) -> User:
        return await store_user(uow_factory)

    async def test_list_holds_only_the_users_tasks(
        self, uow_factory: UnitOfWorkFactory, owner: User, stranger: User
    ) -> None:
        mine = [make_task(owner, minutes=i) for i in range(3)]
        await store_tasks(uow_factory, *mine, make_task(stranger, minutes=10))
        async with uow_factory() as uow:
            page = await uow.tasks.list(owner.id, TaskQuery())
        assert {t.id for t in page.tasks} == {t.id for t in mine}
        assert page.total == 3
        assert (page.limit, page.offset) == (TaskQuery().limit, 0)

    async def test_list_of_user_without_tasks_is_empty(
        self, uow_factory: UnitOfWorkFactory, owner: User, stranger: User
    ) -> None:
        await store_tasks(uow_factory, make_task(stranger))
        async with uow_factory() as uow:
            page = await uow.tasks.list(owner.id, TaskQuery())
        assert (page.tasks, page.total) == ([], 0)

    @pytest.mark.parametrize("completed", [True, False])
    async def test_list_filters_on_completed(
        self, uow_factory: UnitOfWorkFactory, owner: User, stranger: User, completed: bool
    ) -> None:
        done = [make_task(owner, minutes=i, is_completed=True) for i in range(2)]
        open_ = [make_task(owner, minutes=5 + i) for i in range(3)]
        others = [make_task(stranger, is_completed=c) for c in (True, False)]
        await store_tasks(uow_factory, *done, *open_, *others)
        async with uow_factory() as uow:
            page = await uow.tasks.list(owner.id, TaskQuery(completed=completed, limit=2))
        expected = {t.id for t in (done if completed else open_)}
        # total counts every matching row, not just the ones on this page
        assert page.total == len(expected)
        assert len(page.tasks) == 2
        assert {t.id for t in page.tasks} <= expected

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            (TaskSort.CREATED_ASC, [0, 1, 2]),
            (TaskSort.CREATED_DESC, [2, 1, 0]),
            (TaskSort.UPDATED_ASC, [1, 2, 0]),
            (TaskSort.UPDATED_DESC, [0, 2, 1]),
        ],
    )
    async def test_list_sorts(
        self, uow_factory: UnitOfWorkFactory, owner: User, sort: TaskSort, expected: list[int]
    ) -> None:
        # Creation order 0, 1, 2; update order 1, 2, 0, so each sort gives a distinct answer.
        updated = [LATER + timedelta(minutes=m) for m in (30, 10, 20)]
        tasks = [make_task(owner, minutes=i, updated_at=updated[i]) for i in range(3)]
        await store_tasks(uow_factory, *reversed(tasks))
        assert await listed(uow_factory, owner, sort=sort) == [tasks[i] for i in expected]

    @pytest.mark.parametrize("sort", list(TaskSort))
    async def test_equal_timestamps_are_ordered_by_id(
        self, uow_factory: UnitOfWorkFactory, owner: User, sort: TaskSort
    ) -> None:
        tasks = [make_task(owner) for _ in range(6)]
        await store_tasks(uow_factory, *tasks)
        ids = sorted(t.id for t in tasks)
        expected = ids[::-1] if sort.descending else ids
        assert [t.id for t in await listed(uow_factory, owner, sort=sort)] == expected

    async def test_limit_and_offset_page_through_in_order(
        self, uow_factory: UnitOfWorkFactory, owner: User, stranger: User
    ) -> None:
        tasks = [make_task(owner, minutes=i) for i in range(5)]
        await store_tasks(uow_factory, *tasks, *(make_task(stranger) for _ in range(4)))
        pages = []
        async with uow_factory() as uow:
            for offset in (0, 2, 4, 6):
                query = TaskQuery(limit=2, offset=offset, sort=TaskSort.CREATED_ASC)
                pages.append(await uow.tasks.list(owner.id, query))
        assert [[t.id for t in p.tasks] for p in pages] == [
            [tasks[0].id, tasks[1].id],
            [tasks[2].id, tasks[3].id],
            [tasks[4].id],
            [],
        ]
        assert {p.total for p in pages} == {5}
        assert [(p.limit, p.offset) for p in pages] == [(2, 0), (2, 2), (2, 4), (2, 6)]

    @pytest.mark.parametrize("sort", list(TaskSort))
    async def test_keyset_pages_cover_every_task_once(
        self, uow_factory: UnitOfWorkFactory, owner: User, stranger: User, sort: TaskSort
    ) -> None:
        # Pairs of equal timestamps, so page boundaries fall between ties too.
        tasks = [
            make_task(owner, minutes=i // 2, updated_at=LATER - timedelta(hours=i // 3))
            for i in range(7)
        ]
        await store_tasks(uow_factory, *tasks, make_task(stranger, minutes=1))
        seen: list[Task] = []
        query = TaskQuery(limit=2, sort=sort)
        async with uow_factory() as uow:
            while True:
                page = await uow.tasks.list(owner.id, query)
                assert page.total == 7
                seen.extend(page.tasks)
                if page.next_key is None:
                    break
                assert page.next_key == TaskKey.of(page.tasks[-1], sort)
                query = dataclasses.replace(query, after=page.next_key)
        assert seen == await listed(uow_factory, owner, sort)
        assert len(seen) == 7

    async def test_next_key_is_none_when_nothing_follows(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        await store_tasks(uow_factory, *(make_task(owner, minutes=i) for i in range(4)))
        async with uow_factory() as uow:
            full = await uow.tasks.list(owner.id, TaskQuery(limit=4))
            partial = await uow.tasks.list(owner.id, TaskQuery(limit=3))
        assert full.next_key is None
        assert partial.next_key == TaskKey.of(partial.tasks[-1], TaskSort.CREATED_DESC)

    async def test_keyset_keeps_the_completed_filter(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        tasks = [make_task(owner, minutes=i, is_completed=i % 2 == 0) for i in range(6)]
        await store_tasks(uow_factory, *tasks)
        query = TaskQuery(limit=2, completed=True, sort=TaskSort.CREATED_ASC)
        async with uow_factory() as uow:
            first = await uow.tasks.list(owner.id, query)
            assert first.next_key is not None
            rest = await uow.tasks.list(owner.id, dataclasses.replace(query, after=first.next_key))
        assert [t.id for t in first.tasks + rest.tasks] == [tasks[0].id, tasks[2].id, tasks[4].id]
        assert (first.total, rest.total, rest.next_key) == (3, 3, None)
