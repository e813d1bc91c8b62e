"""The statements of the manual order (the lock, the neighbours, respacing a worn gap) and
of the labels."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    any_,
    bindparam,
    func,
    null,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from todo_adapters.sql.statements import Statement, param
from todo_adapters.sql.tables import task_counters, tasks

_counter = task_counters.c

_MOVING = bindparam("moving", type_=tasks.c.id.type)
_USER = param(tasks.c.user_id)
_anchor, _next, _seen = tasks.alias("anchor"), tasks.alias("next"), task_counters.alias("seen")


def _bounds(after: bool) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The positions a task moved after the task `after` goes between, the moving task
    aside: the anchor's (NULL when it is not one of the user's tasks) and the first after
    it; without an anchor, NULL and the first of the order."""
    later = [_next.c.user_id == _USER, _next.c.id != _MOVING]
    if not after:
        return null(), select(func.min(_next.c.position)).where(*later).scalar_subquery()
    anchor = (
        select(_anchor.c.position)
        .where(_anchor.c.id == param(tasks.c.id, "after"), _anchor.c.user_id == _USER)
        .scalar_subquery()
    )
    first_after = select(func.min(_next.c.position)).where(*later, _next.c.position > anchor)
    return anchor, first_after.scalar_subquery()


NEIGHBOURS = {after: Statement(select(*_bounds(after))) for after in (False, True)}
# The user's counter row is the lock of their manual order: a move holds it from reading
# its neighbours until it commits, so that no two moves compute a position from the same
# neighbours. The row exists as soon as the user has a task (the insert trigger). The
# moving task is taken first (PostgreSQL locks a join's rows in the order FOR UPDATE OF
# names their tables): every write of a task locks the task, then (its change-feed
# trigger) the counter row, and a move taking them the other way round would deadlock
# with an update of the task it moves. No row, and nothing held, when the task is not the
# user's: the move then fails at its update.
#
# The neighbours come in the same statement, read in its snapshot, which is older than
# the lock when the statement had to wait for it. They are the ones after the lock when
# the row it locked (its newest version) has the change number the snapshot saw: every
# write of the user's tasks numbers itself on that row, so none committed in between.
# The first column says so; when it is not true, the caller reads them again.
LOCK_ORDER = {
    after: Statement(
        select(
            _counter.change_seq
            == select(_seen.c.change_seq).where(_seen.c.user_id == _USER).scalar_subquery(),
            *_bounds(after),
        )
        .where(tasks.c.id == _MOVING, tasks.c.user_id == _USER, _counter.user_id == _USER)
        .with_for_update(of=[tasks, task_counters])
    )
    for after in (False, True)
}

# The condition of a move's UPDATE that takes the order itself and lets the write go on
# only while the gap it was computed for is still there (migration 0015): the moving task,
# then the counter row, then the neighbours read again after both locks, as NEIGHBOURS
# reads them; serialization_failure otherwise. A move run on its own (no transaction) so
# holds the order only inside the server, for its UPDATE and commit.
GAP_UNCHANGED = func.task_order_unchanged(
    _USER,
    param(tasks.c.id),
    param(tasks.c.id, "after"),
    bindparam("low", type_=tasks.c.position.type),
    bindparam("high", type_=tasks.c.position.type),
    type_=Boolean(),
)

_ORDER_SIDE = (
    "(SELECT {before} AS before, id, position FROM tasks"
    " WHERE user_id = :user_id AND id <> :moving{condition}"
    " ORDER BY position{descending} LIMIT :each_side + 1)"
)
_BEFORE = _ORDER_SIDE.format(before="true", condition=" AND position < :gap", descending=" DESC")
_FROM = _ORDER_SIDE.format(before="false", condition=" AND position >= :gap", descending="")
_WINDOW_PARAMETERS = (
    bindparam("user_id", type_=tasks.c.user_id.type),
    bindparam("moving", type_=tasks.c.id.type),
    bindparam("each_side", type_=Integer()),
)
# Up to each_side + 1 tasks on each side of a gap, the one beyond each_side being the
# window's bound: before the gap nearest first, then from the gap on. With no gap (the end
# of the order), all before it.
ORDER_WINDOW = Statement(
    text(f"{_BEFORE} UNION ALL {_FROM}").bindparams(
        *_WINDOW_PARAMETERS, bindparam("gap", type_=tasks.c.position.type)
    )
)
ORDER_WINDOW_AT_END = Statement(
    text(_ORDER_SIDE.format(before="true", condition="", descending=" DESC")).bindparams(
        *_WINDOW_PARAMETERS
    )
)
_TASKS_IN_ID_ORDER = (
    select(tasks.c.id)
    .where(tasks.c.id == any_(bindparam("ids", type_=ARRAY(tasks.c.id.type))))
    .where(tasks.c.user_id == param(tasks.c.user_id))
    .order_by(tasks.c.id)
)
# A window's tasks, held at once or not at all: the move holds the order already, and
# waiting for a task then could deadlock with a write of it (see above).
LOCK_WINDOW = Statement(_TASKS_IN_ID_ORDER.with_for_update(nowait=True))
# The same before the order, waiting, in id order as the bulk writes lock: tasks first, as
# every write takes them.
HOLD_TASKS = Statement(_TASKS_IN_ID_ORDER.with_for_update())
# Whether each row is another than the moving one: the count returned. The unique
# constraint on positions is checked at the statement's end, so tasks may take positions
# others held before.
RESPACE = Statement(
    text(
        "UPDATE tasks AS t SET position = r.position,"
        " version = t.version + CASE WHEN t.id = :moving THEN 0 ELSE 1 END,"
        " updated_at = CASE WHEN t.id = :moving THEN t.updated_at ELSE :updated_at END"
        " FROM unnest(CAST(:ids AS uuid[]), CAST(:positions AS text[])) AS r(id, position)"
        " WHERE t.id = r.id AND t.user_id = :user_id"
        " RETURNING t.id <> :moving"
    ).bindparams(
        bindparam("updated_at", type_=tasks.c.updated_at.type),
        bindparam("user_id", type_=tasks.c.user_id.type),
        bindparam("moving", type_=tasks.c.id.type),
    )
)

# Each label the user's tasks carry, compared ignoring case, shown as first written (by
# the oldest task carrying it), with how many tasks carry it.
LABELS = Statement(
    text(
        "SELECT name, count FROM ("
        " SELECT (array_agg(l.label ORDER BY t.created_at, t.id))[1] AS name, count(*) AS count"
        " FROM tasks AS t CROSS JOIN LATERAL unnest(t.labels) AS l(label)"
        " WHERE t.user_id = :user_id GROUP BY lower(l.label)"
        ") AS found ORDER BY lower(name), name"
    ).bindparams(bindparam("user_id", type_=tasks.c.user_id.type))
)
