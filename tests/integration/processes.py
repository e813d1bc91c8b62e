"""The service as a real process (`todo-api serve`), for tests that need HTTP over a
socket, signals or several processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.postgres import free_port

# The secret every test server signs with.
TEST_JWT_SECRET = "integration-test-secret-of-at-least-32-bytes"

CLI = str(Path(sys.executable).with_name("todo-api"))


@dataclass
class Service:
    base: str
    process: subprocess.Popen[bytes]

    def connect(self, timeout: float = 10) -> socket.socket:
        """A raw socket to the service, for requests written byte by byte."""
        host, port = self.base.removeprefix("http://").split(":")
        return socket.create_connection((host, int(port)), timeout=timeout)


@contextmanager
def served(
    env: dict[str, str],
    log: Path,
    ready_within: float = 60,
    port: int | None = None,
    host: str = "127.0.0.1",
) -> Iterator[Service]:
    """Start `todo-api serve` with this environment (PORT is chosen here), yield it once
    ready, and stop it with SIGTERM (unless the test did), which must end it cleanly."""
    port = port or free_port()
    # No drain unless a test asks for one: every stop would wait for it.
    environment = {
        **os.environ,
        "SHUTDOWN_DRAIN_SECONDS": "0",
        **env,
        "HOST": host,
        "PORT": str(port),
    }
    with log.open("ab") as sink:
        # A file, not a pipe: an unread pipe fills up and stalls the server.
        process = subprocess.Popen(
            [CLI, "serve"], env=environment, stdout=subprocess.DEVNULL, stderr=sink
        )
    base = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + ready_within
        while not _ready(base):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the service did not become ready:\n{log.read_text()[-5000:]}")
            time.sleep(0.1)
        yield Service(base, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=30) == 0, log.read_text()[-5000:]
        finally:
            process.kill()
            process.wait()


@contextmanager
def served_for_tests(
    database_url: str, directory: Path, port: int | None = None, **extra: str
) -> Iterator[Service]:
    """`todo-api serve` on the tests' database (through PgBouncer when TEST_PGBOUNCER=1),
    with the tests' secret and a cheap bcrypt; its log in `directory`; on `port` if given
    (a service started again where its clients left it)."""
    env = {
        "DATABASE_URL": database_url,
        "DB_PGBOUNCER": os.environ.get("TEST_PGBOUNCER", "0"),
        "JWT_SECRET": TEST_JWT_SECRET,
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "WARNING",
        "DATA_DIR": str(directory),
        **extra,
    }
    with served(env, directory / "service.log", port=port) as service:
        yield service


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
