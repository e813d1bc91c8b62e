"""GET /labels: the caller's labels, for a sidebar."""

from __future__ import annotations

from fastapi import APIRouter

from todo_api.routers.deps import TaskCaller
from todo_api.routers.openapi import problems
from todo_api.routers.tasks.schemas import LabelsResponse

router = APIRouter(prefix="/labels", tags=["tasks"])


@router.get("", response_model=LabelsResponse, responses=problems(401))
async def list_labels(caller: TaskCaller) -> LabelsResponse:
    """Every label the caller's tasks carry, compared ignoring case and written as on the
    oldest task carrying it, with how many tasks carry it; sorted by name."""
    labels = await caller.service.tasks.labels(caller.user_id)
    return LabelsResponse.of(labels)
