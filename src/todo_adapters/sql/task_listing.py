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
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, TSQUERY
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from todo_adapters.sql.statements import Statement, param
from todo_adapters.sql.tables import (
    DUE_ASC,
    DUE_DESC,
    LABEL_KEYS,
    PLAIN_SEARCH_BYTES,
    SEARCH_QUERY,
    SEARCH_VECTOR,
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

    @property
    def keyed_only(self) -> bool:
        """Label or search conditions, and no others."""
        return self.owner_keyed and self == Filters(labels=self.labels, q=self.q)

    def conditions(self) -> list[ColumnElement[bool]]:
        """The due date and priority conditions."""
        c = tasks.c
        found: list[ColumnElement[bool]] = []
        if self.due_before:
            found.append(c.due_at < param(c.due_at, "due_before"))
        if self.due_after:
            found.append(c.due_at >= param(c.due_at, "due_after"))
        if self.has_due is not None:
            found.append(c.due_at.is_not(None) if self.has_due else c.due_at.is_(None))
        if self.priority:
            found.append(c.priority == param(c.priority))
        return found

    def keyed(self) -> list[ColumnElement[bool]]:
        """The label and search conditions, on the owner-keyed GIN indexes' functions."""
        me = param(tasks.c.user_id)
        found: list[ColumnElement[bool]] = []
        if self.labels:
            wanted = getattr(func, LABEL_KEYS)(me, _LABELS, type_=ARRAY(Text))
            found.append(TASK_LABEL_KEYS.contains(wanted))
        if self.q:
            found.append(_searched(tasks.c))
        return found


NO_FILTERS = Filters()
_LABELS = bindparam("labels", type_=ARRAY(Text))
_Q = bindparam("q", type_=Text())
# A constant of the plan: a parameter would be looked up as a regconfig on every row.
_SIMPLE = literal_column("'simple'::regconfig", REGCONFIG)


def row_matches(row: ReadOnlyColumnCollection[str, Any], filters: Filters) -> list[Any]:
    """The label and search conditions, as the GIN keys' functions decide them, on one
    row's own columns: the labels lower-cased (task_label_keys without the owner), the
    words as the 'simple' configuration splits them, each of `q`'s a prefix of one of the
    task's (task_search_vector and task_search_query without the owner). Several times
    cheaper per row, and cheaper still on what the row keeps (migration 0016): labels 0.2
    kept, 0.7-1.3 lowered here, 3.8 by the keys' function; search 0.3 kept, 1.7 splitting
    the text here, 10 by the keys' functions (us, PostgreSQL 15)."""
    found: list[Any] = []
    # What a row keeps (NULL where no write has kept it yet) is the expression after it,
    # which COALESCE works out only when needed.
    if filters.labels:
        labels = func.coalesce(row.lowered_labels, _lowered(row.labels))
        found.append(labels.contains(_lowered(_LABELS)))
    if filters.q:
        text = row.title + " " + func.coalesce(row.description, "")
        words = func.coalesce(row.search_words, func.to_tsvector(_SIMPLE, text))
        size = func.octet_length(row.title) + func.coalesce(func.octet_length(row.description), 0)
        plain = words.bool_op("@@")(_PLAIN_QUERY)
        found.append(case((size < PLAIN_SEARCH_BYTES, plain), else_=_searched(row)))
    return found


def _searched(row: ReadOnlyColumnCollection[str, Any]) -> ColumnElement[bool]:
    """The search condition on the search keys' functions: on tasks' own columns, the
    expression of their GIN index (SEARCH_KEYS)."""
    keys = getattr(func, SEARCH_VECTOR)(row.user_id, row.title, row.description)
    found: ColumnElement[bool] = keys.bool_op("@@")(
        getattr(func, SEARCH_QUERY)(param(tasks.c.user_id), _Q)
    )
    return found


def _lowered(labels: ColumnElement[Any]) -> ColumnElement[Any]:
    label = func.unnest(labels).column_valued("label")
    return func.array(select(func.lower(label)).scalar_subquery(), type_=ARRAY(Text))


def _plain_query_of_q() -> ColumnElement[Any]:
    words = func.unnest(func.to_tsvector(_SIMPLE, _Q)).table_valued("lexeme")
    escaped = func.replace(func.replace(words.c.lexeme, "\\", "\\\\"), "'", "''")
    term = literal("'") + escaped + literal("':*")
    found = func.string_agg(term, literal(" & "))
    return (
        select(cast(found, TSQUERY))
        .where(func.octet_length(words.c.lexeme) < 2000)
        .scalar_subquery()
    )


_PLAIN_QUERY = _plain_query_of_q()


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
    conditions = [*_within(sort, completed, after, filters), *filters.keyed()]
    return Statement(
        select(*TASK_COLUMNS, *_counts(completed, filters))
        .where(*conditions)
        .order_by(*_order(sort, column, tasks.c.id))
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
    )


@functools.cache
def walk_statement(
    sort: TaskSort, completed: bool | None, after: bool, filters: Filters
) -> Statement:
    """As page_statement, for a user whose label or search filter matches many of their
    tasks: their tasks are read in the sort's order, at most `walk` of them, and each is
    matched on its own columns (`row_matches`) until the page is full. No plan to make
    per call, and no GIN bitmap of every match to sort (bench/results/issue20.md). The
    caller takes the page only when full: a page cut short may have stopped at `walk`."""
    column = _sort_key(sort)
    plain = tasks.c.get(sort.column) is column  # a sort key the walk can hand on as is
    keys: list[ColumnElement[Any]] = [] if plain else [column.label("walk_key")]
    if filters.labels:
        keys.append(tasks.c.lowered_labels)
    if filters.q:
        keys.append(tasks.c.search_words)
    walked = (
        select(*TASK_COLUMNS, *keys)
        .where(*_within(sort, completed, after, filters))
        .order_by(*_order(sort, column, tasks.c.id))
        .limit(bindparam("walk", type_=Integer()))
        .subquery("walked")
    )
    key = walked.c[sort.column] if plain else walked.c.walk_key
    return Statement(
        select(*(walked.c[c.name] for c in TASK_COLUMNS), *_counts(completed, filters))
        .where(*row_matches(walked.c, filters))
        .order_by(*_order(sort, key, walked.c.id))
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
    )


def _within(
    sort: TaskSort, completed: bool | None, after: bool, filters: Filters
) -> list[ColumnElement[bool]]:
    """The conditions of a page but its label and search ones."""
    conditions = [tasks.c.user_id == param(tasks.c.user_id), *_matching(completed, filters)]
    if after:
        conditions.append(_after(sort))
    return conditions


def _order(sort: TaskSort, key: ColumnElement[Any], id_: ColumnElement[Any]) -> list[Any]:
    keys = [key] if sort.unique else [key, id_]
    return [k.desc() for k in keys] if sort.descending else keys


def _counts(completed: bool | None, filters: Filters) -> list[ColumnElement[Any]]:
    counts: list[ColumnElement[Any]] = [
        _counter_of_user(_counter.total),
        _counter_of_user(_counter.completed),
    ]
    if filters != NO_FILTERS:
        return counts + _filtered_count(completed, filters)
    return [*counts, null(), null()]


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
    """A listing's conditions beside the owner's, but the label and search ones."""
    found = [] if completed is None else [tasks.c.is_completed == param(tasks.c.is_completed)]
    return found + filters.conditions()


def _counted(completed: bool | None, filters: Filters) -> list[ColumnElement[bool]]:
    """What a filtered count reads. With a label or search condition, not `user_id = $1`
    too: the GIN keys already hold only the owner's tasks, and the condition made the
    planner AND the GIN bitmap with one of the user's btree indexes, every entry of the
    user's tasks read again (at 1M tasks, 100,000 entries and 6-12 ms for the big user;
    a generic plan always did it, taking the user for an average one)."""
    matching = [*_matching(completed, filters), *filters.keyed()]
    if filters.owner_keyed:
        return matching
    return [tasks.c.user_id == param(tasks.c.user_id), *matching]


@functools.cache
def total_statement(completed: bool | None, filters: Filters) -> Statement:
    """How many tasks a filtered listing matches, for a page past the last."""
    return Statement(select(func.count()).select_from(tasks).where(*_counted(completed, filters)))
