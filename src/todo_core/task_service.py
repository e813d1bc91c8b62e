"""The task use cases. Each public method is one use case in one unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn
from uuid import UUID

from todo_core.domain import (
    Task,
    Versions,
)
from todo_core.errors import (
    FieldError,
    IdempotencyKeyReusedError,
    PositionTakenError,
    SessionEndedError,
    TaskAccessDeniedError,
    TaskNotFoundError,
    TaskVersionMismatchError,
    UnknownUserError,
    ValidationError,
)
from todo_core.idempotency import Reply, idempotency_key
from todo_core.listing import (
    LabelCounts,
    TaskPage,
    TaskQuery,
    check_page,
)
from todo_core.ordering import (
    POSITION_MAX_LENGTH,
    RESPACE_EACH_SIDE,
    RESPACED_MAX_LENGTH,
    end_position,
    position_between,
    spread_between,
)
from todo_core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from todo_core.purge import PURGE_BATCH, purge_in_batches
from todo_core.task_rules import (
    NewTask,
    TaskPatch,
    check_new_task,
    check_patch,
)

_MOVE_ATTEMPTS = 3


class _HoldWindowFirst(Exception):
    """Another write held a task of the window a worn gap needs respaced: the move is tried
    again holding that window's tasks before the order, waiting for them as writes do."""

    def __init__(self, each_side: int) -> None:
        super().__init__(each_side)
        self.each_side = each_side


@dataclass(frozen=True, slots=True)
class Created:
    """The reply to a create with an idempotency key, and the task it created; no task
    when the reply is the first request's, sent again, and nothing was written."""

    reply: Reply
    task: Task | None

    @property
    def replayed(self) -> bool:
        return self.task is None


