"""The repository contracts against the SQL adapter on a real, freshly emptied PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import pytest

from tests.contracts.builders import T0, make_task, store_tasks, store_user
from tests.contracts.change_feed_repository import ChangeFeedRepositoryContract
from tests.contracts.event_ticket_repository import EventTicketRepositoryContract
from tests.contracts.idempotency_repository import IdempotencyRepositoryContract
from tests.contracts.login_failure_repository import LoginFailureRepositoryContract
from tests.contracts.password_reset_repository import PasswordResetRepositoryContract
from tests.contracts.refresh_token_repository import RefreshTokenRepositoryContract
from tests.contracts.session_repository import SessionRepositoryContract
from tests.contracts.task_repository import TaskRepositoryContract
from tests.contracts.user_repository import UserRepositoryContract
from todo_adapters.sql.order_turns import ORDER_TURNS, TOP_TURNS
from todo_adapters.sql.uow import SqlUnitOfWorkFactory
from todo_core.domain import Task, User
from todo_core.errors import OrderChangedError, PositionTakenError
from todo_core.ordering import position_between
from todo_core.ports import PlaceInGap

T = TypeVar("T")


def _noting(read: list[tuple[str | None, str | None]]) -> PlaceInGap:
    """The core's rule for a gap, noting each gap it is given."""

    async def place(low: str | None, high: str | None) -> str:
        read.append((low, high))
        return position_between(low, high, T0)

    return place


