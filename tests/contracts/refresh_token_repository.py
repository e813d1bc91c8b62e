"""The RefreshTokenRepository contract. Subclass it in a module that provides a
`uow_factory` fixture."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from tests.contracts.builders import (
    DAY,
    T0,
    make_session,
    make_token,
    store_sessions,
    store_tokens,
    store_user,
)
from todo_core.domain import LoginSession, RefreshToken
from todo_core.ports import UnitOfWorkFactory

SOON = T0 + timedelta(minutes=5)
MICROSECOND = timedelta(microseconds=1)


async def got(uow_factory: UnitOfWorkFactory, token: RefreshToken) -> RefreshToken | None:
    async with uow_factory() as uow:
        return await uow.refresh_tokens.get(token.token_hash)


async def spend(
    uow_factory: UnitOfWorkFactory, token: RefreshToken, now: datetime = SOON
) -> RefreshToken | None:
    async with uow_factory() as uow:
        spent = await uow.refresh_tokens.spend(token.token_hash, now)
        await uow.commit()
    return spent


class RefreshTokenRepositoryContract:
    @pytest.fixture
    async def session(self, uow_factory: UnitOfWorkFactory) -> LoginSession:
        session = make_session(await store_user(uow_factory))
        await store_sessions(uow_factory, session)
        return session

    async def test_added_tokens_are_found_as_stored_whatever_their_state(
        self, uow_factory: UnitOfWorkFactory, session: LoginSession
    ) -> None:
        live = make_token(session)
        used = make_token(session, minutes=1, spent_at=SOON, revoked_at=SOON + MICROSECOND)
        await store_tokens(uow_factory, live, used)
        assert await got(uow_factory, live) == live
        assert await got(uow_factory, used) == used
        assert await got(uow_factory, make_token(session)) is None

    async def test_spend_marks_a_live_token_spent_and_returns_it_as_it_was(
        self, uow_factory: UnitOfWorkFactory, session: LoginSession
    ) -> None:
        token = make_token(session)
        await store_tokens(uow_factory, token)
        assert await spend(uow_factory, token, SOON) == token
        assert await got(uow_factory, token) == dataclasses.replace(token, spent_at=SOON)

    async def test_a_spent_token_is_not_spent_again(
        self, uow_factory: UnitOfWorkFactory, session: LoginSession
    ) -> None:
        token = make_token(session)
        await store_tokens(uow_factory, token)
        assert await spend(uow_factory, token, SOON) == token
        assert await spend(uow_factory, token, SOON + timedelta(minutes=1)) is None
        assert await got(uow_factory, token) == dataclasses.replace(token, spent_at=SOON)

    async def test_a_revoked_token_is_not_spent(
        self, uow_factory: UnitOfWorkFactory, session: LoginSession
    ) -> None:
        token = make_token(session, revoked_at=T0 + timedelta(minutes=1))
        await store_tokens(uow_factory, token)
        assert await spend(uow_factory, token) is None
        assert await got(uow_factory, token) == token

    async def test_a_token_is_not_spent_from_the_moment_it_expires(
        self, uow_factory: UnitOfWorkFactory, session: LoginSession
    ) -> None:
        token = make_token(session)
        await store_tokens(uow_factory, token)
        assert await spend(uow_factory, token, token.expires_at + timedelta(seconds=1)) is None
        assert await spend(uow_factory, token, token.expires_at) is None
        assert await got(uow_factory, token) == token
        just_before = token.expires_at - MICROSECOND
        assert await spend(uow_factory, token, just_before) == token
        assert await got(uow_factory, token) == dataclasses.replace(token, spent_at=just_before)

    async def test_an_unknown_token_is_not_spent(
        self, uow_factory: UnitOfWorkFactory, session: LoginSession
    ) -> None:
        token = make_token(session)
        await store_tokens(uow_factory, token)
        assert await spend(uow_factory, make_token(session)) is None
        assert await got(uow_factory, token) == token

    async def test_spending_a_token_leaves_the_others_of_its_family_live(
        self, uow_factory: UnitOfWorkFactory, session: LoginSession
    ) -> None:
        first, second = make_token(session), make_token(session, minutes=1)
        await store_tokens(uow_factory, first, second)
        assert await spend(uow_factory, first) == first
        assert await got(uow_factory, second) == second
        assert await spend(uow_factory, second) == second

    async def test_a_spend_rolled_back_leaves_the_token_live(
        self, uow_factory: UnitOfWorkFactory, session: LoginSession
    ) -> None:
        token = make_token(session)
        await store_tokens(uow_factory, token)
        async with uow_factory() as uow:
            assert await uow.refresh_tokens.spend(token.token_hash, SOON) == token
        assert await got(uow_factory, token) == token
        assert await spend(uow_factory, token) == token

    async def test_a_token_spent_by_another_unit_of_work_meanwhile_is_not_spent(
        self, uow_factory: UnitOfWorkFactory, session: LoginSession
    ) -> None:
        # Two refreshes with one token: the second sees the first's committed spend.
        token = make_token(session)
        await store_tokens(uow_factory, token)
        async with uow_factory() as first, uow_factory() as second:
            assert await first.refresh_tokens.spend(token.token_hash, SOON) == token
            await first.commit()
            assert await second.refresh_tokens.spend(token.token_hash, SOON) is None
            await second.commit()
        assert await got(uow_factory, token) == dataclasses.replace(token, spent_at=SOON)

    async def test_purge_deletes_expired_tokens_in_batches(
        self, uow_factory: UnitOfWorkFactory, session: LoginSession
    ) -> None:
        purge_at = T0 + DAY + timedelta(hours=1)
        expired = [
            make_token(session),
            make_token(session, minutes=1, spent_at=SOON),
            make_token(session, minutes=2, revoked_at=SOON),
        ]
        on_the_edge = make_token(session, expires_at=purge_at)
        live = make_token(session, expires_at=purge_at + DAY)
        await store_tokens(uow_factory, *expired, on_the_edge, live)
        async with uow_factory() as uow:
            assert await uow.refresh_tokens.purge_expired(purge_at, 2) == 2
            assert await uow.refresh_tokens.purge_expired(purge_at, 2) == 1
            assert await uow.refresh_tokens.purge_expired(purge_at, 2) == 0
            await uow.commit()
        for token in expired:
            assert await got(uow_factory, token) is None
        assert await got(uow_factory, on_the_edge) == on_the_edge
        assert await got(uow_factory, live) == live
