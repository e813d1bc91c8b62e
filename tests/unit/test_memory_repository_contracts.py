"""The repository contracts against the in-memory fakes the unit tests rely on."""

from __future__ import annotations

import pytest

from tests.contracts.task_repository import TaskRepositoryContract
from tests.contracts.user_repository import UserRepositoryContract
from todo_adapters.memory import InMemoryUnitOfWorkFactory
from todo_core.ports import UnitOfWorkFactory


@pytest.fixture
def uow_factory() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()


class TestInMemoryUserRepository(UserRepositoryContract):
    async def test_interleaved_units_of_work_both_persist(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        await super().test_interleaved_units_of_work_both_persist(uow_factory)


class TestInMemoryTaskRepository(TaskRepositoryContract):
    pass
