"""Use cases of signing in. Each public method is one use case in one unit of work (or a
few short ones, so that no connection is held while bcrypt runs)."""

from __future__ import annotations

import uuid
from typing import NoReturn
from uuid import UUID

from todo_core.credentials import Credentials, existing_user
from todo_core.domain import (
    Client,
    User,
    check_registration,
    email_key,
    secret_hash,
    stored_email,
)
from todo_core.errors import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    RefreshTokenReuseError,
)
from todo_core.logins import SignIn
from todo_core.ports import UnitOfWork, UnitOfWorkFactory
from todo_core.purge import PURGE_BATCH, purge_in_batches

NO_CLIENT = Client("")


class AuthService:
    """Registration, login, refresh and logout. Unknown email and wrong password fail alike,
    in the same time, and count alike towards throttling, so a caller cannot learn which
    emails are registered. Refresh tokens rotate on every use; presenting a spent one
    again revokes its whole login."""

    def __init__(self, uow: UnitOfWorkFactory, credentials: Credentials) -> None:
        self._uow = uow
        self._passwords = credentials.passwords
        self._throttle = credentials.throttle
        self._logins = credentials.logins
        self._clock = credentials.clock

    async def register(self, email: str, password: str, client: Client = NO_CLIENT) -> SignIn:
        normalized = check_registration(email, password)
        password_hash = await self._passwords.hash(password)
        user = User(uuid.uuid4(), normalized, password_hash, self._clock.now())
        async with self._uow() as uow:
            await uow.users.add(user)
            sign_in = await self._logins.start(uow, user, client)
            await uow.commit()
        return sign_in

    async def login(
        self,
        email: str,
        password: str,
        client: Client = NO_CLIENT,
        device_token: str | None = None,
    ) -> SignIn:
        """Sign in. `device_token`, from an earlier login of this email on this device,
        exempts the attempt from the email's failed-login limits."""
        normalized = stored_email(email)
        key = email_key(email)
        known_device = self._logins.known_device(device_token, key)
        # Atomic: attempts for one email take turns until this unit of work ends, so
        # that each counts every failure before it, however many are sent at once.
        async with self._uow() as uow:
            # Counted as a failure from here on, unless it succeeds.
            await self._throttle.attempt(uow, key, client, known_device=known_device)
            user = await uow.users.get_by_email(normalized) if normalized else None
            await uow.commit()
        # bcrypt runs with no database connection held: a login takes a pooled connection
        # for a few short statements, not for the quarter second of a verification.
        if user is None:
            await self._passwords.verify_dummy(password)
            raise InvalidCredentialsError(email)
        verification = await self._passwords.verify(password, user.password_hash)
        if not verification.matched:
            raise InvalidCredentialsError(email)
        rehashed = verification.new_hash
        async with self._uow() as uow:
            if rehashed is not None:
                # Only over the hash just verified: a change that landed meanwhile wins.
                await uow.users.update_password_hash(
                    user.id, rehashed, replacing=user.password_hash
                )
            # The failures of this email from this address: those from elsewhere still
            # count towards the email's limit across addresses.
            await uow.login_failures.clear(key, client.address)
            sign_in = await self._logins.start(uow, user, client)
            await uow.commit()
        return sign_in

    async def refresh(self, refresh_token: str) -> SignIn:
        """A new access and refresh token for a live refresh token, which is spent."""
        token_hash = secret_hash(refresh_token)
        async with self._uow() as uow:
            token = await uow.refresh_tokens.get(token_hash)
            # The session before the token: a refresh and an ending of the session take
            # turns on its row, so no token of an ended session stays live.
            if token is None or not await self._logins.renew(uow, token.family_id):
                raise InvalidRefreshTokenError()
            spent = await uow.refresh_tokens.spend(token_hash, self._clock.now())
            if spent is None:
                await self._reject_refresh(uow, token_hash)
            user = await uow.users.get(spent.user_id)
            if user is None:
                raise InvalidRefreshTokenError()
            sign_in = await self._logins.grant(uow, user, spent.family_id)
            await uow.commit()
        return sign_in

    async def _reject_refresh(self, uow: UnitOfWork, token_hash: str) -> NoReturn:
        token = await uow.refresh_tokens.get(token_hash)
        if token is not None and token.spent_at is not None and token.revoked_at is None:
            # Either the client or a thief replays a token that was already rotated; we
            # cannot tell which, so the whole login ends.
            await uow.sessions.end(token.user_id, self._clock.now(), token.family_id)
            await uow.commit()
            raise RefreshTokenReuseError(token.user_id, token.family_id)
        raise InvalidRefreshTokenError()

    async def logout(self, user_id: UUID, refresh_token: str) -> None:
        """End the login the refresh token belongs to. Idempotent for the token's owner."""
        async with self._uow() as uow:
            token = await uow.refresh_tokens.get(secret_hash(refresh_token))
            if token is None or token.user_id != user_id:
                raise InvalidRefreshTokenError()
            await uow.sessions.end(user_id, self._clock.now(), token.family_id)
            await uow.commit()

    async def purge_expired(self) -> int:
        """Expired sessions (with their refresh tokens), refresh tokens and failed logins."""
        now = self._clock.now()
        return (
            await purge_in_batches(
                self._uow, lambda uow: uow.refresh_tokens.purge_expired(now, PURGE_BATCH)
            )
            + await purge_in_batches(
                self._uow, lambda uow: uow.sessions.purge_expired(now, PURGE_BATCH)
            )
            + await purge_in_batches(self._uow, lambda uow: self._throttle.purge(uow, PURGE_BATCH))
        )

    async def me(self, user_id: UUID, session: UUID | None = None) -> User:
        async with self._uow(atomic=False) as uow:
            return await existing_user(uow, user_id, session)
