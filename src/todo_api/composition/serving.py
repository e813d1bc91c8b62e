"""Running uvicorn for `todo-api serve`: the socket bound first, one log line saying where
to open the API, each worker listening on a socket of its own, and a non-zero exit when a
worker cannot start (uvicorn's supervisor stops then, but returns as if all went well)."""

from __future__ import annotations

import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from todo_api.composition.preflight import StartupError
from todo_api.observability.logging import get_logger

log = get_logger("todo_api.serve")


def run_server(config: uvicorn.Config) -> None:
    """Serve until stopped. Exits with uvicorn's STARTUP_FAILURE (3) when the server, or
    any worker, could not start: the worker has logged why (app.start_failed)."""
    sock = _bind(config.host, config.port)
    log_urls(sock, config.workers)
    if config.workers > 1:
        shared = _SocketPerWorker(sock) if _DEALS_OVER_SOCKETS else sock
        supervisor = Multiprocess(config, sockets=[shared])
        supervisor.run()
        if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
            print(
                "todo-api serve: a worker could not start (its reason is logged above)",
                file=sys.stderr,
            )
            sys.exit(STARTUP_FAILURE)
    else:
        config.load()
        uvicorn.Server(config).run(sockets=[sock])  # exits with STARTUP_FAILURE itself


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket (uvicorn's bind_socket, but a refusal names the settings)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError("PORT", f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


# Linux deals the connections of one address over the sockets listening on it with
# SO_REUSEPORT, by a hash of each connection's addresses; other systems may give them all
# to one socket.
_DEALS_OVER_SOCKETS = sys.platform == "linux"


class _SocketPerWorker(socket.socket):
    """The bound socket, closed here, that a worker receives as a socket of its own on the
    same address (SO_REUSEPORT). With one socket shared by all workers, whichever worker
    woke first accepted the connections waiting: of wrk's 100, one worker held 67, once 90,
    and one user's moves, a worker at a time, waited twice as long in it (p95 246 ms
    against 139 at 56/44). Bound and left to the parent, the check that the port is free
    and the port chosen for PORT=0 come before any worker starts."""

    def __init__(self, bound: socket.socket) -> None:
        super().__init__(bound.family, socket.SOCK_STREAM)
        self.address = bound.getsockname()[:2]
        bound.close()

    def __reduce__(self) -> tuple[object, ...]:
        return (_bind_beside_others, (self.family, self.address))


def _bind_beside_others(family: socket.AddressFamily, address: tuple[str, int]) -> socket.socket:
    """In a worker: its own socket on the address the parent bound (listening once its
    server starts)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def base_url(sock: socket.socket) -> str:
    """Where a browser on this machine reaches the socket: a wildcard address is shown as
    localhost, an IPv6 one in brackets."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):  # noqa: S104 (reading the address, not binding)
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def log_urls(sock: socket.socket, workers: int) -> None:
    base = base_url(sock)
    log.info(
        "app.listening",
        api=f"{base}/",
        docs=f"{base}/docs",
        redoc=f"{base}/redoc",
        health=f"{base}/health/ready",
        workers=workers,
    )
