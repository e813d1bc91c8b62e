"""What the application sends to PostgreSQL, captured for tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def captured(engine: AsyncEngine) -> Iterator[list[tuple[str, object]]]:
    """Every statement (and its arguments) sent on a connection checked out meanwhile."""
    statements: list[tuple[str, object]] = []
    pool = engine.sync_engine.pool

    def remember(logged):
        statements.append((logged.query, logged.args))

    def listen(dbapi_connection, record, proxy):
        dbapi_connection.driver_connection.add_query_logger(remember)

    def stop(dbapi_connection, record):
        dbapi_connection.driver_connection.remove_query_logger(remember)

    event.listen(pool, "checkout", listen)
    event.listen(pool, "checkin", stop)
    try:
        yield statements
    finally:
        event.remove(pool, "checkout", listen)
        event.remove(pool, "checkin", stop)
