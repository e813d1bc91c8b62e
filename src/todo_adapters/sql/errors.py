"""Which database failures mean "the store is unreachable right now" (a retryable 503)
rather than a bug (a 500)."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy import exc as sa_exc

# SQLSTATE classes and codes that say nothing about the request, only about the server:
# connection exceptions, operator intervention (shutdown, restart, statement timeout),
# and too many connections.
_UNAVAILABLE_STATES = ("08", "57P", "57014", "53300")


def _sqlstate(error: BaseException) -> str | None:
    for candidate in (error, error.__cause__, getattr(error, "orig", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


# The server or the network ended the connection itself: connection exceptions, and
# administrator, crash and startup shutdowns. And a write refused as read-only (25006): the
# server it reached is a standby now (a switchover demoted it), so this connection and its
# siblings must go, and the next ones find the new primary (target_session_attrs).
_CONNECTION_LOST_STATES = ("08", "57P01", "57P02", "57P03", "25006")
# asyncpg reports a dropped connection as an InterfaceError without a SQLSTATE, and a
# connection the server terminated between two statements (its FATAL error read, the end of
# the stream not yet) as an InternalClientError: "another operation is in progress".
_DROPPED = (sa_exc.InterfaceError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def connection_lost(error: BaseException) -> bool:
    """The connection this error came from is gone (and likely its siblings with it)."""
    if isinstance(error, (OSError, ConnectionError, *_DROPPED)):
        return True
    if isinstance(error.__cause__, (asyncpg.InterfaceError, asyncpg.ConnectionDoesNotExistError)):
        return True
    state = _sqlstate(error)
    return state is not None and state.startswith(_CONNECTION_LOST_STATES)


def is_unavailable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (sa_exc.TimeoutError, asyncio.TimeoutError)) or connection_lost(error):
        return True
    state = _sqlstate(error)
    return state is not None and state.startswith(_UNAVAILABLE_STATES)
