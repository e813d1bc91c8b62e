"""Listing a user's tasks: the sort orders, keyset positions, the query of one page, what a
page holds, and the counts every list carries."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

from todo_core.domain import (
    Task,
    raise_if_any,
)
from todo_core.errors import FieldError
from todo_core.task_rules import (
    LABELS_MAX,
    due_at_problem,
    label_key,
    label_problem,
    priority_problem,
)

PAGE_LIMIT_DEFAULT: Final = 50
PAGE_LIMIT_MAX: Final = 200
OFFSET_MAX: Final = 1_000_000_000  # deep pages belong to cursors; this keeps it an integer
SEARCH_MAX_LENGTH: Final = 200
# Where a task without a due date sorts: after every date, ascending or descending. (Not
# datetime.max and .min, which asyncpg sends as infinity and -infinity.)
NO_DUE_ASC: Final = datetime(9999, 12, 31, tzinfo=UTC)
NO_DUE_DESC: Final = datetime(1, 1, 2, tzinfo=UTC)
# A word, as PostgreSQL's text search parser splits text: letters and digits.
_WORD = re.compile(r"[^\W_]+")


class TaskSort(enum.Enum):
    CREATED_ASC = "created_at"
    CREATED_DESC = "-created_at"
    UPDATED_ASC = "updated_at"
    UPDATED_DESC = "-updated_at"
    DUE_ASC = "due_at"
    DUE_DESC = "-due_at"
    PRIORITY_ASC = "priority"
    PRIORITY_DESC = "-priority"
    POSITION = "position"

    @property
    def column(self) -> str:
        return self.value.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")

    @property
    def unique(self) -> bool:
        """Positions are unique per user: no tie for the id to break."""
        return self is TaskSort.POSITION


SortValue = datetime | int | str


@dataclass(frozen=True, slots=True)
class TaskKey:
    """A task's place in a sort order: the sort value, then the id as tie-break. A task
    without a due date sorts as NO_DUE_ASC (NO_DUE_DESC descending): last either way."""

    value: SortValue
    id: UUID

    @staticmethod
    def of(task: Task, sort: TaskSort) -> TaskKey:
        value: SortValue | None = getattr(task, sort.column)
        if value is None:
            value = NO_DUE_DESC if sort.descending else NO_DUE_ASC
        return TaskKey(value, task.id)


def search_words(q: str) -> list[str]:
    """The words of a search, lower-cased: each must begin a word of the task."""
    return _WORD.findall(q.lower())


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """What a listing keeps beyond `completed`; all given conditions must hold. `labels`:
    the task carries every one (ignoring case); `q`: every word of it begins a word of the
    title or description (ignoring case)."""

    due_before: datetime | None = None
    due_after: datetime | None = None
    has_due: bool | None = None
    priority: int | None = None
    labels: tuple[str, ...] = ()
    q: str | None = None

    def is_empty(self) -> bool:
        return self == NO_FILTER

    def matches(self, task: Task) -> bool:
        due = task.due_at
        if self.has_due is not None and (due is not None) != self.has_due:
            return False
        if self.due_before is not None and not (due is not None and due < self.due_before):
            return False
        if self.due_after is not None and not (due is not None and due >= self.due_after):
            return False
        if self.priority is not None and task.priority != self.priority:
            return False
        carried = {label_key(label) for label in task.labels}
        if not {label_key(label) for label in self.labels} <= carried:
            return False
        return self.q is None or _found(self.q, task)


def _found(q: str, task: Task) -> bool:
    words = search_words(f"{task.title} {task.description or ''}")
    return all(any(w.startswith(part) for w in words) for part in search_words(q))


NO_FILTER: Final = TaskFilter()


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """A page of a user's tasks: `after` (keyset) continues past a key, `offset` skips rows."""

    limit: int = PAGE_LIMIT_DEFAULT
    offset: int = 0
    completed: bool | None = None
    sort: TaskSort = TaskSort.CREATED_DESC
    after: TaskKey | None = None
    filter: TaskFilter = NO_FILTER


@dataclass(frozen=True, slots=True)
class TaskCounts:
    """How many tasks a user has, whatever a listing's filter: a TodoMVC footer's numbers."""

    all: int
    active: int
    completed: int

    @staticmethod
    def of(total: int, completed: int) -> TaskCounts:
        return TaskCounts(total, total - completed, completed)

    def matching(self, completed: bool | None) -> int:
        """How many tasks a `completed` filter (None: no filter) lets through."""
        if completed is None:
            return self.all
        return self.completed if completed else self.active


@dataclass(frozen=True, slots=True)
class LabelCount:
    """A label the user's tasks carry (as first written) and how many carry it."""

    name: str
    count: int


LabelCounts = list[LabelCount]

NO_TASKS: Final = TaskCounts(0, 0, 0)


@dataclass(frozen=True, slots=True)
class TaskPage:
    tasks: list[Task]
    total: int
    limit: int
    offset: int
    next_key: TaskKey | None = None  # where the next page starts; None on the last page
    counts: TaskCounts = NO_TASKS


def check_page(query: TaskQuery) -> None:
    errors = []
    if not 1 <= query.limit <= PAGE_LIMIT_MAX:
        errors.append(FieldError("limit", f"must be between 1 and {PAGE_LIMIT_MAX}"))
    if not 0 <= query.offset <= OFFSET_MAX:
        errors.append(FieldError("offset", f"must be between 0 and {OFFSET_MAX}"))
    if query.after is not None and query.offset:
        errors.append(FieldError("offset", "cannot be combined with a cursor"))
    raise_if_any(*errors, *filter_problems(query.filter))


def filter_problems(found: TaskFilter) -> list[FieldError]:
    errors = []
    for name in ("due_before", "due_after"):
        if (problem := due_at_problem(getattr(found, name))) is not None:
            errors.append(FieldError(name, problem))
    if found.priority is not None and (problem := priority_problem(found.priority)):
        errors.append(FieldError("priority", problem))
    if len(found.labels) > LABELS_MAX:
        errors.append(FieldError("label", f"must be given at most {LABELS_MAX} times"))
    for label in found.labels:
        if (problem := label_problem(label)) is not None:
            errors.append(FieldError("label", problem))
    if found.q is not None and not 1 <= len(found.q) <= SEARCH_MAX_LENGTH:
        errors.append(FieldError("q", f"must be 1 to {SEARCH_MAX_LENGTH} characters"))
    elif found.q is not None and not search_words(found.q):
        # Nothing to look for: an error rather than every task (or none).
        errors.append(FieldError("q", "must contain a word (letters or digits)"))
    return errors
