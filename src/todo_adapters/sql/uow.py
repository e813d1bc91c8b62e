"""The SQL unit of work: one pooled connection, one transaction, rolled back unless
committed. A Core connection rather than an ORM session: the repositories send Core
statements and map rows themselves, so the session's identity map and unit-of-work
bookkeeping were pure per-request overhead."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from todo_adapters.sql.engine import PoolSettings
from todo_adapters.sql.errors import is_unavailable
from todo_adapters.sql.gate import PoolGate
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

    def __init__(self, engine: AsyncEngine, gate: PoolGate) -> None:
        self._engine = engine
        self._gate = gate

    async def __aenter__(self) -> Self:
        await self._gate.enter()
        try:
            self._connection: AsyncConnection = await self._engine.connect()
        except BaseException as exc:
            self._gate.leave()
            if isinstance(exc, Exception) and is_unavailable(exc):
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
        finally:
            self._gate.leave()
        if exc is not None and is_unavailable(exc):
            raise StorageUnavailableError() from exc

    async def commit(self) -> None:
        await self._connection.commit()


DEFAULT_POOL = PoolSettings()


class SqlUnitOfWorkFactory:
    def __init__(
        self, engine: AsyncEngine, pool: PoolSettings = DEFAULT_POOL, *, autocommit: bool = True
    ) -> None:
        """`autocommit=False` behind a transaction-mode pooler: there, statements outside a
        transaction may be parsed on one server connection and executed on another
        ("prepared statement ... does not exist"), so every unit of work is a transaction.
        `pool` is what the engine was built with: the gate admits as many units of work
        as the pool holds connections."""
        self._engine = engine
        self.gate = PoolGate(pool.size + pool.max_overflow, pool.timeout_s, pool.max_waiting)
        # The same pool, without BEGIN/COMMIT around each statement.
        self._autocommit = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if autocommit else engine
        )

    def __call__(self, *, atomic: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._engine if atomic else self._autocommit, self.gate)
