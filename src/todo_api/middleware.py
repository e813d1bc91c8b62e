"""The request envelope, as plain ASGI middleware (no per-request task or body copy):
request id in and out and in every log line, security headers, one access log line, and a
problem+json 500 for anything unexpected, with the stack trace only in the log."""

from __future__ import annotations

import re
import time
import uuid
from http import HTTPStatus

import structlog
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_api.errors import problem
from todo_api.logging import get_logger
from todo_api.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_NO_STORE_PREFIX = "/auth/"

log = get_logger("todo_api.request")


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Outermost: whatever answers (the app, CORS preflight, the body guard), the response
    carries the request id and the security headers, and gets one access log line and its
    place in the metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        path: str = scope["path"]
        status = 500
        began = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                headers["X-Content-Type-Options"] = "nosniff"
                if path.startswith(_NO_STORE_PREFIX):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - began
            self.metrics.in_flight.dec()
            self.metrics.observe(scope, status, seconds)
            log.info(
                "request.completed",
                method=scope["method"],
                path=path,
                status=status,
                duration_ms=round(seconds * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")


class UnexpectedErrorMiddleware:
    """Innermost: an exception no handler knows becomes a problem+json 500 that says
    nothing internal; the stack trace goes to the log under the request id. Inside CORS,
    so that a browser can still read the error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("request.failed", method=scope["method"], path=scope["path"])
            if started:
                raise
            response = problem(
                Request(scope), HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error"
            )
            await response(scope, receive, send)
