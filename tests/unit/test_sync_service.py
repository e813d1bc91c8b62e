"""The change feed's use cases on the in-memory fakes: a full sync, then only what changed;
pages; where the next sync starts; tokens past the retention; the purge's horizon."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest

from tests.contracts.builders import make_user, store_user
from todo_core.errors import SyncTokenExpiredError, ValidationError
from todo_core.feed import DELETION_MARGIN, LAST_ID, SyncPoint
from todo_core.sync import SyncService
from todo_core.task_rules import TaskPatch
from todo_core.task_service import TaskService

RETENTION = timedelta(days=30)
USER = uuid.uuid4()


@pytest.fixture
def tasks(memory_uow, clock) -> TaskService:
    return TaskService(memory_uow, clock)


@pytest.fixture
def sync(memory_uow, clock) -> SyncService:
    return SyncService(memory_uow, clock, RETENTION)


@pytest.fixture(autouse=True)
async def _user(memory_uow) -> None:
    await store_user(memory_uow, dataclasses.replace(make_user(), id=USER))


async def test_a_full_sync_then_only_the_changes(sync, tasks, clock):
    first = await tasks.create(USER, "first")
    second = await tasks.create(USER, "second")
    full = await sync.changes(USER, None, limit=1)
    assert full.changes == [first]
    assert full.has_more
    rest = await sync.changes(USER, full.next, limit=10)
    assert rest.changes == [second]
    assert not rest.has_more
    assert rest.next == SyncPoint(2, LAST_ID, clock.now())

    changed = await tasks.update(USER, first.id, TaskPatch(title="changed"))
    await tasks.delete(USER, second.id)
    after = await sync.changes(USER, rest.next)
    assert after.changes == [changed]
    assert after.deleted == [second.id]
    assert (await sync.changes(USER, after.next)).entries == []


async def test_the_next_sync_after_a_full_one_skips_older_deletions(sync, tasks):
    gone = await tasks.create(USER, "gone")
    await tasks.delete(USER, gone.id)
    full = await sync.changes(USER, None)
    assert full.entries == []
    assert (await sync.changes(USER, full.next)).entries == []


async def test_a_point_older_than_the_retention_is_refused(sync, tasks, clock):
    await tasks.create(USER, "t")
    point = (await sync.changes(USER, None)).next
    clock.advance(days=30)
    assert (await sync.changes(USER, point)).entries == []
    clock.advance(seconds=1)
    with pytest.raises(SyncTokenExpiredError):
        await sync.changes(USER, point)


@pytest.mark.parametrize("limit", [0, 1001])
async def test_the_page_size_is_bounded(sync, limit):
    with pytest.raises(ValidationError):
        await sync.changes(USER, None, limit)


async def test_now_is_after_every_change(sync, tasks, clock):
    assert await sync.now(USER) == SyncPoint(0, LAST_ID, clock.now())
    await tasks.create(USER, "t")
    point = await sync.now(USER)
    assert point.seq == 1
    assert (await sync.changes(USER, point)).entries == []


async def test_deletions_are_purged_past_the_retention_and_its_margin(
    sync, tasks, clock, memory_uow
):
    gone = await tasks.create(USER, "gone")
    await tasks.delete(USER, gone.id)
    # The fake stamps deletions with the real time; the service purges by its clock.
    store = memory_uow.store
    (entry,) = store.changes.values()
    clock._now = entry.deleted_at + RETENTION + DELETION_MARGIN - timedelta(seconds=1)
    assert await sync.purge_deletions() == 0
    clock.advance(seconds=2)
    assert await sync.purge_deletions() == 1
    assert store.changes == {}
