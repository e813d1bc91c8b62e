"""In-memory implementations of the ports, for the unit tests of the core. Each repository
keeps the contract of its SQL adapter: tests/contracts runs one suite against both."""

from tests.fakes.clock import FixedClock
from tests.fakes.hasher import FakePasswordHasher
from tests.fakes.store import InMemoryStore
from tests.fakes.uow import InMemoryUnitOfWork, InMemoryUnitOfWorkFactory

__all__ = [
    "FakePasswordHasher",
    "FixedClock",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "InMemoryUnitOfWorkFactory",
]
