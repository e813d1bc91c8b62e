"""The EventTicketRepository contract: single use, expiry, purge, the owner's deletion.
Subclass it in a module that provides a `uow_factory` fixture."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from tests.contracts.builders import T0, make_user, store_user
from todo_core.domain import User
from todo_core.errors import UnknownUserError
from todo_core.ports import EventTicket, UnitOfWorkFactory

NOW = T0 + timedelta(hours=1)


def make_ticket(user: User, *, expires_at: timedelta = timedelta(seconds=60)) -> EventTicket:
    return EventTicket(
        uuid.uuid4().hex * 2, user.id, uuid.uuid4(), NOW + timedelta(minutes=15), NOW + expires_at
    )


async def store(uow_factory: UnitOfWorkFactory, *tickets: EventTicket) -> None:
    async with uow_factory() as uow:
        for ticket in tickets:
            await uow.event_tickets.add(ticket)
        await uow.commit()


async def take(uow_factory: UnitOfWorkFactory, ticket: EventTicket, at: timedelta = timedelta()):
    async with uow_factory() as uow:
        taken = await uow.event_tickets.take(ticket.token_hash, NOW + at)
        await uow.commit()
    return taken


class EventTicketRepositoryContract:
    @pytest.fixture
    async def owner(self, uow_factory: UnitOfWorkFactory) -> User:
        return await store_user(uow_factory)

    async def test_a_ticket_is_taken_once(self, uow_factory: UnitOfWorkFactory, owner: User):
        ticket = make_ticket(owner)
        await store(uow_factory, ticket)
        assert await take(uow_factory, ticket) == ticket
        assert await take(uow_factory, ticket) is None

    async def test_an_expired_ticket_is_not_handed_out(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ):
        ticket = make_ticket(owner)
        await store(uow_factory, ticket)
        assert await take(uow_factory, ticket, timedelta(seconds=60)) is None
        assert await take(uow_factory, ticket) is None, "gone, not just refused"

    async def test_a_take_rolled_back_leaves_the_ticket(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ):
        ticket = make_ticket(owner)
        await store(uow_factory, ticket)
        async with uow_factory() as uow:
            assert await uow.event_tickets.take(ticket.token_hash, NOW) == ticket
        assert await take(uow_factory, ticket) == ticket

    async def test_of_concurrent_takes_one_gets_the_ticket(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ):
        ticket = make_ticket(owner)
        await store(uow_factory, ticket)
        taken = await asyncio.gather(*(take(uow_factory, ticket) for _ in range(5)))
        assert [t for t in taken if t is not None] == [ticket]

    async def test_a_ticket_of_an_unknown_user_is_refused(self, uow_factory: UnitOfWorkFactory):
        async with uow_factory() as uow:
            with pytest.raises(UnknownUserError):
                await uow.event_tickets.add(make_ticket(make_user()))

    async def test_deleting_the_user_deletes_the_tickets(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ):
        ticket = make_ticket(owner)
        await store(uow_factory, ticket)
        async with uow_factory() as uow:
            await uow.users.delete(owner.id)
            await uow.commit()
        assert await take(uow_factory, ticket) is None

    async def test_purge_deletes_the_expired_tickets_in_batches(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ):
        expired = [make_ticket(owner, expires_at=timedelta(seconds=s)) for s in (-3, -2, -1)]
        alive = make_ticket(owner, expires_at=timedelta(seconds=1))
        await store(uow_factory, *expired, alive)
        async with uow_factory() as uow:
            assert await uow.event_tickets.purge_expired(NOW, 2) == 2
            assert await uow.event_tickets.purge_expired(NOW, 2) == 1
            assert await uow.event_tickets.purge_expired(NOW, 2) == 0
            await uow.commit()
        assert await take(uow_factory, alive) == alive
