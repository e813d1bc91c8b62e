"""Issue 20 in the core: the planning rules, positions (ordering.py) and TaskService's
create, move and labels on the in-memory fakes."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.contracts.builders import make_task, make_user, store_tasks, store_user
from tests.fakes import FixedClock, InMemoryUnitOfWorkFactory
from tests.fakes.tasks import InMemoryTaskRepository
from todo_core.domain import (
    Task,
    User,
)
from todo_core.errors import (
    PositionTakenError,
    TaskAccessDeniedError,
    TaskNotFoundError,
    TaskVersionMismatchError,
    ValidationError,
)
from todo_core.listing import LabelCount, TaskFilter, TaskQuery, TaskSort, check_page
from todo_core.ordering import (
    POSITION_MAX_LENGTH,
    RESPACE_EACH_SIDE,
    end_position,
    position_between,
    spread_between,
)
from todo_core.task_rules import (
    NewTask,
    TaskPatch,
    check_new_task,
    check_patch,
)
from todo_core.task_service import TaskService

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


# --- rules ------------------------------------------------------------------------------


def test_new_task_normalises_the_planning_fields() -> None:
    due = datetime(2026, 5, 1, 9, tzinfo=timezone(timedelta(hours=2)))
    new = check_new_task(NewTask("t", None, False, due, 3, [" home ", "Work"]))
    assert new.due_at == datetime(2026, 5, 1, 7, tzinfo=UTC)
    assert new.labels == ["home", "Work"]


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (NewTask("t", None, False, datetime(2026, 5, 1)), "due_at"),  # naive
        (NewTask("t", None, False, priority=4), "priority"),
        (NewTask("t", None, False, labels=["a", " A "]), "labels"),
        (NewTask("t", None, False, labels=["x"] * 21), "labels"),
        (NewTask("t", None, False, labels=["x" * 51]), "labels"),
        (NewTask("t", None, False, labels=[""]), "labels"),
    ],
)
def test_a_broken_planning_rule_names_its_field(draft: NewTask, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        check_new_task(draft)
    assert [e.field for e in exc.value.errors] == [field]


def test_patch_clears_with_null_and_empty_and_checks_each_field() -> None:
    assert check_patch(TaskPatch(due_at=None, labels=[])).changes() == {
        "due_at": None,
        "labels": [],
    }
    with pytest.raises(ValidationError) as exc:
        check_patch(TaskPatch(priority=9, labels=["a", "a"], title=" "))
    assert sorted(e.field for e in exc.value.errors) == ["labels", "priority", "title"]


def test_listing_filters_are_checked() -> None:
    query = TaskQuery(
        filter=TaskFilter(due_before=datetime(2026, 1, 1), priority=7, labels=("",), q="")
    )
    with pytest.raises(ValidationError) as exc:
        check_page(query)
    assert [e.field for e in exc.value.errors] == ["due_before", "priority", "label", "q"]


def test_the_fingerprint_of_a_plain_draft_is_what_it_was_before_the_new_fields() -> None:
    assert NewTask("t", None, False).fingerprint() == {
        "title": "t",
        "description": None,
        "is_completed": False,
    }


# --- positions --------------------------------------------------------------------------


def test_positions_of_new_tasks_follow_their_creation_time() -> None:
    earlier = end_position(NOW, uuid.uuid4())
    later = end_position(NOW + timedelta(microseconds=1), uuid.uuid4())
    assert earlier < later


def test_a_position_between_always_exists_and_stays_short() -> None:
    rng = random.Random(20)
    order = sorted(end_position(NOW + timedelta(seconds=i), uuid.uuid4()) for i in range(3))
    for _ in range(3000):
        at = rng.randrange(-1, len(order))
        low = order[at] if at >= 0 else None
        high = order[at + 1] if at + 1 < len(order) else None
        made = position_between(low, high, NOW + timedelta(hours=1))
        assert low is None or low < made
        assert high is None or made < high
        assert not made.endswith("0")
        order.insert(at + 1, made)
    assert max(len(p) for p in order) < 80


def test_moving_a_task_to_the_top_again_and_again_wears_the_order_slowly() -> None:
    first = end_position(NOW, uuid.uuid4())
    for _ in range(2000):
        made = position_between(None, first, NOW)
        assert made < first
        assert made
        assert not made.endswith("0")
        first = made
    assert len(first) <= POSITION_MAX_LENGTH  # the midpoint with "" passed it in 378 moves


def test_moved_last_a_task_stays_before_tasks_created_later() -> None:
    last = end_position(NOW, uuid.uuid4())
    moved = position_between(last, None, NOW + timedelta(seconds=1))
    assert last < moved < end_position(NOW + timedelta(seconds=1), uuid.uuid4())
    # A clock behind the last position: still just after it.
    assert last < position_between(last, None, NOW - timedelta(days=1))


def test_the_only_task_moved_first_stays_before_tasks_created_later() -> None:
    alone = position_between(None, None, NOW)
    assert alone < end_position(NOW, uuid.uuid4())


def test_positions_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="out of order"):
        position_between("b", "a", NOW)
    with pytest.raises(ValueError, match="out of order"):
        spread_between("b", "a", 3, NOW)


@pytest.mark.parametrize(
    ("low", "high", "count", "longest"),
    [
        (None, None, 100_000, 6),  # a whole order: below new tasks' positions
        ("m", "n", 129, 4),
        ("0" + "5" * 40, "0" + "5" * 40 + "1", 129, 44),  # a narrow gap: a digit or two more
        (end_position(NOW - timedelta(days=1), uuid.UUID(int=1)), None, 65, 9),  # to the end
        (None, "01", 65, 5),  # from the top
        ("a", "b", 0, 0),
    ],
)
def test_spread_positions_are_in_order_between_their_bounds_and_short(
    low: str | None, high: str | None, count: int, longest: int
) -> None:
    made = spread_between(low, high, count, NOW)
    assert len(made) == count
    assert made == sorted(made)
    assert len(set(made)) == count
    assert all(not p.endswith("0") for p in made)
    if made:
        assert low is None or low < made[0]
        assert made[-1] < (high or end_position(NOW, uuid.uuid4()))
        assert max(map(len, made)) <= longest


# --- the service ------------------------------------------------------------------------


@pytest.fixture
def tasks(memory_uow: InMemoryUnitOfWorkFactory, clock: FixedClock) -> TaskService:
    return TaskService(memory_uow, clock)


@pytest.fixture
async def ada(memory_uow: InMemoryUnitOfWorkFactory) -> User:
    return await store_user(memory_uow, make_user("ada@example.com"))


@pytest.fixture
async def bob(memory_uow: InMemoryUnitOfWorkFactory) -> User:
    return await store_user(memory_uow, make_user("bob@example.com"))


async def _order(tasks: TaskService, user: User) -> list[str]:
    page = await tasks.list(user.id, TaskQuery(sort=TaskSort.POSITION))
    return [t.title for t in page.tasks]


async def test_moves_reorder_and_new_tasks_go_last(
    tasks: TaskService, ada: User, clock: FixedClock
) -> None:
    made = []
    for title in "abc":
        made.append(await tasks.add(ada.id, NewTask(title, None, False, labels=["x"])))
        clock.advance(seconds=1)
    a, b, c = made
    moved = await tasks.move(ada.id, c.id, None)
    assert (moved.version, moved.updated_at) == (2, clock.now())
    assert await _order(tasks, ada) == ["c", "a", "b"]
    await tasks.move(ada.id, a.id, b.id)
    assert await _order(tasks, ada) == ["c", "b", "a"]
    await tasks.add(ada.id, NewTask("d", None, False))
    assert await _order(tasks, ada) == ["c", "b", "a", "d"]
    with pytest.raises(TaskVersionMismatchError):
        await tasks.move(ada.id, a.id, None, frozenset({1}))


async def test_move_errors_name_what_is_wrong(tasks: TaskService, ada: User, bob: User) -> None:
    mine = await tasks.create(ada.id, "mine")
    theirs = await tasks.create(bob.id, "theirs")
    with pytest.raises(ValidationError) as exc:
        await tasks.move(ada.id, mine.id, mine.id)
    assert [e.field for e in exc.value.errors] == ["after"]
    with pytest.raises(TaskNotFoundError):
        await tasks.move(ada.id, mine.id, uuid.uuid4())
    with pytest.raises(TaskAccessDeniedError):
        await tasks.move(ada.id, mine.id, theirs.id)
    with pytest.raises(TaskAccessDeniedError):
        await tasks.move(ada.id, theirs.id, None)
    with pytest.raises(TaskNotFoundError):
        await tasks.move(ada.id, uuid.uuid4(), None)


async def test_a_move_whose_position_is_taken_is_tried_again(
    tasks: TaskService, ada: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = await tasks.create(ada.id, "a")
    b = await tasks.create(ada.id, "b")
    calls = []
    real = TaskService._move_once

    async def flaky(self, *args):  # type: ignore[no-untyped-def]
        calls.append(args)
        if len(calls) < 3:
            raise PositionTakenError()
        return await real(self, *args)

    monkeypatch.setattr(TaskService, "_move_in_read_gap", _gap_changed)
    monkeypatch.setattr(TaskService, "_move_once", flaky)
    moved = await tasks.move(ada.id, a.id, b.id)
    assert (len(calls), moved.version) == (3, 2)
    calls.clear()
    monkeypatch.setattr(TaskService, "_move_once", _always_taken)
    with pytest.raises(PositionTakenError):
        await tasks.move(ada.id, a.id, b.id)


async def _always_taken(*_args: object) -> None:
    raise PositionTakenError()


async def _gap_changed(*_args: object) -> None:
    return None


async def test_a_move_whose_gap_changed_after_its_read_holds_the_order(
    tasks: TaskService, ada: User, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = []
    for title in "abcd":
        created.append(await tasks.create(ada.id, title))
        clock.advance(seconds=1)
    a, _, c, d = created
    real = InMemoryTaskRepository.set_position_in_gap
    calls = []

    async def another_move_first(self, task_id, user_id, after, place, *args, **kwargs):  # type: ignore[no-untyped-def]
        async def c_moves_first(low: str | None, high: str | None) -> str | None:
            if not calls:  # c moves right after a between d's read and its write
                calls.append(c.id)
                await tasks.move(ada.id, c.id, a.id)
            return await place(low, high)

        return await real(self, task_id, user_id, after, c_moves_first, *args, **kwargs)

    monkeypatch.setattr(InMemoryTaskRepository, "set_position_in_gap", another_move_first)
    moved = await tasks.move(ada.id, d.id, a.id)
    assert moved.version == 2
    assert await _order(tasks, ada) == ["a", "d", "c", "b"]


async def test_labels_of_the_user_only(
    tasks: TaskService, ada: User, bob: User, clock: FixedClock
) -> None:
    await tasks.add(ada.id, NewTask("a", None, False, labels=["Work", "home"]))
    clock.advance(seconds=1)  # "Work" is then the first written
    await tasks.add(ada.id, NewTask("b", None, False, labels=["work"]))
    await tasks.add(bob.id, NewTask("c", None, False, labels=["other"]))
    assert await tasks.labels(ada.id) == [LabelCount("home", 1), LabelCount("Work", 2)]


async def test_a_move_into_a_worn_gap_respaces_the_order_first(
    tasks: TaskService, ada: User, memory_uow: InMemoryUnitOfWorkFactory
) -> None:
    a = await tasks.create(ada.id, "a")
    b = await tasks.create(ada.id, "b")
    c = await tasks.create(ada.id, "c")
    for turn in range(400):  # c and b take turns right after a: every move halves one gap
        await tasks.move(ada.id, (c if turn % 2 == 0 else b).id, a.id)
        page = await tasks.list(ada.id, TaskQuery(sort=TaskSort.POSITION))
        assert max(len(t.position) for t in page.tasks) <= POSITION_MAX_LENGTH
    titles = [t.title for t in page.tasks]
    assert titles == ["a", "b", "c"]
    versions = {t.title: t.version for t in page.tasks}
    assert versions["a"] > 1, "a was respaced at least once"


# Two tasks at WORN + "1" and WORN + "2" differ in their 64th digit only: the gap between
# them is worn.
WORN = "m" + "5" * (POSITION_MAX_LENGTH - 2)


async def _store(memory_uow: InMemoryUnitOfWorkFactory, user: User, positions: list[str]) -> None:
    await store_tasks(
        memory_uow,
        *[make_task(user, minutes=i, title=f"{i:04}", position=p) for i, p in enumerate(positions)],
    )


async def _worn_move(tasks: TaskService, user: User, at: int) -> list[Task]:
    """Move the last task right after the `at`-th (from 0), whose gap is worn: the new
    position would be longer than allowed. The order after."""
    page = await tasks.list(user.id, TaskQuery(sort=TaskSort.POSITION, limit=200))
    order = page.tasks
    worn = position_between(order[at].position, order[at + 1].position, NOW)
    assert len(worn) > POSITION_MAX_LENGTH
    await tasks.move(user.id, order[-1].id, order[at].id)
    after = (await tasks.list(user.id, TaskQuery(sort=TaskSort.POSITION, limit=200))).tasks
    expected = [t.title for t in order[: at + 1]] + [order[-1].title]
    assert [t.title for t in after] == expected + [t.title for t in order[at + 1 : -1]]
    assert max(len(t.position) for t in after) <= POSITION_MAX_LENGTH
    return after


async def test_a_worn_gap_respaces_only_the_tasks_around_it(
    tasks: TaskService, ada: User, memory_uow: InMemoryUnitOfWorkFactory
) -> None:
    positions = [f"{i:03}i" for i in range(100)] + [WORN + "1", WORN + "2"]
    await _store(memory_uow, ada, positions + [f"n{i:03}i" for i in range(50)])
    after = await _worn_move(tasks, ada, 100)
    respaced = [t.title for t in after if t.version > 1]
    # The moved task and RESPACE_EACH_SIDE tasks on each side of the gap.
    assert len(respaced) == 2 * RESPACE_EACH_SIDE + 1
    assert respaced == [t.title for t in after[101 - RESPACE_EACH_SIDE : 102 + RESPACE_EACH_SIDE]]


async def test_a_window_worn_to_its_edges_widens(
    tasks: TaskService, ada: User, memory_uow: InMemoryUnitOfWorkFactory
) -> None:
    # 100 tasks in one worn stretch (a 59-digit common prefix), 100 short ones on each side.
    worn = [f"m{'5' * 58}{i:03}i" for i in range(100)]
    worn[50] = worn[49][:-1] + "11"
    worn[51] = worn[49][:-1] + "12"
    shorts = [f"{i:03}i" for i in range(100)], [f"n{i:03}i" for i in range(100)]
    await _store(memory_uow, ada, [*shorts[0], *sorted(worn), *shorts[1]])
    after = await _worn_move(tasks, ada, 149)
    respaced = sum(1 for t in after if t.version > 1)
    assert 100 < respaced < 300, "wider than the worn stretch, not the whole order"


async def test_a_busy_window_is_held_first_on_the_next_try(
    tasks: TaskService,
    ada: User,
    memory_uow: InMemoryUnitOfWorkFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _store(memory_uow, ada, [WORN + "1", WORN + "2", "n"])
    repository = InMemoryTaskRepository
    real = repository.order_window
    held: list[int] = []
    refusals = iter([True])

    async def busy_once(self, *args):  # type: ignore[no-untyped-def]
        if next(refusals, False):
            raise PositionTakenError()  # another write holds one of the window's tasks
        return await real(self, *args)

    async def hold(self, user_id, moving, gap, each_side):  # type: ignore[no-untyped-def]
        held.append(each_side)

    monkeypatch.setattr(repository, "order_window", busy_once)
    monkeypatch.setattr(repository, "hold_window", hold)
    after = await _worn_move(tasks, ada, 0)
    assert held == [RESPACE_EACH_SIDE]
    assert [t.title for t in after] == ["0000", "0002", "0001"]
