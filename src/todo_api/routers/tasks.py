from typing import Annotated, Literal
from uuid import UUID

from dependency_injector.wiring import inject
from fastapi import APIRouter, Query, Response, status

from todo_api.deps import CurrentUserId, TaskServiceDep
from todo_api.logging import get_logger
from todo_api.openapi import problems
from todo_api.schemas import TaskCreateRequest, TaskListResponse, TaskResponse, TaskUpdateRequest
from todo_core.domain import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, TaskQuery, TaskSort

router = APIRouter(prefix="/tasks", tags=["tasks"])
log = get_logger("todo_api.tasks")

SortParam = Literal["created_at", "-created_at", "updated_at", "-updated_at"]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskResponse,
    responses=problems(400, 401),
)
@inject
async def create_task(
    body: TaskCreateRequest, user_id: CurrentUserId, tasks: TaskServiceDep, response: Response
) -> TaskResponse:
    """Create a task for the signed-in user."""
    task = await tasks.create(user_id, body.title, body.description, body.is_completed)
    log.info("task.created", user_id=str(user_id), task_id=str(task.id))
    response.headers["Location"] = f"/tasks/{task.id}"
    return TaskResponse.of(task)


@router.get("", response_model=TaskListResponse, responses=problems(400, 401))
@inject
async def list_tasks(
    user_id: CurrentUserId,
    tasks: TaskServiceDep,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
    offset: Annotated[int, Query(ge=0)] = 0,
    completed: bool | None = None,
    sort: SortParam = "-created_at",
) -> TaskListResponse:
    """The signed-in user's tasks, one page at a time, with the number that match in all."""
    query = TaskQuery(limit=limit, offset=offset, completed=completed, sort=TaskSort(sort))
    return TaskListResponse.of(await tasks.list(user_id, query))


@router.get("/{task_id}", response_model=TaskResponse, responses=problems(400, 401, 403, 404))
@inject
async def get_task(task_id: UUID, user_id: CurrentUserId, tasks: TaskServiceDep) -> TaskResponse:
    """One task of the signed-in user."""
    return TaskResponse.of(await tasks.get(user_id, task_id))


@router.put("/{task_id}", response_model=TaskResponse, responses=problems(400, 401, 403, 404))
@router.patch("/{task_id}", response_model=TaskResponse, responses=problems(400, 401, 403, 404))
@inject
async def update_task(
    task_id: UUID, body: TaskUpdateRequest, user_id: CurrentUserId, tasks: TaskServiceDep
) -> TaskResponse:
    """Change any non-empty subset of title, description and is_completed; the fields not
    sent keep their value, `"description": null` clears it. PUT and PATCH are the same."""
    task = await tasks.update(user_id, task_id, body.to_patch())
    log.info("task.updated", user_id=str(user_id), task_id=str(task_id), version=task.version)
    return TaskResponse.of(task)


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(400, 401, 403, 404),
)
@inject
async def delete_task(task_id: UUID, user_id: CurrentUserId, tasks: TaskServiceDep) -> None:
    """Delete a task of the signed-in user."""
    await tasks.delete(user_id, task_id)
    log.info("task.deleted", user_id=str(user_id), task_id=str(task_id))
