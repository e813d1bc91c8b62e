"""The PostgreSQL task repository (see statements.py for how statements are run)."""

from __future__ import annotations

import functools
from datetime import datetime
from uuid import UUID

from asyncpg import Connection, ForeignKeyViolationError
from sqlalchemy import (
    ColumnElement,
    Integer,
    any_,
    bindparam,
    delete,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from todo_adapters.sql.sessions import session_live
from todo_adapters.sql.statements import Statement, attributes, param, same_order
from todo_adapters.sql.tables import TASK_OWNER_FOREIGN_KEY, task_counters, tasks
from todo_core.domain import UNSET, Task, TaskPatch, Versions
from todo_core.errors import UnknownUserError
from todo_core.listing import TaskCounts, TaskKey, TaskPage, TaskQuery, TaskSort
from todo_core.ports import TaskRepository

same_order(tasks, Task)


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
    False: Statement(insert(tasks)),
    # INSERT … SELECT: the row is written only while the login lives.
    True: Statement(
        insert(tasks).from_select(
            list(tasks.columns),
            select(*(param(column) for column in tasks.columns)).where(
                session_live(param(tasks.c.user_id))
            ),
        )
    ),
}
_TASK_BY_ID = Statement(select(tasks).where(tasks.c.id == param(tasks.c.id)))
_OWNER_OF = Statement(select(tasks.c.user_id).where(tasks.c.id == param(tasks.c.id)))
_DELETE_TASK = {
    (versioned, checked): Statement(delete(tasks).where(*_mine(versioned, checked)))
    for versioned in (False, True)
    for checked in (False, True)
}


_counter = task_counters.c
# No counter row yet means no task yet: no row (or NULLs), read as zeros.
_COUNTS = Statement(
    select(_counter.total, _counter.completed).where(_counter.user_id == param(tasks.c.user_id))
)


def _counter_of_user(column: ColumnElement[int]) -> ColumnElement[int]:
    mine = _counter.user_id == param(tasks.c.user_id)
    return select(column).where(mine).scalar_subquery()


@functools.cache
def _page_statement(sort: TaskSort, completed: bool | None, after: bool) -> Statement:
    """One page in one round trip and one snapshot: the user's counter row rides along as
    two InitPlans (one primary-key lookup each), and the caller asks one row more than it
    shows to tell whether more follow."""
    column = tasks.c[sort.column]
    conditions = [tasks.c.user_id == param(tasks.c.user_id)]
    if completed is not None:
        conditions.append(tasks.c.is_completed == param(tasks.c.is_completed))
    if after:
        # Row comparison walks the (user_id, column, id) index from the key onwards.
        key = tuple_(column, tasks.c.id)
        bound = tuple_(param(column, "after_value"), param(tasks.c.id, "after_id"))
        conditions.append(key < bound if sort.descending else key > bound)
    order = (column.desc(), tasks.c.id.desc()) if sort.descending else (column, tasks.c.id)
    counts = (_counter_of_user(_counter.total), _counter_of_user(_counter.completed))
    return Statement(
        select(*tasks.columns, *counts)
        .where(*conditions)
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
    )


# Only the tasks that change: the others keep their version and updated_at. Matched by
# the (user_id, is_completed, ...) index.
_SET_COMPLETED = {
    checked: Statement(
        update(tasks)
        .where(
            *_users_tasks(checked),
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
    checked: Statement(
        delete(tasks).where(
            *_users_tasks(checked),
            tasks.c.is_completed == param(tasks.c.is_completed),
        )
    )
    for checked in (False, True)
}


_PATCHABLE = ("title", "description", "is_completed")


@functools.cache
def _update_statement(changed: tuple[str, ...], versioned: bool, checked: bool) -> Statement:
    # One statement: the row lock serializes concurrent updates, and each sets only the
    # columns it changes, so updates of different fields never overwrite each other.
    values = {name: param(tasks.c[name]) for name in (*changed, "updated_at")}
    return Statement(
        update(tasks)
        .where(*_mine(versioned, checked))
        .values(**values, version=tasks.c.version + 1)
        .returning(*tasks.columns)
    )


class SqlTaskRepository(TaskRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add(self, task: Task, session_id: UUID | None = None) -> bool:
        statement = _ADD_TASK[session_id is not None]
        try:
            added = await statement.rowcount(
                self._db, **attributes(task, tasks), session_id=session_id
            )
        except ForeignKeyViolationError as exc:
            if exc.constraint_name == TASK_OWNER_FOREIGN_KEY:
                raise UnknownUserError() from exc
            raise
        return added > 0

    async def get(self, task_id: UUID) -> Task | None:
        return await _TASK_BY_ID.first(self._db, Task, id=task_id)

    async def list(self, user_id: UUID, query: TaskQuery) -> TaskPage:
        after = query.after
        statement = _page_statement(query.sort, query.completed, after is not None)
        rows = await statement.fetch(
            self._db,
            user_id=user_id,
            is_completed=query.completed,
            after_value=after.value if after else None,
            after_id=after.id if after else None,
            limit=query.limit + 1,
            offset=query.offset,
        )
        counted = rows[0][-2:] if rows else await _COUNTS.fetchrow(self._db, user_id=user_id)
        total, completed = counted or (0, 0)
        counts = TaskCounts.of(total or 0, completed or 0)
        found = [Task(*row[:-2]) for row in rows]
        more = len(found) > query.limit
        next_key = TaskKey.of(found[query.limit - 1], query.sort) if more else None
        return TaskPage(
            found[: query.limit],
            counts.matching(query.completed),
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
        session_id: UUID | None = None,
    ) -> Task | None:
        changes = {name: getattr(patch, name) for name in _PATCHABLE}
        changes = {name: value for name, value in changes.items() if value is not UNSET}
        statement = _update_statement(
            tuple(changes), if_version is not None, session_id is not None
        )
        return await statement.first(
            self._db,
            Task,
            **changes,
            updated_at=now,
            id=task_id,
            user_id=user_id,
            versions=list(if_version or ()),
            session_id=session_id,
        )

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
        return deleted > 0

    async def owner_of(self, task_id: UUID) -> UUID | None:
        owner: UUID | None = await _OWNER_OF.value(self._db, id=task_id)
        return owner

    async def set_completed(
        self, user_id: UUID, is_completed: bool, now: datetime, session_id: UUID | None = None
    ) -> int:
        return await _SET_COMPLETED[session_id is not None].rowcount(
            self._db,
            user_id=user_id,
            was=not is_completed,
            is_completed=is_completed,
            updated_at=now,
            session_id=session_id,
        )

    async def delete_all(
        self, user_id: UUID, completed: bool, session_id: UUID | None = None
    ) -> int:
        return await _DELETE_ALL[session_id is not None].rowcount(
            self._db, user_id=user_id, is_completed=completed, session_id=session_id
        )
