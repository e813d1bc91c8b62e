from __future__ import annotations

import pytest

from todo_adapters.memory import FakePasswordHasher, FixedClock, InMemoryUnitOfWorkFactory


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def hasher() -> FakePasswordHasher:
    return FakePasswordHasher()


@pytest.fixture
def memory_uow() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()
