"""Which database failures are "the store is unreachable right now" (503) and which ones
also mean the connection, with its siblings, is gone."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg import exceptions as pg

from todo_adapters.sql.errors import connection_lost, is_unavailable


@pytest.mark.parametrize(
    "error",
    [
        pg.AdminShutdownError("terminating connection due to administrator command"),
        pg.CannotConnectNowError("the database system is starting up"),
        pg.ConnectionDoesNotExistError("connection is closed"),
        # A switchover demoted the server this connection reached: find the new primary.
        pg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
        asyncpg.InterfaceError("connection is closed"),
        ConnectionRefusedError(111, "Connection refused"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_lost_or_demoted_server_drops_the_connection_and_is_a_503(error: Exception) -> None:
    assert connection_lost(error)
    assert is_unavailable(error)


def test_no_host_being_primary_yet_is_a_503() -> None:
    # asyncpg went through every host of the URL and none was read-write (a failover in
    # progress).
    assert is_unavailable(asyncpg.TargetServerAttributeNotMatched("no read-write host"))


@pytest.mark.parametrize(
    "error",
    [pg.UniqueViolationError("duplicate key"), pg.CheckViolationError("check"), ValueError()],
    ids=lambda e: type(e).__name__,
)
def test_an_error_of_the_request_is_neither(error: Exception) -> None:
    assert not connection_lost(error)
    assert not is_unavailable(error)
