"""Background upkeep that must never hold up a request: expired sessions, refresh tokens,
failed logins, reset requests, idempotency keys, event stream tickets and the change
feed's old deletions are deleted in small batches, on a timer, off the request path."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from todo_api.observability.logging import get_logger
from todo_core.errors import StorageUnavailableError

if TYPE_CHECKING:
    from todo_api.composition.container import Container

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


@contextlib.asynccontextmanager
async def purge_jobs(container: Container, interval_s: float) -> AsyncIterator[None]:
    """Every purge of expired rows, each on its own timer, while the block runs."""
    async with (
        periodic(
            interval_s,
            lambda: container.auth_service().purge_expired(),
            "maintenance.sessions_purged",
        ),
        periodic(
            interval_s,
            lambda: container.password_reset_service().purge_expired(),
            "maintenance.password_resets_purged",
        ),
        periodic(
            interval_s,
            lambda: container.task_service().purge_expired_idempotency_keys(),
            "maintenance.idempotency_keys_purged",
        ),
        periodic(
            interval_s,
            lambda: container.sync_service().purge_deletions(),
            "maintenance.deletions_purged",
        ),
        periodic(
            interval_s,
            lambda: container.stream_access().purge_expired(),
            "maintenance.event_tickets_purged",
        ),
    ):
        yield
