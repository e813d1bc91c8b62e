"""Request bodies the API will not read: over the size limit (413, decided from
Content-Length before a byte is read, or as soon as a streamed body passes the limit) and
not JSON where JSON is expected (415). The request envelope (middleware.py) applies them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus

from starlette.types import Message, Receive

MAX_BODY_BYTES = 1024 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

Refusal = tuple[HTTPStatus, str]


def too_large(max_bytes: int) -> Refusal:
    limit = f"{max_bytes / 2**20:g} MiB"
    return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"The request body exceeds the limit of {limit}"


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def refusal(headers: dict[bytes, bytes], max_bytes: int, json_required: bool) -> Refusal | None:
    """Why a body with these headers is refused before it is read, or None."""
    raw_length = headers.get(b"content-length")
    length = raw_length.decode("latin-1") if raw_length is not None else None
    if length is not None and length.isdigit() and int(length) > max_bytes:
        return too_large(max_bytes)
    has_body = (length is not None and length != "0") or b"transfer-encoding" in headers
    if has_body and json_required:
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if not content_type:
            return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, (
                "Content-Type is missing: send the body as application/json"
            )
        if not _is_json(content_type):
            return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json"
    return None


def limited(receive: Receive, max_bytes: int, refuse: Callable[[], Awaitable[None]]) -> Receive:
    """`receive` that calls `refuse` once the body passes `max_bytes`, and then tells the
    app that the client went away, so that it stops reading."""
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                await refuse()
                return {"type": "http.disconnect"}
        return message

    return limited_receive
