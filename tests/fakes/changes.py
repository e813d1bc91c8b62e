"""The in-memory change feed. The fake numbers a unit of work's task writes when it commits
(one number per user per commit), which is the order PostgreSQL's counter lock gives too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tests.fakes.store import InMemoryStore, TableView
from todo_core.domain import Task
from todo_core.feed import ChangeFeedRepository, FeedEntry, FeedSlice


@dataclass(frozen=True, slots=True)
class Entry:
    user_id: UUID
    seq: int
    deleted_at: datetime | None


def record_changes(store: InMemoryStore, tasks: TableView[UUID, Task], now: datetime) -> None:
    """Number what the unit of work is about to publish of the tasks, before it does."""
    written, deleted = tasks.pending()
    owners = {t.user_id for t in written.values()} | {
        store.tasks[k].user_id for k in deleted if k in store.tasks
    }
    numbers = {}
    for user_id in owners:
        numbers[user_id] = store.change_seq[user_id] = store.change_seq.get(user_id, 0) + 1
    for task_id, task in written.items():
        store.changes[task_id] = Entry(task.user_id, numbers[task.user_id], None)
    for task_id in deleted:
        if task_id in store.tasks:
            user_id = store.tasks[task_id].user_id
            store.changes[task_id] = Entry(user_id, numbers[user_id], now)


def forget_changes_of_gone_users(store: InMemoryStore) -> None:
    for task_id, entry in list(store.changes.items()):
        if entry.user_id not in store.users:
            del store.changes[task_id]
    for user_id in [u for u in store.change_seq if u not in store.users]:
        del store.change_seq[user_id]


class InMemoryChangeFeedRepository(ChangeFeedRepository):
    def __init__(self, store: InMemoryStore, tasks: TableView[UUID, Task]) -> None:
        self._store = store
        self._tasks = tasks

    async def after(
        self, user_id: UUID, seq: int, task_id: UUID, limit: int, *, deletions: bool = True
    ) -> FeedSlice:
        found: list[tuple[Any, ...]] = sorted(
            (entry.seq, key, entry.deleted_at)
            for key, entry in self._store.changes.items()
            if entry.user_id == user_id
            and (entry.seq, key) > (seq, task_id)
            and (deletions or entry.deleted_at is None)
        )
        entries = [
            FeedEntry(number, key, None if gone else self._tasks.get(key))
            for number, key, gone in found[:limit]
        ]
        return FeedSlice(entries, self._store.change_seq.get(user_id, 0))

    async def newest(self, user_id: UUID) -> int:
        return self._store.change_seq.get(user_id, 0)

    async def purge_deletions(self, before: datetime, batch_size: int) -> int:
        expired = [
            key
            for key, entry in self._store.changes.items()
            if entry.deleted_at is not None and entry.deleted_at < before
        ][:batch_size]
        for key in expired:
            del self._store.changes[key]
        return len(expired)
