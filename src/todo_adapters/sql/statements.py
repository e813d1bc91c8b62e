"""Statements built once: written with SQLAlchemy Core (tables, columns and types checked
where they are written), compiled at import for asyncpg's `$n` parameters, then sent as
text on the asyncpg connection the pool hands out.

Executing a Core construct per call rebuilt it, computed its cache key, looked it up,
ran it through greenlet_spawn and wrapped every row; under load that was a sixth of a
worker's CPU for one primary-key select (py-spy). asyncpg keeps each text's prepared
statement in its own cache (or, behind a transaction pooler, prepares it unnamed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from asyncpg import Connection
from sqlalchemy import ClauseElement
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
