"""The in-memory password reset repository."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, MutableMapping
from datetime import datetime
from uuid import UUID

from todo_core.domain import User
from todo_core.ports import PasswordResetRepository, ResetRequest


@dataclasses.dataclass(frozen=True, slots=True)
class StoredReset:
    email_key: str
    user_id: UUID | None
    created_at: datetime
    expires_at: datetime


class InMemoryPasswordResetRepository(PasswordResetRepository):
    def __init__(
        self, resets: MutableMapping[str, StoredReset], users: MutableMapping[UUID, User]
    ) -> None:
        self._resets = resets
        self._users = users

    async def request(self, request: ResetRequest) -> UUID | None:
        recent = sum(
            1
            for r in self._resets.values()
            if r.email_key == request.email_key
            and r.created_at > request.since
            and r.user_id is not None
        )
        user = next((u for u in self._users.values() if u.email == request.email), None)
        user_id = user.id if user is not None and recent < request.limit else None
        self._resets[request.token_hash] = StoredReset(
            request.email_key, user_id, request.now, request.expires_at
        )
        return user_id

    async def take(self, token_hash: str, now: datetime) -> UUID | None:
        reset = self._resets.get(token_hash)
        if reset is None or reset.user_id is None or reset.expires_at <= now:
            return None
        del self._resets[token_hash]
        return reset.user_id

    async def void_all(self, user_id: UUID) -> int:
        return self._drop(lambda r: r.user_id == user_id)

    async def forget_email(self, email_key: str) -> None:
        self._drop(lambda r: r.email_key == email_key)

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        return self._drop(lambda r: r.expires_at < now, batch_size)

    def _drop(self, doomed: Callable[[StoredReset], bool], most: int | None = None) -> int:
        hashes = [h for h, r in self._resets.items() if doomed(r)][:most]
        for token_hash in hashes:
            del self._resets[token_hash]
        return len(hashes)
