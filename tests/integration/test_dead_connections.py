"""A pooled connection can turn out dead at any step of a unit of work: when it is taken
from the pool, at BEGIN, in the middle of a statement, at COMMIT. Each is a
StorageUnavailableError (the 503 with Retry-After), never another error, and the pool
then hands out live connections again: the next unit of work succeeds on a new one. The
server ends the connection as a failover or a restart would (pg_terminate_backend)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.contracts.builders import make_task, make_user
from todo_adapters.sql.engine import PoolSettings, build_engine
from todo_adapters.sql.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from todo_core.errors import StorageUnavailableError

ONE_CONNECTION = PoolSettings(size=1, max_overflow=0)


@pytest.fixture
async def pool(direct_database_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    """A pool of one connection, so that the connection killed is the one used next."""
    engine = build_engine(direct_database_url, ONE_CONNECTION)
    yield SqlUnitOfWorkFactory(engine, ONE_CONNECTION)
    await engine.dispose()


async def _backend_of(uow: SqlUnitOfWork) -> int:
    pid: int = await uow._db.fetchval("SELECT pg_backend_pid()")
    return pid


async def _terminate(engine: AsyncEngine, pid: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def _pooled_backend(pool: SqlUnitOfWorkFactory) -> int:
    async with pool(atomic=False) as uow:
        return await _backend_of(uow)


async def _still_works(pool: SqlUnitOfWorkFactory) -> None:
    user = make_user()
    async with pool() as uow:
        await uow.users.add(user)
        await uow.commit()
    async with pool(atomic=False) as uow:
        assert await uow.users.get(user.id) == user


@pytest.mark.parametrize("atomic", [True, False], ids=["at BEGIN", "at the first statement"])
async def test_a_pooled_connection_dead_when_taken(
    pool: SqlUnitOfWorkFactory, engine: AsyncEngine, atomic: bool
) -> None:
    await _terminate(engine, await _pooled_backend(pool))

    async def read_once() -> None:
        async with pool(atomic=atomic) as uow:
            await uow.users.get(make_user().id)

    with pytest.raises(StorageUnavailableError):
        await read_once()
    await _still_works(pool)


async def test_a_connection_dying_mid_statement(
    pool: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    user = make_user()

    async def killed_between_two_statements() -> None:
        async with pool() as uow:
            await uow.users.add(user)
            await _terminate(engine, await _backend_of(uow))
            await uow.tasks.add(make_task(user))

    with pytest.raises(StorageUnavailableError):
        await killed_between_two_statements()
    await _still_works(pool)
    async with pool(atomic=False) as uow:
        assert await uow.users.get(user.id) is None, "nothing of the broken transaction stays"


async def test_a_connection_dying_before_commit(
    pool: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    user = make_user()

    async def killed_before_commit() -> None:
        async with pool() as uow:
            await uow.users.add(user)
            await _terminate(engine, await _backend_of(uow))
            await uow.commit()

    with pytest.raises(StorageUnavailableError):
        await killed_before_commit()
    await _still_works(pool)
    async with pool(atomic=False) as uow:
        assert await uow.users.get(user.id) is None
