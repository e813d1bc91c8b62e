"""A pooled connection can turn out dead at any step of a unit of work: at BEGIN, at a
statement, in the middle of a transaction, at COMMIT. At BEGIN nothing was applied, so a
new connection takes over unseen; anywhere else it is a StorageUnavailableError (the 503
with Retry-After), never another error, nothing of the broken transaction stays, and the
next unit of work runs on a live connection. The server ends the connection as a failover
or a restart would (pg_terminate_backend)."""

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


async def test_a_pooled_connection_dead_at_begin_is_replaced_unseen(
    pool: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    dead = await _pooled_backend(pool)
    await _terminate(engine, dead)
    user = make_user()
    # BEGIN on a dead connection applied nothing: it is tried again on a new one.
    async with pool() as uow:
        assert await _backend_of(uow) != dead
        await uow.users.add(user)
        await uow.commit()
    async with pool(atomic=False) as uow:
        assert await uow.users.get(user.id) == user


async def test_a_pooled_connection_dead_at_a_lone_statement_is_a_503(
    pool: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    await _terminate(engine, await _pooled_backend(pool))

    async def read_once() -> None:
        async with pool(atomic=False) as uow:
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
