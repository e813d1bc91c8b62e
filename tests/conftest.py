from __future__ import annotations

import pytest

from tests.fakes import FakePasswordHasher, FixedClock, InMemoryUnitOfWorkFactory


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def hasher() -> FakePasswordHasher:
    return FakePasswordHasher()


@pytest.fixture
def memory_uow() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()
