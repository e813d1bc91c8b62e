"""First come, first served admission to the connection pool.

SQLAlchemy's async pool waits on an asyncio.Queue, which is not fair under saturation: a
connection coming back goes to whichever coroutine asks next, and a woken waiter that finds
the queue emptied again goes to the back of the line. Measured at 100 connections: p50 17 ms
but p95 2 s, and pool-timeout 503s, while newcomers went first. asyncio.Semaphore hands
slots over in arrival order, so with at most `capacity` units of work admitted the pool
itself never has a waiter."""

from __future__ import annotations

import asyncio

from todo_core.errors import StorageUnavailableError


class PoolGate:
    def __init__(self, capacity: int, timeout_s: float, max_waiting: int) -> None:
        self._slots = asyncio.Semaphore(capacity)
        self._timeout_s = timeout_s
        self._max_waiting = max_waiting
        self._waiting = 0

    async def enter(self) -> None:
        """Wait for a slot in arrival order; 503 at once when the line is already full
        (shedding beats queueing work that would time out anyway), or after the timeout."""
        if self._slots.locked() and self._waiting >= self._max_waiting:
            raise StorageUnavailableError()
        self._waiting += 1
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._slots.acquire()
        except TimeoutError:
            raise StorageUnavailableError() from None
        finally:
            self._waiting -= 1

    def leave(self) -> None:
        self._slots.release()

    @property
    def waiting(self) -> int:
        return self._waiting
