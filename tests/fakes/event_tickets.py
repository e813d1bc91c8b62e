"""The in-memory event ticket repository."""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime
from uuid import UUID

from todo_core.domain import User
from todo_core.errors import UnknownUserError
from todo_core.ports import EventTicket, EventTicketRepository


class InMemoryEventTicketRepository(EventTicketRepository):
    def __init__(
        self, tickets: MutableMapping[str, EventTicket], users: MutableMapping[UUID, User]
    ) -> None:
        self._tickets = tickets
        self._users = users

    async def add(self, ticket: EventTicket) -> None:
        if ticket.user_id not in self._users:
            raise UnknownUserError()
        self._tickets[ticket.token_hash] = ticket

    async def take(self, token_hash: str, now: datetime) -> EventTicket | None:
        ticket = self._tickets.pop(token_hash, None)
        return ticket if ticket is not None and ticket.expires_at > now else None

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        doomed = [h for h, t in self._tickets.items() if t.expires_at < now][:batch_size]
        for token_hash in doomed:
            del self._tickets[token_hash]
        return len(doomed)
