"""One move of a user's order at a time in this process.

A move's UPDATE takes the user's order (their counter row) inside the server
(task_order.GAP_UNCHANGED). When many connections move one user's tasks at once, each
UPDATE queues for that row in PostgreSQL, and every hand-over of the row wakes and
re-queues the waiters through the server's lock manager: at one user of 100,000 tasks and
100 connections, about 13 backends waited for the row and one for the lock manager, and
PostgreSQL spent 2.5 times the CPU of a move of a small user. Queued here instead, a
worker sends the server one such UPDATE per user at a time (a move to the top reads its gap
in the turn too: tasks.SqlTaskRepository.set_position_in_gap)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class Turns:
    """Callers with the same key take turns, first come first served; a key nobody
    waits for holds no memory."""

    def __init__(self) -> None:
        self._queues: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[None]:
        lock, callers = self._queues.get(key) or (asyncio.Lock(), 0)
        self._queues[key] = (lock, callers + 1)
        try:
            async with lock:
                yield
        finally:
            lock, callers = self._queues[key]
            if callers == 1:
                del self._queues[key]
            else:
                self._queues[key] = (lock, callers - 1)


ORDER_TURNS = Turns()
