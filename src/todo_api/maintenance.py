"""Background upkeep that must never hold up a request: expired refresh tokens and
idempotency keys are deleted in small batches, on a timer, off the request path."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable

from todo_api.logging import get_logger
from todo_core.errors import StorageUnavailableError

log = get_logger("todo_api.maintenance")


async def _every(interval_s: float, job: Callable[[], Awaitable[int]], event: str) -> None:
    # Jitter spreads the workers of one deployment so they do not all purge at once.
    await asyncio.sleep(interval_s * random.uniform(0.1, 1.0))  # noqa: S311 - not security
    while True:
        try:
            if purged := await job():
                log.info(event, count=purged)
        except StorageUnavailableError:
            log.warning("maintenance.skipped", reason="database unavailable")
        except Exception:
            log.exception("maintenance.failed")
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def periodic(
    interval_s: float, job: Callable[[], Awaitable[int]], event: str
) -> AsyncIterator[None]:
    """Run `job` every `interval_s` seconds while the block runs; `event` logs what it did."""
    task = asyncio.create_task(_every(interval_s, job, event), name="maintenance")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
