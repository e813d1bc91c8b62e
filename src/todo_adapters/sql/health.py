from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_adapters.sql.errors import is_unavailable


class SqlReadinessProbe:
    """Answers whether the database takes a query right now, within a bounded time."""

    def __init__(self, engine: AsyncEngine, timeout_s: float = 2.0) -> None:
        self._engine = engine
        self._timeout = timeout_s

    async def ready(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout), self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            if is_unavailable(exc):
                return False
            raise
        return True
