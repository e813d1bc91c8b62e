"""The password reset token repository (see statements.py for how statements are run)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from asyncpg import Connection
from sqlalchemy import delete, insert, select

from todo_adapters.sql.statements import Statement, param, purge_expired
from todo_adapters.sql.tables import password_resets, users
from todo_core.ports import PasswordResetRepository

_reset = password_resets.c
# One statement, known email or not: the same work and the same time either way.
_ADD_FOR_EMAIL = Statement(
    insert(password_resets)
    .from_select(
        ["token_hash", "user_id", "created_at", "expires_at"],
        select(
            param(_reset.token_hash),
            users.c.id,
            param(_reset.created_at, "now"),
            param(_reset.expires_at),
        ).where(users.c.email == param(users.c.email)),
    )
    .returning(_reset.user_id)
)
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

    async def add_for_email(
        self, email: str, token_hash: str, now: datetime, expires_at: datetime
    ) -> UUID | None:
        user_id: UUID | None = await _ADD_FOR_EMAIL.value(
            self._db, email=email, token_hash=token_hash, now=now, expires_at=expires_at
        )
        return user_id

    async def take(self, token_hash: str, now: datetime) -> UUID | None:
        user_id: UUID | None = await _TAKE.value(self._db, token_hash=token_hash, now=now)
        return user_id

    async def void_all(self, user_id: UUID) -> int:
        return await _VOID_ALL.rowcount(self._db, user_id=user_id)

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        return await _PURGE_EXPIRED.rowcount(self._db, now=now, batch_size=batch_size)
