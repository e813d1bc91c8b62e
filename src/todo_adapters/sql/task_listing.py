"""The statements of a page of tasks: the sort keys, the filters, one statement per sort,
filter combination and keyset, built once each (functools.cache)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Text,
    bindparam,
    case,
    func,
    null,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY

from todo_adapters.sql.statements import Statement, param
from todo_adapters.sql.tables import (
    DUE_ASC,
    DUE_DESC,
    LABEL_KEYS,
    SEARCH_KEYS,
    SEARCH_QUERY,
    TASK_COLUMNS,
    TASK_LABEL_KEYS,
    task_counters,
    tasks,
)
from todo_core.listing import TaskFilter, TaskSort

_counter = task_counters.c

# After the task's columns: total, completed, what a filter matches, and the change number
# that count was taken at.
COUNTERS = 4
# No counter row yet means no task yet: no row (or NULLs), read as zeros.
COUNTS = Statement(
    select(_counter.total, _counter.completed).where(_counter.user_id == param(tasks.c.user_id))
)


def _counter_of_user(column: ColumnElement[int]) -> ColumnElement[int]:
    mine = _counter.user_id == param(tasks.c.user_id)
    return select(column).where(mine).scalar_subquery()


_SORT_KEYS: dict[TaskSort, ColumnElement[Any]] = {
    TaskSort.DUE_ASC: DUE_ASC,
    TaskSort.DUE_DESC: DUE_DESC,
}


def _sort_key(sort: TaskSort) -> ColumnElement[Any]:
    return _SORT_KEYS.get(sort, tasks.c[sort.column])


@dataclass(frozen=True, slots=True)
class Filters:
    """Which of a TaskFilter's conditions are set: one statement per combination."""

    due_before: bool = False
    due_after: bool = False
    has_due: bool | None = None
    priority: bool = False
    labels: bool = False
    q: bool = False

    @staticmethod
    def of(found: TaskFilter) -> Filters:
        return Filters(
            found.due_before is not None,
            found.due_after is not None,
            found.has_due,
            found.priority is not None,
            bool(found.labels),
            found.q is not None,
        )

    @property
    def owner_keyed(self) -> bool:
        """A label or search condition finds the caller's tasks only: its GIN keys begin
        with the owner's id."""
        return self.labels or self.q

    def conditions(self) -> list[ColumnElement[bool]]:
        c = tasks.c
        me = param(c.user_id)
        found: list[ColumnElement[bool]] = []
        if self.due_before:
            found.append(c.due_at < param(c.due_at, "due_before"))
        if self.due_after:
            found.append(c.due_at >= param(c.due_at, "due_after"))
        if self.has_due is not None:
            found.append(c.due_at.is_not(None) if self.has_due else c.due_at.is_(None))
        if self.priority:
            found.append(c.priority == param(c.priority))
        if self.labels:
            labels = bindparam("labels", type_=ARRAY(Text))
            wanted = getattr(func, LABEL_KEYS)(me, labels, type_=ARRAY(Text))
            found.append(TASK_LABEL_KEYS.contains(wanted))
        if self.q:
            query = getattr(func, SEARCH_QUERY)(me, bindparam("q", type_=Text()))
            found.append(SEARCH_KEYS.bool_op("@@")(query))
        return found


NO_FILTERS = Filters()


def _after(sort: TaskSort) -> ColumnElement[bool]:
    # Row comparison walks the (user_id, key, id) index from the key onwards.
    column = _sort_key(sort)
    if sort.unique:
        key, bound = column, param(tasks.c[sort.column], "after_value")
    else:
        key = tuple_(column, tasks.c.id)
        bound = tuple_(bindparam("after_value", type_=column.type), param(tasks.c.id, "after_id"))
    return key < bound if sort.descending else key > bound


@functools.cache
def page_statement(
    sort: TaskSort, completed: bool | None, after: bool, filters: Filters = NO_FILTERS
) -> Statement:
    """One page in one round trip and one snapshot: the user's counter row rides along as
    two InitPlans (one primary-key lookup each), and the caller asks one row more than it
    shows to tell whether more follow. With filters beyond `completed`, a third InitPlan
    counts what they match, unless the caller already knows (`_filtered_count`)."""
    column = _sort_key(sort)
    mine = tasks.c.user_id == param(tasks.c.user_id)
    matching = _matching(completed, filters)
    conditions = [mine, *matching]
    if after:
        conditions.append(_after(sort))
    keys: list[ColumnElement[Any]] = [column] if sort.unique else [column, tasks.c.id]
    order = [key.desc() for key in keys] if sort.descending else keys
    counts: list[ColumnElement[Any]] = [
        _counter_of_user(_counter.total),
        _counter_of_user(_counter.completed),
    ]
    if filters != NO_FILTERS:
        counts += _filtered_count(completed, filters)
    else:
        counts += [null(), null()]
    return Statement(
        select(*TASK_COLUMNS, *counts)
        .where(*conditions)
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
    )


def _filtered_count(completed: bool | None, filters: Filters) -> list[ColumnElement[Any]]:
    """What the filters match, and the user's change number it is true at. The caller
    sends the number its kept count was taken at (`counted_at`, or NULL): while the
    counter row still carries it, no write has touched the user's tasks since, and the
    count is not run (an InitPlan runs when first reached, and only the CASE's ELSE
    reaches it): NULL instead (filter_totals.py)."""
    seq = _counter_of_user(_counter.change_seq)
    count = select(func.count()).select_from(tasks).where(*_counted(completed, filters))
    unchanged = seq == bindparam("counted_at", type_=BigInteger())
    return [case((unchanged, null()), else_=count.scalar_subquery()), seq]


def _matching(completed: bool | None, filters: Filters) -> list[ColumnElement[bool]]:
    """A listing's conditions beside the owner's."""
    found = [] if completed is None else [tasks.c.is_completed == param(tasks.c.is_completed)]
    return found + filters.conditions()


def _counted(completed: bool | None, filters: Filters) -> list[ColumnElement[bool]]:
    """What a filtered count reads. With a label or search condition, not `user_id = $1`
    too: the GIN keys already hold only the owner's tasks, and the condition made the
    planner AND the GIN bitmap with one of the user's btree indexes, every entry of the
    user's tasks read again (at 1M tasks, 100,000 entries and 6-12 ms for the big user;
    a generic plan always did it, taking the user for an average one)."""
    matching = _matching(completed, filters)
    if filters.owner_keyed:
        return matching
    return [tasks.c.user_id == param(tasks.c.user_id), *matching]


@functools.cache
def total_statement(completed: bool | None, filters: Filters) -> Statement:
    """How many tasks a filtered listing matches, for a page past the last."""
    return Statement(select(func.count()).select_from(tasks).where(*_counted(completed, filters)))
