"""In-memory implementations of every port, for unit tests of the core. They keep the same
contract as the SQL adapters (tests/contracts runs one suite against both)."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from tests.fakes.memory_accounts import (
    Failure,
    InMemoryLoginFailureRepository,
    InMemoryPasswordResetRepository,
    InMemorySessionRepository,
    StoredReset,
)
from tests.fakes.memory_idempotency import InMemoryIdempotencyRepository, StoredKey
from todo_core.domain import (
    UNSET,
    LoginSession,
    RefreshToken,
    Task,
    TaskCounts,
    TaskKey,
    TaskPage,
    TaskPatch,
    TaskQuery,
    User,
    Versions,
)
from todo_core.errors import EmailTakenError, UnknownUserError
from todo_core.ports import (
    Clock,
    PasswordHasher,
    RefreshTokenRepository,
    TaskRepository,
    UnitOfWork,
    UserRepository,
)


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


class InMemoryUserRepository(UserRepository):
    def __init__(self, users: dict[UUID, User], owned: list[dict[Any, Any]]) -> None:
        """`owned`: the tables whose rows belong to a user (their `user_id`), deleted with
        the user as the foreign keys' ON DELETE CASCADE does."""
        self._users = users
        self._owned = owned

    async def add(self, user: User) -> None:
        if any(u.email == user.email for u in self._users.values()):
            raise EmailTakenError()
        self._users[user.id] = user

    async def get_by_email(self, email: str) -> User | None:
        return next((u for u in self._users.values() if u.email == email), None)

    async def get(self, user_id: UUID) -> User | None:
        return self._users.get(user_id)

    async def update_password_hash(
        self, user_id: UUID, password_hash: str, replacing: str | None = None
    ) -> bool:
        user = self._users.get(user_id)
        if user is None or (replacing is not None and user.password_hash != replacing):
            return False
        self._users[user_id] = dataclasses.replace(user, password_hash=password_hash)
        return True

    async def delete(self, user_id: UUID) -> bool:
        if self._users.pop(user_id, None) is None:
            return False
        for table in self._owned:
            for key in [k for k, row in table.items() if _owner(k, row) == user_id]:
                del table[key]
        return True


def _owner(key: Any, row: Any) -> Any:
    # Idempotency keys are keyed by (user_id, key) and store no user id of their own.
    return getattr(row, "user_id", None) or (key[0] if isinstance(key, tuple) else None)


class InMemoryTaskRepository(TaskRepository):
    def __init__(self, tasks: dict[UUID, Task], users: dict[UUID, User]) -> None:
        self._tasks = tasks
        self._users = users

    async def add(self, task: Task) -> None:
        if task.user_id not in self._users:
            raise UnknownUserError()
        self._tasks[task.id] = task

    async def get(self, task_id: UUID) -> Task | None:
        return self._tasks.get(task_id)

    def _of(self, user_id: UUID) -> list[Task]:
        return [t for t in self._tasks.values() if t.user_id == user_id]

    async def list(self, user_id: UUID, query: TaskQuery) -> TaskPage:
        everything = self._of(user_id)
        counts = TaskCounts.of(len(everything), sum(t.is_completed for t in everything))
        mine = [t for t in everything if query.completed in (None, t.is_completed)]
        sort = query.sort

        def position(task: Task) -> tuple[datetime, UUID]:
            key = TaskKey.of(task, sort)
            return key.value, key.id

        mine.sort(key=position, reverse=sort.descending)
        if query.after is not None:
            after = (query.after.value, query.after.id)
            mine = [
                t for t in mine if (position(t) < after if sort.descending else position(t) > after)
            ]
        page = mine[query.offset : query.offset + query.limit + 1]
        next_key = TaskKey.of(page[query.limit - 1], sort) if len(page) > query.limit else None
        total = counts.matching(query.completed)
        return TaskPage(page[: query.limit], total, query.limit, query.offset, next_key, counts)

    def _matching(self, task_id: UUID, user_id: UUID, if_version: Versions) -> Task | None:
        task = self._tasks.get(task_id)
        if task is None or task.user_id != user_id:
            return None
        if if_version is not None and task.version not in if_version:
            return None
        return task

    async def update(
        self,
        task_id: UUID,
        user_id: UUID,
        patch: TaskPatch,
        now: datetime,
        if_version: Versions = None,
    ) -> Task | None:
        task = self._matching(task_id, user_id, if_version)
        if task is None:
            return None
        changes = {
            name: getattr(patch, name)
            for name in ("title", "description", "is_completed")
            if getattr(patch, name) is not UNSET
        }
        updated = dataclasses.replace(task, **changes, updated_at=now, version=task.version + 1)
        self._tasks[task_id] = updated
        return updated

    async def delete(self, task_id: UUID, user_id: UUID, if_version: Versions = None) -> bool:
        if self._matching(task_id, user_id, if_version) is None:
            return False
        del self._tasks[task_id]
        return True

    async def owner_of(self, task_id: UUID) -> UUID | None:
        task = self._tasks.get(task_id)
        return task.user_id if task else None

    async def set_completed(self, user_id: UUID, is_completed: bool, now: datetime) -> int:
        changing = [t for t in self._of(user_id) if t.is_completed != is_completed]
        for task in changing:
            self._tasks[task.id] = dataclasses.replace(
                task, is_completed=is_completed, updated_at=now, version=task.version + 1
            )
        return len(changing)

    async def delete_all(self, user_id: UUID, completed: bool) -> int:
        doomed = [t.id for t in self._of(user_id) if t.is_completed == completed]
        for task_id in doomed:
            del self._tasks[task_id]
        return len(doomed)


class InMemoryRefreshTokenRepository(RefreshTokenRepository):
    def __init__(self, tokens: dict[str, RefreshToken]) -> None:
        self._tokens = tokens

    async def add(self, token: RefreshToken) -> None:
        self._tokens[token.token_hash] = token

    async def get(self, token_hash: str) -> RefreshToken | None:
        return self._tokens.get(token_hash)

    async def spend(self, token_hash: str, now: datetime) -> RefreshToken | None:
        token = self._tokens.get(token_hash)
        if token is None or token.spent_at or token.revoked_at or token.expires_at <= now:
            return None
        self._tokens[token_hash] = dataclasses.replace(token, spent_at=now)
        return token

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        doomed = [h for h, t in self._tokens.items() if t.expires_at < now][:batch_size]
        for token_hash in doomed:
            del self._tokens[token_hash]
        return len(doomed)


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


class FakePasswordHasher(PasswordHasher):
    """Cheap and deterministic; the cost is part of the hash so re-hashing can be tested."""

    def __init__(self, cost: int = 12) -> None:
        self.cost = cost
        self.dummy_checks = 0

    async def hash(self, password: str) -> str:
        digest = hashlib.sha256(password.encode()).hexdigest()
        return f"fake${self.cost}${digest}"

    async def verify(self, password: str, password_hash: str) -> bool:
        digest = hashlib.sha256(password.encode()).hexdigest()
        return password_hash.endswith(f"${digest}")

    async def verify_dummy(self, password: str) -> None:
        self.dummy_checks += 1

    def needs_rehash(self, password_hash: str) -> bool:
        return int(password_hash.split("$")[1]) < self.cost


class FixedClock(Clock):
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)
