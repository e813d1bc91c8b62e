"""The listing's filters beyond `completed`, read from the query string by the route itself
(not declared as parameters, nor as a dependency: FastAPI would validate each, or solve
the dependency, on every list call, filtered or not); the route documents them through
FILTER_PARAMETERS."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.datastructures import QueryParams

from todo_core.domain import PRIORITY_MIN
from todo_core.errors import FieldError, ValidationError
from todo_core.listing import NO_FILTER, SEARCH_MAX_LENGTH, TaskFilter, filter_problems
from todo_core.task_rules import (
    LABEL_MAX_LENGTH,
    LABELS_MAX,
    PRIORITY_MAX,
    TITLE_PATTERN,
)

_NAMES = ("due_before", "due_after", "has_due", "priority", "label", "q")
_INSTANT = "must be an RFC 3339 date-time with an offset, such as 2026-05-01T09:00:00Z"


def _instant(name: str, raw: str | None, errors: list[FieldError]) -> datetime | None:
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        errors.append(FieldError(name, _INSTANT))
        return None
    if value.utcoffset() is None:
        errors.append(FieldError(name, _INSTANT))
    return value


def _flag(name: str, raw: str | None, errors: list[FieldError]) -> bool | None:
    if raw is None or raw in ("true", "false"):
        return None if raw is None else raw == "true"
    errors.append(FieldError(name, "must be true or false"))
    return None


def _priority(raw: str | None, errors: list[FieldError]) -> int | None:
    if raw is None:
        return None
    if raw.isascii() and raw.isdigit() and PRIORITY_MIN <= int(raw) <= PRIORITY_MAX:
        return int(raw)
    errors.append(FieldError("priority", f"must be between {PRIORITY_MIN} and {PRIORITY_MAX}"))
    return None


def read_filter(params: QueryParams) -> TaskFilter:
    """The filters a query string asks for; a 400 naming each malformed one."""
    if not any(name in params for name in _NAMES):
        return NO_FILTER
    errors: list[FieldError] = []
    found = TaskFilter(
        due_before=_instant("due_before", params.get("due_before"), errors),
        due_after=_instant("due_after", params.get("due_after"), errors),
        has_due=_flag("has_due", params.get("has_due"), errors),
        priority=_priority(params.get("priority"), errors),
        labels=tuple(label.strip() for label in params.getlist("label")),
        q=params.get("q"),
    )
    errors += [e for e in filter_problems(found) if e.field not in {x.field for x in errors}]
    if errors:
        raise ValidationError(errors)
    return found


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_DATE_TIME = {"type": "string", "format": "date-time"}
FILTER_PARAMETERS = [
    _query(
        "due_before", "only tasks due before this instant (RFC 3339 with an offset)", _DATE_TIME
    ),
    _query(
        "due_after", "only tasks due at or after this instant (RFC 3339 with an offset)", _DATE_TIME
    ),
    _query(
        "has_due",
        "only tasks with (true) or without (false) a due date",
        {"type": "string", "enum": ["true", "false"]},
    ),
    _query(
        "priority",
        "only tasks of this priority",
        {"type": "integer", "minimum": PRIORITY_MIN, "maximum": PRIORITY_MAX},
    ),
    {
        **_query(
            "label",
            "only tasks carrying this label, ignoring case; repeat it for several, all of "
            "which a task must carry",
            {
                "type": "array",
                "maxItems": LABELS_MAX,
                "items": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": LABEL_MAX_LENGTH,
                    "pattern": TITLE_PATTERN,
                },
            },
        ),
        "style": "form",
        "explode": True,
    },
    _query(
        "q",
        "search: every word must begin a word of the title or the description, "
        'ignoring case (`buy mil` finds "Buy milk"); it must hold a letter or digit',
        {"type": "string", "minLength": 1, "maxLength": SEARCH_MAX_LENGTH},
    ),
]
