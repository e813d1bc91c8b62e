"""The PostgreSQL task repository (see statements.py for how statements are run; the
listing's statements are in task_listing.py, the manual order's in task_order.py)."""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import datetime
from typing import Any
from uuid import UUID

from asyncpg import (
    Connection,
    ForeignKeyViolationError,
    LockNotAvailableError,
    SerializationError,
    UniqueViolationError,
)
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Delete,
    Integer,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from todo_adapters.sql.filter_totals import FILTER_TOTALS, Kept
from todo_adapters.sql.large_owners import LARGE_OWNERS, WALKED_TASKS
from todo_adapters.sql.order_turns import ORDER_TURNS, TOP_TURNS
from todo_adapters.sql.sessions import session_live
from todo_adapters.sql.statements import Statement, attributes, param, same_order
from todo_adapters.sql.tables import (
    TASK_COLUMNS,
    TASK_OWNER_FOREIGN_KEY,
    TASK_POSITION_UNIQUE,
    task_counters,
    task_deletions,
    tasks,
)
from todo_adapters.sql.task_listing import (
    COUNTERS,
    COUNTS,
    NO_FILTERS,
    Filters,
    page_statement,
    total_statement,
    walk_statement,
)
from todo_adapters.sql.task_order import (
    GAP_UNCHANGED,
    HOLD_TASKS,
    LABELS,
    LOCK_ORDER,
    LOCK_WINDOW,
    NEIGHBOURS,
    ORDER_WINDOW,
    ORDER_WINDOW_AT_END,
    RESPACE,
)
from todo_core.domain import (
    Task,
    Versions,
)
from todo_core.errors import OrderChangedError, PositionTakenError, UnknownUserError
from todo_core.listing import (
    LabelCount,
    LabelCounts,
    TaskCounts,
    TaskKey,
    TaskPage,
    TaskQuery,
)
from todo_core.ordering import OrderWindow
from todo_core.ports import PlaceInGap, TaskRepository
from todo_core.task_rules import (
    TaskPatch,
)

same_order(TASK_COLUMNS, Task)


def _mine(versioned: bool, checked: bool) -> list[ColumnElement[bool]]:
    """The task of this id if this user owns it (and, versioned, in one of `versions`;
    checked, while the caller's login lives)."""
    conditions = [tasks.c.id == param(tasks.c.id), tasks.c.user_id == param(tasks.c.user_id)]
    if versioned:
        conditions.append(tasks.c.version == any_(bindparam("versions", type_=ARRAY(Integer))))
    if checked:
        conditions.append(session_live(param(tasks.c.user_id)))
    return conditions


def _users_tasks(checked: bool) -> list[ColumnElement[bool]]:
    conditions = [tasks.c.user_id == param(tasks.c.user_id)]
    return [*conditions, session_live(param(tasks.c.user_id))] if checked else conditions


_ADD_TASK = {
    False: Statement(insert(tasks).values({c.name: param(c) for c in TASK_COLUMNS})),
    # INSERT … SELECT: the row is written only while the login lives.
    True: Statement(
        insert(tasks).from_select(
            list(TASK_COLUMNS),
            select(*(param(column) for column in TASK_COLUMNS)).where(
                session_live(param(tasks.c.user_id))
            ),
        )
    ),
}
_TASK_BY_ID = Statement(select(*TASK_COLUMNS).where(tasks.c.id == param(tasks.c.id)))
_OWNER_OF = Statement(select(tasks.c.user_id).where(tasks.c.id == param(tasks.c.id)))


