from fastapi import APIRouter
from fastapi.responses import JSONResponse

from todo_api.deps import ReadinessDep
from todo_api.errors import RETRY_AFTER_SECONDS
from todo_api.schemas import HealthResponse

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", response_model=HealthResponse)
async def liveness() -> HealthResponse:
    """200 while the process runs."""
    return HealthResponse(status="ok")


@router.get(
    "/ready",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "The database does not answer"}},
)
async def readiness(probe: ReadinessDep) -> JSONResponse | HealthResponse:
    """200 when the database answers a query, 503 otherwise."""
    if await probe.ready():
        return HealthResponse(status="ok")
    return JSONResponse(
        {"status": "unavailable"}, status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS}
    )
