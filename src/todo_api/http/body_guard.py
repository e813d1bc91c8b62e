"""Request bodies the API will not read: over the size limit (413, decided from
Content-Length before a byte is read, or as soon as a streamed body passes the limit) and
not JSON where JSON is expected (415). The request envelope (envelope.py) applies them to
every method, DELETE and any method added later included: whatever route reads a body
reads it through the limit. Only the methods that never read one (GET, HEAD, OPTIONS)
are spared the 415; their bodies are still held to the size limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus

from starlette.types import Message, Receive

MAX_BODY_BYTES = 1024 * 1024
# Methods whose routes never read a body: a body sent with them is not refused for its type.
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Refusal = tuple[HTTPStatus, str]


def too_large(max_bytes: int) -> Refusal:
    limit = f"{max_bytes / 2**20:g} MiB"
    return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"The request body exceeds the limit of {limit}"


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def has_body(headers: dict[bytes, bytes]) -> bool:
    """Whether the request carries a body (RFC 9112 6.3: a Content-Length or a
    Transfer-Encoding says so; without either there is none)."""
    length = headers.get(b"content-length")
    return (length is not None and length.strip() != b"0") or b"transfer-encoding" in headers


def refusal(headers: dict[bytes, bytes], max_bytes: int, json_required: bool) -> Refusal | None:
    """Why a body with these headers is refused before it is read, or None."""
    raw_length = headers.get(b"content-length")
    length = raw_length.decode("latin-1") if raw_length is not None else None
    if length is not None and length.isdigit() and int(length) > max_bytes:
        return too_large(max_bytes)
    if json_required and has_body(headers):
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if not content_type:
            return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, (
                "Content-Type is missing: send the body as application/json"
            )
        if not _is_json(content_type):
            return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json"
    return None


class GuardedBody:
    """The `receive` the app reads a body through. It calls `refuse` once the body passes
    `max_bytes`, and then tells the app that the client went away, so that it stops
    reading; it remembers whether it refused the body and whether the client really went
    away (the server's own `http.disconnect`), which the envelope logs as a disconnect."""

    __slots__ = ("_max_bytes", "_receive", "_received", "_refuse", "client_gone", "refused")

    def __init__(
        self, receive: Receive, max_bytes: int, refuse: Callable[[], Awaitable[None]]
    ) -> None:
        self._receive = receive
        self._max_bytes = max_bytes
        self._refuse = refuse
        self._received = 0
        self.refused = False
        self.client_gone = False

    async def __call__(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._max_bytes:
                self.refused = True
                await self._refuse()
                return {"type": "http.disconnect"}
        elif message["type"] == "http.disconnect":
            self.client_gone = True
        return message
