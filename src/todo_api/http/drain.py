"""A graceful drain on SIGTERM, for served workers. A load balancer learns that an
instance is going away only from its health checks: so readiness answers 503 at once,
while the worker goes on accepting and serving for SHUTDOWN_DRAIN_SECONDS (longer than the
balancer's check interval), and only then does uvicorn's own shutdown run: it stops
listening, lets the requests in flight finish and exits 0. A second SIGTERM skips the
rest of the wait.

Long-lived responses (event streams) would hold that shutdown for ever: whatever is
registered with `on_stop` runs at the first SIGTERM (or SIGINT), so they end at once and
their clients reconnect elsewhere, while readiness already answers 503."""

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
        self._on_stop: list[Callable[[], None]] = []

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the event loop when the stop begins (SIGTERM or SIGINT)."""
        self._on_stop.append(callback)

    def _stopping(self, loop: asyncio.AbstractEventLoop) -> None:
        for callback in self._on_stop:
            loop.call_soon_threadsafe(callback)

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
            self._stopping(loop)
            # A signal handler runs between two bytecodes of whatever the loop was doing:
            # schedule through the loop's thread-safe entry, not on it directly.
            loop.call_soon_threadsafe(loop.call_later, self.seconds, shutdown, signum, None)

        interrupt: Any = signal.getsignal(signal.SIGINT)

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            # No drain on Ctrl-C, but the streams must still end for the server to stop.
            self._stopping(loop)
            if callable(interrupt):
                interrupt(signum, frame)

        def give_back() -> None:
            signal.signal(signal.SIGTERM, shutdown)
            signal.signal(signal.SIGINT, interrupt)

        signal.signal(signal.SIGTERM, on_sigterm)
        signal.signal(signal.SIGINT, on_sigint)
        return give_back
