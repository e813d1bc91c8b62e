"""Tasks to JSON bytes in one step: a pydantic TypeAdapter per shape serializes the core's
dataclasses directly (pydantic-core, no intermediate model or dict), and the route returns
the bytes as its Response. The routes keep `response_model` for the OpenAPI document; the
wire format is the same (tests/unit/test_task_json.py compares them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from uuid import UUID

from fastapi import Response
from pydantic import TypeAdapter

from todo_api.http.etags import etag_of
from todo_core.domain import (
    Task,
)
from todo_core.idempotency import Reply
from todo_core.listing import (
    TaskCounts,
    TaskPage,
)

JSON = "application/json"
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True, slots=True)
class _TaskList:
    # The order of TaskListResponse's fields, which is the order on the wire.
    tasks: list[Task]
    total: int
    limit: int
    offset: int
    next_cursor: str | None
    counts: TaskCounts


_TASK = TypeAdapter(Task)
_TASK_LIST = TypeAdapter(_TaskList)


def task_json(task: Task) -> bytes:
    """A task as GET /tasks/{id} renders it (and an event stream sends it)."""
    return _TASK.dump_json(task)


def task_response(task: Task, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """One task, with its ETag."""
    return Response(
        _TASK.dump_json(task),
        status,
        {"ETag": etag_of(task), **(headers or {})},
        media_type=JSON,
    )


def task_list_response(page: TaskPage, next_cursor: str | None) -> Response:
    body = _TaskList(
        tasks=page.tasks,
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        next_cursor=next_cursor,
        counts=page.counts,
    )
    return Response(_TASK_LIST.dump_json(body), media_type=JSON)


def created_reply(task: Task) -> Reply:
    """What POST /tasks answers, as kept under an Idempotency-Key."""
    return Reply(201, _TASK.dump_json(task))


@dataclass(frozen=True, slots=True)
class _Stored:
    """The id and version of the task a stored reply shows: its ETag and Location."""

    id: UUID
    version: int


def reply_response(reply: Reply, replayed: bool) -> Response:
    """A created task's reply, first or replayed, with the headers it had the first time."""
    shown = json.loads(reply.body)
    stored = _Stored(UUID(shown["id"]), shown["version"])
    headers = {"ETag": etag_of(stored), "Location": f"/tasks/{stored.id}"}
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    return Response(reply.body, reply.status, headers, media_type=JSON)
