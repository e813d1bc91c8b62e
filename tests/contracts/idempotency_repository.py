"""The IdempotencyRepository contract. Subclass it in a module that provides a
`uow_factory` fixture."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.contracts.builders import T0, make_user, store_user
from todo_core.domain import User
from todo_core.errors import IdempotencyKeyInUseError, UnknownUserError
from todo_core.idempotency import IdempotencyKey, Reply, StoredReply
from todo_core.ports import UnitOfWorkFactory

KEY = IdempotencyKey("retry-me 1", "f" * 64)
REPLY = Reply(201, b'{"id": "first"}')
DAY = timedelta(days=1)


async def claim(
    uow_factory: UnitOfWorkFactory,
    user: User,
    key: IdempotencyKey = KEY,
    reply: Reply = REPLY,
    now=T0,
) -> StoredReply | None:
    async with uow_factory() as uow:
        stored = await uow.idempotency.claim(user.id, key, reply, now, now + DAY)
        await uow.commit()
    return stored


class IdempotencyRepositoryContract:
    @pytest.fixture
    async def owner(self, uow_factory: UnitOfWorkFactory) -> User:
        return await store_user(uow_factory)

    async def test_a_new_key_is_claimed_and_then_gives_what_was_stored(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        assert await claim(uow_factory, owner) is None
        again = IdempotencyKey(KEY.key, "0" * 64)
        stored = await claim(uow_factory, owner, again, Reply(201, b"other"))
        assert stored == StoredReply(KEY.fingerprint, REPLY)

    async def test_keys_of_different_users_never_meet(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        other = await store_user(uow_factory)
        assert await claim(uow_factory, owner) is None
        assert await claim(uow_factory, other, reply=Reply(201, b"theirs")) is None
        assert await claim(uow_factory, other) == StoredReply(
            KEY.fingerprint, Reply(201, b"theirs")
        )

    async def test_an_expired_key_is_free_again(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        assert await claim(uow_factory, owner) is None
        later = T0 + DAY + timedelta(seconds=1)
        assert await claim(uow_factory, owner, reply=Reply(201, b"new"), now=later) is None
        assert await claim(uow_factory, owner, now=later) == StoredReply(
            KEY.fingerprint, Reply(201, b"new")
        )

    async def test_a_claim_rolled_back_leaves_the_key_free(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        async with uow_factory() as uow:
            assert await uow.idempotency.claim(owner.id, KEY, REPLY, T0, T0 + DAY) is None
        assert await claim(uow_factory, owner) is None

    async def test_a_key_held_by_an_open_unit_of_work_is_in_use(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        async with uow_factory() as first:
            assert await first.idempotency.claim(owner.id, KEY, REPLY, T0, T0 + DAY) is None
            with pytest.raises(IdempotencyKeyInUseError):
                await claim(uow_factory, owner)
            await first.commit()
        assert await claim(uow_factory, owner) == StoredReply(KEY.fingerprint, REPLY)

    async def test_a_key_of_an_unknown_user_is_refused(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        with pytest.raises(UnknownUserError):
            await claim(uow_factory, make_user())

    async def test_purge_deletes_expired_keys_in_batches(
        self, uow_factory: UnitOfWorkFactory, owner: User
    ) -> None:
        for i in range(3):
            assert await claim(uow_factory, owner, IdempotencyKey(f"old {i}", "a" * 64)) is None
        fresh = IdempotencyKey("fresh", "b" * 64)
        assert await claim(uow_factory, owner, fresh, now=T0 + DAY) is None
        purge_at = T0 + DAY + timedelta(seconds=1)
        async with uow_factory() as uow:
            assert await uow.idempotency.purge_expired(purge_at, 2) == 2
            assert await uow.idempotency.purge_expired(purge_at, 2) == 1
            assert await uow.idempotency.purge_expired(purge_at, 2) == 0
            await uow.commit()
        assert await claim(uow_factory, owner, fresh, now=purge_at) == StoredReply(
            fresh.fingerprint, REPLY
        )
