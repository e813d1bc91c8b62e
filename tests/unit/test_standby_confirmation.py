"""Which notices say that a commit stayed on the primary alone: only the cancelled wait for
the synchronous standby, told by the server function that raised it, not by its text."""

from __future__ import annotations

import pytest
from asyncpg import exceptions as pg

from todo_adapters.sql.standby_confirmation import StandbyConfirmation


def _notice(severity: str, sqlstate: str, function: str, text: str) -> pg.PostgresLogMessage:
    fields = {"S": severity, "V": severity, "C": sqlstate, "R": function, "M": text}
    return pg.PostgresLogMessage.new(fields)


@pytest.mark.parametrize(
    "text",
    [
        "canceling wait for synchronous replication due to user request",
        "Warten auf synchrone Replikation wird storniert wegen Benutzeraufforderung",
    ],
)
def test_the_cancelled_wait_is_heard_in_any_language(text: str) -> None:
    confirmation = StandbyConfirmation()
    notice = _notice("WARNING", "01000", "SyncRepWaitForLSN", text)
    confirmation(None, notice)  # type: ignore[arg-type]
    assert confirmation.missing is notice


@pytest.mark.parametrize(
    "notice",
    [
        # Sent on every write of a database nearing transaction ID wraparound: it commits.
        _notice(
            "WARNING",
            "01000",
            "GetNewTransactionId",
            'database "todo" must be vacuumed within 39999999 transactions',
        ),
        _notice(
            "WARNING", "25P01", "WarnNoTransactionBlock", "there is no transaction in progress"
        ),
        _notice(
            "NOTICE", "00000", "transformCreateStmt", 'relation "tasks" already exists, skipping'
        ),
    ],
    ids=["wraparound", "no-transaction", "notice"],
)
def test_other_notices_leave_the_commit_confirmed(notice: pg.PostgresLogMessage) -> None:
    confirmation = StandbyConfirmation()
    confirmation(None, notice)  # type: ignore[arg-type]
    assert confirmation.missing is None
