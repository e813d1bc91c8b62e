"""A task's fields and every rule about them: title, description, due date, priority,
labels; what a create and an update may send, checked. Limits are named constants so that
the HTTP schemas document exactly what is enforced here instead of retyping it."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from todo_core.domain import (
    CONTROL_CHARACTERS,
    PRIORITY_MIN,
    field_error,
    raise_if_any,
    text_problem,
)
from todo_core.errors import FieldError, ValidationError

TITLE_MAX_LENGTH: Final = 255
DESCRIPTION_MAX_LENGTH: Final = 10_000
PRIORITY_MAX: Final = 3  # high
LABELS_MAX: Final = 20
LABEL_MAX_LENGTH: Final = 50
# For documents (JSON Schema): text without the control characters the rules refuse.
TITLE_PATTERN: Final = r"^[^\u0000-\u001f\u007f-\u009f]*$"
DESCRIPTION_PATTERN: Final = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
# Description keeps tab, newline and carriage return.
_CONTROL_EXCEPT_WHITESPACE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class Unset(enum.Enum):
    """Marks a patch field the client did not send (distinct from an explicit null)."""

    UNSET = enum.auto()


UNSET: Final = Unset.UNSET


@dataclass(frozen=True, slots=True)
class NewTask:
    title: str
    description: str | None
    is_completed: bool
    due_at: datetime | None = None
    priority: int = PRIORITY_MIN
    labels: list[str] = field(default_factory=list)

    def fingerprint(self) -> dict[str, object]:
        """The fields that tell one create from another: the planning fields only when set,
        so that a request made before they existed keeps its fingerprint."""
        shown: dict[str, object] = {
            "title": self.title,
            "description": self.description,
            "is_completed": self.is_completed,
        }
        if self.due_at is not None:
            shown["due_at"] = self.due_at.isoformat()
        if self.priority != PRIORITY_MIN:
            shown["priority"] = self.priority
        if self.labels:
            shown["labels"] = list(self.labels)
        return shown


PATCHABLE: Final = ("title", "description", "is_completed", "due_at", "priority", "labels")


@dataclass(frozen=True, slots=True)
class TaskPatch:
    """The fields an update changes; absent ones keep their stored value."""

    title: str | Unset = UNSET
    description: str | Unset | None = UNSET
    is_completed: bool | Unset = UNSET
    due_at: datetime | Unset | None = UNSET
    priority: int | Unset = UNSET
    labels: list[str] | Unset = UNSET

    def changes(self) -> dict[str, object]:
        """The fields this patch sets, by name."""
        return {n: v for n in PATCHABLE if (v := getattr(self, n)) is not UNSET}

    def is_empty(self) -> bool:
        return not self.changes()


def _one_line_problem(raw: str, max_length: int) -> str | None:
    """A title or a label: checked as trimmed, not empty, at most `max_length`
    characters, no control characters."""
    text = raw.strip()
    if not text:
        return "must not be empty"
    if len(text) > max_length:
        return f"must be at most {max_length} characters"
    if CONTROL_CHARACTERS.search(text):
        return "must not contain control characters"
    return text_problem(text)


def title_problem(raw: str) -> str | None:
    """Checked on the title as trimmed; None when it is fine."""
    return _one_line_problem(raw, TITLE_MAX_LENGTH)


def description_problem(raw: str | None) -> str | None:
    if raw is None:
        return None
    if len(raw) > DESCRIPTION_MAX_LENGTH:
        return f"must be at most {DESCRIPTION_MAX_LENGTH} characters"
    if _CONTROL_EXCEPT_WHITESPACE.search(raw):
        return "must not contain control characters other than tab and newlines"
    return text_problem(raw)


def due_at_problem(raw: datetime | None) -> str | None:
    if raw is not None and raw.utcoffset() is None:
        return "must be a date-time with an offset (RFC 3339), such as 2026-05-01T09:00:00Z"
    return None


def priority_problem(raw: int) -> str | None:
    if not PRIORITY_MIN <= raw <= PRIORITY_MAX:
        return f"must be between {PRIORITY_MIN} and {PRIORITY_MAX}"
    return None


def label_problem(raw: str) -> str | None:
    """One label, checked as trimmed."""
    return _one_line_problem(raw, LABEL_MAX_LENGTH)


def labels_problem(raw: list[str]) -> str | None:
    if len(raw) > LABELS_MAX:
        return f"must hold at most {LABELS_MAX} labels"
    for label in raw:
        if (problem := label_problem(label)) is not None:
            return f"{label!r} {problem}" if label.strip() else f"each label {problem}"
    keys = [label_key(label) for label in raw]
    if len(set(keys)) != len(keys):
        return "must not repeat a label (compared ignoring case)"
    return None


def label_key(label: str) -> str:
    """What labels are compared by: trimmed, ignoring case."""
    return label.strip().lower()


def _utc(raw: datetime | None) -> datetime | None:
    return None if raw is None else raw.astimezone(UTC)


def check_new_task(draft: NewTask) -> NewTask:
    raise_if_any(
        field_error("title", title_problem(draft.title)),
        field_error("description", description_problem(draft.description)),
        field_error("due_at", due_at_problem(draft.due_at)),
        field_error("priority", priority_problem(draft.priority)),
        field_error("labels", labels_problem(draft.labels)),
    )
    return NewTask(
        draft.title.strip(),
        draft.description,
        draft.is_completed,
        _utc(draft.due_at),
        draft.priority,
        [label.strip() for label in draft.labels],
    )


def check_patch(patch: TaskPatch) -> TaskPatch:
    """Validate a patch and return it with the title and labels trimmed, due_at in UTC."""
    changes = patch.changes()
    if not changes:
        raise ValidationError(
            [FieldError("body", f"must set at least one of {', '.join(PATCHABLE)}")]
        )
    problems: dict[str, Callable[[Any], str | None]] = {
        "title": title_problem,
        "description": description_problem,
        "due_at": due_at_problem,
        "priority": priority_problem,
        "labels": labels_problem,
    }
    raise_if_any(
        *(
            field_error(name, problems[name](value))
            for name, value in changes.items()
            if name in problems
        )
    )
    title, due_at, labels = patch.title, patch.due_at, patch.labels
    return TaskPatch(
        title=title if isinstance(title, Unset) else title.strip(),
        description=patch.description,
        is_completed=patch.is_completed,
        due_at=due_at if isinstance(due_at, Unset) else _utc(due_at),
        priority=patch.priority,
        labels=labels if isinstance(labels, Unset) else [label.strip() for label in labels],
    )
