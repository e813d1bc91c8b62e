"""The task routes serialize core dataclasses straight to JSON; the document still describes
them with TaskResponse and TaskListResponse. The bytes must be what those models give."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import pytest
from asyncpg.pgproto.pgproto import UUID as DatabaseUUID
from pydantic import PlainSerializer

from todo_api.http.etags import etag_of
from todo_api.routers.tasks.changes import _CHANGES, ChangesResponse, _Changes
from todo_api.routers.tasks.rendering import (
    created_reply,
    reply_response,
    task_list_response,
    task_response,
    uuid_text_serializer,
)
from todo_api.routers.tasks.schemas import TaskListResponse, TaskResponse
from todo_core.domain import (
    Task,
)
from todo_core.idempotency import Reply
from todo_core.listing import (
    TaskCounts,
    TaskPage,
)

WHEN = datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=UTC)


def _task(title: str = "Buy milk", description: str | None = "2 litres") -> Task:
    return Task(uuid.uuid4(), uuid.uuid4(), title, description, True, WHEN, WHEN, 7)


def _read(task: Task) -> Task:
    """The task as the SQL repository hands it over: its ids are asyncpg's UUID."""
    return Task(
        DatabaseUUID(str(task.id)),
        DatabaseUUID(str(task.user_id)),
        task.title,
        task.description,
        task.is_completed,
        task.created_at,
        task.updated_at,
        task.version,
        WHEN,
        3,
        ["work", "é"],
        "a0",
    )


@pytest.mark.parametrize(
    ("title", "description"),
    [
        ("Buy milk", None),
        ('quote " and \\ back', "tab\tnew\nline"),
        ("é ✓ \u2028 😀", "x" * 10_000),
    ],
)
def test_a_task_is_the_bytes_its_response_model_gives(title, description):
    task = _task(title, description)
    response = task_response(task, 201, {"Location": f"/tasks/{task.id}"})
    assert response.body == TaskResponse.of(task).model_dump_json().encode()
    assert response.status_code == 201
    assert response.headers["ETag"] == etag_of(task)
    assert response.headers["Location"] == f"/tasks/{task.id}"
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body)["created_at"] == "2026-11-24T10:00:00.123456Z"


@pytest.mark.parametrize("next_cursor", [None, "opaque-cursor"])
def test_a_page_is_the_bytes_its_response_model_gives(next_cursor):
    counts = TaskCounts.of(total=12, completed=9)
    page = TaskPage([_task(), _task(description=None)], 9, limit=2, offset=4, counts=counts)
    response = task_list_response(page, next_cursor)
    assert response.body == TaskListResponse.of(page, next_cursor).model_dump_json().encode()


def test_tasks_read_from_the_database_are_the_bytes_their_response_model_gives():
    made = _task()
    read = _read(made)
    body = task_response(read).body
    assert body == TaskResponse.of(read).model_dump_json().encode()
    assert json.loads(body)["id"] == str(made.id)
    assert json.loads(body)["user_id"] == str(made.user_id)
    page = TaskPage([read, _read(_task(description=None))], 2, limit=50, offset=0)
    expected = TaskListResponse.of(page, None).model_dump_json().encode()
    assert task_list_response(page, None).body == expected


def test_an_empty_page():
    response = task_list_response(TaskPage([], total=0, limit=50, offset=0), None)
    assert json.loads(response.body) == {
        "tasks": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
        "next_cursor": None,
        "counts": {"all": 0, "active": 0, "completed": 0},
    }


def test_a_change_feed_page_is_the_bytes_its_response_model_gives():
    changed = [_read(_task()), _task(description=None)]
    deleted = [DatabaseUUID(str(uuid.uuid4())), uuid.uuid4()]
    body = _CHANGES.to_json(_Changes(changed, deleted, "next-token", True))
    expected = ChangesResponse(
        changes=[TaskResponse.of(t) for t in changed],
        deleted=deleted,
        next="next-token",
        has_more=True,
    )
    assert body == expected.model_dump_json().encode()


class _Marked(uuid.UUID):
    def __str__(self) -> str:
        return "written by str()"


def test_each_uuid_is_written_by_str():
    # What makes asyncpg's UUID cheap to write: pydantic's own way reads .int instead.
    task = Task(_Marked(int=1), _Marked(int=2), "t", None, False, WHEN, WHEN, 1)
    shown = json.loads(task_response(task).body)
    assert shown["id"] == shown["user_id"] == "written by str()"


def test_a_shape_without_uuids_or_with_its_own_uuid_serializer_is_refused():
    @dataclass
    class Plain:
        title: str

    @dataclass
    class Hex:
        id: Annotated[uuid.UUID, PlainSerializer(lambda u: u.hex)]

    with pytest.raises(RuntimeError, match="no UUID"):
        uuid_text_serializer(Plain)
    with pytest.raises(TypeError, match="its own serializer"):
        uuid_text_serializer(Hex)


@pytest.mark.parametrize("replayed", [False, True])
def test_a_stored_reply_is_sent_with_the_headers_it_had(replayed):
    task = _task()
    reply = created_reply(task)
    response = reply_response(Reply(reply.status, reply.body), replayed)
    first = task_response(task, 201, {"Location": f"/tasks/{task.id}"})
    assert response.status_code == 201
    assert response.body == first.body
    assert response.headers["ETag"] == first.headers["ETag"]
    assert response.headers["Location"] == first.headers["Location"]
    assert response.headers.get("Idempotent-Replayed") == ("true" if replayed else None)
