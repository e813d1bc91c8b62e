"""In-memory sessions, password reset tokens and failed logins (see memory.py)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from todo_core.domain import LoginSession, RefreshToken, User
from todo_core.errors import UnknownUserError
from todo_core.ports import (
    LimitingFailures,
    LoginFailureRepository,
    PasswordResetRepository,
    ResetRequest,
    SessionRepository,
)


@dataclasses.dataclass(frozen=True, slots=True)
class StoredReset:
    email_key: str
    user_id: UUID | None
    created_at: datetime
    expires_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    email_key: str
    address: str
    failed_at: datetime


class InMemorySessionRepository(SessionRepository):
    def __init__(
        self,
        sessions: dict[UUID, LoginSession],
        tokens: dict[str, RefreshToken],
        users: dict[UUID, User],
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


def _live(session: LoginSession, now: datetime) -> bool:
    return session.ended_at is None and session.expires_at > now


class InMemoryPasswordResetRepository(PasswordResetRepository):
    def __init__(self, resets: dict[str, StoredReset], users: dict[UUID, User]) -> None:
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


class InMemoryLoginFailureRepository(LoginFailureRepository):
    _ids = itertools.count(1)

    def __init__(self, failures: dict[int, Failure]) -> None:
        self._failures = failures

    def _nth_newest(self, matches: list[Failure], limit: int) -> datetime | None:
        times = sorted((f.failed_at for f in matches), reverse=True)
        return times[limit - 1] if len(times) >= limit else None

    async def attempt(
        self,
        email_key: str,
        address: str,
        now: datetime,
        since: datetime,
        email_limit: int,
        address_limit: int,
    ) -> tuple[int, LimitingFailures]:
        recent = [f for f in self._failures.values() if f.failed_at > since]
        email = self._nth_newest([f for f in recent if f.email_key == email_key], email_limit)
        by_address = self._nth_newest([f for f in recent if f.address == address], address_limit)
        attempt_id = next(self._ids)
        self._failures[attempt_id] = Failure(email_key, address, now)
        return attempt_id, LimitingFailures(email, by_address)

    async def withdraw(self, attempt_id: int) -> None:
        self._failures.pop(attempt_id, None)

    async def clear(self, email_key: str) -> None:
        for failure_id in [i for i, f in self._failures.items() if f.email_key == email_key]:
            del self._failures[failure_id]

    async def purge_older(self, before: datetime, batch_size: int) -> int:
        doomed = [i for i, f in self._failures.items() if f.failed_at < before][:batch_size]
        for failure_id in doomed:
            del self._failures[failure_id]
        return len(doomed)
