"""PostgreSQL repositories: statements built once (statements.py) and sent on the unit of
work's asyncpg connection; rows become core dataclasses positionally. They never commit;
constraint violations become domain errors."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from asyncpg import Connection, ForeignKeyViolationError, UniqueViolationError
from sqlalchemy import (
    ColumnElement,
    Integer,
    Text,
    any_,
    bindparam,
    delete,
    func,
    insert,
    null,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from todo_adapters.sql.statements import Statement, attributes, param, same_order
from todo_adapters.sql.tables import (
    DUE_ASC,
    DUE_DESC,
    EMAIL_UNIQUE_CONSTRAINT,
    LABEL_KEYS,
    SEARCH_KEYS,
    SEARCH_QUERY,
    TASK_LABEL_KEYS,
    TASK_OWNER_FOREIGN_KEY,
    TASK_POSITION_UNIQUE,
    task_counters,
    tasks,
    users,
)
from todo_core.domain import (
    Task,
    TaskPatch,
    User,
    Versions,
)
from todo_core.errors import EmailTakenError, PositionTakenError, UnknownUserError
from todo_core.listing import (
    LabelCount,
    LabelCounts,
    TaskCounts,
    TaskFilter,
    TaskKey,
    TaskPage,
    TaskQuery,
    TaskSort,
)
from todo_core.ordering import RENUMBER_WIDTH
from todo_core.ports import TaskRepository, UserRepository

same_order(users, User)
same_order(tasks, Task)

_ADD_USER = Statement(insert(users))
_USER_BY_EMAIL = Statement(select(users).where(users.c.email == param(users.c.email)))
_USER_BY_ID = Statement(select(users).where(users.c.id == param(users.c.id)))
_SET_PASSWORD_HASH = Statement(
    update(users)
    .where(users.c.id == param(users.c.id))
    .values(password_hash=param(users.c.password_hash))
)
_REPLACE_PASSWORD_HASH = Statement(
    update(users)
    .where(
        users.c.id == param(users.c.id),
        users.c.password_hash == param(users.c.password_hash, "replacing"),
    )
    .values(password_hash=param(users.c.password_hash))
)
# Tasks, counters, sessions, tokens and stored replies follow by ON DELETE CASCADE.
_DELETE_USER = Statement(delete(users).where(users.c.id == param(users.c.id)))


class SqlUserRepository(UserRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add(self, user: User) -> None:
        try:
            await _ADD_USER.rowcount(self._db, **attributes(user, users))
        except UniqueViolationError as exc:
            if exc.constraint_name == EMAIL_UNIQUE_CONSTRAINT:
                raise EmailTakenError() from exc
            raise

    async def get_by_email(self, email: str) -> User | None:
        return await _USER_BY_EMAIL.first(self._db, User, email=email)

    async def get(self, user_id: UUID) -> User | None:
        return await _USER_BY_ID.first(self._db, User, id=user_id)

    async def update_password_hash(
        self, user_id: UUID, password_hash: str, replacing: str | None = None
    ) -> bool:
        if replacing is None:
            changed = await _SET_PASSWORD_HASH.rowcount(
                self._db, id=user_id, password_hash=password_hash
            )
        else:
            changed = await _REPLACE_PASSWORD_HASH.rowcount(
                self._db, id=user_id, password_hash=password_hash, replacing=replacing
            )
        return changed > 0

    async def delete(self, user_id: UUID) -> bool:
        return await _DELETE_USER.rowcount(self._db, id=user_id) > 0


def _mine(versioned: bool) -> list[ColumnElement[bool]]:
    """The task of this id if this user owns it (and, versioned, in one of `versions`)."""
    conditions = [tasks.c.id == param(tasks.c.id), tasks.c.user_id == param(tasks.c.user_id)]
    if versioned:
        conditions.append(tasks.c.version == any_(bindparam("versions", type_=ARRAY(Integer))))
    return conditions


_ADD_TASK = Statement(insert(tasks))
_TASK_BY_ID = Statement(select(tasks).where(tasks.c.id == param(tasks.c.id)))
_OWNER_OF = Statement(select(tasks.c.user_id).where(tasks.c.id == param(tasks.c.id)))
_DELETE_TASK = {
    versioned: Statement(delete(tasks).where(*_mine(versioned))) for versioned in (False, True)
}


_counter = task_counters.c
_COUNTERS = 3  # total, completed, and what a filter matches: after the task's columns
# No counter row yet means no task yet: no row (or NULLs), read as zeros.
_COUNTS = Statement(
    select(_counter.total, _counter.completed).where(_counter.user_id == param(tasks.c.user_id))
)


def _counter_of_user(column: ColumnElement[int]) -> ColumnElement[int]:
    mine = _counter.user_id == param(tasks.c.user_id)
    return select(column).where(mine).scalar_subquery()


_SORT_KEYS: dict[TaskSort, ColumnElement[Any]] = {
    TaskSort.DUE_ASC: DUE_ASC,
    TaskSort.DUE_DESC: DUE_DESC,
}


def _sort_key(sort: TaskSort) -> ColumnElement[Any]:
    return _SORT_KEYS.get(sort, tasks.c[sort.column])


@dataclass(frozen=True, slots=True)
class _Filters:
    """Which of a TaskFilter's conditions are set: one statement per combination."""

    due_before: bool = False
    due_after: bool = False
    has_due: bool | None = None
    priority: bool = False
    labels: bool = False
    q: bool = False

    @staticmethod
    def of(found: TaskFilter) -> _Filters:
        return _Filters(
            found.due_before is not None,
            found.due_after is not None,
            found.has_due,
            found.priority is not None,
            bool(found.labels),
            found.q is not None,
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        c = tasks.c
        me = param(c.user_id)
        found: list[ColumnElement[bool]] = []
        if self.due_before:
            found.append(c.due_at < param(c.due_at, "due_before"))
        if self.due_after:
            found.append(c.due_at >= param(c.due_at, "due_after"))
        if self.has_due is not None:
            found.append(c.due_at.is_not(None) if self.has_due else c.due_at.is_(None))
        if self.priority:
            found.append(c.priority == param(c.priority))
        if self.labels:
            labels = bindparam("labels", type_=ARRAY(Text))
            wanted = getattr(func, LABEL_KEYS)(me, labels, type_=ARRAY(Text))
            found.append(TASK_LABEL_KEYS.contains(wanted))
        if self.q:
            query = getattr(func, SEARCH_QUERY)(me, bindparam("q", type_=Text()))
            found.append(SEARCH_KEYS.bool_op("@@")(query))
        return found


_NO_FILTERS = _Filters()


def _after(sort: TaskSort) -> ColumnElement[bool]:
    # Row comparison walks the (user_id, key, id) index from the key onwards.
    column = _sort_key(sort)
    if sort.unique:
        key, bound = column, param(tasks.c[sort.column], "after_value")
    else:
        key = tuple_(column, tasks.c.id)
        bound = tuple_(bindparam("after_value", type_=column.type), param(tasks.c.id, "after_id"))
    return key < bound if sort.descending else key > bound


@functools.cache
def _page_statement(
    sort: TaskSort, completed: bool | None, after: bool, filters: _Filters = _NO_FILTERS
) -> Statement:
    """One page in one round trip and one snapshot: the user's counter row rides along as
    two InitPlans (one primary-key lookup each), and the caller asks one row more than it
    shows to tell whether more follow. With filters beyond `completed`, a third InitPlan
    counts what they match."""
    column = _sort_key(sort)
    conditions = [tasks.c.user_id == param(tasks.c.user_id)]
    if completed is not None:
        conditions.append(tasks.c.is_completed == param(tasks.c.is_completed))
    conditions += filters.conditions()
    matching = list(conditions)
    if after:
        conditions.append(_after(sort))
    keys: list[ColumnElement[Any]] = [column] if sort.unique else [column, tasks.c.id]
    order = [key.desc() for key in keys] if sort.descending else keys
    counts: list[ColumnElement[Any]] = [
        _counter_of_user(_counter.total),
        _counter_of_user(_counter.completed),
    ]
    if filters != _NO_FILTERS:
        counts.append(select(func.count()).select_from(tasks).where(*matching).scalar_subquery())
    else:
        counts.append(null())
    return Statement(
        select(*tasks.columns, *counts)
        .where(*conditions)
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
    )


@functools.cache
def _total_statement(completed: bool | None, filters: _Filters) -> Statement:
    """How many tasks a filtered listing matches, for a page past the last."""
    conditions = [tasks.c.user_id == param(tasks.c.user_id)]
    if completed is not None:
        conditions.append(tasks.c.is_completed == param(tasks.c.is_completed))
    return Statement(select(func.count()).where(*conditions, *filters.conditions()))


# Only the tasks that change: the others keep their version and updated_at. Matched by
# the (user_id, is_completed, ...) index.
_SET_COMPLETED = Statement(
    update(tasks)
    .where(
        tasks.c.user_id == param(tasks.c.user_id),
        tasks.c.is_completed == param(tasks.c.is_completed, "was"),
    )
    .values(
        is_completed=param(tasks.c.is_completed),
        updated_at=param(tasks.c.updated_at),
        version=tasks.c.version + 1,
    )
)
_DELETE_ALL = Statement(
    delete(tasks).where(
        tasks.c.user_id == param(tasks.c.user_id),
        tasks.c.is_completed == param(tasks.c.is_completed),
    )
)


@functools.cache
def _update_statement(changed: tuple[str, ...], versioned: bool) -> Statement:
    # One statement: the row lock serializes concurrent updates, and each sets only the
    # columns it changes, so updates of different fields never overwrite each other.
    values = {name: param(tasks.c[name]) for name in (*changed, "updated_at")}
    return Statement(
        update(tasks)
        .where(*_mine(versioned))
        .values(**values, version=tasks.c.version + 1)
        .returning(*tasks.columns)
    )


# The user's counter row is the lock of their manual order: a move holds it from reading
# its neighbours until it commits, so that no two moves compute a position from the same
# neighbours. The row exists as soon as the user has a task (the insert trigger).
_LOCK_ORDER = Statement(
    select(_counter.user_id).where(_counter.user_id == param(tasks.c.user_id)).with_for_update()
)
_anchor, _next = tasks.alias("anchor"), tasks.alias("next")
_MOVING = bindparam("moving", type_=tasks.c.id.type)
# The anchor's position and the first position after it, the moving task aside; no row
# when the anchor is not one of the user's tasks.
_NEIGHBOURS_AFTER = Statement(
    select(
        _anchor.c.position,
        select(func.min(_next.c.position))
        .where(
            _next.c.user_id == param(tasks.c.user_id),
            _next.c.position > _anchor.c.position,
            _next.c.id != _MOVING,
        )
        .scalar_subquery(),
    ).where(_anchor.c.id == param(tasks.c.id, "after"), _anchor.c.user_id == param(tasks.c.user_id))
)
_FIRST_POSITION = Statement(
    select(func.min(tasks.c.position)).where(
        tasks.c.user_id == param(tasks.c.user_id), tasks.c.id != _MOVING
    )
)

# todo_core.ordering.renumbered_position of each task's rank in the user's order, in one
# statement (the unique constraint on positions is checked at its end).
_RENUMBER = Statement(
    text(
        "UPDATE tasks AS t SET position = r.position, version = t.version + 1,"
        " updated_at = :updated_at"
        " FROM (SELECT ranked.id, '0' || (SELECT string_agg(substr("
        "'0123456789abcdefghijklmnopqrstuvwxyz',"
        " (div(ranked.n, 36::numeric ^ (:width - 1 - i)) % 36)::int + 1, 1), '' ORDER BY i)"
        " FROM generate_series(0, :width - 1) AS i) || 'i' AS position"
        " FROM (SELECT id, row_number() OVER (ORDER BY position) AS n FROM tasks"
        " WHERE user_id = :user_id AND id <> :keep) AS ranked) AS r"
        " WHERE t.id = r.id AND t.user_id = :user_id"
    ).bindparams(
        bindparam("updated_at", type_=tasks.c.updated_at.type),
        bindparam("user_id", type_=tasks.c.user_id.type),
        bindparam("keep", type_=tasks.c.id.type),
        bindparam("width", type_=Integer()),
    )
)

# Each label the user's tasks carry, compared ignoring case, shown as first written (by
# the oldest task carrying it), with how many tasks carry it.
_LABELS = Statement(
    text(
        "SELECT name, count FROM ("
        " SELECT (array_agg(l.label ORDER BY t.created_at, t.id))[1] AS name, count(*) AS count"
        " FROM tasks AS t CROSS JOIN LATERAL unnest(t.labels) AS l(label)"
        " WHERE t.user_id = :user_id GROUP BY lower(l.label)"
        ") AS found ORDER BY lower(name), name"
    ).bindparams(bindparam("user_id", type_=tasks.c.user_id.type))
)


class SqlTaskRepository(TaskRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add(self, task: Task) -> None:
        try:
            await _ADD_TASK.rowcount(self._db, **attributes(task, tasks))
        except ForeignKeyViolationError as exc:
            if exc.constraint_name == TASK_OWNER_FOREIGN_KEY:
                raise UnknownUserError() from exc
            raise
        except UniqueViolationError as exc:
            _raise_if_position_taken(exc)
            raise

    async def get(self, task_id: UUID) -> Task | None:
        return await _TASK_BY_ID.first(self._db, Task, id=task_id)

    async def list(self, user_id: UUID, query: TaskQuery) -> TaskPage:
        after, found = query.after, query.filter
        filters = _Filters.of(found)
        statement = _page_statement(query.sort, query.completed, after is not None, filters)
        values = {
            "user_id": user_id,
            "is_completed": query.completed,
            "due_before": found.due_before,
            "due_after": found.due_after,
            "priority": found.priority,
            "labels": list(found.labels),
            "q": found.q,
        }
        rows = await statement.fetch(
            self._db,
            **values,
            after_value=after.value if after else None,
            after_id=after.id if after else None,
            limit=query.limit + 1,
            offset=query.offset,
        )
        if rows:
            total, completed, matched = rows[0][-_COUNTERS:]
        else:
            total, completed = await _COUNTS.fetchrow(self._db, user_id=user_id) or (0, 0)
            matched = None
            if filters != _NO_FILTERS:
                matched = await _total_statement(query.completed, filters).value(self._db, **values)
        counts = TaskCounts.of(total or 0, completed or 0)
        tasks_found = [Task(*row[:-_COUNTERS]) for row in rows]
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

    async def update(
        self,
        task_id: UUID,
        user_id: UUID,
        patch: TaskPatch,
        now: datetime,
        if_version: Versions = None,
    ) -> Task | None:
        changes = patch.changes()
        statement = _update_statement(tuple(changes), if_version is not None)
        return await statement.first(
            self._db,
            Task,
            **changes,
            updated_at=now,
            id=task_id,
            user_id=user_id,
            versions=list(if_version or ()),
        )

    async def lock_order(self, user_id: UUID) -> None:
        await _LOCK_ORDER.fetch(self._db, user_id=user_id)

    async def neighbours(
        self, user_id: UUID, moving: UUID, after: UUID | None
    ) -> tuple[str | None, str | None] | None:
        if after is None:
            first = await _FIRST_POSITION.value(self._db, user_id=user_id, moving=moving)
            return None, first
        row = await _NEIGHBOURS_AFTER.fetchrow(
            self._db, user_id=user_id, moving=moving, after=after
        )
        return None if row is None else (row[0], row[1])

    async def set_position(
        self,
        task_id: UUID,
        user_id: UUID,
        position: str,
        now: datetime,
        if_version: Versions = None,
    ) -> Task | None:
        statement = _update_statement(("position",), if_version is not None)
        try:
            return await statement.first(
                self._db,
                Task,
                position=position,
                updated_at=now,
                id=task_id,
                user_id=user_id,
                versions=list(if_version or ()),
            )
        except UniqueViolationError as exc:
            _raise_if_position_taken(exc)
            raise

    async def renumber(self, user_id: UUID, now: datetime, keep: UUID) -> int:
        return await _RENUMBER.rowcount(
            self._db, user_id=user_id, updated_at=now, keep=keep, width=RENUMBER_WIDTH
        )

    async def labels(self, user_id: UUID) -> LabelCounts:
        rows = await _LABELS.fetch(self._db, user_id=user_id)
        return [LabelCount(name, count) for name, count in rows]

    async def delete(self, task_id: UUID, user_id: UUID, if_version: Versions = None) -> bool:
        statement = _DELETE_TASK[if_version is not None]
        deleted = await statement.rowcount(
            self._db, id=task_id, user_id=user_id, versions=list(if_version or ())
        )
        return deleted > 0

    async def owner_of(self, task_id: UUID) -> UUID | None:
        owner: UUID | None = await _OWNER_OF.value(self._db, id=task_id)
        return owner

    async def set_completed(self, user_id: UUID, is_completed: bool, now: datetime) -> int:
        return await _SET_COMPLETED.rowcount(
            self._db,
            user_id=user_id,
            was=not is_completed,
            is_completed=is_completed,
            updated_at=now,
        )

    async def delete_all(self, user_id: UUID, completed: bool) -> int:
        return await _DELETE_ALL.rowcount(self._db, user_id=user_id, is_completed=completed)


def _raise_if_position_taken(exc: UniqueViolationError) -> None:
    if exc.constraint_name == TASK_POSITION_UNIQUE:
        raise PositionTakenError() from exc
