from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from todo_api.http.etags import (
    IDEMPOTENCY_KEY_HEADER,
    IF_MATCH,
    IF_NONE_MATCH,
    etag_of,
    if_match_versions,
    if_none_match_hits,
)
from todo_api.observability.logging import get_logger
from todo_api.routers.deps import TaskCaller
from todo_api.routers.openapi import IDEMPOTENCY_KEY, REPLAYED, problems
from todo_api.routers.tasks.filters import FILTER_PARAMETERS, read_filter
from todo_api.routers.tasks.rendering import (
    created_reply,
    reply_response,
    task_list_response,
    task_response,
)
from todo_api.routers.tasks.schemas import (
    TaskBulkUpdateRequest,
    TaskCreateRequest,
    TaskListResponse,
    TaskMoveRequest,
    TaskPatchRequest,
    TaskResponse,
    TasksDeletedResponse,
    TasksUpdatedResponse,
    TaskUpdateRequest,
)
from todo_core.listing import (
    OFFSET_MAX,
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    TaskQuery,
    TaskSort,
)

router = APIRouter(prefix="/tasks", tags=["tasks"])
log = get_logger("todo_api.tasks")

SortParam = Literal[
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "due_at",
    "-due_at",
    "priority",
    "-priority",
    "position",
]
Completed = Literal["true", "false"]
# The conditional headers are read from the request (etags.py), not declared as Header
# parameters: FastAPI validated each one on every call. The document names them here.
_IF_MATCH = {"parameters": [{"$ref": "#/components/parameters/IfMatch"}]}
_BOTH = {
    "parameters": [
        {"$ref": "#/components/parameters/IfNoneMatch"},
        {"$ref": "#/components/parameters/IfMatch"},
    ]
}
_ETAG_HEADER = {"ETag": {"description": "the task's entity tag", "schema": {"type": "string"}}}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskResponse,
    responses={
        **problems(400, 401, 409, 422),
        201: {"headers": {**_ETAG_HEADER, **REPLAYED}},
    },
    # Read from the request, not declared: a declared header would cost every create.
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
)
async def create_task(body: TaskCreateRequest, caller: TaskCaller, request: Request) -> Response:
    """Create a task for the signed-in user. With an `Idempotency-Key`, a retry of the
    same request gets the first reply again (`Idempotent-Replayed: true`) and creates
    nothing."""
    user_id = caller.user_id
    key = IDEMPOTENCY_KEY_HEADER.of(request)
    draft = body.to_draft()
    if key is not None:
        created = await caller.service.tasks.create_once(
            user_id, draft, key, created_reply, caller.session_id
        )
        if created.task is None:
            log.info("task.create_replayed", user_id=str(user_id))
        else:
            log.info("task.created", user_id=str(user_id), task_id=str(created.task.id))
        return reply_response(created.reply, created.replayed)
    task = await caller.service.tasks.add(user_id, draft, caller.session_id)
    log.info("task.created", user_id=str(user_id), task_id=str(task.id))
    return task_response(task, status.HTTP_201_CREATED, {"Location": f"/tasks/{task.id}"})


@router.get(
    "",
    response_model=TaskListResponse,
    responses=problems(400, 401),
    openapi_extra={"parameters": FILTER_PARAMETERS},
)
async def list_tasks(
    caller: TaskCaller,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX)] = 0,
    completed: Completed | None = None,
    sort: Annotated[
        SortParam,
        Query(
            description="the order; `due_at` and `-due_at` put tasks without a due date last "
            "either way; `position` is the caller's own order (POST /tasks/{id}/move)"
        ),
    ] = "-created_at",
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
) -> Response:
    """The signed-in user's tasks, one page at a time, with the number that match the
    filters in all and the counts of all, active and completed tasks whatever the filter.
    Follow `next_cursor` (keyset paging, as fast at any depth, for every sort) or use
    `offset`. `q` finds tasks where every word of it begins a word of the title or
    description, ignoring case."""
    # Read here rather than as a dependency: FastAPI's solving of one more dependency cost
    # every list call some 15 µs, filtered or not.
    found = read_filter(request.query_params)
    cursors = caller.service.cursors
    order = TaskSort(sort)
    done = _completed(completed)
    after = cursors.decode_for(cursor, order, done, found) if cursor else None
    query = TaskQuery(
        limit=limit, offset=offset, completed=done, sort=order, after=after, filter=found
    )
    page = await caller.service.tasks.list(caller.user_id, query)
    return task_list_response(page, cursors.next_cursor(page, query))


def _completed(value: Completed | None) -> bool | None:
    return None if value is None else value == "true"


@router.patch("", response_model=TasksUpdatedResponse, responses=problems(400, 401))
async def mark_tasks(
    body: TaskBulkUpdateRequest,
    caller: TaskCaller,
    completed: Annotated[
        Completed | None, Query(description="only the tasks whose `is_completed` is this")
    ] = None,
) -> TasksUpdatedResponse:
    """Mark every task of the signed-in user complete (or active), or only those that
    `completed` selects, in one statement. Only tasks that change get a new version."""
    user_id = caller.user_id
    updated = await caller.service.tasks.set_all_completed(
        user_id, body.is_completed, _completed(completed), caller.session_id
    )
    log.info("tasks.marked", user_id=str(user_id), is_completed=body.is_completed, count=updated)
    return TasksUpdatedResponse(updated=updated)