def _recorded(deleted: Delete, one: bool) -> Statement:
    """The delete, then what it deleted counted and numbered on the user's counter row,
    then one deletion row per task for the change feed (migration 0013 says why here and
    not in a trigger, and why the numbers stay in commit order). Its count is the deletion
    rows': a task that could not be numbered fails the statement (`seq` is NOT NULL)
    rather than leave the feed without it."""
    gone = deleted.returning(tasks.c.id, tasks.c.is_completed).cte("gone")
    counter, user_id = task_counters.c, param(tasks.c.user_id)
    numbering = update(task_counters).where(counter.user_id == user_id)
    removed: ColumnElement[int]
    done: ColumnElement[int]
    if one:
        # At most one row (the primary key), so the counter joins it as it is.
        removed, done = literal(1, BigInteger), cast(gone.c.is_completed, Integer)
    else:
        sums = select(
            func.count().label("removed"),
            func.count().filter(gone.c.is_completed).label("done"),
        ).subquery("sums")
        removed, done = sums.c.removed, sums.c.done
        numbering = numbering.where(removed > 0)
    numbered = (
        numbering.values(
            total=counter.total - removed,
            completed=counter.completed - done,
            change_seq=counter.change_seq + 1,
        )
        .returning(counter.change_seq)
        .cte("numbered")
    )
    return Statement(
        insert(task_deletions).from_select(
            ["task_id", "user_id", "seq", "deleted_at"],
            select(gone.c.id, user_id, numbered.c.change_seq, func.now()).select_from(
                gone.outerjoin(numbered, true())
            ),
        )
    )


_DELETE_TASK = {
    (versioned, checked): _recorded(delete(tasks).where(*_mine(versioned, checked)), one=True)
    for versioned in (False, True)
    for checked in (False, True)
}


def _in_id_order(checked: bool, state: str) -> ColumnElement[bool]:
    """The user's tasks in this state, every one locked, in id order, before the statement
    writes any. In id order: two bulk writes of one user then cannot deadlock (locked in
    scan order, a "mark all complete" and a "mark all active" meeting rows that a third
    write had just toggled could each hold a row the other waits for). All first: a write
    holds the user's counter row from its first task to its commit (migration 0010), and
    must not wait for a task meanwhile. The ids come as one array, an InitPlan PostgreSQL
    runs to its end before the statement's first row."""
    locked = (
        select(tasks.c.id)
        .where(*_users_tasks(checked), tasks.c.is_completed == param(tasks.c.is_completed, state))
        .order_by(tasks.c.id)
        .with_for_update()
        .subquery("locked")
    )
    ids = select(func.array_agg(locked.c.id)).scalar_subquery()
    return tasks.c.id == any_(cast(ids, ARRAY(tasks.c.id.type)))


# Only the tasks that change: the others keep their version and updated_at. Matched by
# the (user_id, is_completed, ...) index.
_SET_COMPLETED = {
    checked: Statement(
        update(tasks)
        .where(
            _in_id_order(checked, "was"),
            tasks.c.user_id == param(tasks.c.user_id),
            tasks.c.is_completed == param(tasks.c.is_completed, "was"),
        )
        .values(
            is_completed=param(tasks.c.is_completed),
            updated_at=param(tasks.c.updated_at),
            version=tasks.c.version + 1,
        )
    )
    for checked in (False, True)
}
_DELETE_ALL = {
    checked: _recorded(
        delete(tasks).where(
            _in_id_order(checked, "is_completed"),
            tasks.c.user_id == param(tasks.c.user_id),
            tasks.c.is_completed == param(tasks.c.is_completed),
        ),
        one=False,
    )
    for checked in (False, True)
}


@functools.cache
def _update_statement(
    changed: tuple[str, ...], versioned: bool, checked: bool, gap_checked: bool = False
) -> Statement:
    # One statement: the row lock serializes concurrent updates, and each sets only the
    # columns it changes, so updates of different fields never overwrite each other.
    values = {name: param(tasks.c[name]) for name in (*changed, "updated_at")}
    conditions = _mine(versioned, checked)
    if gap_checked:
        conditions.append(GAP_UNCHANGED)
    return Statement(
        update(tasks)
        .where(*conditions)
        .values(**values, version=tasks.c.version + 1)
        .returning(*TASK_COLUMNS)
    )


