"""A DNS server for one name, as Docker's embedded DNS answers for a compose service:
every A query for `name` gets one record per address (the replicas), anything else an
empty answer. Enough for HAProxy's resolvers, no more."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def _answer(query: bytes, name: str, addresses: list[str]) -> bytes:
    ident, _flags, _qd, _an, _ns, _ar = struct.unpack("!6H", query[:12])
    end = 12
    labels = []
    while (length := query[end]) != 0:
        labels.append(query[end + 1 : end + 1 + length].decode("ascii").lower())
        end += length + 1
    qtype, _qclass = struct.unpack("!2H", query[end + 1 : end + 5])
    question = query[12 : end + 5]
    found = addresses if ".".join(labels) == name and qtype == 1 else []
    header = struct.pack("!6H", ident, 0x8180, 1, len(found), 0, 0)
    records = b"".join(
        struct.pack("!HHHIH", 0xC00C, 1, 1, 1, 4) + socket.inet_aton(address) for address in found
    )
    return header + question + records


@contextmanager
def dns_server(name: str, addresses: list[str]) -> Iterator[str]:
    """Serve until the block ends; yields the server's host:port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                query, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            sock.sendto(_answer(query, name, addresses), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        sock.close()
