from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from todo_api.http.problems import RETRY_AFTER_SECONDS
from todo_api.routers.deps import ReadinessDep

router = APIRouter(prefix="/health", tags=["health"])


class HealthResponse(BaseModel):
    status: Literal["ok", "unavailable"]


@router.get("/live", response_model=HealthResponse)
async def liveness() -> HealthResponse:
    """200 while the process runs."""
    return HealthResponse(status="ok")


@router.get(
    "/ready",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "The database does not answer"}},
)
async def readiness(probe: ReadinessDep, request: Request) -> JSONResponse | HealthResponse:
    """200 when the database answers a query, 503 otherwise, and 503 from the moment a
    shutdown begins (SIGTERM), so that a load balancer stops sending new requests."""
    drain = request.app.state.drain
    if (drain is None or not drain.draining) and await probe.ready():
        return HealthResponse(status="ok")
    return JSONResponse(
        {"status": "unavailable"}, status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS}
    )
