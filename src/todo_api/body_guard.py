"""Refuse request bodies the API will not read: over the size limit (413, decided from
Content-Length before a byte is read, or as soon as a streamed body passes the limit) and
not JSON where JSON is expected (415)."""

from __future__ import annotations

from http import HTTPStatus

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_api.errors import problem

MAX_BODY_BYTES = 1024 * 1024
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class BodyGuardMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = MAX_BODY_BYTES,
        form_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.form_paths = form_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await self._refuse(scope, receive, send, *refusal)
            return
        await self._stream_with_limit(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[HTTPStatus, str] | None:
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, self._too_large
        content_type = _header(scope, b"content-type")
        has_body = (length is not None and length != "0") or _header(
            scope, b"transfer-encoding"
        ) is not None
        if has_body and scope["path"] not in self.form_paths:
            if not content_type:
                return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, (
                    "Content-Type is missing: send the body as application/json"
                )
            if not _is_json(content_type):
                return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json"
        return None

    @property
    def _too_large(self) -> str:
        return f"The request body exceeds the limit of {self.max_bytes / 2**20:g} MiB"

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: HTTPStatus, detail: str
    ) -> None:
        headers = {"Connection": "close"} if status is HTTPStatus.REQUEST_ENTITY_TOO_LARGE else {}
        await problem(Request(scope), status, detail, headers=headers)(scope, receive, send)

    async def _stream_with_limit(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not refused:
                    refused = True
                    await self._refuse(
                        scope, receive, send, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, self._too_large
                    )
                    # The app sees a client that went away and stops reading.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # after a 413, whatever the app still says is dropped
                await send(message)

        await self.app(scope, limited_receive, guarded_send)
