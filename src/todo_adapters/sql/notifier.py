"""NOTIFY task_changes, '<user id>' for the users whose tasks a unit of work changed, sent
after it commits: what wakes the event streams of every instance (they then read the feed).

Not from the writing transaction itself (a trigger could): PostgreSQL serializes every
transaction that notified, through its commit and the flush to disk, on one lock for the
whole server. Measured with pgbench, 16 clients each updating one task per transaction:
1,300-1,500 tx/s without the NOTIFY, 50-370 with it. Here one worker's notifications go in
one statement at a time: sent at once when none is in flight, else gathered while one is
(and for at most 50 ms after it) and sent together next, so an idle service adds no delay
and a busy one at most twenty statements a second per worker. Each send costs the worker
a round trip (its socket write most): at 100 a second, a worker deleting 1,400 tasks a
second spent 7% of its CPU in them (py-spy).

Only users someone follows are notified: a listener with a stream of the user open holds
the user's watch lock shared (stream_locks.py), and the statement notifies a user only
when it cannot take that lock itself. Most writes have no follower, and then the statement
only tries a lock: no NOTIFY, so no commit to flush and no listener of any worker woken to
read a notification no stream wants. Nothing is missed: a stream watches its user before
it reads the feed, so a write either committed before the stream's read (which sees it),
or found the watch held (and notifies), or took the lock first (and the stream's shared
lock waited until the statement ended, after the write's commit)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Final
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from todo_adapters.sql.stream_locks import watch_key

CHANNEL: Final = "task_changes"
SEND_INTERVAL_S: Final = 0.05
RETRY_S: Final = 0.5
_NOTIFY = (
    "SELECT pg_notify($1, u) FROM unnest($2::text[], $3::bigint[]) AS w(u, watch)"
    " WHERE NOT pg_try_advisory_xact_lock(watch)"
)

log = structlog.get_logger("todo_adapters.notifier")


class ChangeNotifier:
    def __init__(self, engine: AsyncEngine, *, in_transaction: bool = False) -> None:
        """`in_transaction` behind a transaction-mode pooler (as the units of work)."""
        self._engine = engine
        self._in_transaction = in_transaction
        self._pending: set[UUID] = set()
        self._sending: asyncio.Task[None] | None = None
        # One pooled connection, kept: given back after each send, it would push the pool
        # past its size whenever every other connection is busy, and an overflow
        # connection is closed on return, so a busy service opened a new connection (a
        # new server process, its caches and type lookups) every few sends.
        self._held: PoolProxiedConnection | None = None
        self._closing = False

    def changed(self, user_ids: Iterable[UUID]) -> None:
        """Committed changes of these users' tasks: notify soon, never waiting here."""
        self._pending.update(user_ids)
        if self._pending and (self._sending is None or self._sending.done()):
            self._sending = asyncio.create_task(self._send(), name="notify-task-changes")

    async def _send(self) -> None:
        failed = 0
        while self._pending:
            started = time.monotonic()
            users, self._pending = list(self._pending), set()
            try:
                await self._notify(users)
            except Exception as error:
                log.warning("notify.failed", users=len(users), error=type(error).__name__)
                if self._closing:
                    # The changes are in the feed: streams catch up when their clients
                    # reconnect (to another instance, as this one is stopping).
                    return
                # Kept for the next try, on a new connection (at once the first time: the
                # kept one may just have been dropped while idle): a stream of these
                # users elsewhere would otherwise wait for their next write to hear.
                self._pending.update(users)
                failed += 1
                if failed > 1:
                    await asyncio.sleep(RETRY_S)
                continue
            failed = 0
            if self._pending:
                # Each NOTIFY is a commit of its own, flushed to disk under that one lock:
                # under load, what comes meanwhile waits for the next one, at most
                # SEND_INTERVAL_S after the last.
                await asyncio.sleep(max(0.0, started + SEND_INTERVAL_S - time.monotonic()))

    async def _notify(self, users: list[UUID]) -> None:
        ids, watches = [str(u) for u in users], [watch_key(u) for u in users]
        # On the asyncpg connection itself, one statement, committed on its own (a
        # SQLAlchemy connection's BEGIN, statement and COMMIT cost the worker more than the
        # write they announce: measured +27% workers' CPU per delete).
        if self._held is None:
            self._held = await self._engine.raw_connection()
        try:
            db = self._held.dbapi_connection.driver_connection  # type: ignore[union-attr]
            if self._in_transaction:
                async with db.transaction():
                    await db.execute(_NOTIFY, CHANNEL, ids, watches)
            else:
                await db.execute(_NOTIFY, CHANNEL, ids, watches)
        except BaseException:
            held, self._held = self._held, None
            await greenlet_spawn(held.invalidate)
            raise

    async def close(self) -> None:
        """Send what is pending (at shutdown), then give the connection back."""
        self._closing = True
        if self._sending is not None:
            await asyncio.shield(self._sending)
        if self._held is not None:
            held, self._held = self._held, None
            await greenlet_spawn(held.close)
