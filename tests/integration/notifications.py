"""What a listener hears: a direct connection LISTENing on the task_changes channel, and the
payloads (user ids) it received, in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg

from todo_adapters.sql.notifier import CHANNEL


@contextlib.asynccontextmanager
async def hearing(
    database_url: str,
) -> AsyncIterator[tuple[asyncpg.Connection, asyncio.Queue[str]]]:
    connection = await asyncpg.connect(database_url)
    heard: asyncio.Queue[str] = asyncio.Queue()
    try:
        await connection.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[3]))
        yield connection, heard
    finally:
        await connection.close()
