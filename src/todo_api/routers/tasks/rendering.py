"""Tasks to JSON bytes in one step: pydantic-core serializes the core's dataclasses
directly (one serializer per shape, no intermediate model or dict), and the route returns
the bytes as its Response. The routes keep `response_model` for the OpenAPI document; the
wire format is the same (tests/unit/test_task_json.py compares them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import Response
from pydantic import TypeAdapter
from pydantic_core import SchemaSerializer, core_schema

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


def json_serializer(shape: type) -> SchemaSerializer:
    """pydantic's serializer of `shape`, each UUID in it written by its own `str()`.

    The ids a task read from the database carries are asyncpg's UUID, which pydantic-core
    does not take for a `uuid.UUID` (asyncpg makes it one to `isinstance` only): it writes
    each through its slow fallback, 347 ns against 105 ns by `str()` (pydantic-core 2.50,
    in-process), and a page of 50 tasks holds 100 of them. A `uuid.UUID` (a task just
    created, before it is read back) costs 535 ns by `str()` against 93 ns: two a task."""
    return SchemaSerializer(_uuids_by_str(TypeAdapter(shape).core_schema))


_UUID_TEXT = core_schema.plain_serializer_function_ser_schema(
    str, return_schema=core_schema.str_schema()
)


def _uuids_by_str(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_uuids_by_str(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    found = {key: _uuids_by_str(value) for key, value in schema.items()}
    if found.get("type") == "uuid":
        found["serialization"] = _UUID_TEXT
    return found


_TASK = json_serializer(Task)
_TASK_LIST = json_serializer(_TaskList)


def task_json(task: Task) -> bytes:
    """A task as GET /tasks/{id} renders it (and an event stream sends it)."""
    return _TASK.to_json(task)


def task_response(task: Task, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """One task, with its ETag."""
    return Response(
        _TASK.to_json(task),
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
    return Response(_TASK_LIST.to_json(body), media_type=JSON)


def created_reply(task: Task) -> Reply:
    """What POST /tasks answers, as kept under an Idempotency-Key."""
    return Reply(201, _TASK.to_json(task))


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
