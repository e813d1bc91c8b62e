"""Every error leaves as an RFC 9457 problem+json body, written here."""

from __future__ import annotations

from http import HTTPStatus
from typing import Final

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

PROBLEM_JSON: Final = "application/problem+json"
# How long a client should wait before retrying while the database does not answer.
RETRY_AFTER_SECONDS: Final = "5"


class FieldErrorResponse(BaseModel):
    field: str
    message: str


class ProblemResponse(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldErrorResponse] | None = None


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def problem(
    request: Request,
    status: HTTPStatus,
    detail: str,
    *,
    errors: list[FieldErrorResponse] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ProblemResponse(
        title=status.phrase,
        status=status.value,
        detail=detail,
        instance=request.url.path,
        request_id=request_id_of(request),
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status.value,
        media_type=PROBLEM_JSON,
        headers=headers,
    )
