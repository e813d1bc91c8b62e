"""The in-memory refresh token repository."""

from __future__ import annotations

import dataclasses
from collections.abc import MutableMapping
from datetime import datetime

from todo_core.domain import RefreshToken
from todo_core.ports import RefreshTokenRepository


class InMemoryRefreshTokenRepository(RefreshTokenRepository):
    def __init__(self, tokens: MutableMapping[str, RefreshToken]) -> None:
        self._tokens = tokens

    async def add(self, token: RefreshToken) -> None:
        self._tokens[token.token_hash] = token

    async def get(self, token_hash: str) -> RefreshToken | None:
        return self._tokens.get(token_hash)

    async def spend(self, token_hash: str, now: datetime) -> RefreshToken | None:
        token = self._tokens.get(token_hash)
        if token is None or token.spent_at or token.revoked_at or token.expires_at <= now:
            return None
        self._tokens[token_hash] = dataclasses.replace(token, spent_at=now)
        return token

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        doomed = [h for h, t in self._tokens.items() if t.expires_at < now][:batch_size]
        for token_hash in doomed:
            del self._tokens[token_hash]
        return len(doomed)
