"""The PostgreSQL change feed (migration 0010 says how its numbers are kept, and why
reading them in number order never skips a change)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from asyncpg import Connection
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    bindparam,
    func,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy import tuple_ as row

from todo_adapters.sql.statements import Statement, param, purge_expired
from todo_adapters.sql.tables import TASK_COLUMNS, task_counters, task_deletions, tasks
from todo_core.domain import Task
from todo_core.feed import ChangeFeedRepository, FeedEntry, FeedSlice

_deleted = task_deletions.c
_LIMIT = bindparam("limit", type_=Integer())

_NEWEST_SEQ = func.coalesce(
    select(task_counters.c.change_seq)
    .where(task_counters.c.user_id == param(task_counters.c.user_id))
    .scalar_subquery(),
    0,
)


def _after_point(seq: ColumnElement[Any], task_id: ColumnElement[Any]) -> Select[Any]:
    """The rows after the point (seq, task_id) in that order: a range of the index that
    leads with the user, then these two columns."""
    point = row(param(_deleted.seq), param(_deleted.task_id))
    return select(seq.label("seq"), task_id.label("task_id")).where(row(seq, task_id) > point)


def _after(deletions: bool) -> Statement:
    """The user's newest number, then the changes after the point: the tasks changed since,
    and (`deletions`) the tasks deleted since, merged in (seq, task_id) order. One statement,
    so one snapshot, in which they all agree. At least one row: the newest number with
    NULLs when nothing follows."""
    entries = (
        _after_point(tasks.c.change_seq, tasks.c.id)
        .add_columns(*TASK_COLUMNS)
        .where(tasks.c.user_id == param(tasks.c.user_id))
    )
    if deletions:
        deleted = (
            _after_point(_deleted.seq, _deleted.task_id)
            .add_columns(*(null().cast(c.type).label(c.name) for c in TASK_COLUMNS))
            .where(_deleted.user_id == param(tasks.c.user_id))
        )
        both = union_all(
            *(part.order_by("seq", "task_id").limit(_LIMIT) for part in (entries, deleted))
        ).subquery()
        entries = select(both)
    page = entries.order_by("seq", "task_id").limit(_LIMIT).subquery("entries")
    newest = select(_NEWEST_SEQ.label("newest")).subquery("newest")
    return Statement(
        select(newest.c.newest, page)
        .select_from(newest.outerjoin(page, true()))
        .order_by(page.c.seq, page.c.task_id)
    )


_AFTER = {deletions: _after(deletions) for deletions in (False, True)}
_NEWEST = Statement(select(_NEWEST_SEQ))
_PURGE_DELETIONS = purge_expired(
    task_deletions, [_deleted.user_id, _deleted.seq, _deleted.task_id], _deleted.deleted_at
)


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
