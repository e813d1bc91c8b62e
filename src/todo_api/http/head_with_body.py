"""One send per response: the status line and headers go out with the body.

uvicorn writes a response's head when the app starts it and its body when the app sends
it, each with a write of its own: two system calls and two TCP segments for every answer,
the client woken for a head it cannot use without the body. This transport holds a head
back until the next write, then sends both in one call (uvloop gathers a writelines into
one vectored write: no copy of the body). A head with no write after it in the same turn
of the event loop (a HEAD request's, or a stream's whose first event is still to come)
goes out at the loop's next turn.

uvloop closes a transport by itself when the client half-closes, and still sends what is
written to it until the connection is lost (the protocol's connection_lost): a head
written to a closing transport goes out at once, and a held one is dropped only once the
connection is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

_HEAD_START = b"HTTP/"
_HEAD_END = b"\r\n\r\n"


def _is_head(data: bytes | bytearray | memoryview) -> bool:
    """uvicorn's head write: the status line and headers, ending at the blank line, with
    no body after it (a refusal written whole, body and all, is sent as it comes)."""
    return isinstance(data, bytes) and data.startswith(_HEAD_START) and data.endswith(_HEAD_END)


class HeadWithBody(asyncio.Transport):
    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None
        self._lost = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        head, self._head = self._head, None
        if head is not None:
            self._transport.writelines((head, data))
        elif _is_head(data) and not self._transport.is_closing():
            self._head = bytes(data)
            self._loop.call_soon(self._flush)
        else:
            self._transport.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        head, self._head = self._head, None
        self._transport.writelines(list_of_data if head is None else (head, *list_of_data))

    def _flush(self) -> None:
        head, self._head = self._head, None
        if head is not None and not self._lost:
            self._transport.write(head)

    def lost(self) -> None:
        """The connection is gone (the protocol's connection_lost): nothing more goes out."""
        self._lost = True
        self._head = None

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._head or b"")

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()
