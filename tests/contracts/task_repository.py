"""The TaskRepository contract, through the unit of work: writes here, listing inherited.
Subclass it in a module that provides a `uow_factory` fixture."""

from __future__ import annotations

import dataclasses

import pytest

from tests.contracts.builders import T0, make_session, make_task, make_user, store_tasks
from tests.contracts.bulk_and_counts import BulkAndCountsContract
from tests.contracts.task_listing import LATER, TaskListingContract, listed
from tests.contracts.task_planning import TaskPlanningContract
from todo_core.domain import (
    Task,
    User,
)
from todo_core.errors import SessionEndedError, UnknownUserError
from todo_core.ports import UnitOfWorkFactory
from todo_core.task_rules import (
    TaskPatch,
)


async def stored(uow_factory: UnitOfWorkFactory, task: Task) -> Task | None:
    async with uow_factory() as uow:
        return await uow.tasks.get(task.id)


class TaskRepositoryContract(TaskListingContract, BulkAndCountsContract, TaskPlanningContract):
    async def test_added_task_is_found_as_stored(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        task = make_task(owner, title="Buy milk", description="2 litres\n", is_completed=True)
        await store_tasks(uow_factory, task)
        assert await stored(uow_factory, task) == task

    async def test_unknown_task_is_none(self, uow_factory: UnitOfWorkFactory, owner: User) -> None:
        await store_tasks(uow_factory, make_task(owner))
        assert await stored(uow_factory, make_task(owner)) is None

    async def test_task_of_unknown_user_is_refused(self, uow_factory: UnitOfWorkFactory) -> None:
        task = make_task(make_user())
        async with uow_factory() as uow:
            with pytest.raises(UnknownUserError):
                await uow.tasks.add(task)
        assert await stored(uow_factory, task) is None

    async def test_user_and_task_added_in_one_unit_of_work(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        user = make_user()
        task = make_task(user)
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.tasks.add(task)
            await uow.commit()
        assert await stored(uow_factory, task) == task

    async def test_update_changes_only_the_given_fields(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        task = make_task(owner, title="old", description="keep me")
        await store_tasks(uow_factory, task)
        async with uow_factory() as uow:
            updated = await uow.tasks.update(task.id, owner.id, TaskPatch(is_completed=True), LATER)
            await uow.commit()
        expected = dataclasses.replace(task, is_completed=True, updated_at=LATER, version=2)
        assert updated == expected
        assert await stored(uow_factory, task) == expected

    async def test_update_of_title_and_cleared_description(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        task = make_task(owner, title="old", description="drop me", is_completed=True)
        await store_tasks(uow_factory, task)
        patch = TaskPatch(title="new", description=None)
        async with uow_factory() as uow:
            updated = await uow.tasks.update(task.id, owner.id, patch, LATER)
            await uow.commit()
        expected = dataclasses.replace(
            task, title="new", description=None, updated_at=LATER, version=2
        )
        assert updated == expected
        assert await stored(uow_factory, task) == expected

    async def test_each_update_adds_one_to_version(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        task = make_task(owner)
        await store_tasks(uow_factory, task)
        for title in ("one", "two", "three"):
            async with uow_factory() as uow:
                await uow.tasks.update(task.id, owner.id, TaskPatch(title=title), LATER)
                await uow.commit()
        assert await stored(uow_factory, task) == dataclasses.replace(
            task, title="three", updated_at=LATER, version=4
        )

    async def test_update_of_another_users_or_missing_task_is_none(
        self, uow_factory: UnitOfWorkFactory, owner: User, stranger: User
    ) -> None:
        task = make_task(owner)
        await store_tasks(uow_factory, task)
        async with uow_factory() as uow:
            patch = TaskPatch(title="hijacked")
            assert await uow.tasks.update(task.id, stranger.id, patch, LATER) is None
            assert await uow.tasks.update(make_task(owner).id, owner.id, patch, LATER) is None
            await uow.commit()
        assert await stored(uow_factory, task) == task

    async def test_delete(self, uow_factory: UnitOfWorkFactory, owner: User) -> None:
        task, other = make_task(owner), make_task(owner)
        await store_tasks(uow_factory, task, other)
        async with uow_factory() as uow:
            assert await uow.tasks.delete(task.id, owner.id) is True
            await uow.commit()
        assert await stored(uow_factory, task) is None
        assert await stored(uow_factory, other) == other
        async with uow_factory() as uow:
            assert await uow.tasks.delete(task.id, owner.id) is False

    async def test_delete_of_another_users_task_is_false(
        self, uow_factory: UnitOfWorkFactory, owner: User, stranger: User
    ) -> None:
        task = make_task(owner)
        await store_tasks(uow_factory, task)
        async with uow_factory() as uow:
            assert await uow.tasks.delete(task.id, stranger.id) is False
            await uow.commit()
        assert await stored(uow_factory, task) == task

    async def test_owner_of(
        self, uow_factory: UnitOfWorkFactory, owner: User, stranger: User
    ) -> None:
        task = make_task(owner)
        await store_tasks(uow_factory, task)
        async with uow_factory() as uow:
            assert await uow.tasks.owner_of(task.id) == owner.id
            assert await uow.tasks.owner_of(make_task(stranger).id) is None

    async def test_writes_without_commit_are_rolled_back(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        kept, to_delete, new = make_task(owner), make_task(owner), make_task(owner)
        await store_tasks(uow_factory, kept, to_delete)
        async with uow_factory() as uow:
            await uow.tasks.add(new)
            await uow.tasks.update(kept.id, owner.id, TaskPatch(title="changed"), LATER)
            assert await uow.tasks.delete(to_delete.id, owner.id)
        assert await stored(uow_factory, new) is None
        assert await stored(uow_factory, kept) == kept
        assert await stored(uow_factory, to_delete) == to_delete
        assert len(await listed(uow_factory, owner)) == 2

    async def test_conditional_update_and_delete_need_a_current_version(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        task = make_task(owner, version=3)
        await store_tasks(uow_factory, task)
        patch, stale = TaskPatch(title="x"), frozenset({1, 2})
        async with uow_factory() as uow:
            assert await uow.tasks.update(task.id, owner.id, patch, LATER, stale) is None
            assert await uow.tasks.delete(task.id, owner.id, stale) is False
            await uow.commit()
        assert await stored(uow_factory, task) == task
        async with uow_factory() as uow:
            updated = await uow.tasks.update(task.id, owner.id, patch, LATER, frozenset({2, 3}))
            assert updated is not None
            assert updated.version == 4
            assert await uow.tasks.delete(task.id, owner.id, frozenset({3})) is False
            assert await uow.tasks.delete(task.id, owner.id, frozenset({4})) is True
            await uow.commit()
        assert await stored(uow_factory, task) is None

    # Issue 23: a write names the caller's login; once it has ended, nothing is written,
    # checked by the write's own statement.

    async def test_writes_in_an_ended_login_write_nothing(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        live, ended = make_session(owner), make_session(owner, ended_at=T0)
        task = make_task(owner)
        async with uow_factory() as uow:
            await uow.sessions.add(live)
            await uow.sessions.add(ended)
            assert await uow.tasks.add(task, live.id)
            assert not await uow.tasks.add(make_task(owner), ended.id)
            patch = TaskPatch(title="changed")
            assert await uow.tasks.update(task.id, owner.id, patch, LATER, None, ended.id) is None
            assert await uow.tasks.set_completed(owner.id, True, LATER, ended.id) == 0
            assert await uow.tasks.delete_all(owner.id, False, ended.id) == 0
            assert not await uow.tasks.delete(task.id, owner.id, None, ended.id)
            moved = await uow.tasks.set_position(task.id, owner.id, "0i", LATER, None, ended.id)
            assert moved is None
            assert (await uow.sessions.is_live(live.id), await uow.sessions.is_live(ended.id)) == (
                True,
                False,
            )
            updated = await uow.tasks.update(task.id, owner.id, patch, LATER, None, live.id)
            assert updated is not None
            assert updated.title == "changed"
            moved = await uow.tasks.set_position(task.id, owner.id, "0i", LATER, None, live.id)
            assert moved is not None
            assert (moved.position, moved.version) == ("0i", 3)
            assert await uow.tasks.delete(task.id, owner.id, None, live.id)
            await uow.commit()
        assert await stored(uow_factory, task) is None

    async def test_another_users_login_is_no_live_login_of_the_owner(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        stranger = make_user()
        theirs = make_session(stranger)
        async with uow_factory() as uow:
            await uow.users.add(stranger)
            await uow.sessions.add(theirs)
            assert not await uow.tasks.add(make_task(owner), theirs.id)
            with pytest.raises(SessionEndedError):
                await uow.users.get_in_session(owner.id, theirs.id)
            assert await uow.users.get_in_session(stranger.id, theirs.id) == stranger
            assert await uow.users.get_in_session(owner.id, None) == owner
            assert await uow.users.get_in_session(make_user().id, theirs.id) is None
