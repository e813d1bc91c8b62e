"""The OpenAPI document, made for client generators and docs pages: problem+json error
responses and no FastAPI 422s (this API answers validation failures with 400); readable
operationIds; the conditional-request headers and the cursor described once, as
components; every schema a `$ref` names present in the document."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from todo_api.http.problems import ProblemResponse
from todo_core.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENCY_KEY_PATTERN

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemResponse"}

_WHEN = {
    400: "Validation failed, malformed JSON or a bad parameter",
    401: "Missing, invalid or expired credentials",
    403: "The task belongs to another user",
    404: "No such task",
    405: "The resource does not take this method; Allow lists those it takes",
    409: "A request with this Idempotency-Key is still in progress; retry it shortly",
    410: "The sync token is older than what the server keeps (SYNC_RETENTION): sync again "
    "without it",
    412: "If-Match names a version the task no longer has",
    413: "Request body over 1 MiB",
    415: "The body is not JSON",
    422: "This Idempotency-Key was first sent with a different body",
    429: "Too many failed logins for this email or from this address; retry after "
    "Retry-After seconds",
    503: "The database is unavailable; retry after Retry-After seconds",
}

# An operationId is the endpoint function's name in camelCase (`list_tasks` → `listTasks`),
# what generated clients name their functions after. PUT and PATCH share one function.
_RENAMED = {("update_task", "PATCH"): "patch_task"}

_ETAG_EXAMPLE = '"0b7e9a6c4f1d4e2a9c3b5d7f8e6a4c2b-3"'
_ETAG_FORMAT = (
    "An entity tag (RFC 9110): the task's id (32 hex digits) and version, **in double quotes**. "
    "The quotes are part of the value: send it back exactly as received."
)
HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": f"The task's current entity tag. {_ETAG_FORMAT} "
        "It changes with every update of the task.",
        "schema": {"type": "string", "pattern": r'^"[0-9a-f]{32}-[0-9]+"$'},
        "example": _ETAG_EXAMPLE,
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored reply to an earlier request with the "
        "same Idempotency-Key: nothing was created this time. Absent otherwise.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
# Header parameters by their lower-case name, as FastAPI lists them.
PARAMETERS: dict[str, tuple[str, dict[str, Any]]] = {
    "if-match": (
        "IfMatch",
        {
            "name": "If-Match",
            "in": "header",
            "required": False,
            "description": "Write only while the task is still as you last read it: one or "
            f"more ETags (comma-separated), or `*`. {_ETAG_FORMAT} When none is current "
            "the answer is 412 and nothing changes. Weak tags (`W/…`) never match. "
            f"For example `{_ETAG_EXAMPLE}`, the ETag of your last read.",
            "schema": {"type": "string"},
        },
    ),
    "if-none-match": (
        "IfNoneMatch",
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "Answer 304 Not Modified, with no body, when one of these ETags "
            f"(comma-separated, or `*`) is still current. {_ETAG_FORMAT} For example "
            f"`{_ETAG_EXAMPLE}`, the ETag of your last read.",
            "schema": {"type": "string"},
        },
    ),
}
PARAMETERS["idempotency-key"] = (
    "IdempotencyKey",
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Makes a retry safe: any unique string of yours (a UUID is a good one) "
        "for this request. The first request with a key is processed and its reply kept for "
        "a day (`IDEMPOTENCY_TTL`); the same request again with the same key gets that reply "
        "again, with `Idempotent-Replayed: true`, and creates nothing. The same key with "
        "another body is a 422; while the first is still in progress, a 409. Keys are per "
        "user. 1 to 255 printable ASCII characters, else a 400.",
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
            "pattern": IDEMPOTENCY_KEY_PATTERN,
        },
        "example": "6f1c2d3e-0a4b-4c5d-8e9f-a0b1c2d3e4f5",
    },
)
# For routes that read these from the request (openapi_extra): the components, named.
IDEMPOTENCY_KEY = {"$ref": "#/components/parameters/IdempotencyKey"}
REPLAYED = {"Idempotent-Replayed": HEADERS["Idempotent-Replayed"]}
_CURSOR = {
    "description": "Opaque: the `next_cursor` of the previous page, passed back unchanged, "
    "with the same `sort` and `completed` it was made for. Do not build or parse one: a "
    "changed or foreign cursor is a 400.",
    "schema": {"type": "string", "maxLength": 512},
}

# The spellings of a UUID the id parameters accept (pydantic's): hyphenated, 32 hex digits,
# in braces, or as a URN; any case. Anything else is a 400, so the document says so.
_HYPHENATED = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
UUID_PATTERN = f"^(?:{_HYPHENATED}|[0-9a-fA-F]{{32}}|\\{{{_HYPHENATED}\\}}|urn:uuid:{_HYPHENATED})$"

_TASK_ID = {"task_id": "$response.body#/id"}
_TASK_LINKS = {
    "getTask": {"operationId": "getTask", "parameters": _TASK_ID},
    "updateTask": {"operationId": "updateTask", "parameters": _TASK_ID},
    "patchTask": {"operationId": "patchTask", "parameters": _TASK_ID},
    "patchTaskIfUnchanged": {
        "operationId": "patchTask",
        "parameters": {**_TASK_ID, "header.If-Match": "$response.header.ETag"},
        "description": "Change the task only while it is as this response showed it",
    },
    "deleteTask": {"operationId": "deleteTask", "parameters": _TASK_ID},
}
# Where a response leads (OpenAPI links): to the task it created or returned.
LINKS: dict[tuple[str, str], dict[str, Any]] = {
    ("createTask", "201"): _TASK_LINKS,
    ("getTask", "200"): _TASK_LINKS,
    ("updateTask", "200"): _TASK_LINKS,
    ("patchTask", "200"): _TASK_LINKS,
}


def operation_id(route: APIRoute) -> str:
    """For FastAPI's `generate_unique_id_function`."""
    method = min(route.methods or {"GET"})
    first, *rest = _RENAMED.get((route.name, method), route.name).split("_")
    return first + "".join(word.capitalize() for word in rest)


_RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 1},
}


def problems(*statuses: int, when: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """Document each status as a problem+json response; `when` words a status for the
    route where the general wording does not fit."""
    described = {**_WHEN, **(when or {})}
    documented: dict[int | str, dict[str, Any]] = {}
    for status in (*statuses, 500, 503):
        response: dict[str, Any] = {
            "description": described.get(status, HTTPStatus(status).phrase),
            "content": {"application/problem+json": {"schema": _PROBLEM_REF}},
        }
        if status in (429, 503):
            response["headers"] = {"Retry-After": _RETRY_AFTER}
        documented[status] = response
    return documented


def model_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """Component schemas of models that no route names as its body or response (and so
    FastAPI does not add), with every model they refer to."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def install_openapi(app: FastAPI, components: dict[str, Any] | None = None) -> None:
    """`components`: schemas that hand-written parts of operations (`openapi_extra`) name."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        found = document.setdefault("components", {})
        schemas = found.setdefault("schemas", {})
        schemas.update(model_schemas(ProblemResponse))
        schemas.update(components or {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        found["headers"] = HEADERS
        found["parameters"] = dict(PARAMETERS.values())
        for path in document.get("paths", {}).values():
            for operation in path.values():
                _refine(operation)
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]


def _refine(operation: dict[str, Any]) -> None:
    body_refusals = problems(405, 413, 415)
    responses = operation.setdefault("responses", {})
    if responses.get("422", {}).get("description") == "Validation Error":  # FastAPI's own
        del responses["422"]
    responses.setdefault("405", body_refusals[405])
    if "requestBody" in operation:  # the body guard answers for every one of them
        for status in ("413", "415"):
            responses.setdefault(status, body_refusals[int(status)])
    for status, response in responses.items():
        if links := LINKS.get((operation["operationId"], status)):
            response["links"] = links
        for name in response.get("headers", {}):
            if name in HEADERS:
                response["headers"][name] = {"$ref": f"#/components/headers/{name}"}
    parameters = operation.get("parameters", [])
    for index, parameter in enumerate(parameters):
        if "$ref" in parameter:  # named by the route itself (openapi_extra)
            continue
        if parameter["in"] == "header" and parameter["name"] in PARAMETERS:
            component, _ = PARAMETERS[parameter["name"]]
            parameters[index] = {"$ref": f"#/components/parameters/{component}"}
        elif parameter["in"] == "query" and parameter["name"] == "cursor":
            parameter.update(_CURSOR)
        elif parameter["in"] == "path" and parameter["schema"].get("format") == "uuid":
            parameter["schema"]["pattern"] = UUID_PATTERN
