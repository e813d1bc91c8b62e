"""Live updates: GET /events streams the caller's task changes as they commit, from any
instance (Server-Sent Events); POST /events/ticket lets a browser's EventSource, which
cannot send headers, open one."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import StreamingResponse

from todo_api.events.sse import MEDIA_TYPE
from todo_api.routers.deps import EventStreamsDep, StreamCaller, TicketCaller
from todo_api.routers.events.schemas import TicketResponse
from todo_api.routers.openapi import problems

router = APIRouter(tags=["sync"])

_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A stream of Server-Sent Events that stays open: `retry: 2000` first, "
        "then one event per changed task (`id`: a sync token; `event: task.changed` with the "
        'task as its `data`, or `event: task.deleted` with `{"id": …}`), and a comment line '
        "(`: ping`) at least every STREAM_HEARTBEAT seconds.",
        "content": {
            MEDIA_TYPE: {
                "schema": {"type": "string"},
                "example": "retry: 2000\n\nid: AQAAAAAAAAAH…\nevent: task.changed\n"
                'data: {"id": "0b7e9a6c-…", "title": "Buy milk", …}\n\n: ping\n\n',
            }
        },
    },
}
_WHEN = {
    400: "`since` or Last-Event-ID is not a sync token of the caller's",
    401: "Missing, invalid or expired credentials or ticket, or the login has ended",
    429: "The caller has MAX_STREAMS_PER_USER streams open already",
    503: "The database is unavailable, or this instance is shutting down",
}


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={**_STREAM, **problems(400, 401, 410, 429, when=_WHEN)},
    summary="Live updates of the caller's tasks",
)
async def stream_events(
    request: Request,
    auth: StreamCaller,
    streams: EventStreamsDep,
    since: Annotated[
        str | None,
        Query(max_length=256, description="resume after this sync token (`next`, or an id)"),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=256,
            description="what EventSource sends when it reconnects: resume after it",
        ),
    ] = None,
) -> StreamingResponse:
    """The caller's task changes as they commit, from any instance. With Last-Event-ID (or
    `since`), what the feed holds after it comes first, so nothing is missed between two
    streams. The stream ends when its login ends, when the access token that opened it (or
    got its ticket) expires, and when the instance shuts down: reconnect with the last id."""
    events = await streams.open(auth, last_event_id or since)
    if request.scope["state"].get("head"):
        events = await _headers_only(events)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type=MEDIA_TYPE, headers=headers)


async def _headers_only(events: AsyncGenerator[bytes]) -> AsyncGenerator[bytes]:
    """HEAD: the same checks and status as GET, then the end (the stream is closed at
    once, giving its slot back)."""
    await anext(events)
    await events.aclose()

    async def nothing() -> AsyncGenerator[bytes]:
        return
        yield

    return nothing()


@router.post(
    "/events/ticket",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketResponse,
    responses=problems(401),
    summary="A ticket to open GET /events without headers",
)
async def event_ticket(caller: TicketCaller) -> TicketResponse:
    """A single-use ticket for GET /events?ticket=…, valid 60 s (never past the access
    token's own expiry): for EventSource, which cannot send an Authorization header. The
    stream it opens belongs to the caller's login and ends with it."""
    issued = await caller.service.ticket(caller.principal)
    return TicketResponse(ticket=issued.ticket, expires_in=issued.expires_in)
