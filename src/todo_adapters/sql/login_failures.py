"""The failed-login repository (see statements.py for how statements are run)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from asyncpg import Connection
from sqlalchemy import ColumnElement, Integer, bindparam, delete, func, insert, literal, select

from todo_adapters.sql.statements import Statement, param, purge_expired
from todo_adapters.sql.tables import login_failures
from todo_core.ports import LimitingFailures, LoginFailureRepository

_failure = login_failures.c


def _nth_newest(key: ColumnElement[Any], skip: str) -> ColumnElement[Any]:
    """When the key's `skip`+1-th newest failure in the window happened (NULL when it has
    fewer): once that one leaves the window, the key is below its limit again. An index
    range scan, newest first, of at most limit rows."""
    return (
        select(_failure.failed_at)
        .where(key == param(key), _failure.failed_at > param(_failure.failed_at, "since"))
        .order_by(_failure.failed_at.desc())
        .offset(bindparam(skip, type_=Integer()))
        .limit(1)
        .scalar_subquery()
    )


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
        _nth_newest(_failure.email_key, "email_skip"),
        _nth_newest(_failure.address, "address_skip"),
    )
)
# Attempts for one email take turns, from this lock to the end of their transaction: the
# next one's count (a statement of its own, so that its snapshot is taken after the lock
# is granted) sees every failure recorded before it. Without it, attempts sent at once all
# counted before any of them was committed, and a burst passed the limit. The first key
# keeps these locks apart from any other advisory lock.
EMAIL_LOCK_CLASS = 23_001
_TAKE_TURNS = Statement(
    select(
        func.pg_advisory_xact_lock(
            literal(EMAIL_LOCK_CLASS), func.hashtext(param(_failure.email_key))
        )
    )
)
_WITHDRAW = Statement(delete(login_failures).where(_failure.id == param(_failure.id)))
_CLEAR = Statement(delete(login_failures).where(_failure.email_key == param(_failure.email_key)))
_PURGE_OLDER = purge_expired(login_failures, [_failure.id], _failure.failed_at)


class SqlLoginFailureRepository(LoginFailureRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def attempt(
        self,
        email_key: str,
        address: str,
        now: datetime,
        since: datetime,
        email_limit: int,
        address_limit: int,
    ) -> tuple[int, LimitingFailures]:
        await _TAKE_TURNS.fetchrow(self._db, email_key=email_key)
        attempt_id, email, by_address = await _ATTEMPT.fetchrow(
            self._db,
            email_key=email_key,
            address=address,
            now=now,
            since=since,
            email_skip=email_limit - 1,
            address_skip=address_limit - 1,
        )
        return attempt_id, LimitingFailures(email, by_address)

    async def withdraw(self, attempt_id: int) -> None:
        await _WITHDRAW.rowcount(self._db, id=attempt_id)

    async def clear(self, email_key: str) -> None:
        await _CLEAR.rowcount(self._db, email_key=email_key)

    async def purge_older(self, before: datetime, batch_size: int) -> int:
        return await _PURGE_OLDER.rowcount(self._db, now=before, batch_size=batch_size)
