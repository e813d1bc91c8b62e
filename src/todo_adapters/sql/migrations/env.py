"""Alembic environment. The app runs migrations on a connection it hands over in
`config.attributes["connection"]`; the alembic CLI gets one from DATABASE_URL."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from todo_adapters.sql.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_environment() -> None:
    from todo_adapters.sql.engine import PoolSettings, build_engine

    engine = build_engine(os.environ["DATABASE_URL"], PoolSettings(size=1, max_overflow=0))
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    asyncio.run(_run_from_environment())
