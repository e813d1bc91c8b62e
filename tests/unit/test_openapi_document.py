"""The committed openapi.json as client generators and docs pages read it (the drift test
keeps it equal to the app's): valid OpenAPI, every `$ref` resolvable, readable operationIds,
both login bodies, and the conditional-request headers and cursor described."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from openapi_spec_validator import validate

DOCUMENT: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "openapi.json").read_text(encoding="utf-8")
)


def _refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """(where, target) of every $ref in the document."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield where, node["$ref"]
        for key, value in node.items():
            yield from _refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{where}/{index}")


def resolve(pointer: str) -> Any:
    assert pointer.startswith("#/"), f"{pointer}: only local references are expected"
    node: Any = DOCUMENT
    for token in pointer[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{pointer}: {token!r} is not in an object"
        assert token in node, f"{pointer}: no {token!r}"
        node = node[token]
    return node


def test_every_reference_resolves():
    refs = list(_refs(DOCUMENT))
    assert len(refs) > 50, "the walk should find the document's references"
    dangling = []
    for where, target in refs:
        try:
            resolve(target)
        except AssertionError as exc:
            dangling.append(f"{where}: {exc}")
    assert not dangling, "dangling $ref:\n" + "\n".join(dangling)


def test_a_dangling_reference_is_caught():
    with pytest.raises(AssertionError, match="no 'CredentialsRequest2'"):
        resolve("#/components/schemas/CredentialsRequest2")


def test_the_document_is_valid_openapi():
    validate(DOCUMENT)  # raises on any violation of the OpenAPI 3.1 schema


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_each_operation_has_a_unique_readable_id():
    ids = {(method, path): op["operationId"] for method, path, op in _operations()}
    assert ids == {
        ("GET", "/tasks/changes"): "taskChanges",
        ("GET", "/events"): "streamEvents",
        ("POST", "/events/ticket"): "eventTicket",
        ("POST", "/auth/register"): "register",
        ("POST", "/auth/login"): "login",
        ("POST", "/auth/token"): "loginForm",
        ("POST", "/auth/refresh"): "refresh",
        ("POST", "/auth/logout"): "logout",
        ("GET", "/auth/me"): "me",
        ("POST", "/auth/logout-all"): "logoutAll",
        ("POST", "/auth/password"): "changePassword",
        ("DELETE", "/auth/me"): "deleteAccount",
        ("GET", "/auth/sessions"): "listSessions",
        ("DELETE", "/auth/sessions/{session_id}"): "endSession",
        ("POST", "/auth/password-reset"): "requestPasswordReset",
        ("POST", "/auth/password-reset/confirm"): "confirmPasswordReset",
        ("GET", "/tasks"): "listTasks",
        ("POST", "/tasks"): "createTask",
        ("PATCH", "/tasks"): "markTasks",
        ("DELETE", "/tasks"): "clearTasks",
        ("GET", "/tasks/{task_id}"): "getTask",
        ("PUT", "/tasks/{task_id}"): "updateTask",
        ("PATCH", "/tasks/{task_id}"): "patchTask",
        ("DELETE", "/tasks/{task_id}"): "deleteTask",
        ("POST", "/tasks/{task_id}/move"): "moveTask",
        ("GET", "/labels"): "listLabels",
        ("GET", "/tasks/changes"): "taskChanges",
        ("GET", "/health/live"): "liveness",
        ("GET", "/health/ready"): "readiness",
        ("GET", "/metrics"): "metrics",
        ("GET", "/"): "home",
    }
    assert len(set(ids.values())) == len(ids)


def test_login_takes_json_credentials_and_token_the_oauth2_form():
    login = DOCUMENT["paths"]["/auth/login"]["post"]["requestBody"]
    token = DOCUMENT["paths"]["/auth/token"]["post"]["requestBody"]
    assert login["required"] is token["required"] is True
    assert list(login["content"]) == ["application/json"]
    assert list(token["content"]) == ["application/x-www-form-urlencoded"]
    json_schema = resolve(login["content"]["application/json"]["schema"]["$ref"])
    form_schema = resolve(token["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"])
    assert set(json_schema["required"]) == {"email", "password"}
    assert json_schema["properties"]["email"]["examples"] == ["ada@example.com"]
    assert set(form_schema["required"]) == {"username", "password"}
    assert form_schema["properties"]["grant_type"]["enum"] == ["password"]
    scheme = DOCUMENT["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/auth/token"


def test_conditional_request_headers_say_the_quotes_belong_to_the_value():
    etag = resolve("#/components/headers/ETag")
    assert re.fullmatch(etag["schema"]["pattern"], etag["example"])
    for name in ("IfMatch", "IfNoneMatch"):
        parameter = resolve(f"#/components/parameters/{name}")
        assert parameter["in"] == "header"
        # No example value: a fixed tag is never current, so a tool sending it gets 412.
        assert "example" not in parameter
        assert etag["example"] in parameter["description"]
        assert "double quotes" in parameter["description"]
    operations = {op["operationId"]: op for _, _, op in _operations()}
    for operation_id in ("getTask", "updateTask", "patchTask", "deleteTask"):
        names = {
            p.get("$ref", "").rsplit("/", 1)[-1] for p in operations[operation_id]["parameters"]
        }
        assert "IfMatch" in names, operation_id
    for operation_id, status in (("createTask", "201"), ("getTask", "200"), ("patchTask", "200")):
        headers = operations[operation_id]["responses"][status]["headers"]
        assert headers["ETag"] == {"$ref": "#/components/headers/ETag"}


def test_the_cursor_is_described_as_opaque():
    listing = DOCUMENT["paths"]["/tasks"]["get"]
    (cursor,) = [p for p in listing["parameters"] if p.get("name") == "cursor"]
    assert cursor["description"].startswith("Opaque")
    assert "same `sort` and `completed`" in cursor["description"]


def test_the_idempotency_key_and_its_statuses_are_described():
    create = DOCUMENT["paths"]["/tasks"]["post"]
    assert {"$ref": "#/components/parameters/IdempotencyKey"} in create["parameters"]
    key = resolve("#/components/parameters/IdempotencyKey")
    assert key["in"] == "header"
    assert key["name"] == "Idempotency-Key"
    assert re.fullmatch(key["schema"]["pattern"], key["example"])
    assert key["schema"]["maxLength"] == 255
    created = create["responses"]["201"]["headers"]
    assert created["Idempotent-Replayed"] == {"$ref": "#/components/headers/Idempotent-Replayed"}
    for status in ("409", "422"):
        problem = create["responses"][status]["content"]["application/problem+json"]
        assert problem["schema"] == {"$ref": "#/components/schemas/ProblemResponse"}
        assert "Idempotency-Key" in create["responses"][status]["description"]


def test_a_listing_documents_the_counts():
    listing = resolve("#/components/schemas/TaskListResponse")
    assert "counts" in listing["required"]
    counts = resolve(listing["properties"]["counts"]["$ref"])
    assert set(counts["required"]) == {"all", "active", "completed"}


def test_no_get_route_is_doubled_by_a_head_operation():
    assert not [path for _, path, _ in _operations() if "head" in DOCUMENT["paths"][path]]


def test_every_id_in_a_path_documents_the_spellings_the_api_takes():
    for _, path, operation in _operations():
        for parameter in operation.get("parameters", []):
            if parameter.get("in") != "path":
                continue
            schema = parameter["schema"]
            assert schema["format"] == "uuid", (path, parameter["name"])
            pattern = re.compile(schema["pattern"])
            value = uuid4()
            for spelling in (str(value), value.hex, str(value).upper(), f"{{{value}}}", value.urn):
                assert pattern.fullmatch(spelling), (path, spelling)
            for refused in ("0", "null", str(value)[:-1], value.hex[:12] + "-" + value.hex[12:]):
                assert not pattern.fullmatch(refused), (path, refused)
