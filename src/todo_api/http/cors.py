"""Starlette's CORS, with its refusals as problem+json like every other error."""

from __future__ import annotations

from http import HTTPStatus

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from todo_api.http.problems import problem
from todo_api.observability.logging import get_logger

log = get_logger("todo_api.cors")


class ProblemCORSMiddleware(CORSMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        is_preflight = (
            headers is not None
            and scope["method"] == "OPTIONS"
            and "origin" in headers
            and "access-control-request-method" in headers
        )
        if not is_preflight:
            await super().__call__(scope, receive, send)
            return
        assert headers is not None
        response = self.preflight_response(request_headers=headers)
        if response.status_code == HTTPStatus.BAD_REQUEST:
            detail = bytes(response.body).decode()  # e.g. "Disallowed CORS origin"
            # The browser shows only "Network Error": say here what was refused.
            log.warning(
                "cors.preflight_refused",
                reason=detail,
                origin=headers["origin"],
                method=headers["access-control-request-method"],
            )
            response = problem(Request(scope), HTTPStatus.BAD_REQUEST, f"CORS preflight: {detail}")
        await response(scope, receive, send)


def cors_policy(origins: list[str], request_id_header: str) -> dict[str, object]:
    """What browsers on `origins` may send and read: every header of our contract."""
    return {
        "allow_origins": origins,
        "allow_credentials": True,
        "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        "allow_headers": [
            "Authorization",
            "Content-Type",
            "If-Match",
            "If-None-Match",
            "Idempotency-Key",
            request_id_header,
        ],
        "expose_headers": [
            "ETag",
            "Idempotent-Replayed",
            "Location",
            "Retry-After",
            "WWW-Authenticate",
            request_id_header,
        ],
        "max_age": 600,
    }
