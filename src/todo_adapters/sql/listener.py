"""One worker's connection for LISTEN: it hears which users' tasks changed (the NOTIFY
each instance sends after its commits, notifier.py, carries only the user's id) and holds
the worker's event-stream slots as session-level advisory locks, which PostgreSQL releases
by itself when the connection, the worker or the whole instance goes away.

A dedicated connection, outside the pool and opened from LISTEN_DATABASE_URL: behind a
transaction-mode pooler, LISTEN and session locks would stay on whichever server
connection ran them. When it drops (a restart, a failover, pg_terminate_backend, a
network loss found by the periodic ping), it is opened again with backoff, and
`on_connected` runs each time: what was heard (and locked) on the old one must be made up
for, since notifications sent meanwhile are lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from todo_adapters.sql.database_url import parse_database_url
from todo_adapters.sql.errors import is_unavailable
from todo_adapters.sql.notifier import CHANNEL
from todo_adapters.sql.stream_locks import slot_key, watch_key
from todo_core.errors import StorageUnavailableError

Slot = tuple[UUID, int]  # a user, and one of their stream slots (0 .. limit-1)

# The first free slot among those this worker does not hold already (a session lock is
# re-entrant: trying one we hold would succeed again). unnest keeps the order and the
# LIMIT stops at the first lock taken, so no other slot is locked on the way.
_TAKE = (
    "SELECT n FROM unnest($1::bigint[], $2::int[]) AS s(key, n)"
    " WHERE pg_try_advisory_lock(key) LIMIT 1"
)
_RELEASE = "SELECT pg_advisory_unlock($1)"
# After a reconnect: every slot again; those another worker took meanwhile come back.
_RETAKE = (
    "SELECT n FROM unnest($1::bigint[], $2::int[]) AS s(key, n) WHERE NOT pg_try_advisory_lock(key)"
)
# A user's watch, shared: waits only while a notifier holds it for an instant (notifier.py).
_WATCH = "SELECT pg_advisory_lock_shared(key) FROM unnest($1::bigint[]) AS key"
_UNWATCH = "SELECT pg_advisory_unlock_shared($1)"

MAX_BACKOFF_S = 5.0

log = structlog.get_logger("todo_adapters.sql.listener")


def connect_arguments(database_url: str) -> dict[str, Any]:
    """asyncpg.connect's arguments for any URL the pool accepts (Neon's sslmode and
    channel_binding, several hosts with target_session_attrs): the same parsing, through
    SQLAlchemy's asyncpg dialect as the engine does."""
    target = parse_database_url(database_url)
    _, arguments = asyncpg_dialect().create_connect_args(target.url)  # type: ignore[no-untyped-call]
    connect_args = dict(target.connect_args)
    server_settings = dict(connect_args.pop("server_settings", {}))
    server_settings.setdefault("application_name", "todo-api-listen")
    return {**arguments, **connect_args, "server_settings": server_settings}


