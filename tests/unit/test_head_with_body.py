"""HeadWithBody's edges that a socket test cannot pin down in time: a head held one turn
of the loop, a head written to a transport that is closing already, a connection lost
while a head is held. (tests/integration/test_response_segments.py counts the segments
of real answers.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from todo_api.http.head_with_body import HeadWithBody

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[bytes, ...] | str] = []  # per call, what went out together
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent.append((bytes(data),))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.sent.append(tuple(bytes(d) for d in list_of_data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True
        self.sent.append("closed")


async def _next_turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_a_head_goes_out_with_the_body_in_one_call() -> None:
    real = RecordingTransport()
    sender = HeadWithBody(real, asyncio.get_running_loop())
    sender.write(HEAD)
    assert real.sent == []
    sender.write(b"ok")
    await _next_turn()
    assert real.sent == [(HEAD, b"ok")]


async def test_a_head_alone_goes_out_at_the_next_turn() -> None:
    real = RecordingTransport()
    sender = HeadWithBody(real, asyncio.get_running_loop())
    sender.write(HEAD)
    await _next_turn()
    assert real.sent == [(HEAD,)]
    sender.write(b"data: 1\n\n")
    assert real.sent == [(HEAD,), (b"data: 1\n\n",)]


async def test_a_head_for_a_closing_transport_goes_out_at_once() -> None:
    real = RecordingTransport()
    real.closing = True  # uvloop closed it on the client's half-close; it still sends
    sender = HeadWithBody(real, asyncio.get_running_loop())
    sender.write(HEAD)
    assert real.sent == [(HEAD,)]


async def test_a_held_head_still_goes_out_when_the_transport_closes_before_the_turn() -> None:
    real = RecordingTransport()
    sender = HeadWithBody(real, asyncio.get_running_loop())
    sender.write(HEAD)
    real.closing = True
    await _next_turn()
    assert real.sent == [(HEAD,)]


async def test_a_held_head_is_dropped_once_the_connection_is_lost() -> None:
    real = RecordingTransport()
    sender = HeadWithBody(real, asyncio.get_running_loop())
    sender.write(HEAD)
    sender.lost()
    await _next_turn()
    assert real.sent == []


async def test_close_and_writelines_send_a_held_head_first() -> None:
    loop = asyncio.get_running_loop()
    real = RecordingTransport()
    sender = HeadWithBody(real, loop)
    sender.write(HEAD)
    sender.writelines([b"o", b"k"])
    sender.write(HEAD)
    sender.close()
    await _next_turn()
    assert real.sent == [(HEAD, b"o", b"k"), (HEAD,), "closed"]


async def test_a_refusal_written_whole_is_not_held() -> None:
    real = RecordingTransport()
    sender = HeadWithBody(real, asyncio.get_running_loop())
    refusal = b'HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n{"status": 431}'
    sender.write(refusal)
    assert real.sent == [(refusal,)]
