"""The in-memory idempotency key repository."""

from __future__ import annotations

import dataclasses
from collections.abc import MutableMapping
from datetime import datetime
from uuid import UUID

from todo_core.domain import User
from todo_core.errors import IdempotencyKeyInUseError, UnknownUserError
from todo_core.idempotency import IdempotencyKey, Reply, StoredReply
from todo_core.ports import IdempotencyRepository


@dataclasses.dataclass(frozen=True, slots=True)
class StoredKey:
    stored: StoredReply
    expires_at: datetime


class InMemoryIdempotencyRepository(IdempotencyRepository):
    def __init__(
        self,
        keys: MutableMapping[tuple[UUID, str], StoredKey],
        users: MutableMapping[UUID, User],
        in_flight: set[tuple[UUID, str]],
    ) -> None:
        """`in_flight`: the keys claimed by units of work that have not ended, shared by all
        of them: as a row lock would, they make every other claim of the key fail."""
        self._keys = keys
        self._users = users
        self._in_flight = in_flight
        self.claimed: set[tuple[UUID, str]] = set()

    async def claim(
        self, user_id: UUID, key: IdempotencyKey, reply: Reply, now: datetime, expires_at: datetime
    ) -> StoredReply | None:
        if user_id not in self._users:
            raise UnknownUserError()
        name = (user_id, key.key)
        if name in self._in_flight and name not in self.claimed:
            raise IdempotencyKeyInUseError()
        found = self._keys.get(name)
        if found is not None and found.expires_at > now:
            return found.stored
        self._in_flight.add(name)
        self.claimed.add(name)
        self._keys[name] = StoredKey(StoredReply(key.fingerprint, reply), expires_at)
        return None

    def release(self) -> None:
        self._in_flight -= self.claimed
        self.claimed.clear()

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        doomed = [name for name, k in self._keys.items() if k.expires_at < now][:batch_size]
        for name in doomed:
            del self._keys[name]
        return len(doomed)
