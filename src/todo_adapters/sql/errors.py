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


def is_unavailable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (sa_exc.TimeoutError, OSError, asyncio.TimeoutError, ConnectionError)):
        return True
    state = _sqlstate(error)
    if state is not None:
        return state.startswith(_UNAVAILABLE_STATES)
    # asyncpg reports a dropped connection as an InterfaceError without a SQLSTATE.
    return isinstance(error, (sa_exc.InterfaceError, asyncpg.InterfaceError)) or isinstance(
        error.__cause__, (asyncpg.InterfaceError, asyncpg.ConnectionDoesNotExistError)
    )
