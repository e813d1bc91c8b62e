"""Whether the synchronous standby confirmed what a connection committed.

With a synchronous standby (the failover setup in deploy/ha), a commit waits until the
standby has it. When that wait is cancelled (the statement timeout, a cancel request),
PostgreSQL keeps the commit on the primary alone and reports success with a WARNING: a
failover then loses what the client was told is stored. The unit of work answers 503
instead, as when the connection drops at COMMIT: the client cannot know the outcome, and
its retry (the same Idempotency-Key, the same If-Match) settles it."""

from __future__ import annotations

from asyncpg import Connection, PostgresLogMessage, PostgresWarning

# The cancelled wait is a plain WARNING, SQLSTATE 01000; the server translates its text
# (lc_messages), so the code is what is matched. No statement of ours raises a warning.
_PLAIN_WARNING = "01000"


class StandbyConfirmation:
    """Hears every notice of one connection. `missing` holds the warning of a commit the
    standby did not confirm, until the next unit of work on the connection clears it."""

    __slots__ = ("missing",)

    def __init__(self) -> None:
        self.missing: PostgresWarning | None = None

    def __call__(self, connection: Connection, message: PostgresLogMessage) -> None:
        if isinstance(message, PostgresWarning) and message.sqlstate == _PLAIN_WARNING:
            self.missing = message


def watch(connection: Connection) -> StandbyConfirmation:
    confirmation = StandbyConfirmation()
    connection.add_log_listener(confirmation)
    return confirmation
