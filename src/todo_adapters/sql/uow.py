"""The SQL unit of work: one connection from SQLAlchemy's pool, used through its asyncpg
driver connection, in a transaction unless the use case is a single statement; rolled
back unless committed.

SQLAlchemy keeps what it is good at here: the pool (sizes, overflow, recycling, the idle
ping in engine.py, invalidating a dead connection), the schema and the migrations. The
statements themselves go straight to asyncpg (statements.py)."""

from __future__ import annotations

from types import TracebackType
from typing import Self
from uuid import UUID

from asyncpg import Connection
from asyncpg.transaction import Transaction
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from todo_adapters.sql import standby_confirmation
from todo_adapters.sql.change_feed import SqlChangeFeedRepository
from todo_adapters.sql.engine import PoolSettings
from todo_adapters.sql.errors import connection_lost, is_unavailable
from todo_adapters.sql.event_tickets import SqlEventTicketRepository
from todo_adapters.sql.gate import PoolGate
from todo_adapters.sql.idempotency import SqlIdempotencyRepository
from todo_adapters.sql.login_failures import SqlLoginFailureRepository
from todo_adapters.sql.notifier import ChangeNotifier
from todo_adapters.sql.password_resets import SqlPasswordResetRepository
from todo_adapters.sql.refresh_tokens import SqlRefreshTokenRepository
from todo_adapters.sql.repositories import SqlUserRepository
from todo_adapters.sql.sessions import SqlSessionRepository
from todo_adapters.sql.tasks import SqlTaskRepository
from todo_core.errors import StorageUnavailableError
from todo_core.ports import UnitOfWork


def _driver(pooled: PoolProxiedConnection) -> Connection:
    dbapi: DBAPIConnection | None = pooled.dbapi_connection
    driver: Connection = dbapi.driver_connection  # type: ignore[union-attr]
    return driver


