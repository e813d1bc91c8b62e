"""The PasswordResetRepository contract: the cap on messages sent, single-use tokens, and
forgetting. Subclass it in a module that provides a `uow_factory` fixture."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import pytest

from tests.contracts.builders import HOUR, T0, make_reset_request, make_user, store_user
from todo_core.domain import User, email_key
from todo_core.ports import ResetRequest, UnitOfWorkFactory

ADA = "ada@example.com"
SOON = T0 + timedelta(minutes=1)
MICROSECOND = timedelta(microseconds=1)


async def request(uow_factory: UnitOfWorkFactory, reset: ResetRequest) -> UUID | None:
    async with uow_factory() as uow:
        user_id = await uow.password_resets.request(reset)
        await uow.commit()
    return user_id


async def requests(
    uow_factory: UnitOfWorkFactory, email: str, *minutes: float, limit: int = 3
) -> list[UUID | None]:
    """One request for the email at each of `minutes` after T0: what each one got."""
    return [
        await request(uow_factory, make_reset_request(email, minutes=m, limit=limit))
        for m in minutes
    ]


async def take(
    uow_factory: UnitOfWorkFactory, reset: ResetRequest, now: datetime | None = None
) -> UUID | None:
    async with uow_factory() as uow:
        user_id = await uow.password_resets.take(reset.token_hash, now or reset.now)
        await uow.commit()
    return user_id


class PasswordResetRepositoryContract:
    @pytest.fixture
    async def ada(self, uow_factory: UnitOfWorkFactory) -> User:
        return await store_user(uow_factory, make_user(ADA))

    async def test_a_request_for_a_registered_email_is_for_its_user(
        self, uow_factory: UnitOfWorkFactory, ada: User
    ) -> None:
        reset = make_reset_request(ADA)
        assert await request(uow_factory, reset) == ada.id
        assert await take(uow_factory, reset, SOON) == ada.id

    async def test_a_request_for_an_unknown_email_is_for_nobody_and_cannot_be_taken(
        self, uow_factory: UnitOfWorkFactory, ada: User
    ) -> None:
        unknown = [make_reset_request("bob@example.com", minutes=m) for m in range(5)]
        for reset in unknown:
            assert await request(uow_factory, reset) is None
        for reset in unknown:
            assert await take(uow_factory, reset, SOON) is None
        # Its rows were written all the same (one write alike, registered or not).
        async with uow_factory() as uow:
            assert await uow.password_resets.purge_expired(T0 + 2 * HOUR, 100) == 5

    async def test_the_cap_stops_the_request_that_would_send_one_message_too_many(
        self, uow_factory: UnitOfWorkFactory, ada: User
    ) -> None:
        sent = [make_reset_request(ADA, minutes=m) for m in (0, 10, 20)]
        for reset in sent:
            assert await request(uow_factory, reset) == ada.id
        refused = make_reset_request(ADA, minutes=30)
        assert await request(uow_factory, refused) is None
        # Its row stores no user: it can never be spent, while the others still can.
        assert await take(uow_factory, refused) is None
        assert [await take(uow_factory, reset, refused.now) for reset in sent] == [ada.id] * 3

    async def test_the_cap_counts_messages_sent_since_the_window_began(
        self, uow_factory: UnitOfWorkFactory, ada: User
    ) -> None:
        assert await requests(uow_factory, ADA, 0, 10, 20, 30) == [ada.id] * 3 + [None]
        # At minute 60 the window starts at T0: the request made then no longer counts.
        assert await requests(uow_factory, ADA, 60, 61) == [ada.id, None]

    async def test_refused_requests_do_not_use_up_the_cap(
        self, uow_factory: UnitOfWorkFactory, ada: User
    ) -> None:
        assert await requests(uow_factory, ADA, 0, 1, 2) == [ada.id] * 3
        assert await requests(uow_factory, ADA, 30, 40, 50) == [None] * 3
        # Minute 61: the window starts at minute 1. One message was sent since (minute 2)
        # and three requests were refused: only the message counts, two more may go.
        assert await requests(uow_factory, ADA, 61, 61, 61) == [ada.id, ada.id, None]

    async def test_the_cap_is_per_email(self, uow_factory: UnitOfWorkFactory, ada: User) -> None:
        bob = await store_user(uow_factory, make_user("bob@example.com"))
        assert await requests(uow_factory, ADA, 0, 1, 2, 3) == [ada.id] * 3 + [None]
        assert await requests(uow_factory, "bob@example.com", 4) == [bob.id]

    async def test_a_token_is_taken_once(self, uow_factory: UnitOfWorkFactory, ada: User) -> None:
        reset = make_reset_request(ADA)
        assert await request(uow_factory, reset) == ada.id
        assert await take(uow_factory, reset, SOON) == ada.id
        assert await take(uow_factory, reset, SOON) is None

    async def test_a_token_taken_by_another_unit_of_work_meanwhile_is_not_taken(
        self, uow_factory: UnitOfWorkFactory, ada: User
    ) -> None:
        reset = make_reset_request(ADA)
        assert await request(uow_factory, reset) == ada.id
        async with uow_factory() as first, uow_factory() as second:
            assert await first.password_resets.take(reset.token_hash, SOON) == ada.id
            await first.commit()
            assert await second.password_resets.take(reset.token_hash, SOON) is None
            await second.commit()

    async def test_a_take_rolled_back_leaves_the_token_live(
        self, uow_factory: UnitOfWorkFactory, ada: User
    ) -> None:
        reset = make_reset_request(ADA)
        assert await request(uow_factory, reset) == ada.id
        async with uow_factory() as uow:
            assert await uow.password_resets.take(reset.token_hash, SOON) == ada.id
        assert await take(uow_factory, reset, SOON) == ada.id

    async def test_a_token_is_refused_from_the_moment_it_expires(
        self, uow_factory: UnitOfWorkFactory, ada: User
    ) -> None:
        reset = make_reset_request(ADA)
        assert await request(uow_factory, reset) == ada.id
        assert await take(uow_factory, reset, reset.expires_at) is None
        # Refused, not spent: a moment earlier it still works.
        assert await take(uow_factory, reset, reset.expires_at - MICROSECOND) == ada.id

    async def test_an_unknown_token_is_refused(
        self, uow_factory: UnitOfWorkFactory, ada: User
    ) -> None:
        assert await request(uow_factory, make_reset_request(ADA)) == ada.id
        assert await take(uow_factory, make_reset_request(ADA), SOON) is None

    async def test_void_all_voids_every_outstanding_token_of_the_user_only(
        self, uow_factory: UnitOfWorkFactory, ada: User
    ) -> None:
        bob = await store_user(uow_factory, make_user("bob@example.com"))
        mine = [make_reset_request(ADA, minutes=m) for m in (0, 1)]
        theirs = make_reset_request("bob@example.com", minutes=2)
        for reset in [*mine, theirs]:
            assert await request(uow_factory, reset) is not None
        async with uow_factory() as uow:
            assert await uow.password_resets.void_all(ada.id) == 2
            await uow.commit()
        for reset in mine:
            assert await take(uow_factory, reset, SOON) is None
        assert await take(uow_factory, theirs, SOON) == bob.id
        async with uow_factory() as uow:
            assert await uow.password_resets.void_all(ada.id) == 0

    async def test_forget_email_forgets_its_requests_and_so_its_cap(
        self, uow_factory: UnitOfWorkFactory, ada: User
    ) -> None:
        bob = await store_user(uow_factory, make_user("bob@example.com"))
        sent = [make_reset_request(ADA, minutes=m) for m in (0, 1, 2)]
        for reset in sent:
            assert await request(uow_factory, reset) == ada.id
        theirs = make_reset_request("bob@example.com", minutes=3)
        assert await request(uow_factory, theirs) == bob.id
        assert await requests(uow_factory, ADA, 4) == [None]
        async with uow_factory() as uow:
            await uow.password_resets.forget_email(email_key(ADA))
            await uow.commit()
        for reset in sent:
            assert await take(uow_factory, reset, SOON) is None
        assert await requests(uow_factory, ADA, 5) == [ada.id]
        assert await take(uow_factory, theirs, SOON) == bob.id
        # The refused request went too: all that is left is the one made since.
        async with uow_factory() as uow:
            assert await uow.password_resets.purge_expired(T0 + 2 * HOUR, 100) == 1

    async def test_purge_deletes_expired_requests_in_batches(
        self, uow_factory: UnitOfWorkFactory, ada: User
    ) -> None:
        purge_at = T0 + 2 * HOUR
        expired = [
            make_reset_request(ADA),
            make_reset_request(ADA, minutes=1),
            make_reset_request("nobody@example.com", minutes=2),
        ]
        on_the_edge = make_reset_request(ADA, minutes=60)  # expires at purge_at
        alive = make_reset_request(ADA, minutes=90)
        for reset in [*expired, on_the_edge, alive]:
            await request(uow_factory, reset)
        async with uow_factory() as uow:
            assert await uow.password_resets.purge_expired(purge_at, 2) == 2
            assert await uow.password_resets.purge_expired(purge_at, 2) == 1
            assert await uow.password_resets.purge_expired(purge_at, 2) == 0
            await uow.commit()
        assert await take(uow_factory, on_the_edge, purge_at - MICROSECOND) == ada.id
        assert await take(uow_factory, alive, purge_at) == ada.id
        async with uow_factory() as uow:
            assert await uow.password_resets.purge_expired(purge_at + 2 * HOUR, 100) == 0
