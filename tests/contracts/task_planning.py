"""The planning part of the TaskRepository contract: the planning fields stored and
patched, the filters and sorts over them, search, the manual order and labels.
TaskRepositoryContract includes it."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from tests.contracts.builders import T0, make_task, store_tasks, store_user
from todo_core.domain import (
    Task,
    User,
)
from todo_core.errors import OrderChangedError, PositionTakenError
from todo_core.listing import LabelCount, TaskFilter, TaskKey, TaskQuery, TaskSort
from todo_core.ordering import OrderWindow, position_between
from todo_core.ports import PlaceInGap, TaskRepository, UnitOfWorkFactory
from todo_core.task_rules import (
    TaskPatch,
)

DAY = timedelta(days=1)


def between(now: datetime) -> PlaceInGap:
    """The core's rule for a move: a position between the gap's neighbours."""

    async def place(low: str | None, high: str | None) -> str:
        return position_between(low, high, now)

    return place


async def _nowhere(low: str | None, high: str | None) -> None:
    return None


async def page_ids(
    uow_factory: UnitOfWorkFactory, user: User, query: TaskQuery
) -> tuple[list[str], int]:
    async with uow_factory() as uow:
        page = await uow.tasks.list(user.id, query)
    return [t.title for t in page.tasks], page.total


async def respace_moving(
    uow_factory: UnitOfWorkFactory,
    user: User,
    positions: list[tuple[Task, str]],
    moving: Task,
    to: str,
) -> tuple[int, list[Task]]:
    """Respace the user's tasks a day after T0, moving `moving` to `to`: how many of the
    others changed, and the whole order after."""
    async with uow_factory() as uow:
        changed = await uow.tasks.respace(
            user.id, {t.id: p for t, p in positions}, T0 + DAY, moving.id, to
        )
        await uow.commit()
    return changed, await every_page(uow_factory, user, TaskQuery(sort=TaskSort.POSITION))


async def every_page(uow_factory: UnitOfWorkFactory, user: User, query: TaskQuery) -> list[Task]:
    seen: list[Task] = []
    async with uow_factory() as uow:
        while True:
            page = await uow.tasks.list(user.id, query)
            seen.extend(page.tasks)
            if page.next_key is None:
                return seen
            assert page.next_key == TaskKey.of(page.tasks[-1], query.sort)
            query = dataclasses.replace(query, after=page.next_key)


class TaskPlanningContract:
    @pytest.fixture
    async def planner(self, uow_factory: UnitOfWorkFactory) -> User:
        return await store_user(uow_factory)

    @pytest.fixture
    async def other(self, uow_factory: UnitOfWorkFactory) -> User:
        return await store_user(uow_factory)

    async def test_planning_fields_are_stored_and_patched(
        self, uow_factory: UnitOfWorkFactory, planner: User
    ) -> None:
        task = make_task(planner, due_at=T0 + DAY, priority=3, labels=["Home", "errand"])
        await store_tasks(uow_factory, task)
        async with uow_factory() as uow:
            assert await uow.tasks.get(task.id) == task
            patched = await uow.tasks.update(
                task.id, planner.id, TaskPatch(due_at=None, labels=[], priority=1), T0 + DAY
            )
            await uow.commit()
        assert patched is not None
        assert (patched.due_at, patched.labels, patched.priority) == (None, [], 1)
        assert (patched.title, patched.position, patched.version) == (
            task.title,
            task.position,
            task.version + 1,
        )

    @pytest.fixture
    async def planned(self, uow_factory: UnitOfWorkFactory, planner: User, other: User) -> None:
        rows = [
            ("a", T0 + 2 * DAY, 3, ["Work"], False, "Landingpages for the launch"),
            ("b", T0 + DAY, 1, ["work", "urgent"], True, "Buy milk"),
            ("c", None, 2, ["home"], False, None),
            ("d", T0 + 3 * DAY, 0, [], False, "call the bank"),
            ("e", None, 3, ["URGENT", "Work"], False, "buy a lamp"),
        ]
        tasks = [
            make_task(
                planner,
                minutes=i,
                title=title,
                due_at=due,
                priority=priority,
                labels=labels,
                is_completed=done,
                description=text,
            )
            for i, (title, due, priority, labels, done, text) in enumerate(rows)
        ]
        # Another user's tasks match every filter and must never show.
        stranger = make_task(other, title="b", due_at=T0, labels=["work"], description="Buy milk")
        await store_tasks(uow_factory, *tasks, stranger)

    @pytest.mark.parametrize(
        ("found", "completed", "expected"),
        [
            (TaskFilter(has_due=True), None, ["a", "b", "d"]),
            (TaskFilter(has_due=False), None, ["c", "e"]),
            (TaskFilter(due_before=T0 + 2 * DAY), None, ["b"]),
            (TaskFilter(due_after=T0 + 2 * DAY), None, ["a", "d"]),
            (TaskFilter(due_after=T0 + DAY, due_before=T0 + 3 * DAY), None, ["a", "b"]),
            (TaskFilter(priority=3), None, ["a", "e"]),
            (TaskFilter(labels=("WORK",)), None, ["a", "b", "e"]),
            (TaskFilter(labels=("work", "Urgent")), None, ["b", "e"]),
            (TaskFilter(labels=("work",)), False, ["a", "e"]),
            (TaskFilter(labels=("nothing",)), None, []),
            (TaskFilter(q="land"), None, ["a"]),
            (TaskFilter(q="buy mil"), None, ["b"]),
            (TaskFilter(q="BUY"), None, ["b", "e"]),
            (TaskFilter(q="milk buy"), None, ["b"]),
            (TaskFilter(q="ilk"), None, []),
            (TaskFilter(q="b"), None, ["b", "d", "e"]),  # "b", "Buy", "bank", "buy"
            (TaskFilter(q="buy", labels=("urgent",), priority=3), None, ["e"]),
        ],
    )
    async def test_filters_select_the_users_matching_tasks(
        self,
        uow_factory: UnitOfWorkFactory,
        planner: User,
        planned: None,
        found: TaskFilter,
        completed: bool | None,
        expected: list[str],
    ) -> None:
        query = TaskQuery(sort=TaskSort.CREATED_ASC, filter=found, completed=completed, limit=2)
        titles, total = await page_ids(uow_factory, planner, query)
        assert titles == expected[:2]
        assert total == len(expected)  # what the filters match, not the page
        every = await every_page(uow_factory, planner, query)
        assert [t.title for t in every] == expected

    async def test_counts_ignore_the_filters(
        self, uow_factory: UnitOfWorkFactory, planner: User, planned: None
    ) -> None:
        async with uow_factory() as uow:
            page = await uow.tasks.list(planner.id, TaskQuery(filter=TaskFilter(priority=2)))
            past = await uow.tasks.list(
                planner.id, TaskQuery(filter=TaskFilter(priority=3), offset=10)
            )
        assert (page.counts.all, page.counts.completed, page.total) == (5, 1, 1)
        assert (past.tasks, past.total, past.counts.all) == ([], 2, 5)

    async def test_a_filtered_total_follows_every_write(
        self, uow_factory: UnitOfWorkFactory, planner: User
    ) -> None:
        """Listed again and again, a filter's total changes with each write of the user's
        tasks and with nothing else (the SQL side keeps a count until the next write)."""
        calls = [
            make_task(planner, minutes=i, title=f"call {i}", labels=["work"]) for i in range(3)
        ]
        await store_tasks(uow_factory, *calls)
        open_work = TaskQuery(completed=False, filter=TaskFilter(labels=("work",)))
        search = TaskQuery(filter=TaskFilter(q="cal"))

        async def totals() -> tuple[int, int]:
            return (await page_ids(uow_factory, planner, open_work))[1], (
                await page_ids(uow_factory, planner, search)
            )[1]

        async def write(change: Callable[[TaskRepository], Awaitable[object]]) -> None:
            async with uow_factory() as uow:
                await change(uow.tasks)
                await uow.commit()

        assert await totals() == (3, 3)
        assert await totals() == (3, 3)
        await store_tasks(uow_factory, make_task(planner, minutes=9, title="call", labels=["work"]))
        assert await totals() == (4, 4)
        first, second, third = (t.id for t in calls)
        await write(lambda t: t.update(first, planner.id, TaskPatch(title="write"), T0 + DAY))
        assert await totals() == (4, 3)
        await write(lambda t: t.update(second, planner.id, TaskPatch(is_completed=True), T0 + DAY))
        assert await totals() == (3, 3)
        await write(lambda t: t.set_completed(planner.id, False, T0 + DAY))
        assert await totals() == (4, 3)
        await write(lambda t: t.update(first, planner.id, TaskPatch(labels=[]), T0 + DAY))
        assert await totals() == (3, 3)
        await write(lambda t: t.delete(third, planner.id))
        assert await totals() == (2, 2)
        await write(lambda t: t.delete_all(planner.id, False))
        assert await totals() == (0, 0)
        await store_tasks(
            uow_factory, make_task(planner, minutes=10, title="call", labels=["work"])
        )
        assert await totals() == (1, 1)

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            (TaskSort.DUE_ASC, ["b", "a", "d", "c", "e"]),
            (TaskSort.DUE_DESC, ["d", "a", "b", "e", "c"]),
            (TaskSort.PRIORITY_ASC, None),
            (TaskSort.PRIORITY_DESC, None),
            (TaskSort.POSITION, ["a", "b", "c", "d", "e"]),
        ],
    )
    async def test_new_sorts_page_by_keyset_without_gaps_or_repeats(
        self,
        uow_factory: UnitOfWorkFactory,
        planner: User,
        planned: None,
        sort: TaskSort,
        expected: list[str] | None,
    ) -> None:
        async with uow_factory() as uow:
            whole = (await uow.tasks.list(planner.id, TaskQuery(sort=sort))).tasks
        titles = [t.title for t in whole]
        assert sorted(titles) == ["a", "b", "c", "d", "e"]
        if expected is not None:  # the tasks without a due date tie: by id, either order
            assert titles[:3] == expected[:3]
            assert set(titles[3:]) == set(expected[3:])
        else:
            priorities = [t.priority for t in whole]
            assert priorities == sorted(priorities, reverse=sort.descending)
        for limit in (1, 2, 3):
            assert (
                await every_page(uow_factory, planner, TaskQuery(sort=sort, limit=limit)) == whole
            )

    async def test_ties_in_a_sort_are_broken_by_id_across_pages(
        self, uow_factory: UnitOfWorkFactory, planner: User
    ) -> None:
        tasks = [make_task(planner, minutes=i, priority=i % 2, due_at=T0) for i in range(7)]
        await store_tasks(uow_factory, *tasks)
        for sort in (TaskSort.PRIORITY_DESC, TaskSort.DUE_ASC, TaskSort.DUE_DESC):
            seen = await every_page(uow_factory, planner, TaskQuery(sort=sort, limit=2))
            assert len({t.id for t in seen}) == 7
            async with uow_factory() as uow:
                whole = (await uow.tasks.list(planner.id, TaskQuery(sort=sort))).tasks
            assert seen == whole

    async def test_neighbours_and_positions_of_a_move(
        self, uow_factory: UnitOfWorkFactory, planner: User, other: User
    ) -> None:
        a, b, c = (make_task(planner, minutes=i, title=t) for i, t in enumerate("abc"))
        theirs = make_task(other)
        await store_tasks(uow_factory, a, b, c, theirs)
        async with uow_factory() as uow:
            assert await uow.tasks.lock_order(planner.id, c.id, a.id) == (a.position, b.position)
            assert await uow.tasks.lock_order(planner.id, c.id, None) == (None, a.position)
            assert await uow.tasks.lock_order(planner.id, c.id, theirs.id) is None
            assert await uow.tasks.neighbours(planner.id, c.id, None) == (None, a.position)
            assert await uow.tasks.neighbours(planner.id, a.id, None) == (None, b.position)
            assert await uow.tasks.neighbours(planner.id, c.id, a.id) == (a.position, b.position)
            assert await uow.tasks.neighbours(planner.id, b.id, a.id) == (a.position, c.position)
            assert await uow.tasks.neighbours(planner.id, a.id, c.id) == (c.position, None)
            assert await uow.tasks.neighbours(planner.id, a.id, theirs.id) is None
            position = position_between(a.position, b.position, T0)
            moved = await uow.tasks.set_position(c.id, planner.id, position, T0 + DAY)
            assert await uow.tasks.set_position(c.id, other.id, "x", T0) is None
            assert await uow.tasks.set_position(c.id, planner.id, "x", T0, frozenset({1})) is None
            await uow.commit()
        assert moved is not None
        assert (moved.position, moved.version, moved.updated_at) == (position, 2, T0 + DAY)
        seen = await every_page(uow_factory, planner, TaskQuery(sort=TaskSort.POSITION, limit=1))
        assert [t.title for t in seen] == ["a", "c", "b"]

    async def test_a_move_written_only_into_the_gap_it_read(
        self, uow_factory: UnitOfWorkFactory, planner: User, other: User
    ) -> None:
        a, b, c, d = (make_task(planner, minutes=i, title=t) for i, t in enumerate("abcd"))
        theirs = make_task(other, title="theirs")
        await store_tasks(uow_factory, a, b, c, d, theirs)
        async with uow_factory(atomic=False) as uow:
            read: list[tuple[str | None, str | None]] = []

            async def c_moves_in_first(low: str | None, high: str | None) -> str:
                # c moves into the gap between the read and the write: the gap read is
                # gone, and nothing is written.
                read.append((low, high))
                into = position_between(low, high, T0)
                assert await uow.tasks.set_position(c.id, planner.id, into, T0)
                return into

            with pytest.raises(OrderChangedError):
                await uow.tasks.set_position_in_gap(
                    d.id, planner.id, a.id, c_moves_in_first, T0 + DAY
                )
            assert read == [(a.position, b.position)]
            assert await uow.tasks.get(d.id) == d
            for wrong in (
                {"user_id": other.id},
                {"if_version": frozenset({d.version + 1})},
                {"place": _nowhere},
                {"after": theirs.id},
            ):
                arguments = {"user_id": planner.id, "after": a.id, "place": between(T0)} | wrong
                assert await uow.tasks.set_position_in_gap(d.id, now=T0, **arguments) is None
            assert await uow.tasks.get(d.id) == d
            moved = await uow.tasks.set_position_in_gap(
                d.id, planner.id, None, between(T0), T0 + DAY
            )
            await uow.commit()
        assert moved is not None
        assert moved.version == d.version + 1
        seen = await every_page(uow_factory, planner, TaskQuery(sort=TaskSort.POSITION, limit=2))
        assert [t.title for t in seen] == ["d", "a", "c", "b"]
        async with uow_factory(atomic=False) as uow:

            async def c_deleted_first(low: str | None, high: str | None) -> str:
                assert await uow.tasks.delete(c.id, planner.id)
                return position_between(low, high, T0)

            # The anchor deleted since the read: its gap is gone too.
            with pytest.raises(OrderChangedError):
                await uow.tasks.set_position_in_gap(b.id, planner.id, c.id, c_deleted_first, T0)

    async def test_no_two_tasks_of_a_user_share_a_position(
        self, uow_factory: UnitOfWorkFactory, planner: User, other: User
    ) -> None:
        a, b = make_task(planner, title="a"), make_task(planner, minutes=1, title="b")
        await store_tasks(uow_factory, a, b, make_task(other, position=a.position))
        with pytest.raises(PositionTakenError):
            async with uow_factory() as uow:
                await uow.tasks.set_position(b.id, planner.id, a.position, T0)
        with pytest.raises(PositionTakenError):
            await store_tasks(uow_factory, make_task(planner, position=b.position))

    async def test_respace_passes_positions_through_each_other_and_the_moving_one(
        self, uow_factory: UnitOfWorkFactory, planner: User, other: User
    ) -> None:
        tasks = [make_task(planner, title=f"t{i}", position=f"m{i}i") for i in range(4)]
        theirs = make_task(other, position="m0i")
        await store_tasks(uow_factory, *tasks, theirs)
        t0, t1, t2, t3 = tasks
        # t1 takes t0's position and t2 t1's; the moving t0 takes t2's; t3 stays.
        positions = [(t1, "m0i"), (t2, "m1i"), (theirs, "a")]
        changed, seen = await respace_moving(uow_factory, planner, positions, t0, "m2i")
        assert changed == 2
        assert [t.title for t in seen] == ["t1", "t2", "t0", "t3"]
        assert [(t.version, t.updated_at) for t in seen] == [(2, T0 + DAY)] * 2 + [
            (t0.version, t0.updated_at),
            (t3.version, t3.updated_at),
        ]
        async with uow_factory() as uow:
            assert await uow.tasks.get(theirs.id) == theirs, "another user's task is not respaced"

    async def test_an_order_window_holds_tasks_on_both_sides_of_a_gap(
        self, uow_factory: UnitOfWorkFactory, planner: User, other: User
    ) -> None:
        tasks = [make_task(planner, title=f"t{i}", position=f"m{i}i") for i in range(8)]
        await store_tasks(uow_factory, *tasks, make_task(other, position="m45"))
        ids = [t.id for t in tasks]
        moving = tasks[4]
        async with uow_factory() as uow:
            # The gap before t5 (t4, moving, left out): t2, t3 before it, t5, t6 from it on.
            around = await uow.tasks.order_window(planner.id, moving.id, "m5i", 2)
            assert around == OrderWindow("m1i", (ids[2], ids[3], ids[5], ids[6]), 2, "m7i")
            top = await uow.tasks.order_window(planner.id, moving.id, "m0i", 2)
            assert top == OrderWindow(None, (ids[0], ids[1]), 0, "m2i")
            end = await uow.tasks.order_window(planner.id, moving.id, None, 3)
            assert end == OrderWindow("m3i", (ids[5], ids[6], ids[7]), 3, None)
            whole = await uow.tasks.order_window(planner.id, moving.id, "m3i", 10)
            assert whole == OrderWindow(None, tuple(ids[:4] + ids[5:]), 3, None)
            assert whole.whole

    async def test_labels_are_counted_ignoring_case_as_first_written(
        self, uow_factory: UnitOfWorkFactory, planner: User, planned: None
    ) -> None:
        async with uow_factory() as uow:
            labels = await uow.tasks.labels(planner.id)
        assert labels == [
            LabelCount("home", 1),
            LabelCount("urgent", 2),
            LabelCount("Work", 3),
        ]
