"""The change feed's use cases (feed.py has what they speak of, and why the feed never
skips a change)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from todo_core.errors import FieldError, SyncTokenExpiredError, ValidationError
from todo_core.feed import (
    DELETION_MARGIN,
    FEED_LIMIT_DEFAULT,
    FEED_LIMIT_MAX,
    FIRST_ID,
    LAST_ID,
    ChangePage,
    SyncPoint,
)
from todo_core.ports import Clock, UnitOfWorkFactory
from todo_core.purge import PURGE_BATCH, purge_in_batches


class SyncService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, retention: timedelta) -> None:
        self._uow = uow
        self._clock = clock
        self._retention = retention

    async def changes(
        self, user_id: UUID, since: SyncPoint | None, limit: int = FEED_LIMIT_DEFAULT
    ) -> ChangePage:
        """The user's changes after `since`; without it, every task the user has (a full
        sync, no deletions). SyncTokenExpiredError when `since` is older than the retention."""
        if not 1 <= limit <= FEED_LIMIT_MAX:
            raise ValidationError([FieldError("limit", f"must be between 1 and {FEED_LIMIT_MAX}")])
        now = self._clock.now()
        if since is not None and since.issued_at < now - self._retention:
            raise SyncTokenExpiredError()
        seq, task_id = (since.seq, since.task_id) if since else (0, FIRST_ID)
        async with self._uow(atomic=False) as uow:
            found = await uow.changes.after(
                user_id, seq, task_id, limit + 1, deletions=since is not None
            )
        entries, has_more = found.entries[:limit], len(found.entries) > limit
        if has_more:
            return ChangePage(entries, entries[-1].point(now), True)
        # Everything up to the newest number is in this page or before it (one snapshot):
        # the next sync starts after all of it, even after deletions a full sync left out.
        after = max((seq, task_id), (found.newest, LAST_ID))
        return ChangePage(entries, SyncPoint(*after, now), False)

    async def now(self, user_id: UUID) -> SyncPoint:
        """The point after every change committed so far: where a live stream that was
        given no point begins."""
        async with self._uow(atomic=False) as uow:
            seq = await uow.changes.newest(user_id)
        return SyncPoint(seq, LAST_ID, self._clock.now())

    async def purge_deletions(self) -> int:
        before = self._clock.now() - self._retention - DELETION_MARGIN
        return await purge_in_batches(
            self._uow, lambda uow: uow.changes.purge_deletions(before, PURGE_BATCH)
        )
