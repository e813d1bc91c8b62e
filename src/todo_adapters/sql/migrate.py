"""Bring the schema to the newest revision at startup. Several workers may start at once,
so the upgrade runs in one transaction under a PostgreSQL advisory lock: one migrates, the
others wait and then find nothing to do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


class UnknownRevisionError(ValueError):
    """The revision asked for does not exist, or cannot be reached from where we are."""


# An arbitrary constant that names "the todo schema migration" among advisory locks.
_MIGRATION_LOCK_KEY = 0x70D0_5C4E


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade_schema(engine: AsyncEngine, revision: str = "head") -> None:
    await _migrate(engine, command.upgrade, revision)


async def downgrade_schema(engine: AsyncEngine, revision: str) -> None:
    await _migrate(engine, command.downgrade, revision)


async def _migrate(engine: AsyncEngine, step: Callable[[Config, str], None], revision: str) -> None:
    async with engine.begin() as connection:
        # A transaction-level lock, released by the commit (or by the rollback of a failed
        # migration): a session-level one would stay behind on a server connection that a
        # transaction-mode pooler (PgBouncer, Neon) hands on to the next client.
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
        )
        try:
            await connection.run_sync(lambda sync: step(alembic_config(sync), revision))
        except CommandError as exc:
            raise UnknownRevisionError(str(exc)) from exc


def is_known_revision(revision: str) -> bool:
    """A revision of this release's migrations (a database a newer release migrated may be
    at one it does not know)."""
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None for an empty database."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
