"""PostgreSQL repositories: statements built once (statements.py) and sent on the unit of
work's asyncpg connection; rows become core dataclasses positionally. They never commit;
constraint violations become domain errors."""

from __future__ import annotations

import functools
from dataclasses import fields, replace
from datetime import datetime
from uuid import UUID

from asyncpg import Connection, ForeignKeyViolationError, UniqueViolationError
from sqlalchemy import (
    ColumnElement,
    Integer,
    Table,
    any_,
    bindparam,
    delete,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from todo_adapters.sql.statements import Statement
from todo_adapters.sql.tables import (
    EMAIL_UNIQUE_CONSTRAINT,
    TASK_OWNER_FOREIGN_KEY,
    refresh_tokens,
    task_counters,
    tasks,
    users,
)
from todo_core.domain import (
    UNSET,
    RefreshToken,
    Task,
    TaskKey,
    TaskPage,
    TaskPatch,
    TaskQuery,
    TaskSort,
    User,
    Versions,
)
from todo_core.errors import EmailTakenError, UnknownUserError
from todo_core.ports import RefreshTokenRepository, TaskRepository, UserRepository


def _same_order(table: Table, entity: type) -> Table:
    """Rows are built positionally: the table's columns must be the entity's fields."""
    columns, names = [c.name for c in table.columns], [f.name for f in fields(entity)]
    if columns != names:
        raise TypeError(f"{table.name} columns {columns} differ from {entity.__name__} {names}")
    return table


def _param(column: ColumnElement[object], name: str | None = None) -> ColumnElement[object]:
    return bindparam(name or column.key, type_=column.type)


def _attributes(entity: object, table: Table) -> dict[str, object]:
    return {c.name: getattr(entity, c.name) for c in table.columns}


_same_order(users, User)
_same_order(tasks, Task)
_same_order(refresh_tokens, RefreshToken)

_ADD_USER = Statement(insert(users))
_USER_BY_EMAIL = Statement(select(users).where(users.c.email == _param(users.c.email)))
_USER_BY_ID = Statement(select(users).where(users.c.id == _param(users.c.id)))
_SET_PASSWORD_HASH = Statement(
    update(users)
    .where(users.c.id == _param(users.c.id))
    .values(password_hash=_param(users.c.password_hash))
)


class SqlUserRepository(UserRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add(self, user: User) -> None:
        try:
            await _ADD_USER.rowcount(self._db, **_attributes(user, users))
        except UniqueViolationError as exc:
            if exc.constraint_name == EMAIL_UNIQUE_CONSTRAINT:
                raise EmailTakenError() from exc
            raise

    async def get_by_email(self, email: str) -> User | None:
        return await _USER_BY_EMAIL.first(self._db, User, email=email)

    async def get(self, user_id: UUID) -> User | None:
        return await _USER_BY_ID.first(self._db, User, id=user_id)

    async def update_password_hash(self, user_id: UUID, password_hash: str) -> None:
        await _SET_PASSWORD_HASH.rowcount(self._db, id=user_id, password_hash=password_hash)


def _mine(versioned: bool) -> list[ColumnElement[bool]]:
    """The task of this id if this user owns it (and, versioned, in one of `versions`)."""
    conditions = [tasks.c.id == _param(tasks.c.id), tasks.c.user_id == _param(tasks.c.user_id)]
    if versioned:
        conditions.append(tasks.c.version == any_(bindparam("versions", type_=ARRAY(Integer))))
    return conditions


_ADD_TASK = Statement(insert(tasks))
_TASK_BY_ID = Statement(select(tasks).where(tasks.c.id == _param(tasks.c.id)))
_OWNER_OF = Statement(select(tasks.c.user_id).where(tasks.c.id == _param(tasks.c.id)))
_DELETE_TASK = {
    versioned: Statement(delete(tasks).where(*_mine(versioned))) for versioned in (False, True)
}


def _counted(completed: bool | None) -> ColumnElement[int]:
    """How many of the user's tasks match the filter, from the user's counter row."""
    counter = task_counters.c
    if completed is None:
        return counter.total
    return counter.completed if completed else counter.total - counter.completed


@functools.cache
def _count_statement(completed: bool | None) -> Statement:
    # No counter row yet means no task yet: NULL, read as 0.
    user = task_counters.c.user_id == _param(tasks.c.user_id)
    return Statement(select(_counted(completed)).where(user))


@functools.cache
def _page_statement(sort: TaskSort, completed: bool | None, after: bool) -> Statement:
    """One page in one round trip and one snapshot: the counter read rides along as an
    InitPlan, and the caller asks one row more than it shows to tell whether more follow."""
    column = tasks.c[sort.column]
    conditions = [tasks.c.user_id == _param(tasks.c.user_id)]
    if completed is not None:
        conditions.append(tasks.c.is_completed == _param(tasks.c.is_completed))
    if after:
        # Row comparison walks the (user_id, column, id) index from the key onwards.
        key = tuple_(column, tasks.c.id)
        bound = tuple_(_param(column, "after_value"), _param(tasks.c.id, "after_id"))
        conditions.append(key < bound if sort.descending else key > bound)
    order = (column.desc(), tasks.c.id.desc()) if sort.descending else (column, tasks.c.id)
    user = task_counters.c.user_id == _param(tasks.c.user_id)
    total = select(_counted(completed)).where(user).scalar_subquery()
    return Statement(
        select(*tasks.columns, total)
        .where(*conditions)
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
    )


_PATCHABLE = ("title", "description", "is_completed")


@functools.cache
def _update_statement(changed: tuple[str, ...], versioned: bool) -> Statement:
    # One statement: the row lock serializes concurrent updates, and each sets only the
    # columns it changes, so updates of different fields never overwrite each other.
    values = {name: _param(tasks.c[name]) for name in (*changed, "updated_at")}
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
            await _ADD_TASK.rowcount(self._db, **_attributes(task, tasks))
        except ForeignKeyViolationError as exc:
            if exc.constraint_name == TASK_OWNER_FOREIGN_KEY:
                raise UnknownUserError() from exc
            raise

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
        if rows:
            total = rows[0][-1]
        else:
            total = await _count_statement(query.completed).value(self._db, user_id=user_id)
        found = [Task(*row[:-1]) for row in rows]
        more = len(found) > query.limit
        next_key = TaskKey.of(found[query.limit - 1], query.sort) if more else None
        return TaskPage(found[: query.limit], total or 0, query.limit, query.offset, next_key)

    async def update(
        self,
        task_id: UUID,
        user_id: UUID,
        patch: TaskPatch,
        now: datetime,
        if_version: Versions = None,
    ) -> Task | None:
        changes = {name: getattr(patch, name) for name in _PATCHABLE}
        changes = {name: value for name, value in changes.items() if value is not UNSET}
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

    async def delete(self, task_id: UUID, user_id: UUID, if_version: Versions = None) -> bool:
        statement = _DELETE_TASK[if_version is not None]
        deleted = await statement.rowcount(
            self._db, id=task_id, user_id=user_id, versions=list(if_version or ())
        )
        return deleted > 0

    async def owner_of(self, task_id: UUID) -> UUID | None:
        owner: UUID | None = await _OWNER_OF.value(self._db, id=task_id)
        return owner


_token = refresh_tokens.c
_ADD_TOKEN = Statement(insert(refresh_tokens))
_TOKEN_BY_HASH = Statement(
    select(refresh_tokens).where(_token.token_hash == _param(_token.token_hash))
)
# The WHERE makes spending atomic: of two concurrent uses, exactly one matches.
_SPEND_TOKEN = Statement(
    update(refresh_tokens)
    .where(
        _token.token_hash == _param(_token.token_hash),
        _token.spent_at.is_(None),
        _token.revoked_at.is_(None),
        _token.expires_at > _param(_token.expires_at, "now"),
    )
    .values(spent_at=_param(_token.spent_at, "now"))
    .returning(*refresh_tokens.columns)
)
_REVOKE_FAMILY = Statement(
    update(refresh_tokens)
    .where(_token.family_id == _param(_token.family_id), _token.revoked_at.is_(None))
    .values(revoked_at=_param(_token.revoked_at, "now"))
)
_PURGE_EXPIRED = Statement(
    delete(refresh_tokens).where(
        _token.token_hash.in_(
            select(_token.token_hash)
            .where(_token.expires_at < _param(_token.expires_at, "now"))
            .limit(bindparam("batch_size", type_=Integer()))
            .with_for_update(skip_locked=True)
        )
    )
)


class SqlRefreshTokenRepository(RefreshTokenRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add(self, token: RefreshToken) -> None:
        await _ADD_TOKEN.rowcount(self._db, **_attributes(token, refresh_tokens))

    async def get(self, token_hash: str) -> RefreshToken | None:
        return await _TOKEN_BY_HASH.first(self._db, RefreshToken, token_hash=token_hash)

    async def spend(self, token_hash: str, now: datetime) -> RefreshToken | None:
        token = await _SPEND_TOKEN.first(self._db, RefreshToken, token_hash=token_hash, now=now)
        # As it was before this call spent it.
        return replace(token, spent_at=None) if token else None

    async def revoke_family(self, family_id: UUID, now: datetime) -> int:
        return await _REVOKE_FAMILY.rowcount(self._db, family_id=family_id, now=now)

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        return await _PURGE_EXPIRED.rowcount(self._db, now=now, batch_size=batch_size)
