"""What the use cases that check a password or start a login share, built once and handed
to the auth, account and password-reset services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from todo_core.domain import User
from todo_core.errors import UnknownUserError
from todo_core.login_throttle import LoginThrottle, ThrottlePolicy
from todo_core.logins import Logins
from todo_core.passwords import Passwords
from todo_core.ports import Clock, PasswordHasher, TokenIssuer, UnitOfWork

REFRESH_TTL_DEFAULT = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Credentials:
    """The passwords (hashed and checked in their normal form), the throttle on failed
    attempts, the logins a success starts, and the clock they all read."""

    passwords: Passwords
    throttle: LoginThrottle
    logins: Logins
    clock: Clock

    @classmethod
    def of(
        cls,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        clock: Clock,
        refresh_ttl: timedelta = REFRESH_TTL_DEFAULT,
        throttle: ThrottlePolicy | None = None,
    ) -> Credentials:
        return cls(
            Passwords(hasher),
            LoginThrottle(throttle or ThrottlePolicy(), clock),
            Logins(tokens, clock, refresh_ttl),
            clock,
        )


async def existing_user(uow: UnitOfWork, user_id: UUID, session: UUID | None = None) -> User:
    """The user, or UnknownUserError: the account of a still valid access token may be
    gone; SessionEndedError when the token's login (`session`) has ended, checked by the
    same statement."""
    user = await uow.users.get_in_session(user_id, session)
    if user is None:
        raise UnknownUserError()
    return user
