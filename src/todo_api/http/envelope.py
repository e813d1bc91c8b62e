"""The request envelope: one plain ASGI middleware around the app, where there were four
stacked layers each reading the headers again and wrapping `send` again. It reads the
headers it needs in one pass, then: the request id in and out and in every log line,
security headers, body limits (body_guard.py), CORS only for requests that carry an
Origin, a problem+json 500 for anything unexpected (stack trace only in the log), one
access log line and the request's place in the metrics. It also answers HEAD for every GET
route: the GET's own work, status and headers, with the body dropped."""

from __future__ import annotations

import re
import time
import uuid
from functools import partial
from http import HTTPStatus
from typing import Any

import structlog
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_api.http.body_guard import (
    BODYLESS_METHODS,
    MAX_BODY_BYTES,
    GuardedBody,
    Refusal,
    has_body,
    refusal,
    too_large,
)
from todo_api.http.cors import ProblemCORSMiddleware
from todo_api.http.problems import problem
from todo_api.observability.logging import get_logger
from todo_api.observability.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-ID"
# nginx's status for a client that closed the connection before the answer: never sent,
# only logged and counted.
CLIENT_CLOSED_REQUEST = 499
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_NO_STORE_PREFIX = "/auth/"
_READ = frozenset(
    {b"x-request-id", b"origin", b"content-length", b"content-type", b"transfer-encoding"}
)
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")

log = get_logger("todo_api.request")


def _first_values(scope: Scope) -> dict[bytes, bytes]:
    """The first value of each header the envelope reads."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _READ and name not in found:
            found[name] = value
    return found


def _request_id(headers: dict[bytes, bytes]) -> str:
    sent = headers.get(b"x-request-id")
    if sent is not None:
        candidate = sent.decode("latin-1")
        if _SANE_REQUEST_ID.fullmatch(candidate):
            return candidate
    return uuid.uuid4().hex


class RequestEnvelope:
    """Outermost of ours: whatever answers (the app, CORS preflight, a refused body, an
    unexpected error), the response carries the request id and the security headers (and,
    for a request with an Origin, CORS headers), and gets one log line and its metrics."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        cors: dict[str, Any],
        form_paths: frozenset[str] = frozenset(),
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.cors = ProblemCORSMiddleware(app, **cors)
        self.metrics = metrics
        self.form_paths = form_paths
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            await self._head(scope, receive, send)
            return
        await self._answer(scope, receive, send)

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        """HEAD is a GET whose body is not sent (RFC 9110 9.3.2). The server's scope keeps
        saying HEAD (uvicorn drops the body of a HEAD response by it); the app sees GET.
        The log line and metrics keep the method the client sent."""

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # Said in the state too: a response that never ends by itself (an event stream)
        # must know to end after its headers.
        scope.setdefault("state", {})["head"] = True
        await self._answer({**scope, "method": "GET"}, receive, without_body, "HEAD")

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, method: str | None = None
    ) -> None:
        method = method or scope["method"]
        headers = _first_values(scope)
        request_id = _request_id(headers)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        path: str = scope["path"]
        extra = [(b"x-request-id", request_id.encode("latin-1")), _NOSNIFF]
        if path.startswith(_NO_STORE_PREFIX):
            extra.append(_NO_STORE)
        status = 500
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        respond: Send = send_with_headers
        if b"origin" in headers:
            # As CORS would answer it: a browser can read a refusal or a 500 too.
            request_headers = Headers(scope=scope)
            respond = partial(
                self.cors.send, send=send_with_headers, request_headers=request_headers
            )
        body = self._body(scope, receive, respond, headers)
        began = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self._guarded(scope, receive, respond, headers, send_with_headers, body)
        except Exception:
            if body is not None and (body.client_gone or body.refused):
                # The app stopped reading a body because the client went away (logged
                # below as a disconnect) or because it was refused (the 413 is sent):
                # nothing failed, and nobody is left to answer.
                pass
            else:
                log.exception("request.failed", method=method, path=path)
                if started:
                    raise
                error = problem(
                    Request(scope), HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error"
                )
                await error(scope, receive, respond)
        finally:
            seconds = time.perf_counter() - began
            self.metrics.in_flight.dec()
            if body is not None and body.client_gone:
                status = CLIENT_CLOSED_REQUEST
            self.metrics.observe(scope, status, seconds, method)
            log.info(
                "request.disconnected" if status == CLIENT_CLOSED_REQUEST else "request.completed",
                method=method,
                path=path,
                status=status,
                duration_ms=round(seconds * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")

    def _body(
        self, scope: Scope, receive: Receive, respond: Send, headers: dict[bytes, bytes]
    ) -> GuardedBody | None:
        """The body as the app may read it, or None when the request has none."""
        if not has_body(headers):
            return None

        async def refuse() -> None:
            await self._refuse(scope, receive, respond, too_large(self.max_body_bytes))

        return GuardedBody(receive, self.max_body_bytes, refuse)

    async def _guarded(
        self,
        scope: Scope,
        receive: Receive,
        respond: Send,
        headers: dict[bytes, bytes],
        send: Send,
        body: GuardedBody | None,
    ) -> None:
        """The app (through CORS when there is an Origin), with its body limits."""
        app = self.cors if b"origin" in headers else self.app
        if body is None:
            await app(scope, receive, send)
            return
        json_required = (
            scope["method"] not in BODYLESS_METHODS and scope["path"] not in self.form_paths
        )
        refused = refusal(headers, self.max_body_bytes, json_required)
        if refused is not None:
            await self._refuse(scope, receive, respond, refused)
            return

        async def until_refused(message: Message) -> None:
            if not body.refused:  # after a 413, whatever the app still says is dropped
                await send(message)

        await app(scope, body, until_refused)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, why: Refusal) -> None:
        status, detail = why
        close = {"Connection": "close"} if status is HTTPStatus.REQUEST_ENTITY_TOO_LARGE else {}
        await problem(Request(scope), status, detail, headers=close)(scope, receive, send)
