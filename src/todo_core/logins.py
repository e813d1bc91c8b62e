"""Logins as sessions: what a registration, login or reset hands back, and how a session
starts and rotates its refresh token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from todo_core.domain import (
    Client,
    LoginSession,
    RefreshToken,
    User,
    email_key,
    new_secret,
    secret_hash,
)
from todo_core.ports import AccessToken, Clock, TokenIssuer, UnitOfWork


@dataclass(frozen=True, slots=True)
class SignIn:
    """What a successful registration, login, refresh or reset hands back."""

    user: User
    access_token: AccessToken
    refresh_token: str
    session_id: UUID
    # Lets a later login of this email from this device past the failed-login limits.
    device_token: str


class Logins:
    """Starts sessions and rotates their refresh tokens, within the caller's unit of work."""

    def __init__(self, tokens: TokenIssuer, clock: Clock, refresh_ttl: timedelta) -> None:
        self._tokens = tokens
        self._clock = clock
        self._refresh_ttl = refresh_ttl

    async def start(self, uow: UnitOfWork, user: User, client: Client) -> SignIn:
        now = self._clock.now()
        session = LoginSession(
            id=uuid.uuid4(),
            user_id=user.id,
            created_at=now,
            last_used_at=now,
            expires_at=now + self._refresh_ttl,
            user_agent=client.user_agent,
        )
        await uow.sessions.add(session)
        return await self.grant(uow, user, session.id)

    async def restart(self, uow: UnitOfWork, user: User, client: Client) -> SignIn:
        """After the password changed: every login of the user ends, every outstanding
        reset token and failed login of the email goes, and a new login starts."""
        await uow.password_resets.void_all(user.id)
        await uow.sessions.end(user.id, self._clock.now())
        await uow.login_failures.clear(email_key(user.email))  # from every address
        return await self.start(uow, user, client)

    async def renew(self, uow: UnitOfWork, session_id: UUID) -> bool:
        """Extend a live session for a refresh, holding it until the unit of work ends (an
        ending of it waits, then sees the new token); False when it has ended."""
        now = self._clock.now()
        return await uow.sessions.touch(session_id, now, now + self._refresh_ttl)

    async def grant(self, uow: UnitOfWork, user: User, session_id: UUID) -> SignIn:
        """A new refresh token of the session, and an access token."""
        secret = new_secret()
        now = self._clock.now()
        token = RefreshToken(
            token_hash=secret_hash(secret),
            user_id=user.id,
            family_id=session_id,
            created_at=now,
            expires_at=now + self._refresh_ttl,
        )
        await uow.refresh_tokens.add(token)
        access = self._tokens.issue(user.id, session_id)
        device = self._tokens.device_token(email_key(user.email))
        return SignIn(user, access, secret, session_id, device)

    def known_device(self, device_token: str | None, email_key: str) -> bool:
        """Whether a login presents the device token of an earlier login of this email."""
        return device_token is not None and self._tokens.device_email_key(device_token) == (
            email_key
        )
