"""The UserRepository contract, through the unit of work. Subclass it in a module that
provides a `uow_factory` fixture."""

from __future__ import annotations

import dataclasses

import pytest

from tests.contracts.builders import make_user, store_user
from todo_core.errors import EmailTakenError
from todo_core.ports import UnitOfWorkFactory


class UserRepositoryContract:
    async def test_added_user_is_found_by_id_and_by_email(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        user = await store_user(uow_factory, make_user("ada@example.com"))
        async with uow_factory() as uow:
            assert await uow.users.get(user.id) == user
            assert await uow.users.get_by_email("ada@example.com") == user

    async def test_unknown_id_and_email_are_none(self, uow_factory: UnitOfWorkFactory) -> None:
        await store_user(uow_factory, make_user("ada@example.com"))
        async with uow_factory() as uow:
            assert await uow.users.get(make_user().id) is None
            assert await uow.users.get_by_email("bob@example.com") is None

    async def test_each_email_finds_its_own_user(self, uow_factory: UnitOfWorkFactory) -> None:
        ada = await store_user(uow_factory, make_user("ada@example.com"))
        bob = await store_user(uow_factory, make_user("bob@example.com"))
        async with uow_factory() as uow:
            assert await uow.users.get_by_email("ada@example.com") == ada
            assert await uow.users.get_by_email("bob@example.com") == bob

    async def test_duplicate_email_is_email_taken(self, uow_factory: UnitOfWorkFactory) -> None:
        first = await store_user(uow_factory, make_user("ada@example.com", "first"))
        duplicate = make_user("ada@example.com", "second")
        async with uow_factory() as uow:
            with pytest.raises(EmailTakenError):
                await uow.users.add(duplicate)
        async with uow_factory() as uow:
            assert await uow.users.get_by_email("ada@example.com") == first
            assert await uow.users.get(duplicate.id) is None

    async def test_duplicate_email_within_one_unit_of_work(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        async with uow_factory() as uow:
            await uow.users.add(make_user("ada@example.com"))
            with pytest.raises(EmailTakenError):
                await uow.users.add(make_user("ada@example.com"))

    async def test_update_password_hash_changes_only_that_user(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        ada = await store_user(uow_factory, make_user("ada@example.com", "old"))
        bob = await store_user(uow_factory, make_user("bob@example.com", "old"))
        async with uow_factory() as uow:
            await uow.users.update_password_hash(ada.id, "new")
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.users.get(ada.id) == dataclasses.replace(ada, password_hash="new")
            assert await uow.users.get(bob.id) == bob

    async def test_update_password_hash_replacing_only_while_it_is_still_that_one(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        ada = await store_user(uow_factory, make_user("ada@example.com", "old"))
        async with uow_factory() as uow:
            assert not await uow.users.update_password_hash(ada.id, "new", replacing="other")
            assert await uow.users.update_password_hash(ada.id, "new", replacing="old")
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.users.get(ada.id) == dataclasses.replace(ada, password_hash="new")

    async def test_update_password_hash_of_unknown_user_does_nothing(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        ada = await store_user(uow_factory)
        ghost = make_user()
        async with uow_factory() as uow:
            await uow.users.update_password_hash(ghost.id, "new")
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.users.get(ghost.id) is None
            assert await uow.users.get(ada.id) == ada

    async def test_add_without_commit_is_rolled_back(self, uow_factory: UnitOfWorkFactory) -> None:
        user = make_user()
        async with uow_factory() as uow:
            await uow.users.add(user)
            # visible inside its own unit of work, gone once it ends uncommitted
            assert await uow.users.get(user.id) == user
        async with uow_factory() as uow:
            assert await uow.users.get(user.id) is None
            assert await uow.users.get_by_email(user.email) is None

    async def test_an_exception_rolls_back(self, uow_factory: UnitOfWorkFactory) -> None:
        user = make_user()

        async def add_then_fail() -> None:
            async with uow_factory() as uow:
                await uow.users.add(user)
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await add_then_fail()
        async with uow_factory() as uow:
            assert await uow.users.get(user.id) is None

    async def test_password_change_without_commit_is_rolled_back(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        user = await store_user(uow_factory, make_user(password_hash="old"))
        async with uow_factory() as uow:
            await uow.users.update_password_hash(user.id, "new")
        async with uow_factory() as uow:
            assert await uow.users.get(user.id) == user

    async def test_a_freed_email_can_be_added_after_rollback(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        async with uow_factory() as uow:
            await uow.users.add(make_user("ada@example.com"))
        again = await store_user(uow_factory, make_user("ada@example.com"))
        async with uow_factory() as uow:
            assert await uow.users.get_by_email("ada@example.com") == again

    async def test_interleaved_units_of_work_both_persist(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # Two requests served at once: each commit must keep the other's rows.
        ada, bob = make_user("ada@example.com"), make_user("bob@example.com")
        async with uow_factory() as first, uow_factory() as second:
            await first.users.add(ada)
            await second.users.add(bob)
            await first.commit()
            await second.commit()
        async with uow_factory() as uow:
            assert await uow.users.get(ada.id) == ada
            assert await uow.users.get(bob.id) == bob
