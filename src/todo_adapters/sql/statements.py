"""Statements built once: written with SQLAlchemy Core (tables, columns and types checked
where they are written), compiled at import for asyncpg's `$n` parameters, then sent as
text on the asyncpg connection the pool hands out.

Executing a Core construct per call rebuilt it, computed its cache key, looked it up,
ran it through greenlet_spawn and wrapped every row; under load that was a sixth of a
worker's CPU for one primary-key select (py-spy). asyncpg keeps each text's prepared
statement in its own cache (or, behind a transaction pooler, prepares it unnamed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import fields
from typing import Any, TypeVar

from asyncpg import Connection
from sqlalchemy import (
    ClauseElement,
    Column,
    ColumnElement,
    Integer,
    Table,
    bindparam,
    delete,
    select,
)
from sqlalchemy import tuple_ as row
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql.compiler import SQLCompiler

T = TypeVar("T")

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


class Statement:
    """One compiled statement: its SQL and the order its named parameters go in."""

    __slots__ = ("_constants", "_names", "sql")

    def __init__(self, construct: ClauseElement) -> None:
        compiled = construct.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # Literals the construct carries itself (the 1 of `version + 1`).
        self._constants = {k: v for k, v in compiled.params.items() if v is not None}

    def args(self, values: dict[str, Any]) -> list[Any]:
        constants = self._constants
        return [values[n] if n in values else constants[n] for n in self._names]

    async def fetch(self, db: Connection, **values: Any) -> list[Any]:
        return list(await db.fetch(self.sql, *self.args(values)))

    async def fetch_planned(self, db: Connection, **values: Any) -> list[Any]:
        """As `fetch`, planned for these values (the engine's connections otherwise take
        each statement's generic plan). Three more round trips, and the planning."""
        async with _custom_plans(db):
            return await self.fetch(db, **values)

    async def first(self, db: Connection, entity: Callable[..., T], **values: Any) -> T | None:
        """The first row as the core's entity (columns in the entity's field order)."""
        row = await db.fetchrow(self.sql, *self.args(values))
        return entity(*row) if row is not None else None

    async def fetchrow(self, db: Connection, **values: Any) -> Any:
        return await db.fetchrow(self.sql, *self.args(values))

    async def value(self, db: Connection, **values: Any) -> Any:
        return await db.fetchval(self.sql, *self.args(values))

    async def rowcount(self, db: Connection, **values: Any) -> int:
        """How many rows an UPDATE or DELETE touched (from the command tag, 'UPDATE 3')."""
        tag: str = await db.execute(self.sql, *self.args(values))
        return int(tag.rpartition(" ")[2])


class PlannedStatement(Statement):
    """A statement planned for its values on every call: one whose generic plan cannot
    tell how much of a table a range and a LIMIT take (a third and a tenth of it,
    PostgreSQL assumes), and so reads the whole table."""

    __slots__ = ()

    async def rowcount(self, db: Connection, **values: Any) -> int:
        async with _custom_plans(db):
            return await super().rowcount(db, **values)


@asynccontextmanager
async def _custom_plans(db: Connection) -> AsyncIterator[None]:
    """Within this, PostgreSQL plans each statement for its parameters: a transaction of
    its own (a savepoint inside one) whose setting ends with it."""
    async with db.transaction():
        await db.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield


def same_order(columns: Iterable[Column[Any]], entity: type) -> None:
    """Rows are built positionally: these columns must be the entity's fields."""
    names = [c.name for c in columns]
    if names != [f.name for f in fields(entity)]:
        raise TypeError(f"columns {names} differ from {entity.__name__}'s fields")


def param(column: ColumnElement[Any], name: str | None = None) -> ColumnElement[Any]:
    return bindparam(name or column.key, type_=column.type)


def attributes(entity: object, columns: Iterable[Column[Any]]) -> dict[str, object]:
    return {c.name: getattr(entity, c.name) for c in columns}


def purge_expired(table: Table, key: list[Column[Any]], expires_at: Column[Any]) -> Statement:
    """Delete up to `batch_size` rows that expired before `now`, passing over rows another
    transaction holds: a purge never waits for live work, nor holds locks for long."""
    expired = (
        select(*key)
        .where(expires_at < param(expires_at, "now"))
        .limit(bindparam("batch_size", type_=Integer()))
        .with_for_update(skip_locked=True)
    )
    keys = key[0] if len(key) == 1 else row(*key)
    return PlannedStatement(delete(table).where(keys.in_(expired)))
