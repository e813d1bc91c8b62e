"""PostgreSQL repositories: Core statements on the unit of work's connection, rows mapped to
core dataclasses. They never commit; constraint violations become domain errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Executable, delete, insert, literal, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

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
    User,
    Versions,
)
from todo_core.errors import EmailTakenError, UnknownUserError
from todo_core.ports import RefreshTokenRepository, TaskRepository, UserRepository

T = TypeVar("T")


async def _first(
    connection: AsyncConnection, statement: Executable, entity: Callable[..., T]
) -> T | None:
    """The first row the statement returns, as the core's entity, or None."""
    row = (await connection.execute(statement)).first()
    return entity(**row._mapping) if row else None


def _violated_constraint(exc: IntegrityError) -> str | None:
    # asyncpg's own exception, which carries the constraint name, is the DBAPI error's cause.
    return getattr(exc.orig.__cause__, "constraint_name", None) if exc.orig else None


class SqlUserRepository(UserRepository):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, user: User) -> None:
        try:
            await self._connection.execute(
                insert(users).values(
                    id=user.id,
                    email=user.email,
                    password_hash=user.password_hash,
                    created_at=user.created_at,
                )
            )
        except IntegrityError as exc:
            if _violated_constraint(exc) == EMAIL_UNIQUE_CONSTRAINT:
                raise EmailTakenError() from exc
            raise

    async def get_by_email(self, email: str) -> User | None:
        return await _first(self._connection, select(users).where(users.c.email == email), User)

    async def get(self, user_id: UUID) -> User | None:
        return await _first(self._connection, select(users).where(users.c.id == user_id), User)

    async def update_password_hash(self, user_id: UUID, password_hash: str) -> None:
        await self._connection.execute(
            update(users).where(users.c.id == user_id).values(password_hash=password_hash)
        )


class SqlTaskRepository(TaskRepository):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, task: Task) -> None:
        values = {c.name: getattr(task, c.name) for c in tasks.columns}
        try:
            await self._connection.execute(insert(tasks).values(**values))
        except IntegrityError as exc:
            if _violated_constraint(exc) == TASK_OWNER_FOREIGN_KEY:
                raise UnknownUserError() from exc
            raise

    async def get(self, task_id: UUID) -> Task | None:
        return await _first(self._connection, select(tasks).where(tasks.c.id == task_id), Task)

    async def list(self, user_id: UUID, query: TaskQuery) -> TaskPage:
        conditions: list[ColumnElement[bool]] = [tasks.c.user_id == user_id]
        counter = task_counters.c
        counted: ColumnElement[int] = counter.total
        if query.completed is not None:
            conditions.append(tasks.c.is_completed == query.completed)
            counted = counter.completed if query.completed else counter.total - counter.completed
        # No counter row yet means no task yet: NULL, read as 0 below.
        count = select(counted).where(counter.user_id == user_id)
        column = tasks.c[query.sort.column]
        if query.after is not None:
            # Row comparison walks the (user_id, column, id) index from the key onwards.
            key = tuple_(column, tasks.c.id)
            after = tuple_(literal(query.after.value), literal(query.after.id))
            conditions.append(key < after if query.sort.descending else key > after)
        order = (
            (column.desc(), tasks.c.id.desc()) if query.sort.descending else (column, tasks.c.id)
        )
        # One round trip and one snapshot: the counter read rides along as an InitPlan, and
        # one row more than asked tells whether another page follows.
        page = (
            select(*tasks.columns, count.scalar_subquery().label("total"))
            .where(*conditions)
            .order_by(*order)
            .limit(query.limit + 1)
            .offset(query.offset)
        )
        rows = (await self._connection.execute(page)).all()
        total = rows[0].total if rows else await self._connection.scalar(count)
        found = [Task(**{c.name: row._mapping[c.name] for c in tasks.columns}) for row in rows]
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
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("title", patch.title),
                ("description", patch.description),
                ("is_completed", patch.is_completed),
            )
            if value is not UNSET
        }
        # One statement: the row lock serializes concurrent updates, and each sets only the
        # columns it changes, so updates of different fields never overwrite each other.
        statement = (
            update(tasks)
            .where(*_mine(task_id, user_id, if_version))
            .values(**changes, updated_at=now, version=tasks.c.version + 1)
            .returning(*tasks.columns)
        )
        return await _first(self._connection, statement, Task)

    async def delete(self, task_id: UUID, user_id: UUID, if_version: Versions = None) -> bool:
        statement = delete(tasks).where(*_mine(task_id, user_id, if_version)).returning(tasks.c.id)
        return (await self._connection.execute(statement)).first() is not None

    async def owner_of(self, task_id: UUID) -> UUID | None:
        owner: UUID | None = await self._connection.scalar(
            select(tasks.c.user_id).where(tasks.c.id == task_id)
        )
        return owner


def _mine(task_id: UUID, user_id: UUID, if_version: Versions) -> list[ColumnElement[bool]]:
    conditions = [tasks.c.id == task_id, tasks.c.user_id == user_id]
    if if_version is not None:
        conditions.append(tasks.c.version.in_(if_version))
    return conditions


class SqlRefreshTokenRepository(RefreshTokenRepository):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, token: RefreshToken) -> None:
        values = {c.name: getattr(token, c.name) for c in refresh_tokens.columns}
        await self._connection.execute(insert(refresh_tokens).values(**values))

    async def get(self, token_hash: str) -> RefreshToken | None:
        statement = select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
        return await _first(self._connection, statement, RefreshToken)

    async def spend(self, token_hash: str, now: datetime) -> RefreshToken | None:
        # The WHERE makes spending atomic: of two concurrent uses, exactly one matches.
        statement = (
            update(refresh_tokens)
            .where(
                refresh_tokens.c.token_hash == token_hash,
                refresh_tokens.c.spent_at.is_(None),
                refresh_tokens.c.revoked_at.is_(None),
                refresh_tokens.c.expires_at > now,
            )
            .values(spent_at=now)
            .returning(*refresh_tokens.columns)
        )
        row = (await self._connection.execute(statement)).first()
        return RefreshToken(**{**row._mapping, "spent_at": None}) if row else None

    async def revoke_family(self, family_id: UUID, now: datetime) -> int:
        statement = (
            update(refresh_tokens)
            .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return _rowcount(await self._connection.execute(statement))

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        doomed = (
            select(refresh_tokens.c.token_hash)
            .where(refresh_tokens.c.expires_at < now)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        statement = delete(refresh_tokens).where(refresh_tokens.c.token_hash.in_(doomed))
        return _rowcount(await self._connection.execute(statement))


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
