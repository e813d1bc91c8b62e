"""The wire models of the task calls."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from todo_api.routers.schemas import View, WireRequest, documented, rule
from todo_core.domain import (
    DESCRIPTION_MAX_LENGTH,
    DESCRIPTION_PATTERN,
    TITLE_MAX_LENGTH,
    TITLE_PATTERN,
    UNSET,
    TaskPatch,
    description_problem,
    title_problem,
)
from todo_core.listing import (
    TaskPage,
)

Title = Annotated[str, rule(title_problem)]
Description = Annotated[str | None, rule(description_problem)]
# The limits the rules enforce, for the document; create and update take the same fields.
TITLE_SCHEMA: JsonDict = {"minLength": 1, "maxLength": TITLE_MAX_LENGTH, "pattern": TITLE_PATTERN}
DESCRIPTION_SCHEMA: JsonDict = {"maxLength": DESCRIPTION_MAX_LENGTH, "pattern": DESCRIPTION_PATTERN}


class TaskCreateRequest(WireRequest):
    title: Title = documented(**TITLE_SCHEMA, examples=["Buy milk"])
    description: Description = Field(
        default=None, json_schema_extra=DESCRIPTION_SCHEMA, examples=["2 litres"]
    )
    is_completed: bool = False


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
        return TaskPatch(
            title=self.title if "title" in sent else UNSET,
            description=self.description if "description" in sent else UNSET,
            is_completed=self.is_completed if "is_completed" in sent else UNSET,
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
