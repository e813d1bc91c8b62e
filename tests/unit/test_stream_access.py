"""StreamAccess with the in-memory fakes: tickets (single use, 60 s, never past the access
token), grants for live logins only, and which logins have ended."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.contracts.builders import make_session, make_user, store_sessions, store_user
from tests.fakes import FixedClock, InMemoryUnitOfWorkFactory
from todo_core.errors import InvalidTokenError, SessionEndedError, UnknownUserError
from todo_core.ports import Principal
from todo_core.stream_access import StreamAccess, StreamGrant


@pytest.fixture
def access(memory_uow: InMemoryUnitOfWorkFactory, clock: FixedClock) -> StreamAccess:
    return StreamAccess(memory_uow, clock)


async def _login(memory_uow: InMemoryUnitOfWorkFactory, clock: FixedClock) -> Principal:
    user = await store_user(memory_uow)
    session = make_session(user, expires_at=clock.now() + timedelta(days=1))
    await store_sessions(memory_uow, session)
    return Principal(user.id, session.id, clock.now() + timedelta(minutes=15))


async def test_a_ticket_opens_its_logins_stream_once(access, memory_uow, clock):
    principal = await _login(memory_uow, clock)
    issued = await access.ticket(principal)
    assert issued.expires_in == 60
    assert memory_uow.store.event_tickets, "stored"
    assert issued.ticket not in str(memory_uow.store.event_tickets), "as a hash only"
    grant = await access.redeem(issued.ticket)
    assert grant == StreamGrant(principal.user_id, principal.session_id, principal.expires_at)
    with pytest.raises(InvalidTokenError):
        await access.redeem(issued.ticket)


async def test_a_ticket_lives_60_s_and_never_past_its_access_token(access, memory_uow, clock):
    principal = await _login(memory_uow, clock)
    issued = await access.ticket(principal)
    clock.advance(seconds=60)
    with pytest.raises(InvalidTokenError):
        await access.redeem(issued.ticket)
    short = await access.ticket(
        Principal(principal.user_id, principal.session_id, clock.now() + timedelta(seconds=10))
    )
    assert short.expires_in == 10


async def test_no_ticket_and_no_grant_for_an_ended_login_or_a_gone_user(access, memory_uow, clock):
    principal = await _login(memory_uow, clock)
    issued = await access.ticket(principal)
    async with memory_uow() as work:
        await work.sessions.end(principal.user_id, clock.now(), principal.session_id)
        await work.commit()
    with pytest.raises(SessionEndedError):
        await access.redeem(issued.ticket)
    with pytest.raises(SessionEndedError):
        await access.grant(principal)
    with pytest.raises(SessionEndedError):
        await access.ticket(principal)
    with pytest.raises(UnknownUserError):
        await access.ticket(Principal(make_user().id, None))


async def test_ended_names_the_ended_logins_among_those_asked(access, memory_uow, clock):
    live, ended = await _login(memory_uow, clock), await _login(memory_uow, clock)
    async with memory_uow() as work:
        await work.sessions.end(ended.user_id, clock.now(), ended.session_id)
        await work.commit()
    gone = uuid.uuid4()
    asked = {live.session_id, ended.session_id, gone}
    assert await access.ended(asked) == {ended.session_id, gone}  # type: ignore[arg-type]
    assert await access.ended(set()) == set()


async def test_expired_tickets_are_purged(access, memory_uow, clock):
    principal = await _login(memory_uow, clock)
    await access.ticket(principal)
    kept = await access.ticket(principal)
    assert await access.purge_expired() == 0
    clock.advance(seconds=61)
    assert await access.purge_expired() == 2
    with pytest.raises(InvalidTokenError):
        await access.redeem(kept.ticket)
