"""The in-memory unit of work over a store shared by its units of work: one fake
database. It keeps the same contract as the SQL one (tests/contracts runs one suite
against both)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from tests.fakes.changes import (
    InMemoryChangeFeedRepository,
    forget_changes_of_gone_users,
    record_changes,
)
from tests.fakes.event_tickets import InMemoryEventTicketRepository
from tests.fakes.idempotency import InMemoryIdempotencyRepository
from tests.fakes.login_failures import InMemoryLoginFailureRepository
from tests.fakes.password_resets import InMemoryPasswordResetRepository
from tests.fakes.sessions import InMemorySessionRepository
from tests.fakes.store import InMemoryStore, TableView
from tests.fakes.tasks import InMemoryTaskRepository
from tests.fakes.tokens import InMemoryRefreshTokenRepository
from tests.fakes.users import InMemoryUserRepository
from todo_core.ports import UnitOfWork


class InMemoryUnitOfWork(UnitOfWork):
    """Sees the store through a TableView per table (READ COMMITTED, as PostgreSQL by
    default) and publishes its writes on commit, so an exception or a missing commit
    leaves the store as it was."""

    users: InMemoryUserRepository
    tasks: InMemoryTaskRepository
    refresh_tokens: InMemoryRefreshTokenRepository
    idempotency: InMemoryIdempotencyRepository
    sessions: InMemorySessionRepository
    password_resets: InMemoryPasswordResetRepository
    login_failures: InMemoryLoginFailureRepository
    changes: InMemoryChangeFeedRepository
    event_tickets: InMemoryEventTicketRepository

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.committed = False

    async def __aenter__(self) -> Self:
        store = self._store
        self._tables: list[TableView[Any, Any]] = [
            TableView(table)
            for table in (
                store.users,
                store.tasks,
                store.refresh_tokens,
                store.idempotency,
                store.sessions,
                store.password_resets,
                store.login_failures,
                store.event_tickets,
            )
        ]
        users, tasks, tokens, keys, sessions, resets, failures, tickets = self._tables
        self.users = InMemoryUserRepository(
            users, [tasks, tokens, keys, sessions, tickets], sessions
        )
        self.tasks = InMemoryTaskRepository(tasks, users, sessions)
        self.refresh_tokens = InMemoryRefreshTokenRepository(tokens)
        self.idempotency = InMemoryIdempotencyRepository(keys, users, store.claims_in_flight)
        self.sessions = InMemorySessionRepository(sessions, tokens, users)
        self.password_resets = InMemoryPasswordResetRepository(resets, users)
        self.login_failures = InMemoryLoginFailureRepository(failures)
        self.changes = InMemoryChangeFeedRepository(store, tasks)
        self._task_view = tasks
        self.event_tickets = InMemoryEventTicketRepository(tickets, users)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.idempotency.release()

    async def commit(self) -> None:
        record_changes(self._store, self._task_view, datetime.now(UTC))
        for table in self._tables:
            table.publish()
        forget_changes_of_gone_users(self._store)
        self.committed = True


class InMemoryUnitOfWorkFactory:
    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    def __call__(self, *, atomic: bool = True) -> InMemoryUnitOfWork:
        # Always transactional: a use case must commit either way, so tests catch a missing
        # commit() even where PostgreSQL would have kept the write.
        return InMemoryUnitOfWork(self.store)
