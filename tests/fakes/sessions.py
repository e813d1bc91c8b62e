"""The in-memory session repository."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, MutableMapping
from datetime import datetime
from uuid import UUID

from todo_core.domain import LoginSession, RefreshToken, User
from todo_core.errors import UnknownUserError
from todo_core.ports import SessionRepository


def session_live(
    sessions: MutableMapping[UUID, LoginSession], session_id: UUID | None, user_id: UUID
) -> bool:
    """What the SQL folds into a write: no session to check, or the user's, not ended."""
    if session_id is None:
        return True
    session = sessions.get(session_id)
    return session is not None and session.user_id == user_id and session.ended_at is None


class InMemorySessionRepository(SessionRepository):
    def __init__(
        self,
        sessions: MutableMapping[UUID, LoginSession],
        tokens: MutableMapping[str, RefreshToken],
        users: MutableMapping[UUID, User],
    ) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._users = users

    async def add(self, session: LoginSession) -> None:
        if session.user_id not in self._users:
            raise UnknownUserError()
        self._sessions[session.id] = session

    async def touch(self, session_id: UUID, now: datetime, expires_at: datetime) -> bool:
        session = self._sessions.get(session_id)
        if session is None or not _live(session, now):
            return False
        self._sessions[session_id] = dataclasses.replace(
            session, last_used_at=now, expires_at=expires_at
        )
        return True

    async def is_live(self, session_id: UUID) -> bool:
        session = self._sessions.get(session_id)
        return session is not None and session.ended_at is None

    async def live(self, user_id: UUID, now: datetime) -> list[LoginSession]:
        mine = [s for s in self._sessions.values() if s.user_id == user_id and _live(s, now)]
        return sorted(mine, key=lambda s: (s.created_at, s.id), reverse=True)

    async def end(self, user_id: UUID, now: datetime, session_id: UUID | None = None) -> int:
        ended = [
            s for s in await self.live(user_id, now) if session_id is None or s.id == session_id
        ]
        for session in ended:
            self._sessions[session.id] = dataclasses.replace(session, ended_at=now)
        ids = {s.id for s in ended}
        for token in list(self._tokens.values()):
            if token.family_id in ids and token.revoked_at is None:
                self._tokens[token.token_hash] = dataclasses.replace(token, revoked_at=now)
        return len(ended)

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        doomed = [i for i, s in self._sessions.items() if s.expires_at < now][:batch_size]
        for session_id in doomed:
            del self._sessions[session_id]
        for token in [t for t in self._tokens.values() if t.family_id in doomed]:
            del self._tokens[token.token_hash]
        return len(doomed)

    async def ended_among(self, session_ids: Collection[UUID]) -> set[UUID]:
        return {i for i in session_ids if not await self.is_live(i)}


def _live(session: LoginSession, now: datetime) -> bool:
    return session.ended_at is None and session.expires_at > now
