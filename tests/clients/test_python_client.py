"""A Python client made by openapi-python-client from openapi.json, with no warning and no
patch, drives a whole session: register, JSON login and the OAuth2 form (/auth/token), me,
create, list, get, patch with If-Match (and a stale one), another user's 403 read as a
problem, delete, 404, refresh."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from tests.clients.conftest import OPENAPI
from tests.integration.processes import Service

BIN = Path(sys.executable).parent
PACKAGE = "todo_generated_client"


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("python-client")
    result = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            f"--path={OPENAPI}",
            "--meta=none",
            f"--output-path={out / PACKAGE}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        # Its post-generation hooks run ruff, found on PATH.
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert "warning" not in said.lower(), said
    assert "could not" not in said.lower(), said
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _api(package: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{package.__name__}.api.{name}")


def test_a_whole_session_through_the_generated_client(client_package, service: Service):
    auth, tasks = _api(client_package, "auth"), _api(client_package, "tasks")
    m = importlib.import_module(f"{client_package.__name__}.models")
    for name in ("register", "login", "login_form", "me", "refresh"):
        importlib.import_module(f"{auth.__name__}.{name}")
    for name in (
        "create_task",
        "list_tasks",
        "get_task",
        "patch_task",
        "delete_task",
        "move_task",
        "list_labels",
    ):
        importlib.import_module(f"{tasks.__name__}.{name}")
    public = client_package.Client(base_url=service.base, raise_on_unexpected_status=True)

    def signed_in(token: str):
        return client_package.AuthenticatedClient(
            base_url=service.base, token=token, raise_on_unexpected_status=True
        )

    email, password = f"ada-{uuid.uuid4().hex[:8]}@example.com", "correct horse"
    registered = auth.register.sync(
        client=public, body=m.RegisterRequest(email=email, password=password)
    )
    assert isinstance(registered, m.AuthResponse), registered
    logged_in = auth.login.sync(client=public, body=m.CredentialsRequest(email, password))
    assert isinstance(logged_in, m.AuthResponse), logged_in
    by_form = auth.login_form.sync(
        client=public, body=m.LoginForm(username=email, password=password)
    )
    assert isinstance(by_form, m.AuthResponse), by_form
    assert by_form.user.id == logged_in.user.id
    ada = signed_in(logged_in.access_token)
    assert auth.me.sync(client=ada).email == email

    created = tasks.create_task.sync_detailed(
        client=ada, body=m.TaskCreateRequest(title="Buy milk", description="2 litres")
    )
    assert created.status_code == 201
    task = created.parsed
    assert isinstance(task, m.TaskResponse)
    assert created.headers["location"] == f"/tasks/{task.id}"

    listed = tasks.list_tasks.sync(client=ada, limit=10, sort=m.ListTasksSort("-created_at"))
    assert isinstance(listed, m.TaskListResponse)
    assert [t.id for t in listed.tasks] == [task.id]
    assert listed.total == 1

    got = tasks.get_task.sync_detailed(task.id, client=ada)
    assert got.status_code == 200
    etag = got.headers["etag"]
    assert etag == created.headers["etag"]
    assert etag[0] == etag[-1] == '"', "the quotes are part of the ETag"

    patched = tasks.patch_task.sync_detailed(
        task.id, client=ada, body=m.TaskPatchRequest(is_completed=True), if_match=etag
    )
    assert patched.status_code == 200
    assert patched.parsed.is_completed is True
    assert patched.parsed.version == task.version + 1
    stale = tasks.patch_task.sync(
        task.id, client=ada, body=m.TaskPatchRequest(title="Buy oat milk"), if_match=etag
    )
    assert isinstance(stale, m.ProblemResponse)
    assert stale.status == 412

    # Issue 20: the planning fields, a move, the filters and search, the labels.
    planned = tasks.create_task.sync(
        client=ada,
        body=m.TaskCreateRequest(
            title="Call Grace",
            due_at=datetime(2026, 12, 24, 17, tzinfo=UTC),
            priority=3,
            labels=["Family"],
        ),
    )
    assert isinstance(planned, m.TaskResponse), planned
    assert (planned.due_at, planned.priority, planned.labels) == (
        datetime(2026, 12, 24, 17, tzinfo=UTC),
        3,
        ["Family"],
    )
    moved = tasks.move_task.sync(planned.id, client=ada, body=m.TaskMoveRequest(after=None))
    assert isinstance(moved, m.TaskResponse), moved
    assert moved.version == planned.version + 1
    assert moved.position < task.position
    found = tasks.list_tasks.sync(client=ada, q="call gr", label=["family"])
    assert [t.id for t in found.tasks] == [planned.id]
    by_position = tasks.list_tasks.sync(client=ada, sort=m.ListTasksSort("position"))
    assert [t.id for t in by_position.tasks] == [planned.id, task.id]
    cleared = tasks.patch_task.sync(
        planned.id, client=ada, body=m.TaskPatchRequest(due_at=None, labels=[])
    )
    assert (cleared.due_at, cleared.labels) == (None, [])
    labels = tasks.list_labels.sync(client=ada)
    assert isinstance(labels, m.LabelsResponse), labels
    assert labels.labels == []

    grace = auth.register.sync(
        client=public,
        body=m.RegisterRequest(
            email=f"grace-{uuid.uuid4().hex[:8]}@example.com", password=password
        ),
    )
    denied = tasks.get_task.sync(task.id, client=signed_in(grace.access_token))
    assert isinstance(denied, m.ProblemResponse), denied
    assert denied.status == 403
    assert denied.detail

    deleted = tasks.delete_task.sync_detailed(task.id, client=ada)
    assert deleted.status_code == 204
    gone = tasks.get_task.sync(task.id, client=ada)
    assert isinstance(gone, m.ProblemResponse)
    assert gone.status == 404

    renewed = auth.refresh.sync(
        client=public, body=m.RefreshRequest(refresh_token=logged_in.refresh_token)
    )
    assert isinstance(renewed, m.AuthResponse)
    assert renewed.refresh_token != logged_in.refresh_token
    assert auth.me.sync(client=signed_in(renewed.access_token)).email == email
    spent = auth.refresh.sync(
        client=public, body=m.RefreshRequest(refresh_token=logged_in.refresh_token)
    )
    assert isinstance(spent, m.ProblemResponse)
    assert spent.status == 401