class TaskService:
    """Task use cases. A user only ever sees and changes their own tasks: another user's
    task is a TaskAccessDeniedError, a missing one a TaskNotFoundError. A write names the
    caller's login (`session`, the access token's): once that login has ended, the write
    is a SessionEndedError, checked by the write's own statement. Reads trust the token
    until it expires."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, idempotency_ttl: timedelta = timedelta(days=1)
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._idempotency_ttl = idempotency_ttl

    def _new_task(self, user_id: UUID, draft: NewTask) -> Task:
        new = check_new_task(draft)
        now = self._clock.now()
        task_id = uuid.uuid4()
        return Task(
            task_id,
            user_id,
            new.title,
            new.description,
            new.is_completed,
            now,
            now,
            1,
            new.due_at,
            new.priority,
            new.labels,
            end_position(now, task_id),  # a new task goes to the end of the order
        )

    async def create(
        self,
        user_id: UUID,
        title: str,
        description: str | None = None,
        is_completed: bool = False,
        session: UUID | None = None,
    ) -> Task:
        return await self.add(user_id, NewTask(title, description, is_completed), session)

    async def add(self, user_id: UUID, draft: NewTask, session: UUID | None = None) -> Task:
        """Create the task the draft describes, at the end of the user's order."""
        task = self._new_task(user_id, draft)
        async with self._uow(atomic=False) as uow:
            if not await uow.tasks.add(task, session):
                await _refuse_write(uow, user_id)
            await uow.commit()
        return task

    async def create_once(
        self,
        user_id: UUID,
        draft: NewTask,
        key: str,
        render: Callable[[Task], Reply],
        session: UUID | None = None,
    ) -> Created:
        """Create the task unless this user already sent this key: then the first request's
        reply, with nothing written (IdempotencyKeyReusedError if its body differed;
        IdempotencyKeyInUseError while it is still being processed). The reply is stored in
        the same transaction as the task: both are kept, or neither."""
        request = idempotency_key(key, **draft.fingerprint())
        task = self._new_task(user_id, draft)
        reply = render(task)
        now = self._clock.now()
        async with self._uow() as uow:
            stored = await uow.idempotency.claim(
                user_id, request, reply, now, now + self._idempotency_ttl
            )
            if stored is None:
                if not await uow.tasks.add(task, session):
                    await _refuse_write(uow, user_id)  # the claim is rolled back too
                await uow.commit()
                return Created(reply, task)
        if stored.fingerprint != request.fingerprint:
            raise IdempotencyKeyReusedError()
        return Created(stored.reply, None)

    async def purge_expired_idempotency_keys(self) -> int:
        return await purge_in_batches(
            self._uow, lambda uow: uow.idempotency.purge_expired(self._clock.now(), PURGE_BATCH)
        )

    async def set_all_completed(
        self,
        user_id: UUID,
        is_completed: bool,
        only: bool | None = None,
        session: UUID | None = None,
    ) -> int:
        """Mark every task of the user complete (or active), or only those whose state is
        `only`; how many changed. Tasks already in that state keep their version."""
        if only == is_completed:
            return 0  # the filter lets through only tasks that would not change
        async with self._uow(atomic=False) as uow:
            changed = await uow.tasks.set_completed(
                user_id, is_completed, self._clock.now(), session
            )
            if not changed:
                await _check_session(uow, session)
            await uow.commit()
        return changed

    async def delete_all(self, user_id: UUID, completed: bool, session: UUID | None = None) -> int:
        """Delete every completed (or every active) task of the user; how many."""
        async with self._uow(atomic=False) as uow:
            deleted = await uow.tasks.delete_all(user_id, completed, session)
            if not deleted:
                await _check_session(uow, session)
            await uow.commit()
        return deleted

    async def list(self, user_id: UUID, query: TaskQuery) -> TaskPage:
        check_page(query)
        async with self._uow(atomic=False) as uow:
            return await uow.tasks.list(user_id, query)

    async def get(self, user_id: UUID, task_id: UUID, if_version: Versions = None) -> Task:
        async with self._uow(atomic=False) as uow:
            task = await uow.tasks.get(task_id)
        if task is None:
            raise TaskNotFoundError(task_id)
        if not task.is_owned_by(user_id):
            raise TaskAccessDeniedError(task_id, user_id)
        if if_version is not None and task.version not in if_version:
            raise TaskVersionMismatchError(task_id)
        return task

    async def update(
        self,
        user_id: UUID,
        task_id: UUID,
        patch: TaskPatch,
        if_version: Versions = None,
        session: UUID | None = None,
    ) -> Task:
        """`if_version`: apply only while the task's version is one of these (else
        TaskVersionMismatchError), checked by the same statement that writes."""
        patch = check_patch(patch)
        now = self._clock.now()
        async with self._uow(atomic=False) as uow:
            task = await uow.tasks.update(task_id, user_id, patch, now, if_version, session)
            if task is None:
                await _raise_why_unmatched(uow, task_id, user_id, session)
            await uow.commit()
        return task

    async def move(
        self,
        user_id: UUID,
        task_id: UUID,
        after: UUID | None,
        if_version: Versions = None,
        session: UUID | None = None,
    ) -> Task:
        """Put the task right after `after` (first when None) in the user's order, writing
        only this task: a position between its new neighbours'. The user's order is held
        from reading the neighbours to the commit, so concurrent moves never compute the
        same position; should a new task take it meanwhile, the move is tried again.

        First without holding the order while the position is computed: the neighbours
        read, the write then checks, holding the order, that they are still those
        (set_position_in_gap), all in one statement. When another write of the order came
        in between, or anything else is amiss, the move holds the order from its read."""
        if after == task_id:
            raise ValidationError([FieldError("after", "must be another task than the one moved")])
        task = await self._move_in_read_gap(user_id, task_id, after, if_version, session)
        if task is not None:
            return task
        hold = 0  # the tasks on each side of the gap to hold before the order
        for _attempt in range(_MOVE_ATTEMPTS - 1):
            try:
                return await self._move_once(user_id, task_id, after, if_version, session, hold)
            except PositionTakenError:
                continue
            except _HoldWindowFirst as busy:
                hold = busy.each_side
        try:
            return await self._move_once(user_id, task_id, after, if_version, session, hold)
        except _HoldWindowFirst as busy:
            raise PositionTakenError() from busy

    async def _move_in_read_gap(
        self,
        user_id: UUID,
        task_id: UUID,
        after: UUID | None,
        if_version: Versions,
        session: UUID | None,
    ) -> Task | None:
        """The move, if the gap read is still the gap when written, and short; None
        otherwise (and for every error, which the move holding the order then names)."""
        now = self._clock.now()

        async def place(low: str | None, high: str | None) -> str | None:
            position = position_between(low, high, now)
            return position if len(position) <= POSITION_MAX_LENGTH else None

        async with self._uow(atomic=False) as uow:
            try:
                task = await uow.tasks.set_position_in_gap(
                    task_id, user_id, after, place, now, if_version, session
                )
            except PositionTakenError:  # OrderChangedError too
                return None
            if task is not None:
                await uow.commit()
            return task

    async def _move_once(
        self,
        user_id: UUID,
        task_id: UUID,
        after: UUID | None,
        if_version: Versions,
        session: UUID | None,
        hold: int = 0,
    ) -> Task:
        async with self._uow() as uow:
            # The ended-login check is the update's, as for the other writes: whatever
            # the move wrote before it is rolled back with it.
            if hold:
                gap = await uow.tasks.neighbours(user_id, task_id, after)
                if gap is not None:
                    await uow.tasks.hold_window(user_id, task_id, gap[1], hold)
            bounds = await uow.tasks.lock_order(user_id, task_id, after)
            if bounds is None:
                assert after is not None
                await _raise_why_unmatched(uow, after, user_id, session)
            now = self._clock.now()
            position = position_between(*bounds, now)
            if len(position) > POSITION_MAX_LENGTH:  # rare: the gap is worn
                each_side = hold or RESPACE_EACH_SIDE
                position = await _respace(uow, user_id, task_id, bounds[1], now, each_side)
            task = await uow.tasks.set_position(
                task_id, user_id, position, now, if_version, session
            )
            if task is None:
                await _raise_why_unmatched(uow, task_id, user_id, session)
            await uow.commit()
        return task

    async def labels(self, user_id: UUID) -> LabelCounts:
        async with self._uow(atomic=False) as uow:
            return await uow.tasks.labels(user_id)

    async def delete(
        self,
        user_id: UUID,
        task_id: UUID,
        if_version: Versions = None,
        session: UUID | None = None,
    ) -> None:
        async with self._uow(atomic=False) as uow:
            if not await uow.tasks.delete(task_id, user_id, if_version, session):
                await _raise_why_unmatched(uow, task_id, user_id, session)
            await uow.commit()


