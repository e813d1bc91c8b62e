"""The password reset token repository (see statements.py for how statements are run)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from asyncpg import Connection
from sqlalchemy import Integer, bindparam, delete, func, insert, select

from todo_adapters.sql.statements import Statement, param, purge_expired
from todo_adapters.sql.tables import password_reset_requests, password_resets, users
from todo_core.ports import PasswordResetRepository, ResetRequest

_reset = password_resets.c
_request = password_reset_requests.c


def _request_statement() -> Statement:
    """One statement, known email or not: it counts the email's recent requests, records
    this one (a row written and a commit flushed either way: the same time) and stores the
    token if the email is registered and under its limit."""
    recent = (
        select(func.count().label("n"))
        .where(
            _request.email_key == param(_request.email_key),
            _request.requested_at > param(_request.requested_at, "since"),
        )
        .cte("recent")
    )
    recorded = (
        insert(password_reset_requests)
        .values(
            email_key=param(_request.email_key), requested_at=param(_request.requested_at, "now")
        )
        .returning(_request.id)
        .cte("recorded")
    )
    stored = (
        insert(password_resets)
        .from_select(
            ["token_hash", "user_id", "created_at", "expires_at"],
            select(
                param(_reset.token_hash),
                users.c.id,
                param(_reset.created_at, "now"),
                param(_reset.expires_at),
            ).where(
                users.c.email == param(users.c.email),
                recent.c.n < bindparam("limit", type_=Integer()),
            ),
        )
        .returning(_reset.user_id)
        .cte("stored")
    )
    return Statement(select(stored.c.user_id).add_cte(recorded))


_REQUEST = _request_statement()
_FORGET_REQUESTS = Statement(
    delete(password_reset_requests).where(_request.email_key == param(_request.email_key))
)
_PURGE_REQUESTS = purge_expired(password_reset_requests, [_request.id], _request.requested_at)
# Deleting is spending: of two uses at once, one finds the row.
_TAKE = Statement(
    delete(password_resets)
    .where(
        _reset.token_hash == param(_reset.token_hash),
        _reset.expires_at > param(_reset.expires_at, "now"),
    )
    .returning(_reset.user_id)
)
_VOID_ALL = Statement(delete(password_resets).where(_reset.user_id == param(_reset.user_id)))
_PURGE_EXPIRED = purge_expired(password_resets, [_reset.token_hash], _reset.expires_at)


class SqlPasswordResetRepository(PasswordResetRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def request(self, request: ResetRequest) -> UUID | None:
        user_id: UUID | None = await _REQUEST.value(
            self._db,
            email=request.email,
            email_key=request.email_key,
            token_hash=request.token_hash,
            now=request.now,
            expires_at=request.expires_at,
            since=request.since,
            limit=request.limit,
        )
        return user_id

    async def take(self, token_hash: str, now: datetime) -> UUID | None:
        user_id: UUID | None = await _TAKE.value(self._db, token_hash=token_hash, now=now)
        return user_id

    async def void_all(self, user_id: UUID) -> int:
        return await _VOID_ALL.rowcount(self._db, user_id=user_id)

    async def forget_requests(self, email_key: str) -> None:
        await _FORGET_REQUESTS.rowcount(self._db, email_key=email_key)

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        return await _PURGE_EXPIRED.rowcount(self._db, now=now, batch_size=batch_size)

    async def purge_requests_older(self, before: datetime, batch_size: int) -> int:
        return await _PURGE_REQUESTS.rowcount(self._db, now=before, batch_size=batch_size)
