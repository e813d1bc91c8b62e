"""TaskService's bulk writes and creates under an Idempotency-Key, on the in-memory fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.contracts.builders import make_user, store_user
from tests.fakes import FixedClock, InMemoryUnitOfWorkFactory
from todo_core.domain import (
    Task,
    User,
)
from todo_core.errors import (
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    UnknownUserError,
    ValidationError,
)
from todo_core.idempotency import Reply, idempotency_key
from todo_core.listing import (
    TaskCounts,
    TaskQuery,
)
from todo_core.purge import PURGE_BATCH
from todo_core.task_rules import (
    NewTask,
)
from todo_core.task_service import TaskService

TTL = timedelta(hours=1)


@pytest.fixture
def tasks(memory_uow: InMemoryUnitOfWorkFactory, clock: FixedClock) -> TaskService:
    return TaskService(memory_uow, clock, idempotency_ttl=TTL)


@pytest.fixture
async def ada(memory_uow: InMemoryUnitOfWorkFactory) -> User:
    return await store_user(memory_uow, make_user("ada@example.com"))


def render(task: Task) -> Reply:
    return Reply(201, f"{task.id} {task.title}".encode())


async def listing(tasks: TaskService, user: User) -> tuple[list[Task], TaskCounts]:
    page = await tasks.list(user.id, TaskQuery(limit=200))
    return page.tasks, page.counts


async def test_a_key_creates_once_and_replays_the_first_reply(tasks: TaskService, ada: User):
    first = await tasks.create_once(ada.id, NewTask(" Buy milk ", None, False), "k-1", render)
    (task,), _ = await listing(tasks, ada)
    assert (first.replayed, first.reply) == (False, render(task))
    assert task.title == "Buy milk"
    again = await tasks.create_once(ada.id, NewTask(" Buy milk ", None, False), "k-1", render)
    assert (again.replayed, again.reply) == (True, first.reply)
    assert len((await listing(tasks, ada))[0]) == 1


@pytest.mark.parametrize(
    "other", [NewTask("Buy milk", None, False), NewTask(" Buy milk ", "", False)]
)
async def test_the_same_key_with_another_body_is_refused(
    tasks: TaskService, ada: User, other: NewTask
):
    await tasks.create_once(ada.id, NewTask(" Buy milk ", None, False), "k-1", render)
    with pytest.raises(IdempotencyKeyReusedError):
        await tasks.create_once(ada.id, other, "k-1", render)
    assert len((await listing(tasks, ada))[0]) == 1


async def test_keys_are_per_user(tasks: TaskService, ada: User, memory_uow):
    bob = await store_user(memory_uow, make_user("bob@example.com"))
    draft = NewTask("t", None, False)
    assert not (await tasks.create_once(ada.id, draft, "same", render)).replayed
    assert not (await tasks.create_once(bob.id, draft, "same", render)).replayed
    assert len((await listing(tasks, ada))[0]) == len((await listing(tasks, bob))[0]) == 1


async def test_a_key_is_kept_for_its_ttl_only(tasks: TaskService, ada: User, clock: FixedClock):
    draft = NewTask("t", None, False)
    await tasks.create_once(ada.id, draft, "k", render)
    clock.advance(seconds=TTL.total_seconds() - 1)
    assert (await tasks.create_once(ada.id, draft, "k", render)).replayed
    clock.advance(seconds=2)
    assert not (await tasks.create_once(ada.id, draft, "k", render)).replayed
    assert len((await listing(tasks, ada))[0]) == 2


async def test_a_key_in_use_by_an_unfinished_create_is_a_conflict(
    tasks: TaskService, ada: User, memory_uow: InMemoryUnitOfWorkFactory, clock: FixedClock
):
    key = idempotency_key("k", title="t", description=None, is_completed=False)
    async with memory_uow() as first:
        now = clock.now()
        assert await first.idempotency.claim(ada.id, key, Reply(201, b"x"), now, now + TTL) is None
        with pytest.raises(IdempotencyKeyInUseError):
            await tasks.create_once(ada.id, NewTask("t", None, False), "k", render)
    assert (await listing(tasks, ada))[0] == []


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there", "nul\x00", "del\x7f"])
async def test_a_malformed_key_is_a_validation_error(tasks: TaskService, ada: User, key: str):
    with pytest.raises(ValidationError) as raised:
        await tasks.create_once(ada.id, NewTask("t", None, False), key, render)
    assert [e.field for e in raised.value.errors] == ["Idempotency-Key"]
    assert (await listing(tasks, ada))[0] == []


@pytest.mark.parametrize("key", ["a", "x" * 255, "with spaces and ~!@#$%^&*()"])
async def test_printable_ascii_keys_of_1_to_255_characters_are_taken(
    tasks: TaskService, ada: User, key: str
):
    assert not (await tasks.create_once(ada.id, NewTask("t", None, False), key, render)).replayed


def test_the_fingerprint_ignores_the_order_of_fields():
    one = idempotency_key("k", title="t", description=None, is_completed=False)
    other = idempotency_key("k", is_completed=False, description=None, title="t")
    assert one == other
    assert one != idempotency_key("k", title="t", description=None, is_completed=True)


async def test_a_keyed_create_for_a_deleted_user_writes_nothing(
    tasks: TaskService, memory_uow: InMemoryUnitOfWorkFactory
):
    with pytest.raises(UnknownUserError):
        await tasks.create_once(make_user().id, NewTask("t", None, False), "k", render)
    assert memory_uow.store.idempotency == {}
    assert memory_uow.store.tasks == {}


async def test_expired_keys_are_purged_in_batches(
    tasks: TaskService, ada: User, clock: FixedClock, memory_uow: InMemoryUnitOfWorkFactory
):
    draft = NewTask("t", None, False)
    for i in range(PURGE_BATCH + 3):
        await tasks.create_once(ada.id, draft, f"k{i}", render)
    clock.advance(seconds=TTL.total_seconds() + 1)
    await tasks.create_once(ada.id, draft, "fresh", render)
    assert await tasks.purge_expired_idempotency_keys() == PURGE_BATCH + 3
    assert list(memory_uow.store.idempotency) == [(ada.id, "fresh")]


async def test_mark_all_then_clear_completed(tasks: TaskService, ada: User, clock: FixedClock):
    done = await tasks.create(ada.id, "done", is_completed=True)
    for title in ("a", "b"):
        await tasks.create(ada.id, title)
    clock.advance(minutes=1)
    assert await tasks.set_all_completed(ada.id, True) == 2
    found, counts = await listing(tasks, ada)
    assert counts == TaskCounts(3, 0, 3)
    assert {t.title: t.version for t in found} == {"done": 1, "a": 2, "b": 2}
    assert next(t for t in found if t.title == "done") == done
    assert await tasks.delete_all(ada.id, completed=True) == 3
    assert await listing(tasks, ada) == ([], TaskCounts(0, 0, 0))


async def test_a_filter_that_selects_no_changing_task_changes_none(tasks: TaskService, ada: User):
    await tasks.create(ada.id, "open")
    await tasks.create(ada.id, "done", is_completed=True)
    assert await tasks.set_all_completed(ada.id, True, only=True) == 0
    assert (await listing(tasks, ada))[1] == TaskCounts(2, 1, 1)
    assert await tasks.set_all_completed(ada.id, True, only=False) == 1
    assert (await listing(tasks, ada))[1] == TaskCounts(2, 0, 2)
