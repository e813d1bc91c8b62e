"""The wire models of the task calls."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.config import JsonDict

from todo_api.routers.schemas import View, WireRequest, documented, rule
from todo_core.domain import PRIORITY_MIN
from todo_core.listing import (
    LabelCount,
    TaskPage,
)
from todo_core.task_rules import (
    DESCRIPTION_MAX_LENGTH,
    DESCRIPTION_PATTERN,
    LABEL_MAX_LENGTH,
    LABELS_MAX,
    PRIORITY_MAX,
    TITLE_MAX_LENGTH,
    TITLE_PATTERN,
    NewTask,
    TaskPatch,
    description_problem,
    label_problem,
    labels_problem,
    title_problem,
)

Title = Annotated[str, rule(title_problem)]
Description = Annotated[str | None, rule(description_problem)]
# The limits the rules enforce, for the document; create and update take the same fields.
TITLE_SCHEMA: JsonDict = {"minLength": 1, "maxLength": TITLE_MAX_LENGTH, "pattern": TITLE_PATTERN}
DESCRIPTION_SCHEMA: JsonDict = {"maxLength": DESCRIPTION_MAX_LENGTH, "pattern": DESCRIPTION_PATTERN}

DUE_AT_DOC = (
    "when the task is due: an RFC 3339 date-time with an offset (returned in UTC), or null "
    "for none; a date-time without an offset, or a bare date, is a 400"
)
PRIORITY_DOC = "0 none (the default), 1 low, 2 medium, 3 high"
LABELS_DOC = (
    f"0 to {LABELS_MAX} labels, each 1 to {LABEL_MAX_LENGTH} characters after trimming, no "
    "control characters, unique ignoring case; kept in the order sent"
)


def _rfc3339(value: object) -> object:
    # The body is validated strictly, which takes no text for a date-time: parse it here.
    if not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time with an offset") from None


DueAt = Annotated[AwareDatetime | None, BeforeValidator(_rfc3339)]
Label = Annotated[str, rule(label_problem)]
Labels = Annotated[list[Label], rule(labels_problem)]
Priority = Annotated[int, Field(ge=PRIORITY_MIN, le=PRIORITY_MAX)]
LABELS_SCHEMA: JsonDict = {
    "maxItems": LABELS_MAX,
    "uniqueItems": True,
    "items": {
        "type": "string",
        "minLength": 1,
        "maxLength": LABEL_MAX_LENGTH,
        "pattern": TITLE_PATTERN,  # no control characters, as in a title
    },
}


class TaskCreateRequest(WireRequest):
    title: Title = documented(**TITLE_SCHEMA, examples=["Buy milk"])
    description: Description = Field(
        default=None, json_schema_extra=DESCRIPTION_SCHEMA, examples=["2 litres"]
    )
    is_completed: bool = False
    due_at: DueAt = Field(default=None, description=DUE_AT_DOC)
    priority: Priority = Field(default=PRIORITY_MIN, description=PRIORITY_DOC)
    labels: Labels = Field(
        default_factory=list, description=LABELS_DOC, json_schema_extra=LABELS_SCHEMA
    )

    def to_draft(self) -> NewTask:
        return NewTask(
            self.title,
            self.description,
            self.is_completed,
            self.due_at,
            self.priority,
            list(self.labels),
        )


class TaskUpdateRequest(WireRequest):
    """Any non-empty subset of the fields; absent ones keep their value."""

    model_config = ConfigDict(
        json_schema_extra={"minProperties": 1, "examples": [{"is_completed": True}]}
    )

    # A default of None that the type refuses: absent means "keep", an explicit null is a 400.
    title: Title = Field(default=None, json_schema_extra=TITLE_SCHEMA)  # type: ignore[assignment]
    description: Description = Field(default=None, json_schema_extra=DESCRIPTION_SCHEMA)
    is_completed: bool = Field(default=None)  # type: ignore[assignment]

    def to_patch(self) -> TaskPatch:
        sent = self.model_fields_set
        return TaskPatch(**{name: getattr(self, name) for name in sent})


class TaskPatchRequest(TaskUpdateRequest):
    """PATCH: PUT's fields and the planning ones; `"due_at": null` and `"labels": []`
    clear them."""

    model_config = ConfigDict(
        json_schema_extra={"minProperties": 1, "examples": [{"priority": 3, "labels": ["home"]}]}
    )

    due_at: DueAt = Field(default=None, description=DUE_AT_DOC)
    priority: Priority = Field(default=None, description=PRIORITY_DOC)  # type: ignore[assignment]
    labels: Labels = Field(
        default=None,  # type: ignore[arg-type]
        description=LABELS_DOC,
        json_schema_extra=LABELS_SCHEMA,
    )


class TaskMoveRequest(WireRequest):
    # Not {"after": null}: the document drops every null, and {} would be an invalid example.
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"after": "0b5e3c2a-6f0d-4b8e-9a51-2f6f1c9e8d47"}]}
    )

    after: UUID | None = Field(
        strict=False,  # a UUID arrives as text
        description="the task to put this one right after (another of the caller's tasks); "
        "null puts it first",
    )


class TaskBulkUpdateRequest(WireRequest):
    """The state every matching task is to have."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"is_completed": True}]})

    is_completed: bool


class TaskResponse(View):
    id: UUID
    user_id: UUID
    title: str
    description: str | None
    is_completed: bool
    created_at: datetime
    updated_at: datetime
    version: int
    due_at: datetime | None = Field(description="when the task is due, in UTC, or null")
    priority: int = Field(description=PRIORITY_DOC)
    labels: list[str] = Field(description="the task's labels, in the order they were sent")
    position: str = Field(
        description="the task's place in the caller's own order (sort=position): opaque, "
        "compare only as strings; a new task goes to the end, POST /tasks/{id}/move moves it"
    )


class TaskCountsResponse(View):
    """How many tasks the caller has, whatever the filter."""

    all: int
    active: int
    completed: int


class TaskListResponse(BaseModel):
    tasks: list[TaskResponse]
    total: int = Field(description="how many tasks match the filter in all")
    limit: int
    offset: int
    next_cursor: str | None = Field(
        description="pass as `cursor` (with the same sort and completed) for the next page; "
        "null on the last page"
    )
    counts: TaskCountsResponse = Field(
        description="all of the caller's tasks, active and completed, whatever the filter"
    )

    @classmethod
    def of(cls, page: TaskPage, next_cursor: str | None) -> TaskListResponse:
        return cls(
            tasks=[TaskResponse.of(t) for t in page.tasks],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
            next_cursor=next_cursor,
            counts=TaskCountsResponse.of(page.counts),
        )


class TasksUpdatedResponse(BaseModel):
    updated: int = Field(description="how many tasks changed")


class TasksDeletedResponse(BaseModel):
    deleted: int = Field(description="how many tasks were deleted")


class LabelCountResponse(View):
    name: str = Field(description="the label as the oldest task carrying it writes it")
    count: int = Field(description="how many of the caller's tasks carry it (ignoring case)")


class LabelsResponse(BaseModel):
    labels: list[LabelCountResponse] = Field(description="sorted by name")

    @classmethod
    def of(cls, labels: list[LabelCount]) -> LabelsResponse:
        return cls(labels=[LabelCountResponse.of(label) for label in labels])
