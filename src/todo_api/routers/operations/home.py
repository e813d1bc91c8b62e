"""`GET /`: where a newcomer (or a script) lands, pointing at everything else."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

router = APIRouter(tags=["operations"])


class HomeLinks(BaseModel):
    docs: str = Field(description="Swagger UI: try every call in the browser")
    redoc: str = Field(description="The same document as a readable reference")
    openapi: str = Field(description="The OpenAPI document, for client generators")
    health_live: str = Field(description="200 while the process runs")
    health_ready: str = Field(description="200 while the database answers")
    metrics: str = Field(description="Prometheus text format")


class HomeResponse(BaseModel):
    name: str
    version: str
    links: HomeLinks


@router.get("/", response_model=HomeResponse)
async def home(request: Request) -> HomeResponse:
    """The service's name and version, and links to its docs, its OpenAPI document and
    its health checks (paths relative to this server)."""
    app = request.app
    return HomeResponse(
        name=app.title,
        version=app.version,
        links=HomeLinks(
            docs="/docs",
            redoc="/redoc",
            openapi="/openapi.json",
            health_live="/health/live",
            health_ready="/health/ready",
            metrics="/metrics",
        ),
    )
