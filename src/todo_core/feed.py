"""The change feed: what changed in a user's tasks since a point, deletions included, in
the order the changes committed, so that a client applying it ends with the server's state.

Each write of a user's tasks takes the next number of that user's change counter, under a
lock it holds until it commits (see the SQL adapter's migration 0010): the numbers of one
user's changes are in commit order, and a reader sees them as a prefix. A point in the feed
is the last (number, task id) a client has, so "everything after it" never skips a change
that committed late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol
from uuid import UUID

from todo_core.domain import Task

FEED_LIMIT_DEFAULT: Final = 100
FEED_LIMIT_MAX: Final = 1000
# Deletions are kept this much longer than the retention promised: a token is refused
# from the retention on, and a deletion that committed a while after its transaction began
# (when its time was taken) is still there for every token that is not refused.
DELETION_MARGIN: Final = timedelta(hours=1)
FIRST_ID: Final = UUID(int=0)
LAST_ID: Final = UUID(int=(1 << 128) - 1)


@dataclass(frozen=True, slots=True)
class SyncPoint:
    """Where a client stands in its feed: after the change numbered `seq` of the task
    `task_id` (one write can change many tasks under one number), as of `issued_at`."""

    seq: int
    task_id: UUID
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One task's latest change: the task as it is now, or None when it was deleted."""

    seq: int
    task_id: UUID
    task: Task | None

    def point(self, issued_at: datetime) -> SyncPoint:
        return SyncPoint(self.seq, self.task_id, issued_at)


@dataclass(frozen=True, slots=True)
class ChangePage:
    entries: list[FeedEntry]
    next: SyncPoint
    has_more: bool

    @property
    def changes(self) -> list[Task]:
        return [entry.task for entry in self.entries if entry.task is not None]

    @property
    def deleted(self) -> list[UUID]:
        return [entry.task_id for entry in self.entries if entry.task is None]


@dataclass(frozen=True, slots=True)
class FeedSlice:
    """Entries read from the feed, and the number of the user's latest change as the same
    read saw it (0 before any)."""

    entries: list[FeedEntry]
    newest: int


class ChangeFeedRepository(Protocol):
    async def after(
        self, user_id: UUID, seq: int, task_id: UUID, limit: int, *, deletions: bool = True
    ) -> FeedSlice:
        """The user's entries after (seq, task_id), in that order, at most `limit`: each
        task once, at its latest change, with the task as it is now. Without `deletions`,
        the tasks that exist only. One snapshot: no entry numbered up to `newest` is
        missing from it, or committed later."""

    async def newest(self, user_id: UUID) -> int:
        """The number of the user's latest change (0 before any)."""

    async def purge_deletions(self, before: datetime, batch_size: int) -> int:
        """Forget up to `batch_size` deletions made before `before`; how many."""
