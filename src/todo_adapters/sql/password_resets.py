"""The password reset repository (see statements.py for how statements are run)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from asyncpg import Connection
from sqlalchemy import Integer, bindparam, case, delete, func, insert, select

from todo_adapters.sql.statements import Statement, param, purge_expired
from todo_adapters.sql.tables import password_resets, users
from todo_core.ports import PasswordResetRepository, ResetRequest

_reset = password_resets.c
_earlier = password_resets.alias("earlier")


def _request_statement() -> Statement:
    """One row for every request, registered email or not, in one statement: the same
    lookups, the same row written, the same commit. The user is filled in only for a
    registered email under its cap of messages, and only such a row can be spent."""
    recent = (
        select(func.count())
        .where(
            _earlier.c.email_key == param(_reset.email_key),
            _earlier.c.created_at > param(_reset.created_at, "since"),
            # Messages sent, not requests: unanswered requests must not use up the cap.
            _earlier.c.user_id.is_not(None),
        )
        .scalar_subquery()
    )
    # The count first, for every email: a condition inside the user lookup would be
    # evaluated only when a user matched.
    user = case(
        (
            recent < bindparam("limit", type_=Integer()),
            select(users.c.id).where(users.c.email == param(users.c.email)).scalar_subquery(),
        ),
        else_=None,
    )
    return Statement(
        insert(password_resets)
        .values(
            token_hash=param(_reset.token_hash),
            email_key=param(_reset.email_key),
            user_id=user,
            created_at=param(_reset.created_at, "now"),
            expires_at=param(_reset.expires_at),
        )
        .returning(_reset.user_id)
    )


_REQUEST = _request_statement()
# Deleting is spending: of two uses at once, one finds the row.
_TAKE = Statement(
    delete(password_resets)
    .where(
        _reset.token_hash == param(_reset.token_hash),
        _reset.user_id.is_not(None),
        _reset.expires_at > param(_reset.expires_at, "now"),
    )
    .returning(_reset.user_id)
)
_VOID_ALL = Statement(delete(password_resets).where(_reset.user_id == param(_reset.user_id)))
_FORGET_EMAIL = Statement(
    delete(password_resets).where(_reset.email_key == param(_reset.email_key))
)
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

    async def forget_email(self, email_key: str) -> None:
        await _FORGET_EMAIL.rowcount(self._db, email_key=email_key)

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        return await _PURGE_EXPIRED.rowcount(self._db, now=now, batch_size=batch_size)
