"""The SQL unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from todo_adapters.sql.engine import build_sessionmaker
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

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self.users = SqlUserRepository(self._session)
        self.tasks = SqlTaskRepository(self._session)
        self.refresh_tokens = SqlRefreshTokenRepository(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            # close() rolls back whatever was not committed and returns the connection.
            await self._session.close()
        except Exception as close_error:
            if exc is None and is_unavailable(close_error):
                raise StorageUnavailableError() from close_error
            if exc is None:
                raise
        if exc is not None and is_unavailable(exc):
            raise StorageUnavailableError() from exc

    async def commit(self) -> None:
        await self._session.commit()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = build_sessionmaker(engine)
        # The same pool, without BEGIN/COMMIT around each statement.
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._autocommit_sessions = build_sessionmaker(autocommit)

    def __call__(self, *, atomic: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions if atomic else self._autocommit_sessions)
