"""TaskService on the in-memory fakes."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from tests.contracts.builders import T0, make_session, make_user, store_user
from tests.fakes import FixedClock, InMemoryUnitOfWorkFactory
from todo_core.domain import (
    User,
)
from todo_core.errors import (
    SessionEndedError,
    TaskAccessDeniedError,
    TaskNotFoundError,
    UnknownUserError,
    ValidationError,
)
from todo_core.listing import (
    TaskQuery,
    TaskSort,
)
from todo_core.task_rules import (
    DESCRIPTION_MAX_LENGTH,
    TaskPatch,
)
from todo_core.task_service import TaskService


@pytest.fixture
def tasks(memory_uow: InMemoryUnitOfWorkFactory, clock: FixedClock) -> TaskService:
    return TaskService(memory_uow, clock)


@pytest.fixture
async def ada(memory_uow: InMemoryUnitOfWorkFactory) -> User:
    return await store_user(memory_uow, make_user("ada@example.com"))


@pytest.fixture
async def bob(memory_uow: InMemoryUnitOfWorkFactory) -> User:
    return await store_user(memory_uow, make_user("bob@example.com"))


def error_fields(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e.field for e in exc.value.errors]


async def test_create_stores_a_trimmed_task_at_version_1(
    tasks: TaskService, ada: User, clock: FixedClock
) -> None:
    task = await tasks.create(ada.id, "  Buy milk \n", "2 litres\r\n\t<b>bio</b>")
    assert (task.user_id, task.title, task.description) == (
        ada.id,
        "Buy milk",
        "2 litres\r\n\t<b>bio</b>",
    )
    assert (task.is_completed, task.version) == (False, 1)
    assert task.created_at == task.updated_at == clock.now()
    assert await tasks.get(ada.id, task.id) == task


async def test_create_with_every_field(tasks: TaskService, ada: User) -> None:
    task = await tasks.create(ada.id, "t", None, is_completed=True)
    assert (task.description, task.is_completed) == (None, True)


@pytest.mark.parametrize(
    ("title", "description", "fields"),
    [
        ("   ", None, ["title"]),
        ("x" * 256, None, ["title"]),
        (" " + "x" * 256, None, ["title"]),
        ("a\x00b", None, ["title"]),
        ("a\nb", None, ["title"]),
        ("t", "x" * (DESCRIPTION_MAX_LENGTH + 1), ["description"]),
        ("t", "escape \x1b[31m", ["description"]),
        ("t", "nul \x00", ["description"]),
        ("", "\x07", ["title", "description"]),
    ],
)
async def test_create_rejects_invalid_fields(
    tasks: TaskService,
    ada: User,
    memory_uow: InMemoryUnitOfWorkFactory,
    title: str,
    description: str | None,
    fields: list[str],
) -> None:
    with pytest.raises(ValidationError) as exc:
        await tasks.create(ada.id, title, description)
    assert error_fields(exc) == fields
    assert memory_uow.store.tasks == {}


async def test_create_at_the_limits(tasks: TaskService, ada: User) -> None:
    task = await tasks.create(ada.id, " " + "x" * 255 + " ", "d" * DESCRIPTION_MAX_LENGTH)
    assert len(task.title) == 255


async def test_create_for_a_vanished_user_is_unknown_user(tasks: TaskService) -> None:
    with pytest.raises(UnknownUserError):
        await tasks.create(uuid.uuid4(), "orphan")


async def test_get_of_missing_and_of_foreign_tasks(
    tasks: TaskService, ada: User, bob: User
) -> None:
    task = await tasks.create(ada.id, "mine")
    with pytest.raises(TaskNotFoundError):
        await tasks.get(ada.id, uuid.uuid4())
    with pytest.raises(TaskAccessDeniedError) as denied:
        await tasks.get(bob.id, task.id)
    assert (denied.value.task_id, denied.value.user_id) == (task.id, bob.id)


async def test_list_is_only_the_callers_tasks(tasks: TaskService, ada: User, bob: User) -> None:
    mine = [await tasks.create(ada.id, f"task {i}") for i in range(3)]
    await tasks.create(bob.id, "not yours")
    page = await tasks.list(ada.id, TaskQuery(sort=TaskSort.CREATED_ASC))
    assert {t.id for t in page.tasks} == {t.id for t in mine}
    assert page.total == 3


@pytest.mark.parametrize(
    ("limit", "offset", "fields"),
    [(0, 0, ["limit"]), (201, 0, ["limit"]), (10, -1, ["offset"]), (0, -1, ["limit", "offset"])],
)
async def test_list_page_bounds(
    tasks: TaskService, ada: User, limit: int, offset: int, fields: list[str]
) -> None:
    with pytest.raises(ValidationError) as exc:
        await tasks.list(ada.id, TaskQuery(limit=limit, offset=offset))
    assert error_fields(exc) == fields


async def test_list_accepts_the_extreme_bounds(tasks: TaskService, ada: User) -> None:
    await tasks.create(ada.id, "t")
    assert (await tasks.list(ada.id, TaskQuery(limit=200))).total == 1
    assert (await tasks.list(ada.id, TaskQuery(limit=1, offset=5))).tasks == []


async def test_update_changes_the_given_fields_and_bumps_version(
    tasks: TaskService, ada: User, clock: FixedClock
) -> None:
    task = await tasks.create(ada.id, "old", "keep")
    clock.advance(minutes=5)
    toggled = await tasks.update(ada.id, task.id, TaskPatch(is_completed=True))
    assert toggled == dataclasses.replace(
        task, is_completed=True, updated_at=clock.now(), version=2
    )
    renamed = await tasks.update(ada.id, task.id, TaskPatch(title="  new  "))
    assert (renamed.title, renamed.description, renamed.version) == ("new", "keep", 3)
    assert await tasks.get(ada.id, task.id) == renamed


async def test_update_with_description_none_clears_it(tasks: TaskService, ada: User) -> None:
    task = await tasks.create(ada.id, "t", "to clear")
    cleared = await tasks.update(ada.id, task.id, TaskPatch(description=None))
    assert (cleared.title, cleared.description) == ("t", None)


@pytest.mark.parametrize(
    ("patch", "fields"),
    [
        (TaskPatch(), ["body"]),
        (TaskPatch(title=" "), ["title"]),
        (TaskPatch(title="a\x1fb"), ["title"]),
        (TaskPatch(description="x" * (DESCRIPTION_MAX_LENGTH + 1)), ["description"]),
        (TaskPatch(description="\x00"), ["description"]),
    ],
)
async def test_update_rejects_invalid_patches(
    tasks: TaskService, ada: User, patch: TaskPatch, fields: list[str]
) -> None:
    task = await tasks.create(ada.id, "t")
    with pytest.raises(ValidationError) as exc:
        await tasks.update(ada.id, task.id, patch)
    assert error_fields(exc) == fields
    assert await tasks.get(ada.id, task.id) == task


async def test_update_of_missing_and_of_foreign_tasks(
    tasks: TaskService, ada: User, bob: User
) -> None:
    task = await tasks.create(ada.id, "mine")
    with pytest.raises(TaskNotFoundError):
        await tasks.update(ada.id, uuid.uuid4(), TaskPatch(title="x"))
    with pytest.raises(TaskAccessDeniedError):
        await tasks.update(bob.id, task.id, TaskPatch(title="hijacked"))
    assert await tasks.get(ada.id, task.id) == task


async def test_delete(tasks: TaskService, ada: User) -> None:
    task = await tasks.create(ada.id, "t")
    await tasks.delete(ada.id, task.id)
    with pytest.raises(TaskNotFoundError):
        await tasks.get(ada.id, task.id)
    with pytest.raises(TaskNotFoundError):
        await tasks.delete(ada.id, task.id)


async def test_delete_of_a_foreign_task_is_denied_and_keeps_it(
    tasks: TaskService, ada: User, bob: User
) -> None:
    task = await tasks.create(ada.id, "mine")
    with pytest.raises(TaskAccessDeniedError):
        await tasks.delete(bob.id, task.id)
    assert await tasks.get(ada.id, task.id) == task


# Issue 23: a write names the caller's login; once it has ended, the write is refused.


async def _session(uow: InMemoryUnitOfWorkFactory, user: User, *, ended: bool) -> uuid.UUID:
    session = make_session(user, ended_at=T0 if ended else None)
    async with uow() as unit:
        await unit.sessions.add(session)
        await unit.commit()
    return session.id


async def test_writes_in_an_ended_login_are_refused_and_write_nothing(
    tasks: TaskService, memory_uow: InMemoryUnitOfWorkFactory, ada: User
) -> None:
    live = await _session(memory_uow, ada, ended=False)
    ended = await _session(memory_uow, ada, ended=True)
    task = await tasks.create(ada.id, "mine", session=live)
    for write in (
        tasks.create(ada.id, "stolen", session=ended),
        tasks.update(ada.id, task.id, TaskPatch(title="stolen"), session=ended),
        tasks.delete(ada.id, task.id, session=ended),
        tasks.set_all_completed(ada.id, True, session=ended),
        tasks.delete_all(ada.id, False, session=ended),
    ):
        with pytest.raises(SessionEndedError):
            await write
    page = await tasks.list(ada.id, TaskQuery())
    assert [(t.title, t.is_completed) for t in page.tasks] == [("mine", False)]
    # A live login's write that finds nothing still says why.
    with pytest.raises(TaskNotFoundError):
        await tasks.delete(ada.id, uuid.uuid4(), session=live)
    assert await tasks.delete_all(ada.id, True, session=live) == 0


async def test_a_create_for_a_vanished_user_in_a_login_is_unknown_user(
    tasks: TaskService, memory_uow: InMemoryUnitOfWorkFactory
) -> None:
    with pytest.raises(UnknownUserError):
        await tasks.create(uuid.uuid4(), "orphan", session=uuid.uuid4())
