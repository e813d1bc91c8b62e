"""Who may hold an event stream open, and until when. A stream is opened with an access
token (Bearer) or with a ticket that such a token obtained (browsers' EventSource cannot
send headers); either way it belongs to one login and lives no longer than that token.
While it is open, its worker asks now and then which logins have ended (`ended`), so that
a logout, a revoked session, a password change or a deleted account ends it too."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from todo_core.credentials import existing_user
from todo_core.domain import new_secret, secret_hash
from todo_core.errors import InvalidTokenError
from todo_core.ports import Clock, EventTicket, Principal, UnitOfWorkFactory
from todo_core.purge import PURGE_BATCH, purge_in_batches

TICKET_TTL: Final = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    ticket: str
    expires_in: int  # seconds


@dataclass(frozen=True, slots=True)
class StreamGrant:
    """An open stream's owner: the user, the login it belongs to (None for a token issued
    before sessions had ids) and when the access token behind it expires."""

    user_id: UUID
    session_id: UUID | None
    expires_at: datetime | None


class StreamAccess:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def ticket(self, principal: Principal) -> IssuedTicket:
        """A ticket for the caller's login, valid once within TICKET_TTL (and never past
        the access token's own expiry). SessionEndedError / UnknownUserError when the
        login or the account is gone."""
        now = self._clock.now()
        expires_at = now + TICKET_TTL
        if principal.expires_at is not None:
            expires_at = min(expires_at, principal.expires_at)
        secret = new_secret()
        ticket = EventTicket(
            secret_hash(secret), principal.user_id, principal.session_id,
            principal.expires_at, expires_at,
        )  # fmt: skip
        async with self._uow() as uow:
            await existing_user(uow, principal.user_id, principal.session_id)
            await uow.event_tickets.add(ticket)
            await uow.commit()
        return IssuedTicket(secret, max(0, math.ceil((expires_at - now).total_seconds())))

    async def grant(self, principal: Principal) -> StreamGrant:
        """The stream of an access token whose login is live."""
        async with self._uow(atomic=False) as uow:
            await existing_user(uow, principal.user_id, principal.session_id)
            await uow.commit()
        return StreamGrant(principal.user_id, principal.session_id, principal.expires_at)

    async def redeem(self, ticket: str) -> StreamGrant:
        """The stream a ticket was issued for, spending it. InvalidTokenError for an
        unknown, spent or expired ticket; SessionEndedError when its login has ended since."""
        async with self._uow() as uow:
            taken = await uow.event_tickets.take(secret_hash(ticket), self._clock.now())
            if taken is None:
                raise InvalidTokenError("invalid or expired ticket")
            # Spent even when the login has ended: a ticket is tried once, whatever happens.
            await uow.commit()
        async with self._uow(atomic=False) as uow:
            await existing_user(uow, taken.user_id, taken.session_id)
            await uow.commit()
        return StreamGrant(taken.user_id, taken.session_id, taken.access_expires_at)

    async def ended(self, sessions: Collection[UUID]) -> set[UUID]:
        """Which of these logins have ended (one query, whatever their number)."""
        if not sessions:
            return set()
        async with self._uow(atomic=False) as uow:
            ended = await uow.sessions.ended_among(sessions)
            await uow.commit()
        return ended

    async def purge_expired(self) -> int:
        """Delete the expired tickets in batches; how many went."""
        now = self._clock.now()
        return await purge_in_batches(
            self._uow, lambda uow: uow.event_tickets.purge_expired(now, PURGE_BATCH)
        )
