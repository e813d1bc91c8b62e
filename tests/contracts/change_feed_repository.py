"""The ChangeFeedRepository contract: every task write is numbered per user in commit
order, each task appears once at its latest change, deletions stay until purged. Subclass
it in a module that provides a `uow_factory` fixture."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.contracts.builders import T0, make_task, store_tasks, store_user
from todo_core.domain import User
from todo_core.feed import FIRST_ID, LAST_ID, FeedSlice
from todo_core.ports import UnitOfWorkFactory
from todo_core.task_rules import TaskPatch


async def read(
    uow_factory: UnitOfWorkFactory,
    user: User,
    seq: int = 0,
    task_id: uuid.UUID = FIRST_ID,
    limit: int = 100,
    *,
    deletions: bool = True,
) -> FeedSlice:
    async with uow_factory(atomic=False) as uow:
        return await uow.changes.after(user.id, seq, task_id, limit, deletions=deletions)


async def delete(uow_factory: UnitOfWorkFactory, user: User, task_id: uuid.UUID) -> None:
    async with uow_factory() as uow:
        assert await uow.tasks.delete(task_id, user.id)
        await uow.commit()


class ChangeFeedRepositoryContract:
    async def test_a_user_without_changes_has_an_empty_feed(self, uow_factory):
        user = await store_user(uow_factory)
        assert await read(uow_factory, user) == FeedSlice([], 0)
        async with uow_factory() as uow:
            assert await uow.changes.newest(user.id) == 0

    async def test_each_commit_takes_the_next_number_of_its_user(self, uow_factory):
        user, other = await store_user(uow_factory), await store_user(uow_factory)
        first, second = make_task(user), make_task(user, minutes=1)
        await store_tasks(uow_factory, first)
        await store_tasks(uow_factory, make_task(other))
        await store_tasks(uow_factory, second)
        found = await read(uow_factory, user)
        assert [(e.seq, e.task_id, e.task) for e in found.entries] == [
            (1, first.id, first),
            (2, second.id, second),
        ]
        assert found.newest == 2
        assert [e.seq for e in (await read(uow_factory, other)).entries] == [1]

    async def test_a_changed_task_moves_to_its_latest_change_in_its_new_form(self, uow_factory):
        user = await store_user(uow_factory)
        first, second = make_task(user), make_task(user, minutes=1)
        await store_tasks(uow_factory, first)
        await store_tasks(uow_factory, second)
        async with uow_factory() as uow:
            changed = await uow.tasks.update(first.id, user.id, TaskPatch(title="new"), T0)
            await uow.commit()
        found = await read(uow_factory, user)
        assert [(e.seq, e.task_id, e.task) for e in found.entries] == [
            (2, second.id, second),
            (3, first.id, changed),
        ]
        after_second = await read(uow_factory, user, 2, second.id)
        assert [e.task_id for e in after_second.entries] == [first.id]
        assert (await read(uow_factory, user, 3, LAST_ID)).entries == []

    async def test_one_write_of_many_tasks_numbers_them_alike_ordered_by_id(self, uow_factory):
        user = await store_user(uow_factory)
        done = make_task(user, is_completed=True)
        open_ = [make_task(user, minutes=i) for i in range(1, 6)]
        await store_tasks(uow_factory, done, *open_)
        before = (await read(uow_factory, user)).newest
        async with uow_factory() as uow:
            assert await uow.tasks.set_completed(user.id, True, T0) == 5
            await uow.commit()
        ids = sorted(t.id for t in open_)
        page = await read(uow_factory, user, before, LAST_ID, limit=2)
        assert [(e.seq, e.task_id) for e in page.entries] == [(before + 1, i) for i in ids[:2]]
        rest = await read(uow_factory, user, before + 1, ids[1], limit=10)
        assert [e.task_id for e in rest.entries] == ids[2:]
        assert rest.newest == before + 1

    async def test_a_deletion_is_an_entry_without_a_task(self, uow_factory):
        user = await store_user(uow_factory)
        kept, gone = make_task(user), make_task(user, minutes=1)
        await store_tasks(uow_factory, kept)
        await store_tasks(uow_factory, gone)
        await delete(uow_factory, user, gone.id)
        found = await read(uow_factory, user)
        assert [(e.seq, e.task_id, e.task) for e in found.entries] == [
            (1, kept.id, kept),
            (3, gone.id, None),
        ]
        live = await read(uow_factory, user, deletions=False)
        assert [e.task_id for e in live.entries] == [kept.id]
        assert live.newest == 3

    async def test_clearing_numbers_every_task_it_deletes(self, uow_factory):
        user = await store_user(uow_factory)
        done = [make_task(user, is_completed=True, minutes=i) for i in range(3)]
        await store_tasks(uow_factory, make_task(user, minutes=9), *done)
        before = (await read(uow_factory, user)).newest
        async with uow_factory() as uow:
            assert await uow.tasks.delete_all(user.id, True) == 3
            await uow.commit()
        found = await read(uow_factory, user, before, LAST_ID)
        assert [(e.seq, e.task) for e in found.entries] == [(before + 1, None)] * 3
        assert {e.task_id for e in found.entries} == {t.id for t in done}

    async def test_a_rolled_back_write_leaves_no_entry(self, uow_factory):
        user = await store_user(uow_factory)
        async with uow_factory() as uow:
            await uow.tasks.add(make_task(user))  # no commit
        assert await read(uow_factory, user) == FeedSlice([], 0)

    async def test_deletions_are_purged_by_age_and_live_entries_never(self, uow_factory):
        user = await store_user(uow_factory)
        kept, gone = make_task(user), make_task(user, minutes=1)
        await store_tasks(uow_factory, kept, gone)
        await delete(uow_factory, user, gone.id)
        now = datetime.now(UTC)
        async with uow_factory() as uow:
            assert await uow.changes.purge_deletions(now - timedelta(hours=1), 100) == 0
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.changes.purge_deletions(now + timedelta(hours=1), 100) == 1
            await uow.commit()
        assert [e.task_id for e in (await read(uow_factory, user)).entries] == [kept.id]
