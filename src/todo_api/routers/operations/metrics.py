from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    """Request counts and latency by route and status, requests in flight, the database
    pool, failed logins. Meant for a scraper on the internal network."""
    exposition = request.app.state.metrics
    return Response(exposition.render(), media_type=exposition.content_type)
