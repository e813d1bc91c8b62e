"""Listing a user's tasks: the sort orders, keyset positions, the query of one page, what a
page holds, and the counts every list carries."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

from todo_core.domain import Task, raise_if_any
from todo_core.errors import FieldError

PAGE_LIMIT_DEFAULT: Final = 50
PAGE_LIMIT_MAX: Final = 200
OFFSET_MAX: Final = 1_000_000_000  # deep pages belong to cursors; this keeps it an integer


class TaskSort(enum.Enum):
    CREATED_ASC = "created_at"
    CREATED_DESC = "-created_at"
    UPDATED_ASC = "updated_at"
    UPDATED_DESC = "-updated_at"

    @property
    def column(self) -> str:
        return self.value.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


@dataclass(frozen=True, slots=True)
class TaskKey:
    """A task's position in a sort order: the sort column's value, then the id as tie-break."""

    value: datetime
    id: UUID

    @staticmethod
    def of(task: Task, sort: TaskSort) -> TaskKey:
        return TaskKey(getattr(task, sort.column), task.id)


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """A page of a user's tasks: `after` (keyset) continues past a key, `offset` skips rows."""

    limit: int = PAGE_LIMIT_DEFAULT
    offset: int = 0
    completed: bool | None = None
    sort: TaskSort = TaskSort.CREATED_DESC
    after: TaskKey | None = None


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
    raise_if_any(*errors)