class SqlUnitOfWork(UnitOfWork):
    users: SqlUserRepository
    tasks: SqlTaskRepository
    refresh_tokens: SqlRefreshTokenRepository
    idempotency: SqlIdempotencyRepository
    sessions: SqlSessionRepository
    password_resets: SqlPasswordResetRepository
    login_failures: SqlLoginFailureRepository
    changes: SqlChangeFeedRepository
    event_tickets: SqlEventTicketRepository

    def __init__(
        self,
        engine: AsyncEngine,
        gate: PoolGate,
        *,
        transaction: bool,
        notifier: ChangeNotifier | None = None,
    ) -> None:
        self._engine = engine
        self._gate = gate
        self._wants_transaction = transaction
        self._transaction: Transaction | None = None
        self._notifier = notifier
        # The users whose tasks this unit of work wrote: notified once it has committed.
        self._touched: set[UUID] = set()

    async def __aenter__(self) -> Self:
        await self._gate.enter()
        await self._connect()
        if self._wants_transaction and not await self._begin():
            # The pooled connection was dead (a restart, a failover): nothing was sent, so
            # BEGIN is tried once more on a new connection before the request gets a 503.
            await self._gate.enter()
            await self._connect()
            await self._begin(last_try=True)
        db = self._db
        self.users = SqlUserRepository(db)
        self.tasks = SqlTaskRepository(db, self._touched)
        self.refresh_tokens = SqlRefreshTokenRepository(db)
        self.idempotency = SqlIdempotencyRepository(db)
        self.sessions = SqlSessionRepository(db)
        self.password_resets = SqlPasswordResetRepository(db)
        self.login_failures = SqlLoginFailureRepository(db)
        self.changes = SqlChangeFeedRepository(db)
        self.event_tickets = SqlEventTicketRepository(db)
        return self

    async def _connect(self) -> None:
        """A pooled connection; StorageUnavailableError when none can be had."""
        try:
            self._pooled = await self._engine.raw_connection()
        except BaseException as exc:
            self._gate.leave()
            if isinstance(exc, Exception) and is_unavailable(exc):
                raise StorageUnavailableError() from exc
            raise
        self._db = _driver(self._pooled)
        self._confirmation = standby_confirmation.of(self._pooled)
        self._confirmation.missing = None

    async def _begin(self, *, last_try: bool = False) -> bool:
        """Start the transaction; False when the connection turned out lost (it is given
        back, discarded), unless this is the last try: then StorageUnavailableError."""
        try:
            # transaction() itself checks that the connection is open.
            transaction = self._db.transaction()
            await transaction.start()
        except BaseException as exc:
            await self._release(exc)
            if not _is_exception(exc):
                raise
            if not last_try and connection_lost(exc):
                return False
            if is_unavailable(exc):
                raise StorageUnavailableError() from exc
            raise
        self._transaction = transaction
        return True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Read before the connection goes back: the next unit of work on it clears it.
        unconfirmed = self._confirmation.missing
        release_error = await self._release(exc)
        if exc is not None and _is_exception(exc) and is_unavailable(exc):
            raise StorageUnavailableError() from exc
        if exc is None and (failure := release_error or unconfirmed) is not None:
            raise StorageUnavailableError() from failure

    async def commit(self) -> None:
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            await transaction.commit()
        if self._touched and self._notifier is not None:
            self._notifier.changed(self._touched)
            self._touched.clear()

    async def _release(self, exc: BaseException | None) -> Exception | None:
        """Roll back what was not committed and give the connection back. A connection the
        server or the network dropped is discarded with every connection opened before it
        (SQLAlchemy's own rule on a disconnect: a restart took them all); one left
        mid-statement by a cancellation is discarded alone."""
        pooled = self._pooled
        lost = self._db.is_closed() or (exc is not None and connection_lost(exc))
        cancelled = exc is not None and not _is_exception(exc)
        failure: Exception | None = None
        try:
            if self._transaction is not None and not (lost or cancelled):
                await self._transaction.rollback()
        except Exception as rollback_error:
            lost, failure = True, rollback_error
        finally:
            self._transaction = None
            try:
                if lost:
                    await greenlet_spawn(self._engine.sync_engine.pool._invalidate, pooled, exc)
                else:
                    await greenlet_spawn(pooled.invalidate if cancelled else pooled.close)
            finally:
                self._gate.leave()
        return failure


def _is_exception(error: BaseException) -> bool:
    """An error of the work, not a cancellation or an interrupt."""
    return isinstance(error, Exception)


DEFAULT_POOL = PoolSettings()


class SqlUnitOfWorkFactory:
    def __init__(
        self,
        engine: AsyncEngine,
        pool: PoolSettings = DEFAULT_POOL,
        *,
        autocommit: bool = True,
        notifier: ChangeNotifier | None = None,
    ) -> None:
        """`autocommit=False` behind a transaction-mode pooler: there, statements outside a
        transaction may be parsed on one server connection and executed on another
        ("prepared statement ... does not exist"), so every unit of work is a transaction.
        `pool` is what the engine was built with: the gate admits as many units of work
        as the pool keeps connections. Admitting its overflow too made the pool open and
        close overflow connections all the time under sustained load (a server process
        forked, asyncpg's statement cache and type lookups built again, for each); the
        overflow is left for what does not pass the gate (readiness probes, migrations)."""
        self._engine = engine
        self.gate = PoolGate(pool.size, pool.timeout_s, pool.max_waiting)
        self._autocommit = autocommit
        self._notifier = notifier

    def __call__(self, *, atomic: bool = True) -> SqlUnitOfWork:
        """`atomic=False` for a use case of one statement, which PostgreSQL runs atomically
        on its own: no BEGIN and COMMIT round trips."""
        transaction = atomic or not self._autocommit
        return SqlUnitOfWork(
            self._engine, self.gate, transaction=transaction, notifier=self._notifier
        )
