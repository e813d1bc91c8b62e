"""Use cases. Each public method is one use case in one unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn
from uuid import UUID

from todo_core.domain import (
    RefreshToken,
    User,
    check_registration,
    new_refresh_secret,
    normalize_email,
    refresh_token_hash,
)
from todo_core.errors import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    RefreshTokenReuseError,
    UnknownUserError,
    ValidationError,
)
from todo_core.ports import (
    AccessToken,
    Clock,
    PasswordHasher,
    TokenIssuer,
    UnitOfWork,
    UnitOfWorkFactory,
)

PURGE_BATCH = 1000


async def purge_in_batches(
    uow_factory: UnitOfWorkFactory, purge: Callable[[UnitOfWork], Awaitable[int]]
) -> int:
    """Delete expired rows in small transactions, so no lock is held long."""
    purged = 0
    while True:
        async with uow_factory() as uow:
            deleted = await purge(uow)
            await uow.commit()
        purged += deleted
        if deleted < PURGE_BATCH:
            return purged


@dataclass(frozen=True, slots=True)
class Session:
    """What a successful registration or login hands back."""

    user: User
    access_token: AccessToken
    refresh_token: str


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    refresh_ttl: timedelta = timedelta(days=30)


class AuthService:
    """Registration, login and token checks. Unknown email and wrong password fail alike,
    in the same time, so a caller cannot learn which emails are registered. Refresh tokens
    rotate on every use; presenting a spent one again revokes its whole login family."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        clock: Clock,
        policy: AuthPolicy | None = None,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._policy = policy or AuthPolicy()

    async def _start_session(
        self, uow: UnitOfWork, user: User, family_id: UUID | None = None
    ) -> Session:
        secret = new_refresh_secret()
        now = self._clock.now()
        token = RefreshToken(
            token_hash=refresh_token_hash(secret),
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            created_at=now,
            expires_at=now + self._policy.refresh_ttl,
        )
        await uow.refresh_tokens.add(token)
        return Session(user, self._tokens.issue(user.id), secret)

    async def register(self, email: str, password: str) -> Session:
        normalized = check_registration(email, password)
        password_hash = await self._hasher.hash(password)
        user = User(uuid.uuid4(), normalized, password_hash, self._clock.now())
        async with self._uow() as uow:
            await uow.users.add(user)
            session = await self._start_session(uow, user)
            await uow.commit()
        return session

    async def login(self, email: str, password: str) -> Session:
        try:
            normalized = normalize_email(email)
        except ValidationError:
            normalized = None
        async with self._uow(atomic=False) as uow:
            user = await uow.users.get_by_email(normalized) if normalized else None
        # bcrypt runs with no database connection held: a login takes a pooled connection
        # for two short statements, not for the quarter second or more of a verification.
        if user is None:
            await self._hasher.verify_dummy(password)
            raise InvalidCredentialsError(email)
        if not await self._hasher.verify(password, user.password_hash):
            raise InvalidCredentialsError(email)
        rehashed = None
        if self._hasher.needs_rehash(user.password_hash):
            rehashed = await self._hasher.hash(password)
        async with self._uow() as uow:
            if rehashed is not None:
                await uow.users.update_password_hash(user.id, rehashed)
            session = await self._start_session(uow, user)
            await uow.commit()
        return session

    async def refresh(self, refresh_token: str) -> Session:
        """A new access and refresh token for a live refresh token, which is spent."""
        token_hash = refresh_token_hash(refresh_token)
        async with self._uow() as uow:
            spent = await uow.refresh_tokens.spend(token_hash, self._clock.now())
            if spent is None:
                await self._reject_refresh(uow, token_hash)
            user = await uow.users.get(spent.user_id)
            if user is None:
                raise InvalidRefreshTokenError()
            session = await self._start_session(uow, user, spent.family_id)
            await uow.commit()
        return session

    async def _reject_refresh(self, uow: UnitOfWork, token_hash: str) -> NoReturn:
        token = await uow.refresh_tokens.get(token_hash)
        if token is not None and token.spent_at is not None and token.revoked_at is None:
            # Either the client or a thief replays a token that was already rotated; we
            # cannot tell which, so every token of that login stops working.
            await uow.refresh_tokens.revoke_family(token.family_id, self._clock.now())
            await uow.commit()
            raise RefreshTokenReuseError(token.user_id, token.family_id)
        raise InvalidRefreshTokenError()

    async def logout(self, user_id: UUID, refresh_token: str) -> None:
        """End the login the refresh token belongs to. Idempotent for the token's owner."""
        async with self._uow() as uow:
            token = await uow.refresh_tokens.get(refresh_token_hash(refresh_token))
            if token is None or token.user_id != user_id:
                raise InvalidRefreshTokenError()
            await uow.refresh_tokens.revoke_family(token.family_id, self._clock.now())
            await uow.commit()

    async def purge_expired_refresh_tokens(self) -> int:
        return await purge_in_batches(
            self._uow, lambda uow: uow.refresh_tokens.purge_expired(self._clock.now(), PURGE_BATCH)
        )

    def authenticate(self, token: str) -> UUID:
        """The id of the user the access token was issued to; raises InvalidTokenError."""
        return self._tokens.verify(token)

    async def me(self, user_id: UUID) -> User:
        async with self._uow(atomic=False) as uow:
            user = await uow.users.get(user_id)
        if user is None:
            raise UnknownUserError()
        return user
