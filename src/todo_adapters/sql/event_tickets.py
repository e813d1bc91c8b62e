"""The event ticket repository (see statements.py for how statements are run)."""

from __future__ import annotations

from datetime import datetime

from asyncpg import Connection, ForeignKeyViolationError
from sqlalchemy import delete, insert

from todo_adapters.sql.statements import Statement, attributes, param, purge_expired, same_order
from todo_adapters.sql.tables import EVENT_TICKET_USER_FOREIGN_KEY, event_tickets
from todo_core.errors import UnknownUserError
from todo_core.ports import EventTicket, EventTicketRepository

same_order(event_tickets.columns, EventTicket)
_ticket = event_tickets.c
_ADD = Statement(insert(event_tickets))
# One DELETE … RETURNING: of two concurrent takes of one ticket, exactly one gets the row.
# An expired ticket goes too (it is of no use to anyone), but is not handed back.
_TAKE = Statement(
    delete(event_tickets)
    .where(_ticket.token_hash == param(_ticket.token_hash))
    .returning(*event_tickets.columns)
)
_PURGE_EXPIRED = purge_expired(event_tickets, [_ticket.token_hash], _ticket.expires_at)


class SqlEventTicketRepository(EventTicketRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add(self, ticket: EventTicket) -> None:
        try:
            await _ADD.rowcount(self._db, **attributes(ticket, event_tickets.columns))
        except ForeignKeyViolationError as exc:
            if exc.constraint_name == EVENT_TICKET_USER_FOREIGN_KEY:
                raise UnknownUserError() from exc
            raise

    async def take(self, token_hash: str, now: datetime) -> EventTicket | None:
        ticket = await _TAKE.first(self._db, EventTicket, token_hash=token_hash)
        return ticket if ticket is not None and ticket.expires_at > now else None

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        return await _PURGE_EXPIRED.rowcount(self._db, now=now, batch_size=batch_size)
