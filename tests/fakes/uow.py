"""The in-memory unit of work over a store shared by its units of work: one fake
database. It keeps the same contract as the SQL one (tests/contracts runs one suite
against both)."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self
from uuid import UUID

from tests.fakes.idempotency import InMemoryIdempotencyRepository, StoredKey
from tests.fakes.login_failures import Failure, InMemoryLoginFailureRepository
from tests.fakes.password_resets import InMemoryPasswordResetRepository, StoredReset
from tests.fakes.sessions import InMemorySessionRepository
from tests.fakes.tasks import InMemoryTaskRepository
from tests.fakes.tokens import InMemoryRefreshTokenRepository
from tests.fakes.users import InMemoryUserRepository
from todo_core.domain import LoginSession, RefreshToken, Task, User
from todo_core.ports import UnitOfWork


class InMemoryStore:
    """The committed state shared by every unit of work of one fake database."""

    def __init__(self) -> None:
        self.users: dict[UUID, User] = {}
        self.tasks: dict[UUID, Task] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.idempotency: dict[tuple[UUID, str], StoredKey] = {}
        self.claims_in_flight: set[tuple[UUID, str]] = set()
        self.sessions: dict[UUID, LoginSession] = {}
        self.password_resets: dict[str, StoredReset] = {}
        self.login_failures: dict[int, Failure] = {}


class InMemoryUnitOfWork(UnitOfWork):
    """Works on copies of the store and publishes them on commit, so an exception or a
    missing commit leaves the store as it was."""

    users: InMemoryUserRepository
    tasks: InMemoryTaskRepository
    refresh_tokens: InMemoryRefreshTokenRepository
    idempotency: InMemoryIdempotencyRepository
    sessions: InMemorySessionRepository
    password_resets: InMemoryPasswordResetRepository
    login_failures: InMemoryLoginFailureRepository

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.committed = False

    async def __aenter__(self) -> Self:
        store = self._store
        self._tables: list[dict[Any, Any]] = [
            store.users,
            store.tasks,
            store.refresh_tokens,
            store.idempotency,
            store.sessions,
            store.password_resets,
            store.login_failures,
        ]
        self._snapshot = [dict(table) for table in self._tables]
        self._copies = [dict(table) for table in self._tables]
        users, tasks, tokens, keys, sessions, resets, failures = self._copies
        self.users = InMemoryUserRepository(users, [tasks, tokens, keys, sessions])
        self.tasks = InMemoryTaskRepository(tasks, users)
        self.refresh_tokens = InMemoryRefreshTokenRepository(tokens)
        self.idempotency = InMemoryIdempotencyRepository(keys, users, store.claims_in_flight)
        self.sessions = InMemorySessionRepository(sessions, tokens, users)
        self.password_resets = InMemoryPasswordResetRepository(resets, users)
        self.login_failures = InMemoryLoginFailureRepository(failures)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.idempotency.release()

    async def commit(self) -> None:
        # Publish only what this unit of work changed, as a database would: another unit
        # of work that committed meanwhile keeps its changes.
        for table, before, after in zip(self._tables, self._snapshot, self._copies, strict=True):
            _publish(table, before, after)
        self.committed = True


def _publish(store: dict[Any, Any], before: dict[Any, Any], after: dict[Any, Any]) -> None:
    for key in before.keys() - after.keys():
        store.pop(key, None)
    for key, value in after.items():
        if before.get(key) is not value:
            store[key] = value


class InMemoryUnitOfWorkFactory:
    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    def __call__(self, *, atomic: bool = True) -> InMemoryUnitOfWork:
        # Always transactional: a use case must commit either way, so tests catch a missing
        # commit() even where PostgreSQL would have kept the write.
        return InMemoryUnitOfWork(self.store)
