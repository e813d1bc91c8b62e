"""The SessionRepository contract, with what ending a session does to its refresh tokens.
Subclass it in a module that provides a `uow_factory` fixture."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta

import pytest

from tests.contracts.builders import (
    DAY,
    T0,
    make_session,
    make_token,
    make_user,
    store_sessions,
    store_tokens,
    store_user,
)
from todo_core.domain import LoginSession, RefreshToken, User
from todo_core.errors import UnknownUserError
from todo_core.ports import UnitOfWorkFactory

NOW = T0 + timedelta(hours=1)


async def live(
    uow_factory: UnitOfWorkFactory, user: User, now: datetime = NOW
) -> list[LoginSession]:
    async with uow_factory() as uow:
        return await uow.sessions.live(user.id, now)


async def end(
    uow_factory: UnitOfWorkFactory,
    user: User,
    session: LoginSession | None = None,
    now: datetime = NOW,
) -> int:
    async with uow_factory() as uow:
        ended = await uow.sessions.end(user.id, now, session.id if session else None)
        await uow.commit()
    return ended


async def touch(
    uow_factory: UnitOfWorkFactory, session: LoginSession, now: datetime, expires_at: datetime
) -> bool:
    async with uow_factory() as uow:
        touched = await uow.sessions.touch(session.id, now, expires_at)
        await uow.commit()
    return touched


async def got(uow_factory: UnitOfWorkFactory, token: RefreshToken) -> RefreshToken | None:
    async with uow_factory() as uow:
        return await uow.refresh_tokens.get(token.token_hash)


def revoked(token: RefreshToken, at: datetime = NOW) -> RefreshToken:
    return dataclasses.replace(token, revoked_at=at)


class SessionRepositoryContract:
    @pytest.fixture
    async def owner(self, uow_factory: UnitOfWorkFactory) -> User:
        return await store_user(uow_factory)

    async def test_added_sessions_are_live_newest_first(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        first, second, third = (make_session(owner, minutes=m) for m in (0, 10, 5))
        await store_sessions(uow_factory, first, second, third)
        assert await live(uow_factory, owner) == [second, third, first]

    async def test_sessions_opened_at_the_same_moment_come_by_id_descending(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        ids = [uuid.UUID(int=n << 64) for n in (1, 3, 2)]
        sessions = [make_session(owner, id=session_id) for session_id in ids]
        await store_sessions(uow_factory, *sessions)
        assert await live(uow_factory, owner) == [sessions[1], sessions[2], sessions[0]]

    async def test_only_the_users_own_sessions_are_live(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        other = await store_user(uow_factory)
        mine, theirs = make_session(owner), make_session(other)
        await store_sessions(uow_factory, mine, theirs)
        assert await live(uow_factory, owner) == [mine]
        assert await live(uow_factory, other) == [theirs]

    async def test_ended_and_expired_sessions_are_not_live(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        ended = make_session(owner, minutes=1, ended_at=T0 + timedelta(minutes=2))
        expiring_now = make_session(owner, minutes=2, expires_at=NOW)
        alive = make_session(owner, minutes=3, expires_at=NOW + timedelta(microseconds=1))
        await store_sessions(uow_factory, ended, expiring_now, alive)
        assert await live(uow_factory, owner) == [alive]
        assert await live(uow_factory, owner, T0) == [alive, expiring_now]

    async def test_a_session_of_an_unknown_user_is_refused(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        ghost = make_user()
        async with uow_factory() as uow:
            with pytest.raises(UnknownUserError):
                await uow.sessions.add(make_session(ghost))
        assert await live(uow_factory, ghost) == []

    async def test_touch_extends_a_live_session(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        session = make_session(owner)
        await store_sessions(uow_factory, session)
        later = session.expires_at + DAY
        assert await touch(uow_factory, session, NOW, later)
        touched = dataclasses.replace(session, last_used_at=NOW, expires_at=later)
        assert await live(uow_factory, owner, session.expires_at) == [touched]

    async def test_touch_refuses_a_session_that_ended_or_expired(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        ended = make_session(owner, ended_at=T0 + timedelta(minutes=1))
        expired = make_session(owner, minutes=1, expires_at=NOW)
        await store_sessions(uow_factory, ended, expired)
        assert not await touch(uow_factory, ended, NOW, NOW + DAY)
        assert not await touch(uow_factory, expired, NOW, NOW + DAY)
        assert not await touch(uow_factory, make_session(owner), NOW, NOW + DAY)
        # Neither came back to life.
        assert await live(uow_factory, owner) == []
        assert await live(uow_factory, owner, T0 + timedelta(minutes=2)) == [expired]

    async def test_ending_one_session_revokes_its_tokens_and_nothing_else(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        doomed, kept = make_session(owner), make_session(owner, minutes=1)
        await store_sessions(uow_factory, doomed, kept)
        fresh = make_token(doomed)
        spent = make_token(doomed, spent_at=T0 + timedelta(minutes=1))
        revoked_before = make_token(doomed, revoked_at=T0 + timedelta(minutes=2))
        other = make_token(kept)
        await store_tokens(uow_factory, fresh, spent, revoked_before, other)
        assert await end(uow_factory, owner, doomed) == 1
        assert await live(uow_factory, owner) == [kept]
        assert await got(uow_factory, fresh) == revoked(fresh)
        assert await got(uow_factory, spent) == revoked(spent)
        assert await got(uow_factory, revoked_before) == revoked_before
        assert await got(uow_factory, other) == other

    async def test_ending_every_session_ends_the_live_ones_of_that_user_only(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        other = await store_user(uow_factory)
        first, second = make_session(owner), make_session(owner, minutes=1)
        expired = make_session(owner, minutes=2, expires_at=NOW)
        theirs = make_session(other)
        await store_sessions(uow_factory, first, second, expired, theirs)
        tokens = [make_token(s) for s in (first, second, expired, theirs)]
        await store_tokens(uow_factory, *tokens)
        assert await end(uow_factory, owner) == 2
        assert await live(uow_factory, owner) == []
        assert await live(uow_factory, other) == [theirs]
        assert [await got(uow_factory, t) for t in tokens] == [
            revoked(tokens[0]),
            revoked(tokens[1]),
            tokens[2],  # its session had expired, not ended: nothing to revoke
            tokens[3],
        ]

    async def test_ending_a_session_that_ended_counts_nothing(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        session = make_session(owner)
        await store_sessions(uow_factory, session)
        token = make_token(session)
        await store_tokens(uow_factory, token)
        assert await end(uow_factory, owner, session) == 1
        later = NOW + timedelta(minutes=1)
        assert await end(uow_factory, owner, session, later) == 0
        assert await end(uow_factory, owner, now=later) == 0
        assert await got(uow_factory, token) == revoked(token, NOW)

    async def test_a_user_cannot_end_another_users_session(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        other = await store_user(uow_factory)
        theirs = make_session(other)
        await store_sessions(uow_factory, theirs)
        token = make_token(theirs)
        await store_tokens(uow_factory, token)
        assert await end(uow_factory, owner, theirs) == 0
        assert await live(uow_factory, other) == [theirs]
        assert await got(uow_factory, token) == token

    async def test_an_ending_rolled_back_leaves_the_session_live(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        session = make_session(owner)
        await store_sessions(uow_factory, session)
        token = make_token(session)
        await store_tokens(uow_factory, token)
        async with uow_factory() as uow:
            assert await uow.sessions.end(owner.id, NOW) == 1
        assert await live(uow_factory, owner) == [session]
        assert await got(uow_factory, token) == token

    async def test_a_session_ended_by_another_unit_of_work_meanwhile_is_not_touched(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        # A refresh and a logout of the same session: the refresh sees the logout.
        session = make_session(owner)
        await store_sessions(uow_factory, session)
        async with uow_factory() as refresh, uow_factory() as logout:
            assert await logout.sessions.end(owner.id, NOW, session.id) == 1
            await logout.commit()
            assert not await refresh.sessions.touch(session.id, NOW, NOW + DAY)
            await refresh.commit()
        assert await live(uow_factory, owner, T0) == []

    async def test_purge_deletes_expired_sessions_with_their_tokens_in_batches(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        purge_at = NOW + DAY
        expired = [make_session(owner, minutes=m) for m in range(3)]
        on_the_edge = make_session(owner, minutes=3, expires_at=purge_at)
        alive = make_session(owner, minutes=4, expires_at=purge_at + DAY)
        await store_sessions(uow_factory, *expired, on_the_edge, alive)
        # Tokens outliving their session: they go with it all the same.
        doomed = [make_token(s, expires_at=purge_at + DAY) for s in expired]
        kept = [make_token(s) for s in (on_the_edge, alive)]
        await store_tokens(uow_factory, *doomed, *kept)
        async with uow_factory() as uow:
            assert await uow.sessions.purge_expired(purge_at, 2) == 2
            assert await uow.sessions.purge_expired(purge_at, 2) == 1
            assert await uow.sessions.purge_expired(purge_at, 2) == 0
            await uow.commit()
        assert await live(uow_factory, owner, T0) == [alive, on_the_edge]
        for token in doomed:
            assert await got(uow_factory, token) is None
        for token in kept:
            assert await got(uow_factory, token) == token

    async def test_ended_among_names_the_ended_and_the_vanished_sessions(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        alive, ended = make_session(owner), make_session(owner, minutes=1)
        await store_sessions(uow_factory, alive, ended)
        await end(uow_factory, owner, ended)
        never_stored = uuid.uuid4()
        async with uow_factory() as uow:
            found = await uow.sessions.ended_among([alive.id, ended.id, never_stored])
            assert await uow.sessions.ended_among([]) == set()
        assert found == {ended.id, never_stored}
