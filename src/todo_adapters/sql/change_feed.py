"""The PostgreSQL change feed (migration 0008 keeps its entries and says why reading them
in number order never skips a change)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from asyncpg import Connection
from sqlalchemy import Integer, bindparam, func, select, true
from sqlalchemy import tuple_ as row

from todo_adapters.sql.statements import Statement, param, purge_expired
from todo_adapters.sql.tables import task_changes, task_counters, tasks
from todo_core.domain import Task
from todo_core.feed import ChangeFeedRepository, FeedEntry, FeedSlice

_entry = task_changes.c


_NEWEST_SEQ = func.coalesce(
    select(task_counters.c.change_seq)
    .where(task_counters.c.user_id == param(task_counters.c.user_id))
    .scalar_subquery(),
    0,
)


def _after(deletions: bool) -> Statement:
    """The user's newest number, then the entries after (seq, task_id), each with its
    task if it still exists: one statement, so one snapshot, in which they all agree. At
    least one row: the newest number with NULLs when no entry follows."""
    conditions = [
        _entry.user_id == param(_entry.user_id),
        row(_entry.seq, _entry.task_id) > row(param(_entry.seq), param(_entry.task_id)),
    ]
    if not deletions:
        conditions.append(_entry.deleted_at.is_(None))
    newest = select(_NEWEST_SEQ.label("newest")).subquery("newest")
    entries = (
        select(_entry.seq, _entry.task_id, *tasks.columns)
        .select_from(task_changes.outerjoin(tasks, tasks.c.id == _entry.task_id))
        .where(*conditions)
        .order_by(_entry.seq, _entry.task_id)
        .limit(bindparam("limit", type_=Integer()))
        .lateral("entries")
    )
    return Statement(
        select(newest.c.newest, entries)
        .select_from(newest.outerjoin(entries, true()))
        .order_by(entries.c.seq, entries.c.task_id)
    )


_AFTER = {deletions: _after(deletions) for deletions in (False, True)}
_NEWEST = Statement(select(_NEWEST_SEQ))
_PURGE_DELETIONS = purge_expired(task_changes, [_entry.task_id], _entry.deleted_at)


class SqlChangeFeedRepository(ChangeFeedRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def after(
        self, user_id: UUID, seq: int, task_id: UUID, limit: int, *, deletions: bool = True
    ) -> FeedSlice:
        rows = await _AFTER[deletions].fetch(
            self._db, user_id=user_id, seq=seq, task_id=task_id, limit=limit
        )
        # A deleted task's columns are all NULL (outer join): its id is never.
        entries = [
            FeedEntry(r[1], r[2], Task(*r[3:]) if r[3] is not None else None)
            for r in rows
            if r[1] is not None
        ]
        return FeedSlice(entries, rows[0][0])

    async def newest(self, user_id: UUID) -> int:
        newest: int = await _NEWEST.value(self._db, user_id=user_id)
        return newest

    async def purge_deletions(self, before: datetime, batch_size: int) -> int:
        return await _PURGE_DELETIONS.rowcount(self._db, now=before, batch_size=batch_size)
