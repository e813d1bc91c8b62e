"""NOTIFY task_changes, '<user id>' for the users whose tasks a unit of work changed, sent
after it commits: what wakes the event streams of every instance (they then read the feed).

Not from the writing transaction itself (a trigger could): PostgreSQL serializes every
transaction that notified, through its commit and the flush to disk, on one lock for the
whole server. Measured with pgbench, 16 clients each updating one task per transaction:
1,300-1,500 tx/s without the NOTIFY, 50-370 with it. Here one worker's notifications go in
one statement at a time: sent at once when none is in flight, else gathered while one is
(and for at most 10 ms after it) and sent together next, so an idle service adds no delay
and a busy one at most a hundred statements a second per worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Final
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

CHANNEL: Final = "task_changes"
SEND_INTERVAL_S: Final = 0.01
_NOTIFY = "SELECT pg_notify($1, u) FROM unnest($2::text[]) AS u"

log = structlog.get_logger("todo_adapters.notifier")


class ChangeNotifier:
    def __init__(self, engine: AsyncEngine, *, in_transaction: bool = False) -> None:
        """`in_transaction` behind a transaction-mode pooler (as the units of work)."""
        self._engine = engine
        self._in_transaction = in_transaction
        self._pending: set[UUID] = set()
        self._sending: asyncio.Task[None] | None = None

    def changed(self, user_ids: Iterable[UUID]) -> None:
        """Committed changes of these users' tasks: notify soon, never waiting here."""
        self._pending.update(user_ids)
        if self._pending and (self._sending is None or self._sending.done()):
            self._sending = asyncio.create_task(self._send(), name="notify-task-changes")

    async def _send(self) -> None:
        while self._pending:
            started = time.monotonic()
            users, self._pending = [str(u) for u in self._pending], set()
            try:
                await self._notify(users)
            except Exception as error:
                # The changes are committed and in the feed: a stream catches up at the
                # next notification for its user, or when its client reconnects.
                log.warning("notify.failed", users=len(users), error=type(error).__name__)
            if self._pending:
                # Each NOTIFY is a commit of its own, flushed to disk under that one lock:
                # under load, what comes meanwhile waits for the next one, at most
                # SEND_INTERVAL_S after the last.
                await asyncio.sleep(max(0.0, started + SEND_INTERVAL_S - time.monotonic()))

    async def _notify(self, users: list[str]) -> None:
        # On the pool's asyncpg connection itself, one statement, committed on its own (a
        # SQLAlchemy connection's BEGIN, statement and COMMIT cost the worker more than the
        # write they announce: measured +27% workers' CPU per delete).
        pooled = await self._engine.raw_connection()
        lost = True
        try:
            db = pooled.dbapi_connection.driver_connection  # type: ignore[union-attr]
            if self._in_transaction:
                async with db.transaction():
                    await db.execute(_NOTIFY, CHANNEL, users)
            else:
                await db.execute(_NOTIFY, CHANNEL, users)
            lost = False
        finally:
            await greenlet_spawn(pooled.invalidate if lost else pooled.close)

    async def close(self) -> None:
        """Send what is pending (at shutdown)."""
        if self._sending is not None:
            await asyncio.shield(self._sending)
