"""Background upkeep that must never hold up a request: expired refresh tokens are deleted
in small batches, on a timer, off the request path."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable

from todo_api.logging import get_logger
from todo_core.errors import StorageUnavailableError

log = get_logger("todo_api.maintenance")


async def _every(interval_s: float, job: Callable[[], Awaitable[int]]) -> None:
    # Jitter spreads the workers of one deployment so they do not all purge at once.
    await asyncio.sleep(interval_s * random.uniform(0.1, 1.0))  # noqa: S311 - not security
    while True:
        try:
            if purged := await job():
                log.info("maintenance.refresh_tokens_purged", count=purged)
        except StorageUnavailableError:
            log.warning("maintenance.skipped", reason="database unavailable")
        except Exception:
            log.exception("maintenance.failed")
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def periodic(interval_s: float, job: Callable[[], Awaitable[int]]) -> AsyncIterator[None]:
    task = asyncio.create_task(_every(interval_s, job), name="maintenance")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
