"""The failed-login repository (see statements.py for how statements are run)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from asyncpg import Connection
from sqlalchemy import ColumnElement, Integer, bindparam, delete, func, insert, literal, select

from todo_adapters.sql.statements import Statement, param, purge_expired
from todo_adapters.sql.tables import login_failures
from todo_core.ports import FailureLimits, LimitingFailures, LoginFailureRepository

_failure = login_failures.c
# A count that is not counted (None limit) skips past every failure there can be: its
# subquery finds nothing (NULL), after a short index range scan.
_UNCOUNTED = 2**31 - 1


def _nth_newest(where: ColumnElement[bool], skip: str) -> ColumnElement[Any]:
    """When the `skip`+1-th newest failure in the window that matches `where` happened
    (NULL when there are fewer): once that one leaves the window, the count is below its
    limit again. An index range scan, newest first, of at most limit rows."""
    return (
        select(_failure.failed_at)
        .where(where, _failure.failed_at > param(_failure.failed_at, "since"))
        .order_by(_failure.failed_at.desc())
        .offset(bindparam(skip, type_=Integer()))
        .limit(1)
        .scalar_subquery()
    )


_email = _failure.email_key == param(_failure.email_key)
_address = _failure.address == param(_failure.address)
# The attempt's own row is not among those the subqueries count: every part of one
# statement sees the table as it was before the statement.
_mine = (
    insert(login_failures)
    .values(
        email_key=param(_failure.email_key),
        address=param(_failure.address),
        failed_at=param(_failure.failed_at, "now"),
    )
    .returning(_failure.id)
    .cte("mine")
)
_ATTEMPT = Statement(
    select(
        _mine.c.id,
        _nth_newest(_email, "email_skip"),
        _nth_newest(_address, "address_skip"),
        _nth_newest(_email & _address, "pair_skip"),
    )
)
# Attempts for one email, and for one address, take turns from these locks to the end of
# their transaction: the next one's count (a statement of its own, so that its snapshot is
# taken after the locks are granted) sees every failure recorded before it. Without them,
# attempts sent at once all counted before any of them was committed, and a burst passed
# the limit. Every attempt takes the email's lock first, then the address's: a wait for
# either never holds what the holder waits for. The first keys keep these locks apart from
# any other advisory lock.
EMAIL_LOCK_CLASS, ADDRESS_LOCK_CLASS = 23_001, 23_002
_TAKE_TURNS = Statement(
    select(
        func.pg_advisory_xact_lock(
            literal(EMAIL_LOCK_CLASS), func.hashtext(param(_failure.email_key))
        ),
        func.pg_advisory_xact_lock(
            literal(ADDRESS_LOCK_CLASS), func.hashtext(param(_failure.address))
        ),
    )
)
_WITHDRAW = Statement(delete(login_failures).where(_failure.id == param(_failure.id)))
_CLEAR = Statement(delete(login_failures).where(_email))
_CLEAR_FROM = Statement(delete(login_failures).where(_email, _address))
_PURGE_OLDER = purge_expired(login_failures, [_failure.id], _failure.failed_at)


def _skip(limit: int | None) -> int:
    return _UNCOUNTED if limit is None else limit - 1


class SqlLoginFailureRepository(LoginFailureRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def attempt(
        self, email_key: str, address: str, now: datetime, since: datetime, limits: FailureLimits
    ) -> tuple[int, LimitingFailures]:
        await _TAKE_TURNS.fetchrow(self._db, email_key=email_key, address=address)
        attempt_id, email, by_address, pair = await _ATTEMPT.fetchrow(
            self._db,
            email_key=email_key,
            address=address,
            now=now,
            since=since,
            email_skip=_skip(limits.email),
            address_skip=_skip(limits.address),
            pair_skip=_skip(limits.pair),
        )
        return attempt_id, LimitingFailures(email, by_address, pair)

    async def withdraw(self, attempt_id: int) -> None:
        await _WITHDRAW.rowcount(self._db, id=attempt_id)

    async def clear(self, email_key: str, address: str | None = None) -> None:
        if address is None:
            await _CLEAR.rowcount(self._db, email_key=email_key)
        else:
            await _CLEAR_FROM.rowcount(self._db, email_key=email_key, address=address)

    async def purge_older(self, before: datetime, batch_size: int) -> int:
        return await _PURGE_OLDER.rowcount(self._db, now=before, batch_size=batch_size)
