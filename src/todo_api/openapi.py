"""OpenAPI helpers: problem+json error responses, and a document without FastAPI's 422s
(this API answers validation failures with 400)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from todo_api.schemas import ProblemResponse

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemResponse"}

_WHEN = {
    400: "Validation failed, malformed JSON or a bad parameter",
    401: "Missing, invalid or expired credentials",
    403: "The task belongs to another user",
    404: "No such task",
    405: "The resource does not take this method; Allow lists those it takes",
    412: "If-Match names a version the task no longer has",
    413: "Request body over 1 MiB",
    415: "The body is not JSON",
    503: "The database is unavailable; retry after Retry-After seconds",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Document each status as a problem+json response."""
    return {
        status: {
            "description": _WHEN.get(status, HTTPStatus(status).phrase),
            "content": {"application/problem+json": {"schema": _PROBLEM_REF}},
        }
        for status in (*statuses, 500, 503)
    }


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        problem_schema = ProblemResponse.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        schemas.update(problem_schema.pop("$defs", {}))
        schemas["ProblemResponse"] = problem_schema
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        body_refusals = problems(405, 413, 415)
        for path in document.get("paths", {}).values():
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                responses.setdefault("405", body_refusals[405])
                if "requestBody" in operation:  # the body guard answers for every one of them
                    for status in ("413", "415"):
                        responses.setdefault(status, body_refusals[int(status)])
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]