@pytest.fixture
def uow_factory(sql_uow: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    return sql_uow


class TestSqlUserRepository(UserRepositoryContract):
    pass


async def _waiting(call: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """`call`, started and still waiting (for a lock another unit of work holds) 0.3 s on."""
    waiting = asyncio.create_task(call)
    await asyncio.sleep(0.3)
    assert not waiting.done(), "it took a lock another unit of work holds"
    return waiting


class TestSqlTaskRepository(TaskRepositoryContract):
    @pytest.fixture
    async def ordered(self, uow_factory: SqlUnitOfWorkFactory) -> tuple[User, list[Task]]:
        """A user's three tasks at positions m0i, m1i, m2i."""
        user = await store_user(uow_factory)
        tasks = [make_task(user, title=f"t{i}", position=f"m{i}i") for i in range(3)]
        await store_tasks(uow_factory, *tasks)
        return user, tasks

    async def test_an_order_window_another_holds_is_refused_at_once(
        self, uow_factory: SqlUnitOfWorkFactory, ordered: tuple[User, list[Task]]
    ) -> None:
        # A move respacing a worn gap holds the order; waiting then for a task another
        # write holds (a move waiting for the order, say) would deadlock.
        user, tasks = ordered
        async with uow_factory() as holder, uow_factory() as mover:
            await holder.tasks.lock_order(user.id, tasks[1].id, None)
            with pytest.raises(PositionTakenError):
                await asyncio.wait_for(
                    mover.tasks.order_window(user.id, tasks[0].id, "m2i", 2), timeout=5
                )

    async def test_a_move_waiting_for_its_task_holds_no_order(
        self, uow_factory: SqlUnitOfWorkFactory, ordered: tuple[User, list[Task]]
    ) -> None:
        # Every write of a task locks the task, then the user's counter row: a move that
        # held the order while waiting for its task would deadlock with such a write.
        user, tasks = ordered
        async with uow_factory() as mover:
            async with uow_factory() as holder:
                await holder.tasks.hold_window(user.id, tasks[0].id, None, 0)
                move = await _waiting(mover.tasks.lock_order(user.id, tasks[0].id, None))
                async with uow_factory() as other:
                    await asyncio.wait_for(other.tasks.lock_order(user.id, tasks[1].id, None), 5)
            await asyncio.wait_for(move, timeout=5)  # the holder has ended: held now

    async def test_a_move_that_waited_for_the_order_reads_what_its_holder_wrote(
        self, uow_factory: SqlUnitOfWorkFactory, ordered: tuple[User, list[Task]]
    ) -> None:
        # The waiting statement's snapshot predates the holder's commit: the neighbours it
        # read with the lock are stale, and must be read again.
        user, tasks = ordered
        async with uow_factory() as mover:
            async with uow_factory() as holder:
                assert await holder.tasks.lock_order(user.id, tasks[2].id, None) == (None, "m0i")
                move = await _waiting(mover.tasks.lock_order(user.id, tasks[1].id, None))
                assert await holder.tasks.set_position(tasks[2].id, user.id, "a", T0)
                await holder.commit()
            assert await asyncio.wait_for(move, timeout=5) == (None, "a")

    @pytest.mark.parametrize("gap_moved", [True, False], ids=["gap moved", "gap kept"])
    async def test_a_move_into_a_read_gap_that_waited_for_the_order_reads_it_again(
        self, uow_factory: SqlUnitOfWorkFactory, ordered: tuple[User, list[Task]], gap_moved: bool
    ) -> None:
        # The UPDATE's own snapshot predates the holder's commit; the gap is read again
        # after the locks (migration 0015), so the holder's move is seen, and a write
        # elsewhere in the order lets the move through.
        user, (first, second, third) = ordered
        read = []

        async def place(low: str | None, high: str | None) -> str:
            read.append((low, high))
            return "m0r"

        async with uow_factory(atomic=False) as mover:
            async with uow_factory() as holder:
                await holder.tasks.lock_order(user.id, second.id, None)
                move = await _waiting(
                    mover.tasks.set_position_in_gap(third.id, user.id, first.id, place, T0)
                )
                assert read == [("m0i", "m1i")]
                elsewhere = "a" if gap_moved else second.position
                assert await holder.tasks.set_position(second.id, user.id, elsewhere, T0)
                await holder.commit()
            if gap_moved:
                with pytest.raises(OrderChangedError):
                    await asyncio.wait_for(move, timeout=5)
                assert await mover.tasks.get(third.id) == third
            else:
                moved = await asyncio.wait_for(move, timeout=5)
                assert moved is not None
                assert moved.position == "m0r"

    @pytest.mark.parametrize("to_top", [True, False], ids=["to the top", "after a task"])
    async def test_a_move_to_the_top_reads_its_gap_in_its_turn(
        self, uow_factory: SqlUnitOfWorkFactory, ordered: tuple[User, list[Task]], to_top: bool
    ) -> None:
        # A move after a task reads first and waits for its turn to write only.
        user, (first, _, third) = ordered
        read: list[tuple[str | None, str | None]] = []
        place = _noting(read)
        after = None if to_top else first.id
        async with uow_factory(atomic=False) as mover, AsyncExitStack() as every_place:
            for _ in range(ORDER_TURNS.places):
                await every_place.enter_async_context(ORDER_TURNS.turn(user.id))
            move = asyncio.create_task(
                mover.tasks.set_position_in_gap(third.id, user.id, after, place, T0)
            )
            await asyncio.sleep(0.3)
            assert not move.done()
            assert read == ([] if to_top else [("m0i", "m1i")])
            await every_place.aclose()
            assert await asyncio.wait_for(move, timeout=5) is not None
        assert len(read) == 1

    @pytest.mark.parametrize("held", ["top", "place"])
    async def test_a_move_to_the_top_waits_for_another_move_to_the_top_only(
        self, uow_factory: SqlUnitOfWorkFactory, ordered: tuple[User, list[Task]], held: str
    ) -> None:
        # Two moves to the top in flight would read the same gap; a move after a task in
        # the other place rarely touches it.
        user, (_, _, third) = ordered
        read: list[tuple[str | None, str | None]] = []
        place = _noting(read)
        turns = TOP_TURNS if held == "top" else ORDER_TURNS
        async with uow_factory(atomic=False) as mover:
            async with turns.turn(user.id):
                move = asyncio.create_task(
                    mover.tasks.set_position_in_gap(third.id, user.id, None, place, T0)
                )
                await asyncio.sleep(0.3)
                assert move.done() == (held == "place")
                assert read == ([] if held == "top" else [(None, "m0i")])
            assert await asyncio.wait_for(move, timeout=5) is not None
        assert len(read) == 1

    @pytest.mark.parametrize("atomic", [False, True], ids=["on its own", "in a transaction"])
    @pytest.mark.parametrize("taken", [1, 2], ids=["taken once", "taken twice"])
    async def test_a_move_to_the_top_reads_its_gap_once_more_if_another_took_it(
        self,
        uow_factory: SqlUnitOfWorkFactory,
        ordered: tuple[User, list[Task]],
        taken: int,
        atomic: bool,
    ) -> None:
        # Another worker's move to the top between the read and the write (as under load,
        # when the other workers' moves come in between): read once more, not twice; and
        # not at all in a transaction, which the failed write has aborted (behind a
        # transaction pooler, the service makes every unit of work one).
        user, (first, second, third) = ordered
        read: list[tuple[str | None, str | None]] = []
        tops = iter([(second, "l"), (first, "k")])

        async def another_moves_first(low: str | None, high: str | None) -> str:
            read.append((low, high))
            if len(read) <= taken:
                other, top = next(tops)
                async with uow_factory() as elsewhere:
                    assert await elsewhere.tasks.set_position(other.id, user.id, top, T0)
                    await elsewhere.commit()
            return position_between(low, high, T0)

        once_more = not atomic
        async with uow_factory(atomic=atomic) as mover:
            if taken == 1 and once_more:
                moved = await mover.tasks.set_position_in_gap(
                    third.id, user.id, None, another_moves_first, T0
                )
                assert moved is not None
                assert moved.position == "k"
            else:
                with pytest.raises(OrderChangedError):
                    await mover.tasks.set_position_in_gap(
                        third.id, user.id, None, another_moves_first, T0
                    )
        async with uow_factory() as uow:
            assert (await uow.tasks.get(third.id) == third) != (taken == 1 and once_more)
        assert read == [(None, "m0i"), (None, "l")][: 2 if once_more else 1]

    async def test_holding_a_window_before_the_order_waits_for_its_tasks(
        self, uow_factory: SqlUnitOfWorkFactory, ordered: tuple[User, list[Task]]
    ) -> None:
        user, tasks = ordered
        async with uow_factory() as mover:
            async with uow_factory() as holder:
                await holder.tasks.lock_order(user.id, tasks[1].id, None)
                hold = await _waiting(mover.tasks.hold_window(user.id, tasks[0].id, "m2i", 2))
            await asyncio.wait_for(hold, timeout=5)  # the holder has ended: held now


class TestSqlIdempotencyRepository(IdempotencyRepositoryContract):
    pass


class TestSqlRefreshTokenRepository(RefreshTokenRepositoryContract):
    pass


class TestSqlSessionRepository(SessionRepositoryContract):
    pass


class TestSqlPasswordResetRepository(PasswordResetRepositoryContract):
    pass


class TestSqlLoginFailureRepository(LoginFailureRepositoryContract):
    pass


class TestSqlEventTicketRepository(EventTicketRepositoryContract):
    pass


class TestSqlChangeFeedRepository(ChangeFeedRepositoryContract):
    pass
