"""Live updates' parts of a worker, run with the app: the listener connection and its
hub, and the check that ends the streams of ended logins."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from todo_api.events.watch import login_watch

if TYPE_CHECKING:
    from todo_api.composition.container import Container


@contextlib.asynccontextmanager
async def live_updates(container: Container) -> AsyncIterator[None]:
    """Listening while the block runs; at its end every stream ends (shutdown)."""
    hub = container.stream_hub()
    await hub.start()
    try:
        async with login_watch(hub, container.stream_access()):
            yield
    finally:
        await hub.stop()
