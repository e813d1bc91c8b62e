"""Two moves of a user's order at a time in this process, one of them to the top.

A move's UPDATE takes the user's order (their counter row) inside the server
(task_order.GAP_UNCHANGED). When many connections move one user's tasks at once, each
UPDATE queues for that row in PostgreSQL, and every hand-over of the row wakes and
re-queues the waiters through the server's lock manager: at one user of 100,000 tasks and
100 connections, about 13 backends waited for the row and one for the lock manager, and
PostgreSQL spent 2.5 times the CPU of a move of a small user. Queued here instead, a
worker sends the server up to two such UPDATEs per user at a time: with one, the row sat
free while the worker turned from one move's answer to the next move (one user of 100,000
tasks: 615 against 671 moves a second, p95 204 against 176 ms); with three, p95 grew again.
A move to the top reads its gap in its turn (tasks.SqlTaskRepository.set_position_in_gap),
and two of them in flight would read the same gap: they take TOP_TURNS too, after their
place, so that they keep their place in the queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class Turns:
    """Callers with the same key take turns, `places` at once, first come first served; a
    key nobody waits for holds no memory."""

    def __init__(self, places: int = 1) -> None:
        self.places = places
        self._queues: dict[Hashable, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[None]:
        places, callers = self._queues.get(key) or (asyncio.Semaphore(self.places), 0)
        self._queues[key] = (places, callers + 1)
        try:
            async with places:
                yield
        finally:
            places, callers = self._queues[key]
            if callers == 1:
                del self._queues[key]
            else:
                self._queues[key] = (places, callers - 1)


ORDER_TURNS = Turns(places=2)
TOP_TURNS = Turns()
