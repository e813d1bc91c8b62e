"""The refresh token repository (see statements.py for how statements are run)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from asyncpg import Connection
from sqlalchemy import insert, select, update

from todo_adapters.sql.statements import (
    Statement,
    attributes,
    param,
    purge_expired,
    same_order,
)
from todo_adapters.sql.tables import refresh_tokens
from todo_core.domain import RefreshToken
from todo_core.ports import RefreshTokenRepository

same_order(refresh_tokens.columns, RefreshToken)
_token = refresh_tokens.c
_ADD_TOKEN = Statement(insert(refresh_tokens))
_TOKEN_BY_HASH = Statement(
    select(refresh_tokens).where(_token.token_hash == param(_token.token_hash))
)
# The WHERE makes spending atomic: of two concurrent uses, exactly one matches.
_SPEND_TOKEN = Statement(
    update(refresh_tokens)
    .where(
        _token.token_hash == param(_token.token_hash),
        _token.spent_at.is_(None),
        _token.revoked_at.is_(None),
        _token.expires_at > param(_token.expires_at, "now"),
    )
    .values(spent_at=param(_token.spent_at, "now"))
    .returning(*refresh_tokens.columns)
)
_PURGE_EXPIRED = purge_expired(refresh_tokens, [_token.token_hash], _token.expires_at)


class SqlRefreshTokenRepository(RefreshTokenRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add(self, token: RefreshToken) -> None:
        await _ADD_TOKEN.rowcount(self._db, **attributes(token, refresh_tokens.columns))

    async def get(self, token_hash: str) -> RefreshToken | None:
        return await _TOKEN_BY_HASH.first(self._db, RefreshToken, token_hash=token_hash)

    async def spend(self, token_hash: str, now: datetime) -> RefreshToken | None:
        token = await _SPEND_TOKEN.first(self._db, RefreshToken, token_hash=token_hash, now=now)
        # As it was before this call spent it.
        return replace(token, spent_at=None) if token else None

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        return await _PURGE_EXPIRED.rowcount(self._db, now=now, batch_size=batch_size)