@router.delete("", response_model=TasksDeletedResponse, responses=problems(400, 401))
async def clear_tasks(
    caller: TaskCaller,
    completed: Annotated[
        Completed,
        Query(description="which tasks to delete: `true` the completed ones, `false` the active"),
    ],
) -> TasksDeletedResponse:
    """Delete every completed (or every active) task of the signed-in user in one
    statement. `completed` is required, so that no call deletes everything by accident."""
    user_id = caller.user_id
    deleted = await caller.service.tasks.delete_all(user_id, completed == "true", caller.session_id)
    log.info("tasks.cleared", user_id=str(user_id), completed=completed == "true", count=deleted)
    return TasksDeletedResponse(deleted=deleted)


@router.get(
    "/{task_id}",
    response_model=TaskResponse,
    responses={
        **problems(400, 401, 403, 404, 412),
        200: {"headers": _ETAG_HEADER},
        304: {"description": "Not Modified"},
    },
    openapi_extra=_BOTH,
)
async def get_task(task_id: UUID, caller: TaskCaller, request: Request) -> Response:
    """One task of the signed-in user."""
    versions = if_match_versions(IF_MATCH.of(request), task_id)
    task = await caller.service.tasks.get(caller.user_id, task_id, versions)
    if if_none_match_hits(IF_NONE_MATCH.of(request), etag_of(task)):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag_of(task)})
    return task_response(task)


_WRITE = {
    "response_model": TaskResponse,
    "responses": {**problems(400, 401, 403, 404, 412), 200: {"headers": _ETAG_HEADER}},
    "openapi_extra": _IF_MATCH,
}


@router.put("/{task_id}", **_WRITE)  # type: ignore[arg-type]
async def update_task(
    task_id: UUID, body: TaskUpdateRequest, caller: TaskCaller, request: Request
) -> Response:
    """Change any non-empty subset of title, description and is_completed; the fields not
    sent keep their value, `"description": null` clears it. With `If-Match`, the change
    applies only while that ETag is current (else 412)."""
    return await _update(task_id, body, caller, request)


@router.patch("/{task_id}", **_WRITE)  # type: ignore[arg-type]
async def patch_task(
    task_id: UUID, body: TaskPatchRequest, caller: TaskCaller, request: Request
) -> Response:
    """As PUT, and also due_at, priority and labels: `"due_at": null` clears the due date,
    `"labels": []` the labels."""
    return await _update(task_id, body, caller, request)


async def _update(
    task_id: UUID, body: TaskUpdateRequest, caller: TaskCaller, request: Request
) -> Response:
    versions = if_match_versions(IF_MATCH.of(request), task_id)
    user_id = caller.user_id
    task = await caller.service.tasks.update(
        user_id, task_id, body.to_patch(), versions, caller.session_id
    )
    log.info("task.updated", user_id=str(user_id), task_id=str(task_id), version=task.version)
    return task_response(task)


_MOVE_ERRORS = {
    400: "`after` is the task itself or not a UUID, or the task id is not a UUID",
    403: "the task, or the task named by `after`, belongs to someone else",
    404: "no task has that id, or none has the id in `after`",
    503: "the database is unavailable, or your order kept changing: try again",
}


@router.post(
    "/{task_id}/move",
    response_model=TaskResponse,
    responses={
        **problems(400, 401, 403, 404, 412, when=_MOVE_ERRORS),
        200: {"headers": _ETAG_HEADER},
    },
    openapi_extra=_IF_MATCH,
)
async def move_task(
    task_id: UUID, body: TaskMoveRequest, caller: TaskCaller, request: Request
) -> Response:
    """Put the task right after another of the caller's tasks in their own order
    (`sort=position`), or first with `"after": null`. Only this task changes: its
    `position`, and its `version` goes up by one. `after` naming the task itself is a 400,
    an unknown task a 404, someone else's a 403. With `If-Match`, only while that ETag is
    current (else 412)."""
    versions = if_match_versions(IF_MATCH.of(request), task_id)
    user_id = caller.user_id
    task = await caller.service.tasks.move(
        user_id, task_id, body.after, versions, caller.session_id
    )
    log.info("task.moved", user_id=str(user_id), task_id=str(task_id), version=task.version)
    return task_response(task)


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(400, 401, 403, 404, 412),
    openapi_extra=_IF_MATCH,
)
async def delete_task(task_id: UUID, caller: TaskCaller, request: Request) -> None:
    """Delete a task of the signed-in user (with `If-Match`: only if that ETag is current)."""
    versions = if_match_versions(IF_MATCH.of(request), task_id)
    await caller.service.tasks.delete(caller.user_id, task_id, versions, caller.session_id)
    log.info("task.deleted", user_id=str(caller.user_id), task_id=str(task_id))
