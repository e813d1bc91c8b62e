"""The ports of signing in, as Protocols: refresh tokens, sessions, password resets and
failed logins (ports.py has the others, and the unit of work that holds them all)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from todo_core.domain import LoginSession, RefreshToken


class RefreshTokenRepository(Protocol):
    async def add(self, token: RefreshToken) -> None: ...

    async def get(self, token_hash: str) -> RefreshToken | None:
        """The token with this hash, whatever its state, or None."""

    async def spend(self, token_hash: str, now: datetime) -> RefreshToken | None:
        """Atomically mark the token spent if it is live (not spent, not revoked, not
        expired at `now`) and return it as it was; None when it is not live."""

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        """Delete up to `batch_size` tokens expired before `now`; how many were deleted."""


class SessionRepository(Protocol):
    async def add(self, session: LoginSession) -> None: ...

    async def touch(self, session_id: UUID, now: datetime, expires_at: datetime) -> bool:
        """Record a refresh of a live session (last used now, alive until `expires_at`),
        holding it until the unit of work ends; False when it has ended or expired."""

    async def is_live(self, session_id: UUID) -> bool:
        """Whether the session exists and has not ended."""

    async def live(self, user_id: UUID, now: datetime) -> list[LoginSession]:
        """The user's sessions that have not ended nor expired, newest first."""

    async def end(self, user_id: UUID, now: datetime, session_id: UUID | None = None) -> int:
        """End the user's live session `session_id` (every live one when None) and revoke
        its refresh tokens; how many sessions ended."""

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        """Delete up to `batch_size` sessions (with their tokens) expired before `now`."""

    async def ended_among(self, session_ids: Collection[UUID]) -> set[UUID]:
        """Those of `session_ids` whose login has ended (or that no longer exist: their
        user was deleted, or they expired and were purged); one query for them all."""


@dataclass(frozen=True, slots=True)
class EventTicket:
    """A single-use pass to open an event stream, for clients that cannot send headers
    (EventSource): stored as a hash, it carries the login that asked for it and the expiry
    of the access token it was asked with."""

    token_hash: str
    user_id: UUID
    session_id: UUID | None
    access_expires_at: datetime | None
    expires_at: datetime


class EventTicketRepository(Protocol):
    async def add(self, ticket: EventTicket) -> None:
        """Store the ticket. Raises UnknownUserError when its user does not exist."""

    async def take(self, token_hash: str, now: datetime) -> EventTicket | None:
        """Remove the ticket with this hash and return it if it had not expired at `now`;
        None when it is unknown, already taken or expired. Atomic: of two concurrent
        takes of one ticket, one gets it."""

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        """Delete up to `batch_size` tickets expired before `now`; how many were deleted."""


@dataclass(frozen=True, slots=True)
class ResetRequest:
    """A password reset asked for: the email as given (normalized) and its key, the token
    to store, and how many earlier requests for the email since `since` allow another."""

    email: str
    email_key: str
    token_hash: str
    now: datetime
    expires_at: datetime
    since: datetime
    limit: int


class PasswordResetRepository(Protocol):
    async def request(self, request: ResetRequest) -> UUID | None:
        """Store the request's token, for the user with this email unless the email had
        `limit` requests since `since` (else for nobody: it can never be spent). One write
        alike whether or not the email is registered. The user's id, or None."""

    async def take(self, token_hash: str, now: datetime) -> UUID | None:
        """Spend the token if it is live: the id of its user, or None."""

    async def void_all(self, user_id: UUID) -> int:
        """Void every outstanding reset token of the user; how many."""

    async def forget_email(self, email_key: str) -> None:
        """Forget every request made for the email (its account is gone)."""

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        """Delete up to `batch_size` requests whose token expired before `now`."""


@dataclass(frozen=True, slots=True)
class FailureLimits:
    """How many failures within the window each count allows: the email from this address,
    the email from every address, this address for every email. None: not counted (a
    login from the owner's known device is exempt from the email's limits)."""

    pair: int | None
    email: int | None
    address: int


@dataclass(frozen=True, slots=True)
class LimitingFailures:
    """For each count, the failure that must leave the window before the count is below
    its limit again (the limit-th newest); None when it already is, or is not counted."""

    email: datetime | None
    address: datetime | None
    pair: datetime | None = None


class LoginFailureRepository(Protocol):
    async def attempt(
        self, email_key: str, address: str, now: datetime, since: datetime, limits: FailureLimits
    ) -> tuple[int, LimitingFailures]:
        """Record a login attempt as a failure at once (so that attempts running at the
        same time count each other), and find, among the other failures since `since`, the
        ones that hold the email from this address, the email and the address at their
        limits. The attempt's id, for withdraw(). Attempts for one email, and for one
        address, take turns: this waits until the unit of work of an earlier attempt for
        the same email or address has ended (the unit of work must be atomic), so that
        the counts are exact under any burst."""

    async def withdraw(self, attempt_id: int) -> None:
        """Forget an attempt that was refused before it was tried."""

    async def clear(self, email_key: str, address: str | None = None) -> None:
        """Forget the email's failures from `address`, or from every address when None
        (other emails' failures still count for their addresses)."""

    async def purge_older(self, before: datetime, batch_size: int) -> int:
        """Delete up to `batch_size` failures older than `before`."""
