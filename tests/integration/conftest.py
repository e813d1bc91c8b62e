"""Real PostgreSQL, real HTTP stack. One database per test session, migrated by alembic;
every test starts with empty tables."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tests.integration.processes import TEST_JWT_SECRET
from tests.postgres import (
    fresh_database_name,
    pgbouncer_in_front,
    postgres_server,
    with_database,
)
from todo_adapters.sql.database_url import parse_database_url
from todo_adapters.sql.engine import PoolSettings, build_engine
from todo_adapters.sql.migrate import upgrade_schema
from todo_adapters.sql.uow import SqlUnitOfWorkFactory
from todo_api.app import create_app
from todo_api.settings import Settings


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def admin_engine(url: str) -> AsyncEngine:
    target = parse_database_url(url)
    return create_async_engine(
        target.url, connect_args=target.connect_args, isolation_level="AUTOCOMMIT"
    )


VIA_PGBOUNCER = os.environ.get("TEST_PGBOUNCER") == "1"


@asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the server, dropped afterwards."""
    name = fresh_database_name()
    admin = admin_engine(server_url)
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(server_url, name)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@asynccontextmanager
async def failing_inserts(engine: AsyncEngine, table: str) -> AsyncIterator[None]:
    """Every insert into `table` fails the way PostgreSQL fails when its disk is full."""
    function = f"fail_{table}_insert"
    async with engine.begin() as connection:
        await connection.execute(
            text(
                f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " RAISE EXCEPTION 'could not extend file: No space left on device'"
                " USING ERRCODE = 'disk_full'; END $$"
            )
        )
        await connection.execute(
            text(
                f"CREATE TRIGGER {function} BEFORE INSERT ON {table}"
                f" FOR EACH ROW EXECUTE FUNCTION {function}()"
            )
        )
    try:
        yield
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f"DROP TRIGGER {function} ON {table}"))
            await connection.execute(text(f"DROP FUNCTION {function}()"))


@pytest.fixture(scope="session")
async def direct_database_url(server_url: str) -> AsyncIterator[str]:
    """A database of this session's own, migrated, dropped at the end."""
    async with fresh_database(server_url) as url:
        engine = build_engine(url, PoolSettings(size=2))
        await upgrade_schema(engine)
        await engine.dispose()
        yield url


@pytest.fixture
async def empty_database(server_url: str) -> AsyncIterator[str]:
    """A database with no schema at all."""
    async with fresh_database(server_url) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(direct_database_url: str) -> Iterator[str]:
    """What the application connects to: the database itself, or with TEST_PGBOUNCER=1 a
    PgBouncer in transaction mode in front of it."""
    if not VIA_PGBOUNCER:
        yield direct_database_url
        return
    # LISTEN cannot go through transaction pooling: every app and served process of the
    # run (they read the environment) listens on the database itself, as deployed.
    with (
        pgbouncer_in_front(direct_database_url) as url,
        pytest.MonkeyPatch.context() as environment,
    ):
        environment.setenv("LISTEN_DATABASE_URL", direct_database_url)
        yield url


@pytest.fixture(scope="session")
async def engine(direct_database_url: str) -> AsyncIterator[AsyncEngine]:
    """A direct engine for the tests' own setup and inspection."""
    engine = build_engine(direct_database_url, PoolSettings(size=5))
    yield engine
    await engine.dispose()


@pytest.fixture(autouse=True)
async def _empty_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        # TRUNCATE fires no row triggers: the counters must go with the tasks.
        await connection.execute(
            text(
                "TRUNCATE users, tasks, task_counters, task_deletions, login_failures,"
                " password_resets CASCADE"
            )
        )


@pytest.fixture
def sql_uow(engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        DATA_DIR=tmp_path,
        JWT_SECRET=TEST_JWT_SECRET,
        BCRYPT_ROUNDS=4,
        DB_POOL_SIZE=5,
        DB_PGBOUNCER=VIA_PGBOUNCER,
        LOG_LEVEL="DEBUG",
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The whole application, started: lifespan (migrations, pool) included."""
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the started ASGI app."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def add_user(connection: AsyncConnection, email: str = "ada@example.com") -> uuid.UUID:
    """A user row written directly (no API, no bcrypt), for tests of the schema itself."""
    user_id = uuid.uuid4()
    await connection.execute(
        text("INSERT INTO users VALUES (:id, :email, 'hash', now())"),
        {"id": user_id, "email": email},
    )
    return user_id


def bearer(auth_response: dict) -> dict[str, str]:
    """Authorization headers carrying the access token of a register or login response."""
    return {"Authorization": f"Bearer {auth_response['access_token']}"}


async def register(client: httpx.AsyncClient, email: str, password: str = "correct horse") -> dict:
    response = await client.post("/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> dict[str, str]:
    """Authorization headers of a registered user."""
    return bearer(await register(client, "alice@example.com"))


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await register(client, "bob@example.com"))