async def _respace(
    uow: UnitOfWork, user_id: UUID, moving: UUID, gap: str | None, now: datetime, each_side: int
) -> str:
    """Give the tasks on both sides of the worn gap before position `gap` (None: the end)
    short positions spread evenly between their outer neighbours', and `moving` the one in
    the gap, which it returns. As few tasks as keep the new positions short: a window
    around the gap, widened while the order is worn up to its edges; the whole order only
    when it is worn throughout (a user's 100,000 tasks are one long statement). A window
    another write holds a task of (a move waiting for the order holds its own): tried
    again holding the window first (_HoldWindowFirst)."""
    while True:
        try:
            window = await uow.tasks.order_window(user_id, moving, gap, each_side)
        except PositionTakenError as exc:
            raise _HoldWindowFirst(each_side) from exc
        spread = spread_between(window.low, window.high, len(window.tasks) + 1, now)
        if window.whole or max(map(len, spread)) <= RESPACED_MAX_LENGTH:
            break
        each_side *= 4
    position = spread.pop(window.before)
    await uow.tasks.respace(
        user_id, dict(zip(window.tasks, spread, strict=True)), now, moving, position
    )
    return position


async def _check_session(uow: UnitOfWork, session: UUID | None) -> None:
    """Called only after a write with a session check changed nothing."""
    if session is not None and not await uow.sessions.is_live(session):
        raise SessionEndedError()


async def _refuse_write(uow: UnitOfWork, user_id: UUID) -> NoReturn:
    """Called only after a create with a session check stored nothing."""
    if await uow.users.get(user_id) is None:
        raise UnknownUserError()
    raise SessionEndedError()


async def _raise_why_unmatched(
    uow: UnitOfWork, task_id: UUID, user_id: UUID, session: UUID | None
) -> NoReturn:
    """Called only after a write matched nothing, so the common path costs one statement."""
    await _check_session(uow, session)
    owner = await uow.tasks.owner_of(task_id)
    if owner is None:
        raise TaskNotFoundError(task_id)
    if owner != user_id:
        raise TaskAccessDeniedError(task_id, user_id)
    raise TaskVersionMismatchError(task_id)
