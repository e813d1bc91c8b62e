"""The served protocol sends a response's head and body together: one TCP segment for an
answer that fits in one, counted by the client's kernel (TCP_INFO's data segments in);
a HEAD answer, which has no body to wait for, and a stream's head still arrive at once."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.processes import Service, served_for_tests

# struct tcp_info's tcpi_data_segs_in (Linux 4.6 and later): segments that carried data.
_DATA_SEGS_IN = struct.Struct("=I")
_DATA_SEGS_IN_OFFSET = 152


@pytest.fixture(scope="module")
def service(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory: Path = tmp_path_factory.mktemp("segments")
    with served_for_tests(database_url, directory, WORKERS="1") as running:
        yield running


def _data_segments_in(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    if len(info) < _DATA_SEGS_IN_OFFSET + _DATA_SEGS_IN.size:
        pytest.fail("this kernel's TCP_INFO does not count data segments")
    (count,) = _DATA_SEGS_IN.unpack_from(info, _DATA_SEGS_IN_OFFSET)
    return int(count)


def _answer(sock: socket.socket, request: bytes, *, with_body: bool = True) -> bytes:
    """Send the request and read its whole answer (head, then content-length bytes)."""
    sock.sendall(request)
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while with_body and len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _segments_of(sock: socket.socket, request: bytes) -> int:
    before = _data_segments_in(sock)
    answer = _answer(sock, request)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    time.sleep(0.2)  # a second segment, were there one, has arrived by now
    return _data_segments_in(sock) - before


def test_an_answer_comes_in_one_segment(service):
    request = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
    with service.connect() as sock:
        _answer(sock, request)  # the connection's first answer, before counting
        counted = [_segments_of(sock, request) for _ in range(3)]
    assert counted == [1, 1, 1]


def test_a_head_answer_arrives_without_a_body_to_wait_for(service):
    with service.connect() as sock:
        began = time.monotonic()
        answer = _answer(sock, b"HEAD /health/live HTTP/1.1\r\nHost: x\r\n\r\n", with_body=False)
        waited = time.monotonic() - began
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert answer.endswith(b"\r\n\r\n")
        assert waited < 1.0
        # The connection goes on: the next request is answered whole.
        again = _answer(sock, b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    assert again.startswith(b"HTTP/1.1 200 ")
