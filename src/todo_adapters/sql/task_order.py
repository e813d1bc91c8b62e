"""The statements of the manual order (the lock, the neighbours, renumbering) and of the
labels."""

from __future__ import annotations

from sqlalchemy import Integer, bindparam, func, select, text

from todo_adapters.sql.statements import Statement, param
from todo_adapters.sql.tables import task_counters, tasks

_counter = task_counters.c

# The user's counter row is the lock of their manual order: a move holds it from reading
# its neighbours until it commits, so that no two moves compute a position from the same
# neighbours. The row exists as soon as the user has a task (the insert trigger).
LOCK_ORDER = Statement(
    select(_counter.user_id).where(_counter.user_id == param(tasks.c.user_id)).with_for_update()
)
_anchor, _next = tasks.alias("anchor"), tasks.alias("next")
_MOVING = bindparam("moving", type_=tasks.c.id.type)
# Taken before LOCK_ORDER: every write of a task locks the task, then (its change-feed
# trigger) the counter row; a move taking them the other way round would deadlock with an
# update of the task it moves.
# Before a renumbering, which writes every task of the user: all of them, in id order (the
# order the bulk writes lock in), before the counter row.
LOCK_EVERY_TASK = Statement(
    select(tasks.c.id)
    .where(tasks.c.user_id == param(tasks.c.user_id))
    .order_by(tasks.c.id)
    .with_for_update()
)
LOCK_MOVING = Statement(
    select(tasks.c.id)
    .where(tasks.c.id == _MOVING, tasks.c.user_id == param(tasks.c.user_id))
    .with_for_update()
)
# The anchor's position and the first position after it, the moving task aside; no row
# when the anchor is not one of the user's tasks.
NEIGHBOURS_AFTER = Statement(
    select(
        _anchor.c.position,
        select(func.min(_next.c.position))
        .where(
            _next.c.user_id == param(tasks.c.user_id),
            _next.c.position > _anchor.c.position,
            _next.c.id != _MOVING,
        )
        .scalar_subquery(),
    ).where(_anchor.c.id == param(tasks.c.id, "after"), _anchor.c.user_id == param(tasks.c.user_id))
)
FIRST_POSITION = Statement(
    select(func.min(tasks.c.position)).where(
        tasks.c.user_id == param(tasks.c.user_id), tasks.c.id != _MOVING
    )
)

# todo_core.ordering.renumbered_position of each task's rank in the user's order, in one
# statement (the unique constraint on positions is checked at its end). The kept task (the
# one being moved) ranks last and keeps its version: its move writes it next. It is
# renumbered all the same, as its old position may be one of the new ranks (that of a
# task after it, when an earlier renumbering gave it that rank). Whether each row is
# another than the kept one: the count returned.
RENUMBER = Statement(
    text(
        "UPDATE tasks AS t SET position = r.position,"
        " version = t.version + CASE WHEN t.id = :keep THEN 0 ELSE 1 END,"
        " updated_at = CASE WHEN t.id = :keep THEN t.updated_at ELSE :updated_at END"
        " FROM (SELECT ranked.id, '0' || (SELECT string_agg(substr("
        "'0123456789abcdefghijklmnopqrstuvwxyz',"
        " (div(ranked.n, 36::numeric ^ (:width - 1 - i)) % 36)::int + 1, 1), '' ORDER BY i)"
        " FROM generate_series(0, :width - 1) AS i) || 'i' AS position"
        " FROM (SELECT id, row_number() OVER (ORDER BY id = :keep, position) AS n FROM tasks"
        " WHERE user_id = :user_id) AS ranked) AS r"
        " WHERE t.id = r.id AND t.user_id = :user_id"
        " RETURNING t.id <> :keep"
    ).bindparams(
        bindparam("updated_at", type_=tasks.c.updated_at.type),
        bindparam("user_id", type_=tasks.c.user_id.type),
        bindparam("keep", type_=tasks.c.id.type),
        bindparam("width", type_=Integer()),
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