class PgListener:
    def __init__(
        self,
        database_url: str,
        *,
        connect_timeout_s: float = 5.0,
        ping_interval_s: float = 5.0,
    ) -> None:
        self._arguments = connect_arguments(database_url)
        self._arguments.setdefault("timeout", connect_timeout_s)
        self._ping_interval_s = ping_interval_s
        self._db: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        # One statement at a time on the connection (asyncpg refuses overlapping ones).
        self._busy = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._connected_once = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self._db is not None and not self._db.is_closed() and not self._lost.is_set()

    async def start(
        self,
        on_notify: Callable[[str], None],
        on_connected: Callable[[], Awaitable[None]],
        first_within_s: float = 5.0,
    ) -> None:
        """Listen from now on, in the background; waits up to `first_within_s` for the
        first connection (the worker serves without it meanwhile: streams get 503)."""
        self._task = asyncio.create_task(self._run(on_notify, on_connected), name="listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected_once.wait(), first_within_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close()

    async def _run(
        self, on_notify: Callable[[str], None], on_connected: Callable[[], Awaitable[None]]
    ) -> None:
        delay = 0.1
        while True:
            try:
                await self._connect(on_notify)
            except Exception as exc:
                log.warning("listener.connect_failed", error=type(exc).__name__, retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            delay = 0.1
            self._connected_once.set()
            try:
                await on_connected()
                await self._watch()
            except Exception:
                # Whatever went wrong, listening must go on: on a new connection.
                log.exception("listener.failed")
            finally:
                await self._close()

    async def _connect(self, on_notify: Callable[[str], None]) -> None:
        def heard(_db: object, _pid: int, _channel: str, payload: str) -> None:
            on_notify(payload)

        db = await asyncpg.connect(**self._arguments)
        try:
            await db.add_listener(CHANNEL, heard)
        except BaseException:
            db.terminate()
            raise
        db.add_termination_listener(lambda _db: self._lost.set())
        self._lost.clear()
        self._db = db

    async def _watch(self) -> None:
        """Until the connection is lost: told by asyncpg when the server ends it, found
        by a ping when the network silently dropped it."""
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self._ping_interval_s)
                return
            try:
                # Not an empty query: asyncpg 0.32 fails on its empty response.
                await self._query(lambda db: db.fetchval("SELECT 1"), self._ping_interval_s)
            except StorageUnavailableError:
                return

    async def _close(self) -> None:
        self._lost.set()
        db, self._db = self._db, None
        if db is not None and not db.is_closed():
            db.terminate()

    async def _query(
        self, run: Callable[[asyncpg.Connection], Awaitable[Any]], within_s: float
    ) -> Any:
        async with self._busy:
            db = self._db
            if db is None or not self.connected:
                raise StorageUnavailableError()
            try:
                return await asyncio.wait_for(run(db), within_s)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                self._lost.set()
                raise StorageUnavailableError() from exc

    async def take_slot(
        self, user_id: UUID, limit: int, held: Collection[int], *, watch: bool
    ) -> int | None:
        """Lock the first of the user's `limit` slots that no worker holds (`held`: those
        this worker holds); None when all are taken. With `watch` (this connection does
        not watch the user yet), the user is watched too, before the slot, so that writes
        from then on notify: release it with the last stream. StorageUnavailableError when
        the connection is down."""
        free = [n for n in range(limit) if n not in held]
        if not free:
            return None
        keys = [slot_key(user_id, n) for n in free]
        watched = watch_key(user_id)

        async def take(db: asyncpg.Connection) -> Any:
            if watch:
                await db.execute(_WATCH, [watched])
            taken = await db.fetchval(_TAKE, keys, free)
            if taken is None and watch:
                await db.fetchval(_UNWATCH, watched)
            return taken

        taken = await self._query(take, 5.0)
        return None if taken is None else int(taken)

    async def release_slot(self, user_id: UUID, slot: int | None, *, last: bool) -> None:
        """Unlock a slot (None: none to unlock), and the user's watch with their `last`
        stream here; nothing to do when the connection went (it took the locks along)."""

        async def release(db: asyncpg.Connection) -> None:
            if slot is not None:
                await db.fetchval(_RELEASE, slot_key(user_id, slot))
            if last:
                await db.fetchval(_UNWATCH, watch_key(user_id))

        with contextlib.suppress(StorageUnavailableError):
            await self._query(release, 5.0)

    async def retake(self, slots: Collection[Slot]) -> set[Slot]:
        """Lock these slots again on a new connection, each user watched again first;
        those taken by another worker meanwhile (their streams must end) come back."""
        if not slots:
            return set()
        listed = list(slots)
        keys = [slot_key(user, n) for user, n in listed]
        watches = [watch_key(user) for user in {user for user, _ in listed}]

        async def retake(db: asyncpg.Connection) -> Any:
            await db.execute(_WATCH, watches)
            return await db.fetch(_RETAKE, keys, list(range(len(listed))))

        lost = await self._query(retake, 10.0)
        return {listed[row[0]] for row in lost}
