"""A graceful drain on SIGTERM, for served workers. A load balancer learns that an
instance is going away only from its health checks: so readiness answers 503 at once,
while the worker goes on accepting and serving for SHUTDOWN_DRAIN_SECONDS (longer than the
balancer's check interval), and only then does uvicorn's own shutdown run: it stops
listening, lets the requests in flight finish and exits 0. A second SIGTERM skips the
rest of the wait."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from todo_api.observability.logging import get_logger

log = get_logger("todo_api.drain")


class Drain:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.draining = False

    def install(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        """Take over SIGTERM from the server (uvicorn installs its handler before the app
        starts); returns what puts the server's handler back."""
        shutdown: Any = signal.getsignal(signal.SIGTERM)
        if not callable(shutdown):
            return lambda: None

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            if self.draining:
                shutdown(signum, frame)
                return
            self.draining = True
            log.info("app.draining", seconds=self.seconds)
            # A signal handler runs between two bytecodes of whatever the loop was doing:
            # schedule through the loop's thread-safe entry, not on it directly.
            loop.call_soon_threadsafe(loop.call_later, self.seconds, shutdown, signum, None)

        def give_back() -> None:
            signal.signal(signal.SIGTERM, shutdown)

        signal.signal(signal.SIGTERM, on_sigterm)
        return give_back
