"""The LoginFailureRepository contract: what an attempt counts, and forgetting. Subclass it
in a module that provides a `uow_factory` fixture."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.contracts.builders import T0
from todo_core.domain import email_key
from todo_core.ports import FailureLimits, LimitingFailures, UnitOfWorkFactory

WINDOW = timedelta(minutes=15)
ADA, BOB, CAROL = (email_key(f"{name}@example.com") for name in ("ada", "bob", "carol"))
HOME, CAFE = "192.0.2.1", "198.51.100.7"
UNLIMITED = LimitingFailures(None, None)
ONES = FailureLimits(pair=1, email=1, address=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def attempt(
    uow_factory: UnitOfWorkFactory,
    minutes: float,
    email: str = ADA,
    address: str = HOME,
    *,
    email_limit: int | None = 100,
    address_limit: int = 100,
    pair_limit: int | None = 100,
) -> tuple[int, LimitingFailures]:
    """An attempt `minutes` after T0, counting the failures of the last WINDOW."""
    now = at(minutes)
    limits = FailureLimits(pair=pair_limit, email=email_limit, address=address_limit)
    async with uow_factory() as uow:
        found = await uow.login_failures.attempt(email, address, now, now - WINDOW, limits)
        await uow.commit()
    return found


async def limiting(
    uow_factory: UnitOfWorkFactory,
    minutes: float,
    email: str = ADA,
    address: str = HOME,
    *,
    email_limit: int | None = 100,
    address_limit: int = 100,
    pair_limit: int | None = 100,
) -> LimitingFailures:
    _, found = await attempt(
        uow_factory,
        minutes,
        email,
        address,
        email_limit=email_limit,
        address_limit=address_limit,
        pair_limit=pair_limit,
    )
    return found


async def withdraw(uow_factory: UnitOfWorkFactory, attempt_id: int) -> None:
    async with uow_factory() as uow:
        await uow.login_failures.withdraw(attempt_id)
        await uow.commit()


class LoginFailureRepositoryContract:
    async def test_under_the_limits_nothing_is_limiting(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        for minute in range(3):
            assert await limiting(uow_factory, minute, email_limit=3, address_limit=3) == (
                UNLIMITED
            )

    async def test_the_limiting_failure_is_the_limit_th_newest_of_the_others(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        for minute in (3, 0, 4, 1, 2):  # by time, whatever the order they came in
            await attempt(uow_factory, minute)
        found = await limiting(uow_factory, 5, email_limit=3, address_limit=5)
        assert found == LimitingFailures(email=at(2), address=at(0))

    async def test_the_attempt_itself_is_not_among_the_failures_it_counts(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        assert await limiting(uow_factory, 0, email_limit=1, address_limit=1) == UNLIMITED
        assert await limiting(uow_factory, 1, email_limit=1, address_limit=1) == (
            LimitingFailures(at(0), at(0))
        )

    async def test_only_failures_since_the_window_began_count(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        for minute in range(3):
            await attempt(uow_factory, minute)
        attempt_id, found = await attempt(uow_factory, 14, email_limit=3, address_limit=3)
        assert found == LimitingFailures(at(0), at(0))
        await withdraw(uow_factory, attempt_id)
        # At minute 15 the window begins at T0: the failure made then no longer counts.
        assert await limiting(uow_factory, 15, email_limit=3, address_limit=3) == UNLIMITED

    async def test_emails_and_addresses_are_counted_apart(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        for minute in range(3):
            await attempt(uow_factory, minute, ADA, HOME)
        await attempt(uow_factory, 3, BOB, CAFE)
        assert await limiting(uow_factory, 4, BOB, HOME, email_limit=2, address_limit=3) == (
            LimitingFailures(email=None, address=at(0))
        )
        assert await limiting(uow_factory, 5, ADA, CAFE, email_limit=2, address_limit=3) == (
            LimitingFailures(email=at(1), address=None)
        )

    async def test_withdraw_forgets_that_attempt_only(self, uow_factory: UnitOfWorkFactory) -> None:
        first, _ = await attempt(uow_factory, 0)
        second, _ = await attempt(uow_factory, 1)
        assert first != second
        await withdraw(uow_factory, second)
        third, found = await attempt(uow_factory, 2, email_limit=2, address_limit=2)
        assert found == UNLIMITED
        await withdraw(uow_factory, third)
        assert await limiting(uow_factory, 3, email_limit=1, address_limit=1) == (
            LimitingFailures(at(0), at(0))
        )

    async def test_an_attempt_rolled_back_does_not_count(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        async with uow_factory() as uow:
            await uow.login_failures.attempt(ADA, HOME, at(0), at(0) - WINDOW, ONES)
        assert await limiting(uow_factory, 1, email_limit=1, address_limit=1) == UNLIMITED

    async def test_an_attempt_counts_the_failures_committed_meanwhile(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # Two attempts at once: the later one sees the earlier one's failure.
        async with uow_factory() as first, uow_factory() as second:
            _, found = await first.login_failures.attempt(ADA, HOME, at(0), at(0) - WINDOW, ONES)
            assert found == UNLIMITED
            await first.commit()
            _, found = await second.login_failures.attempt(ADA, HOME, at(1), at(1) - WINDOW, ONES)
            assert found == LimitingFailures(at(0), at(0), at(0))

    async def test_clear_forgets_the_emails_failures_from_every_address(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        await attempt(uow_factory, 0, ADA, HOME)
        await attempt(uow_factory, 1, ADA, CAFE)
        await attempt(uow_factory, 2, BOB, HOME)
        async with uow_factory() as uow:
            await uow.login_failures.clear(ADA)
            await uow.commit()
        # Nothing is left of Ada's failures, at home or at the cafe...
        assert await limiting(uow_factory, 3, ADA, CAFE, email_limit=1, address_limit=1) == (
            UNLIMITED
        )
        # ...while the address keeps the failures of other emails.
        assert await limiting(uow_factory, 4, CAROL, HOME, email_limit=1, address_limit=1) == (
            LimitingFailures(email=None, address=at(2))
        )

    async def test_purge_older_deletes_failures_before_then_in_batches(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        for minute in (0, 1, 2, 10, 11):
            await attempt(uow_factory, minute)
        async with uow_factory() as uow:
            assert await uow.login_failures.purge_older(at(10), 2) == 2
            assert await uow.login_failures.purge_older(at(10), 2) == 1
            assert await uow.login_failures.purge_older(at(10), 2) == 0
            await uow.commit()
        # Minutes 10 and 11 are left, nothing older.
        assert await limiting(uow_factory, 12, email_limit=2, address_limit=3) == (
            LimitingFailures(email=at(10), address=None)
        )

    async def test_the_email_from_one_address_is_counted_apart_from_the_email(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        for minute in range(3):
            await attempt(uow_factory, minute, ADA, CAFE)
        await attempt(uow_factory, 3, ADA, HOME)
        await attempt(uow_factory, 4, BOB, HOME)
        found = await limiting(
            uow_factory, 5, ADA, HOME, pair_limit=1, email_limit=4, address_limit=3
        )
        assert found == LimitingFailures(email=at(0), address=None, pair=at(3))
        found = await limiting(uow_factory, 6, ADA, CAFE, pair_limit=3, email_limit=9)
        assert found == LimitingFailures(email=None, address=None, pair=at(0))

    async def test_a_count_without_a_limit_is_not_counted(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        for minute in range(3):
            await attempt(uow_factory, minute)
        found = await limiting(uow_factory, 3, pair_limit=None, email_limit=None, address_limit=2)
        assert found == LimitingFailures(email=None, address=at(1), pair=None)

    async def test_clear_from_an_address_forgets_the_emails_failures_there_only(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        await attempt(uow_factory, 0, ADA, HOME)
        await attempt(uow_factory, 1, ADA, CAFE)
        await attempt(uow_factory, 2, BOB, HOME)
        async with uow_factory() as uow:
            await uow.login_failures.clear(ADA, HOME)
            await uow.commit()
        found = await limiting(uow_factory, 3, ADA, HOME, email_limit=1, pair_limit=1)
        assert found == LimitingFailures(email=at(1), address=None, pair=None)
        found = await limiting(uow_factory, 4, CAROL, HOME, address_limit=1)
        assert found == LimitingFailures(email=None, address=at(3))