class SqlTaskRepository(TaskRepository):
    def __init__(self, db: Connection, touched: set[UUID] | None = None) -> None:
        self._db = db
        # Whose tasks this repository wrote (the unit of work notifies them on commit).
        self._touched = touched if touched is not None else set()

    def _wrote(self, user_id: UUID, count: int | bool | Task | None) -> None:
        if count:
            self._touched.add(user_id)

    async def add(self, task: Task, session_id: UUID | None = None) -> bool:
        statement = _ADD_TASK[session_id is not None]
        try:
            added = await statement.rowcount(
                self._db, **attributes(task, TASK_COLUMNS), session_id=session_id
            )
        except ForeignKeyViolationError as exc:
            if exc.constraint_name == TASK_OWNER_FOREIGN_KEY:
                raise UnknownUserError() from exc
            raise
        except UniqueViolationError as exc:
            _raise_if_position_taken(exc)
            raise
        self._wrote(task.user_id, added)
        return added > 0

    async def get(self, task_id: UUID) -> Task | None:
        return await _TASK_BY_ID.first(self._db, Task, id=task_id)

    async def list(self, user_id: UUID, query: TaskQuery) -> TaskPage:
        filters = Filters.of(query.filter)
        counted = (user_id, query.completed, query.filter)
        unfiltered = filters == NO_FILTERS
        async with nullcontext() if unfiltered else FILTER_TOTALS.first(counted) as kept:
            return await self._list(user_id, query, filters, counted, kept)

    async def _list(
        self,
        user_id: UUID,
        query: TaskQuery,
        filters: Filters,
        counted: Hashable,
        kept: Kept | None,
    ) -> TaskPage:
        after, found = query.after, query.filter
        values = {
            "user_id": user_id,
            "is_completed": query.completed,
            "due_before": found.due_before,
            "due_after": found.due_after,
            "priority": found.priority,
            "labels": list(found.labels),
            "q": found.q,
            "after_value": after.value if after else None,
            "after_id": after.id if after else None,
            "limit": query.limit + 1,
            "offset": query.offset,
            "counted_at": kept.seq if kept else None,
        }
        rows = await self._page(user_id, query, filters, kept, values)
        if rows:
            total, completed, matched, seq = rows[0][-COUNTERS:]
            if filters != NO_FILTERS:
                matched = FILTER_TOTALS.settle(counted, kept, seq, matched)
        else:
            total, completed = await COUNTS.fetchrow(self._db, user_id=user_id) or (0, 0)
            matched = None
            if filters != NO_FILTERS:
                matched = await total_statement(query.completed, filters).value(self._db, **values)
        LARGE_OWNERS.saw(user_id, total or 0)
        counts = TaskCounts.of(total or 0, completed or 0)
        tasks_found = [Task(*row[:-COUNTERS]) for row in rows]
        more = len(tasks_found) > query.limit
        next_key = TaskKey.of(tasks_found[query.limit - 1], query.sort) if more else None
        return TaskPage(
            tasks_found[: query.limit],
            counts.matching(query.completed) if matched is None else matched,
            query.limit,
            query.offset,
            next_key,
            counts,
        )

    async def _page(
        self,
        user_id: UUID,
        query: TaskQuery,
        filters: Filters,
        kept: Kept | None,
        values: dict[str, Any],
    ) -> Sequence[Any]:
        """The page's rows and counters. A large user's label or search pages are planned
        for them (large_owners.py: a user this worker has not listed yet is first looked
        up), walked where the filter's last count says the page
        lies near (task_listing.walk_statement). With label and search conditions alone,
        the walk's one plan for any user walks the sort index (test_query_plans.py, on
        tables of many small users). With due dates or priority too, a plan for an
        average user may rather sort all the tasks those select: planned for this one."""
        after = query.after is not None
        if filters.owner_keyed and not LARGE_OWNERS.knows(user_id):
            total, _ = await COUNTS.fetchrow(self._db, user_id=user_id) or (0, 0)
            LARGE_OWNERS.saw(user_id, total)
        large = filters.owner_keyed and user_id in LARGE_OWNERS
        wanted = query.offset + query.limit + 1
        if large and kept and LARGE_OWNERS.walks(user_id, kept.total, wanted):
            walk = walk_statement(query.sort, query.completed, after, filters)
            fetch = walk.fetch if filters.keyed_only else walk.fetch_planned
            rows = await fetch(self._db, **values, walk=2 * WALKED_TASKS)
            if len(rows) == wanted - query.offset:  # Full: the walk did not stop short.
                return rows
        statement = page_statement(query.sort, query.completed, after, filters)
        return await (statement.fetch_planned if large else statement.fetch)(self._db, **values)

    async def update(
        self,
        task_id: UUID,
        user_id: UUID,
        patch: TaskPatch,
        now: datetime,
        if_version: Versions = None,
        session_id: UUID | None = None,
    ) -> Task | None:
        return await self._write(patch.changes(), task_id, user_id, now, if_version, session_id)

    async def _write(
        self,
        changes: dict[str, object],
        task_id: UUID,
        user_id: UUID,
        now: datetime,
        if_version: Versions,
        session_id: UUID | None = None,
        gap_checked: Mapping[str, object] | None = None,
    ) -> Task | None:
        """One UPDATE … RETURNING of the changed columns, version +1 (update and move;
        `gap_checked`, the move's gap, checked by the UPDATE: task_order.GAP_UNCHANGED)."""
        statement = _update_statement(
            tuple(changes), if_version is not None, session_id is not None, bool(gap_checked)
        )
        task = await statement.first(
            self._db,
            Task,
            **changes,
            **(gap_checked or {}),
            updated_at=now,
            id=task_id,
            user_id=user_id,
            versions=list(if_version or ()),
            session_id=session_id,
        )
        self._wrote(user_id, task)
        return task

    async def lock_order(
        self, user_id: UUID, moving: UUID, after: UUID | None
    ) -> tuple[str | None, str | None] | None:
        row = await LOCK_ORDER[after is not None].fetchrow(
            self._db, user_id=user_id, moving=moving, after=after
        )
        current, low, high = row if row is not None else (False, None, None)
        if not current:
            # Not the user's task, or a write of theirs committed while the lock waited.
            return await self.neighbours(user_id, moving, after)
        return _gap(low, high, after)

    async def neighbours(
        self, user_id: UUID, moving: UUID, after: UUID | None
    ) -> tuple[str | None, str | None] | None:
        row = await NEIGHBOURS[after is not None].fetchrow(
            self._db, user_id=user_id, moving=moving, after=after
        )
        assert row is not None  # a SELECT without FROM: one row
        low, high = row
        return _gap(low, high, after)

    async def set_position(
        self,
        task_id: UUID,
        user_id: UUID,
        position: str,
        now: datetime,
        if_version: Versions = None,
        session_id: UUID | None = None,
    ) -> Task | None:
        return await self._place(task_id, user_id, position, now, if_version, session_id)

    async def _place(
        self,
        task_id: UUID,
        user_id: UUID,
        position: str,
        now: datetime,
        if_version: Versions,
        session_id: UUID | None,
        gap_checked: Mapping[str, object] | None = None,
    ) -> Task | None:
        changes: dict[str, object] = {"position": position}
        try:
            return await self._write(
                changes, task_id, user_id, now, if_version, session_id, gap_checked
            )
        except UniqueViolationError as exc:
            _raise_if_position_taken(exc)
            raise

    async def set_position_in_gap(
        self,
        task_id: UUID,
        user_id: UUID,
        after: UUID | None,
        place: PlaceInGap,
        now: datetime,
        if_version: Versions = None,
        session_id: UUID | None = None,
    ) -> Task | None:
        async def into_gap(write_turn: AbstractAsyncContextManager[object]) -> Task | None:
            gap = await self.neighbours(user_id, task_id, after)
            position = None if gap is None else await place(*gap)
            if gap is None or position is None:
                return None
            checked = {"after": after, "low": gap[0], "high": gap[1]}
            try:
                async with write_turn:
                    return await self._place(
                        task_id, user_id, position, now, if_version, session_id, checked
                    )
            except SerializationError as exc:
                raise OrderChangedError() from exc

        turn = ORDER_TURNS.turn(user_id)
        if after is not None:
            return await into_gap(turn)
        # Every move to the top takes the gap the next one reads. Read in the turn, one
        # move to the top at a time, and again should another worker's move have taken
        # it meanwhile: at one user of 100,000 tasks and 100 connections, a gap read
        # before the turn was mostly gone by then, and the move fell back to holding the
        # order (p95 296 ms against 173). Not again in a transaction (behind a
        # transaction pooler): the failed UPDATE has aborted it.
        async with turn, TOP_TURNS.turn(user_id):
            try:
                return await into_gap(nullcontext())
            except OrderChangedError:
                if self._db.is_in_transaction():
                    raise
                return await into_gap(nullcontext())

    async def hold_window(
        self, user_id: UUID, moving: UUID, gap: str | None, each_side: int
    ) -> None:
        window = await self._read_window(user_id, moving, gap, each_side)
        await HOLD_TASKS.fetch(self._db, user_id=user_id, ids=[*window.tasks, moving])

    async def order_window(
        self, user_id: UUID, moving: UUID, gap: str | None, each_side: int
    ) -> OrderWindow:
        window = await self._read_window(user_id, moving, gap, each_side)
        try:
            await LOCK_WINDOW.fetch(self._db, user_id=user_id, ids=list(window.tasks))
        except LockNotAvailableError as exc:
            raise PositionTakenError() from exc
        return window

    async def _read_window(
        self, user_id: UUID, moving: UUID, gap: str | None, each_side: int
    ) -> OrderWindow:
        statement = ORDER_WINDOW if gap is not None else ORDER_WINDOW_AT_END
        rows = await statement.fetch(
            self._db, user_id=user_id, moving=moving, gap=gap, each_side=each_side
        )
        before = [(row[1], row[2]) for row in rows if row[0]][::-1]
        after = [(row[1], row[2]) for row in rows if not row[0]]
        low = before.pop(0)[1] if len(before) > each_side else None
        high = after.pop()[1] if len(after) > each_side else None
        window = tuple(task_id for task_id, _ in before + after)
        return OrderWindow(low, window, len(before), high)

    async def respace(
        self,
        user_id: UUID,
        positions: Mapping[UUID, str],
        now: datetime,
        moving: UUID,
        position: str,
    ) -> int:
        rows = await RESPACE.fetch(
            self._db,
            user_id=user_id,
            ids=[*positions, moving],
            positions=[*positions.values(), position],
            updated_at=now,
            moving=moving,
        )
        self._wrote(user_id, len(rows))
        return sum(1 for (other,) in rows if other)

    async def labels(self, user_id: UUID) -> LabelCounts:
        rows = await LABELS.fetch(self._db, user_id=user_id)
        return [LabelCount(name, count) for name, count in rows]

    async def delete(
        self,
        task_id: UUID,
        user_id: UUID,
        if_version: Versions = None,
        session_id: UUID | None = None,
    ) -> bool:
        statement = _DELETE_TASK[if_version is not None, session_id is not None]
        deleted = await statement.rowcount(
            self._db,
            id=task_id,
            user_id=user_id,
            versions=list(if_version or ()),
            session_id=session_id,
        )
        self._wrote(user_id, deleted)
        return deleted > 0

    async def owner_of(self, task_id: UUID) -> UUID | None:
        owner: UUID | None = await _OWNER_OF.value(self._db, id=task_id)
        return owner

    async def set_completed(
        self, user_id: UUID, is_completed: bool, now: datetime, session_id: UUID | None = None
    ) -> int:
        changed = await _SET_COMPLETED[session_id is not None].rowcount(
            self._db,
            user_id=user_id,
            was=not is_completed,
            is_completed=is_completed,
            updated_at=now,
            session_id=session_id,
        )
        self._wrote(user_id, changed)
        return changed

    async def delete_all(
        self, user_id: UUID, completed: bool, session_id: UUID | None = None
    ) -> int:
        deleted = await _DELETE_ALL[session_id is not None].rowcount(
            self._db, user_id=user_id, is_completed=completed, session_id=session_id
        )
        self._wrote(user_id, deleted)
        return deleted


def _gap(
    low: str | None, high: str | None, after: UUID | None
) -> tuple[str | None, str | None] | None:
    """The neighbours' positions, or None when the anchor `after` is not the user's."""
    return None if after is not None and low is None else (low, high)


def _raise_if_position_taken(exc: UniqueViolationError) -> None:
    if exc.constraint_name == TASK_POSITION_UNIQUE:
        raise PositionTakenError() from exc
