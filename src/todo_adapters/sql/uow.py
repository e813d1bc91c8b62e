"""The SQL unit of work: one pooled connection, one transaction, rolled back unless
committed. A Core connection rather than an ORM session: the repositories send Core
statements and map rows themselves, so the session's identity map and unit-of-work
bookkeeping were pure per-request overhead."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from todo_adapters.sql.errors import is_unavailable
from todo_adapters.sql.repositories import (
    SqlRefreshTokenRepository,
    SqlTaskRepository,
    SqlUserRepository,
)
from todo_core.errors import StorageUnavailableError
from todo_core.ports import UnitOfWork


class SqlUnitOfWork(UnitOfWork):
    users: SqlUserRepository
    tasks: SqlTaskRepository
    refresh_tokens: SqlRefreshTokenRepository

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def __aenter__(self) -> Self:
        try:
            self._connection: AsyncConnection = await self._engine.connect()
        except Exception as exc:
            if is_unavailable(exc):
                raise StorageUnavailableError() from exc
            raise
        self.users = SqlUserRepository(self._connection)
        self.tasks = SqlTaskRepository(self._connection)
        self.refresh_tokens = SqlRefreshTokenRepository(self._connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            # close() rolls back whatever was not committed and returns the connection.
            await self._connection.close()
        except Exception as close_error:
            if exc is None and is_unavailable(close_error):
                raise StorageUnavailableError() from close_error
            if exc is None:
                raise
        if exc is not None and is_unavailable(exc):
            raise StorageUnavailableError() from exc

    async def commit(self) -> None:
        await self._connection.commit()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, *, autocommit: bool = True) -> None:
        """`autocommit=False` behind a transaction-mode pooler: there, statements outside a
        transaction may be parsed on one server connection and executed on another
        ("prepared statement ... does not exist"), so every unit of work is a transaction."""
        self._engine = engine
        # The same pool, without BEGIN/COMMIT around each statement.
        self._autocommit = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if autocommit else engine
        )

    def __call__(self, *, atomic: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._engine if atomic else self._autocommit)
