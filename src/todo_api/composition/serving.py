"""Running uvicorn for `todo-api serve`: the socket bound first, one log line saying where
to open the API, and a non-zero exit when a worker cannot start (uvicorn's supervisor
stops then, but returns as if all went well)."""

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
        supervisor = Multiprocess(config, sockets=[sock])
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
