"""Whether the synchronous standby confirmed what a connection committed.

With a synchronous standby (the failover setup in deploy/ha), a commit waits until the
standby has it. When that wait is cancelled (a cancel request: an operator's
pg_cancel_backend, or asyncpg's command timeout), PostgreSQL keeps the commit on the
primary alone and reports success with a WARNING: a failover then loses what the client
was told is stored. The unit of work answers 503 instead, as when the connection drops at
COMMIT: the outcome is unknown to the client, who must take a retry's answer as "maybe
applied" (a keyed create replays its task; a PATCH with the old If-Match gets 412, a
DELETE 404)."""

from __future__ import annotations

from typing import Any

from asyncpg import Connection, PostgresLogMessage, PostgresWarning
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection

# The warning is a plain one (SQLSTATE 01000), as are others PostgreSQL sends on ordinary
# writes (a database nearing transaction ID wraparound warns on each one), and its text is
# translated (lc_messages): the server function that raised it is what tells it apart.
_PLAIN_WARNING = "01000"
_CANCELLED_WAIT = "SyncRepWaitForLSN"
_KEY = "standby_confirmation"


class StandbyConfirmation:
    """Hears every notice of one connection. `missing` holds the warning of a commit the
    standby did not confirm, until the next unit of work on the connection clears it."""

    __slots__ = ("missing",)

    def __init__(self) -> None:
        self.missing: PostgresWarning | None = None

    def __call__(self, connection: Connection, message: PostgresLogMessage) -> None:
        if (
            isinstance(message, PostgresWarning)
            and message.sqlstate == _PLAIN_WARNING
            and getattr(message, "server_source_function", None) == _CANCELLED_WAIT
        ):
            self.missing = message


def watch_pool(engine: AsyncEngine) -> None:
    """Every connection the pool opens gets its StandbyConfirmation, kept in its record's
    info: SQLAlchemy clears that with the connection, and the event fires again for the
    next one."""

    @event.listens_for(engine.sync_engine.pool, "connect")
    def _watch(dbapi_connection: Any, record: Any) -> None:
        confirmation = StandbyConfirmation()
        dbapi_connection.driver_connection.add_log_listener(confirmation)
        record.info[_KEY] = confirmation


def of(pooled: PoolProxiedConnection) -> StandbyConfirmation:
    confirmation: StandbyConfirmation = pooled.info[_KEY]
    return confirmation
