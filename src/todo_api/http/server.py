"""The HTTP protocol `todo-api serve` runs: uvicorn's httptools protocol with the limits a
server facing the internet needs, none of which uvicorn sets by itself.

- A request line and headers over MAX_HEADER_BYTES get 431 and a close, having read little
  more than the limit: httptools would otherwise buffer a header of any size (a 64 MiB one
  grew a worker by 130 MB and held every other request for seconds).
- A client that has not sent a whole request head within HEADER_TIMEOUT of connecting (or
  of its first byte, on a kept-alive connection), or whose body stalls for that long, is
  disconnected: silent and slowloris sockets no longer stay open for ever. Idle
  keep-alive connections close after uvicorn's own 5 s.
- Beyond MAX_CONNECTIONS open connections in one worker, a request gets a fast 503
  problem and a close, not a place in a queue that would time out anyway.

And each answer's head goes out with its body, in one send (head_with_body.py)."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from todo_api.http.head_with_body import HeadWithBody
from todo_api.settings import Settings


@functools.cache
def _limits() -> tuple[int, float, int]:
    """This process's limits, read once (each worker builds its protocols from them)."""
    settings = Settings()
    return settings.MAX_HEADER_BYTES, settings.HEADER_TIMEOUT, settings.MAX_CONNECTIONS


def _problem(status: int, title: str, detail: str) -> bytes:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    head = (
        f"HTTP/1.1 {status} {title}\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "x-content-type-options: nosniff\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body.encode()


class GuardedHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_head, self._timeout, self._max_connections = _limits()
        self._in_head = True  # reading a request line and headers (or waiting for one)
        self._in_body = False
        self._head_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._sender = HeadWithBody(transport, self.loop)
        super().connection_made(self._sender)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._sender.lost()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        elif self._in_body:
            self._arm()  # the body made progress: its stall clock starts again
        super().data_received(data)
        if self._in_head and self._head_bytes > self._max_head and not self.transport.is_closing():
            self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        if self._deadline is None:  # from the first byte of a request on a kept-alive one
            self._arm()

    def on_headers_complete(self) -> None:
        head = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
        self._in_head, self._head_bytes = False, 0
        if head > self._max_head:
            self._refuse_head()
            return
        if len(self.connections) > self._max_connections:
            self._close_with(_problem(503, "Service Unavailable", "Too many connections"))
            return
        self._in_body = True
        self._arm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        # Whatever arrives next is the next request's head: counted from its first byte,
        # timed from then on (on_message_begin); idle until then is uvicorn's keep-alive.
        self._in_body, self._in_head = False, True
        self._disarm()
        super().on_message_complete()

    def _refuse_head(self) -> None:
        detail = f"The request line and headers exceed the limit of {self._max_head} bytes"
        self._close_with(_problem(431, "Request Header Fields Too Large", detail))

    def _close_with(self, response: bytes) -> None:
        self._disarm()
        self._in_head = self._in_body = False
        self.transport.write(response)
        self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self._timeout, self._on_stall)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _on_stall(self) -> None:
        self._deadline = None
        if self._in_head or self._in_body:
            self.transport.close()


HTTP_PROTOCOL = f"{__name__}:{GuardedHttpProtocol.__name__}"
