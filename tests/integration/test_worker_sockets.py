"""Each worker of `todo-api serve` listens on a socket of its own on the one address
(SO_REUSEPORT): the kernel deals the connections over the workers, where with one shared
socket the first worker awake took whatever was waiting. Another server on the same port
is still refused."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from tests.integration.processes import CLI, TEST_JWT_SECRET, Service, served_for_tests

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the kernel deals connections over sockets on Linux only"
)

WORKERS = 2


def _port(service: Service) -> int:
    port = urlsplit(service.base).port
    assert port is not None
    return port


def _workers(service: Service, port: int) -> list[psutil.Process]:
    """The serving process's children that hold a socket on the port (not, say, a
    resource tracker of multiprocessing)."""
    return [
        child
        for child in psutil.Process(service.process.pid).children()
        if any(c.laddr and c.laddr.port == port for c in child.net_connections("tcp"))
    ]


def _listening(process: psutil.Process, port: int) -> set[str]:
    """The listening sockets the process holds on the port, each as the kernel names it
    (`socket:[inode]`): a socket inherited by several processes has one name in all."""
    return {
        os.readlink(f"/proc/{process.pid}/fd/{c.fd}")
        for c in process.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    }


@contextmanager
def _service(database_url: str, directory: Path) -> Iterator[Service]:
    """The service once every worker listens: it is ready as soon as one does."""
    with served_for_tests(database_url, directory, WORKERS=str(WORKERS)) as service:
        port, deadline = _port(service), time.monotonic() + 60
        while len(_workers(service, port)) < WORKERS:
            assert time.monotonic() < deadline, "a worker never listened"
            time.sleep(0.1)
        yield service


def test_each_worker_listens_on_a_socket_of_its_own(database_url: str, tmp_path: Path):
    with _service(database_url, tmp_path) as service:
        port = _port(service)
        workers = _workers(service, port)
        assert len(workers) == WORKERS
        sockets = [_listening(worker, port) for worker in workers]
        assert all(len(held) == 1 for held in sockets), sockets
        assert len(set.union(*sockets)) == WORKERS, "the workers share one socket"
        assert not _listening(psutil.Process(service.process.pid), port)


def test_connections_are_dealt_over_every_worker(database_url: str, tmp_path: Path):
    with _service(database_url, tmp_path) as service, ExitStack() as open_connections:
        port = _port(service)
        for _ in range(64):
            connection = open_connections.enter_context(
                socket.create_connection(("127.0.0.1", port))
            )
            connection.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            assert connection.recv(65536).startswith(b"HTTP/1.1 200 ")
        held = {
            worker.pid: sum(
                c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
                for c in worker.net_connections("tcp")
            )
            for worker in _workers(service, port)
        }
        # By a hash of each connection's addresses: all 64 on one worker has odds of 2^-63.
        assert sum(held.values()) == 64
        assert all(count > 0 for count in held.values()), held


def test_a_second_server_on_the_port_is_refused(
    database_url: str, direct_database_url: str, tmp_path: Path
):
    # The second one straight to PostgreSQL (not through PgBouncer, which TEST_PGBOUNCER
    # puts before database_url): it checks the database before the port.
    (tmp_path / "first").mkdir()
    with _service(database_url, tmp_path / "first") as service:
        port = _port(service)
        second = subprocess.run(
            [CLI, "serve"],
            env={
                **os.environ,
                "DATABASE_URL": direct_database_url,
                "JWT_SECRET": TEST_JWT_SECRET,
                "DATA_DIR": str(tmp_path),
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "WORKERS": str(WORKERS),
            },
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert second.returncode == 1, second.stderr
        assert second.stderr.strip().splitlines()[-1] == (
            f"todo-api serve: PORT: cannot listen on 127.0.0.1:{port}: Address already in use"
        )
        assert len(_workers(service, port)) == WORKERS
