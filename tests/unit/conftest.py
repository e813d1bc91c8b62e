"""Fixtures the core's unit tests share: a clock that moves only when told, and one fake
database per test."""

from __future__ import annotations

import pytest

from tests.fakes import FixedClock, InMemoryUnitOfWorkFactory


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def uow() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()
