"""GET /tasks/changes: the change feed, for clients that keep a copy of the caller's tasks
(an offline phone, a second tab) and want only what changed since they last looked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from todo_api.routers.deps import SyncCaller
from todo_api.routers.openapi import problems
from todo_api.routers.tasks.rendering import JSON, uuid_text_serializer
from todo_api.routers.tasks.schemas import TaskResponse
from todo_core.domain import Task
from todo_core.feed import FEED_LIMIT_DEFAULT, FEED_LIMIT_MAX

router = APIRouter(prefix="/tasks", tags=["sync"])


class ChangesResponse(BaseModel):
    changes: list[TaskResponse] = Field(
        description="every task created or changed after `since`, once, as it is now"
    )
    deleted: list[UUID] = Field(description="the id of every task deleted after `since`")
    next: str = Field(description="pass as `since` for the next page, or the next sync")
    has_more: bool = Field(description="true while more changes follow: call again with `next`")


@dataclass(frozen=True, slots=True)
class _Changes:
    # The order of ChangesResponse's fields, which is the order on the wire.
    changes: list[Task]
    deleted: list[UUID]
    next: str
    has_more: bool


_CHANGES = uuid_text_serializer(_Changes)


@router.get(
    "/changes",
    response_model=ChangesResponse,
    responses=problems(400, 401, 410),
    summary="What changed since a sync token",
)
async def task_changes(
    caller: SyncCaller,
    since: Annotated[
        str | None,
        Query(
            max_length=256,
            description="`next` of an earlier call; without it, every task the caller has",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=FEED_LIMIT_MAX)] = FEED_LIMIT_DEFAULT,
) -> Response:
    """Without `since`: every task of the caller, page by page. With it: every task created
    or changed after that token, once, in its current form, and the id of every task
    deleted after it, in the order the changes committed. Call again with `next` while
    `has_more`; then keep `next` for the next sync. A token older than what the server
    keeps (`SYNC_RETENTION`) is a 410: sync again without it."""
    tokens, user_id = caller.service.tokens, caller.user_id
    point = tokens.decode(user_id, since) if since is not None else None
    page = await caller.service.sync.changes(user_id, point, limit)
    body = _Changes(page.changes, page.deleted, tokens.encode(user_id, page.next), page.has_more)
    return Response(_CHANGES.to_json(body), media_type=JSON)
