"""Wait for a condition that another task or thread makes true."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(condition: Callable[[], object], within_s: float = 5.0) -> None:
    """Return once `condition()` is true; TimeoutError after `within_s` seconds."""
    async with asyncio.timeout(within_s):
        # Polling: the condition is set by code (a mailer, a server thread) with no event.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
