"""PostgreSQL repositories: statements built once (statements.py) and sent on the unit of
work's asyncpg connection; rows become core dataclasses positionally. They never commit;
constraint violations become domain errors."""

from __future__ import annotations

import functools
from datetime import datetime
from uuid import UUID

from asyncpg import Connection, ForeignKeyViolationError, UniqueViolationError
from sqlalchemy import (
    ColumnElement,
    Integer,
    any_,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from todo_adapters.sql.statements import Statement, attributes, param, same_order
from todo_adapters.sql.tables import (
    EMAIL_UNIQUE_CONSTRAINT,
    TASK_OWNER_FOREIGN_KEY,
    TASK_POSITION_UNIQUE,
    tasks,
    users,
)
from todo_adapters.sql.task_listing import (
    COUNTERS,
    COUNTS,
    NO_FILTERS,
    Filters,
    page_statement,
    total_statement,
)
from todo_adapters.sql.task_order import (
    FIRST_POSITION,
    LABELS,
    LOCK_ORDER,
    NEIGHBOURS_AFTER,
    RENUMBER,
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
    TaskKey,
    TaskPage,
    TaskQuery,
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
        filters = Filters.of(found)
        statement = page_statement(query.sort, query.completed, after is not None, filters)
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
            total, completed, matched = rows[0][-COUNTERS:]
        else:
            total, completed = await COUNTS.fetchrow(self._db, user_id=user_id) or (0, 0)
            matched = None
            if filters != NO_FILTERS:
                matched = await total_statement(query.completed, filters).value(self._db, **values)
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
        await LOCK_ORDER.fetch(self._db, user_id=user_id)

    async def neighbours(
        self, user_id: UUID, moving: UUID, after: UUID | None
    ) -> tuple[str | None, str | None] | None:
        if after is None:
            first = await FIRST_POSITION.value(self._db, user_id=user_id, moving=moving)
            return None, first
        row = await NEIGHBOURS_AFTER.fetchrow(self._db, user_id=user_id, moving=moving, after=after)
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
        return await RENUMBER.rowcount(
            self._db, user_id=user_id, updated_at=now, keep=keep, width=RENUMBER_WIDTH
        )

    async def labels(self, user_id: UUID) -> LabelCounts:
        rows = await LABELS.fetch(self._db, user_id=user_id)
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
