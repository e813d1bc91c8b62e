"""The TaskRepository contract's writes on many tasks at once, and the counts every
listing carries. TaskRepositoryContract includes it."""

from __future__ import annotations

import dataclasses

import pytest

from tests.contracts.builders import make_task, store_tasks
from tests.contracts.task_listing import LATER
from todo_core.domain import (
    Task,
    User,
)
from todo_core.listing import (
    TaskCounts,
    TaskQuery,
)
from todo_core.ports import UnitOfWorkFactory


async def everything(uow_factory: UnitOfWorkFactory, user: User) -> dict[object, Task]:
    async with uow_factory() as uow:
        page = await uow.tasks.list(user.id, TaskQuery(limit=200))
    return {t.id: t for t in page.tasks}


async def counts_of(uow_factory: UnitOfWorkFactory, user: User, **query: object) -> TaskCounts:
    async with uow_factory() as uow:
        return (await uow.tasks.list(user.id, TaskQuery(**query))).counts  # type: ignore[arg-type]


class BulkAndCountsContract:
    @pytest.fixture
    async def mixed(
        self, uow_factory: UnitOfWorkFactory, owner: User, stranger: User
    ) -> list[Task]:
        """Two completed and three active tasks of the owner; one of each of the stranger."""
        mine = [make_task(owner, minutes=i, is_completed=i < 2) for i in range(5)]
        theirs = [make_task(stranger, is_completed=c) for c in (True, False)]
        await store_tasks(uow_factory, *mine, *theirs)
        return mine

    @pytest.mark.parametrize(
        ("query", "total"),
        [({}, 5), ({"completed": True}, 2), ({"completed": False}, 3), ({"offset": 10}, 5)],
    )
    async def test_every_listing_counts_all_the_users_tasks(
        self, uow_factory: UnitOfWorkFactory, owner: User, mixed: list[Task], query, total
    ) -> None:
        async with uow_factory() as uow:
            page = await uow.tasks.list(owner.id, TaskQuery(**query))
        assert page.counts == TaskCounts(all=5, active=3, completed=2)
        assert page.total == total

    async def test_a_user_without_tasks_counts_zeros(
        self, uow_factory: UnitOfWorkFactory, owner: User, stranger: User
    ) -> None:
        await store_tasks(uow_factory, make_task(stranger))
        assert await counts_of(uow_factory, owner) == TaskCounts(0, 0, 0)

    @pytest.mark.parametrize("is_completed", [True, False])
    async def test_set_completed_changes_only_the_tasks_that_differ(
        self,
        uow_factory: UnitOfWorkFactory,
        owner: User,
        stranger: User,
        mixed: list[Task],
        is_completed: bool,
    ) -> None:
        async with uow_factory() as uow:
            changed = await uow.tasks.set_completed(owner.id, is_completed, LATER)
            await uow.commit()
        differing = [t for t in mixed if t.is_completed != is_completed]
        assert changed == len(differing)
        after = await everything(uow_factory, owner)
        for task in mixed:
            if task in differing:
                bumped = dataclasses.replace(
                    task, is_completed=is_completed, updated_at=LATER, version=2
                )
                assert after[task.id] == bumped
            else:
                assert after[task.id] == task
        expected = TaskCounts(5, 0, 5) if is_completed else TaskCounts(5, 5, 0)
        assert await counts_of(uow_factory, owner) == expected
        assert await counts_of(uow_factory, stranger) == TaskCounts(2, 1, 1)

    async def test_set_completed_with_nothing_to_change_changes_nothing(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        async with uow_factory() as uow:
            assert await uow.tasks.set_completed(owner.id, True, LATER) == 0
            await uow.commit()

    @pytest.mark.parametrize("completed", [True, False])
    async def test_delete_all_deletes_the_users_tasks_in_that_state(
        self,
        uow_factory: UnitOfWorkFactory,
        owner: User,
        stranger: User,
        mixed: list[Task],
        completed: bool,
    ) -> None:
        async with uow_factory() as uow:
            deleted = await uow.tasks.delete_all(owner.id, completed)
            await uow.commit()
        kept = {t.id: t for t in mixed if t.is_completed != completed}
        assert deleted == len(mixed) - len(kept)
        assert await everything(uow_factory, owner) == kept
        expected = TaskCounts(3, 3, 0) if completed else TaskCounts(2, 0, 2)
        assert await counts_of(uow_factory, owner) == expected
        assert await counts_of(uow_factory, stranger) == TaskCounts(2, 1, 1)

    async def test_a_bulk_write_left_uncommitted_changes_nothing(
        self, uow_factory: UnitOfWorkFactory, owner: User, mixed: list[Task]
    ) -> None:
        async with uow_factory() as uow:
            await uow.tasks.delete_all(owner.id, True)
            await uow.tasks.set_completed(owner.id, True, LATER)
        assert await everything(uow_factory, owner) == {t.id: t for t in mixed}
        assert await counts_of(uow_factory, owner) == TaskCounts(5, 3, 2)
