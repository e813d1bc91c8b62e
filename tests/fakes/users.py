"""The in-memory user repository."""

from __future__ import annotations

import dataclasses
from collections.abc import MutableMapping
from typing import Any
from uuid import UUID

from tests.fakes.sessions import session_live
from todo_core.domain import LoginSession, User
from todo_core.errors import EmailTakenError, SessionEndedError
from todo_core.ports import UserRepository


class InMemoryUserRepository(UserRepository):
    def __init__(
        self,
        users: MutableMapping[UUID, User],
        owned: list[MutableMapping[Any, Any]],
        sessions: MutableMapping[UUID, LoginSession],
    ) -> None:
        """`owned`: the tables whose rows belong to a user (their `user_id`), deleted with
        the user as the foreign keys' ON DELETE CASCADE does."""
        self._users = users
        self._owned = owned
        self._sessions = sessions

    async def add(self, user: User) -> None:
        if any(u.email == user.email for u in self._users.values()):
            raise EmailTakenError()
        self._users[user.id] = user

    async def get_by_email(self, email: str) -> User | None:
        return next((u for u in self._users.values() if u.email == email), None)

    async def get(self, user_id: UUID) -> User | None:
        return self._users.get(user_id)

    async def get_in_session(self, user_id: UUID, session_id: UUID | None) -> User | None:
        user = self._users.get(user_id)
        if user is not None and not session_live(self._sessions, session_id, user_id):
            raise SessionEndedError()
        return user

    async def update_password_hash(
        self, user_id: UUID, password_hash: str, replacing: str | None = None
    ) -> bool:
        user = self._users.get(user_id)
        if user is None or (replacing is not None and user.password_hash != replacing):
            return False
        self._users[user_id] = dataclasses.replace(user, password_hash=password_hash)
        return True

    async def delete(self, user_id: UUID) -> bool:
        if self._users.pop(user_id, None) is None:
            return False
        for table in self._owned:
            for key in [k for k, row in table.items() if _owner(k, row) == user_id]:
                del table[key]
        return True


def _owner(key: Any, row: Any) -> Any:
    # Idempotency keys are keyed by (user_id, key) and store no user id of their own.
    return getattr(row, "user_id", None) or (key[0] if isinstance(key, tuple) else None)
