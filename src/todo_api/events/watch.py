"""Ending the streams whose login has ended (logout, a revoked session, a password change,
a deleted account) within a few seconds: one query every LOGIN_CHECK_S for the logins of
all this worker's open streams, however many, rather than one per stream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from todo_api.events.hub import StreamHub
from todo_api.observability.logging import get_logger
from todo_core.errors import StorageUnavailableError
from todo_core.stream_access import StreamAccess

log = get_logger("todo_api.events")

# A login that ends closes its streams within this and one query's time (the promise is 5 s).
LOGIN_CHECK_S = 2.0


async def end_streams_of_ended_logins(hub: StreamHub, access: StreamAccess) -> int:
    """One check; how many streams it ended."""
    sessions = {s.grant.session_id for s in hub if s.grant.session_id is not None}
    if not sessions:
        return 0
    ended = await access.ended(sessions)
    closing = [s for s in hub if s.grant.session_id in ended]
    for stream in closing:
        stream.end("login ended")
    return len(closing)


async def _every(hub: StreamHub, access: StreamAccess, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await end_streams_of_ended_logins(hub, access)
        except StorageUnavailableError:
            # The streams' own feed reads fail too and end them; nothing to add here.
            log.warning("events.login_check_skipped", reason="database unavailable")
        except Exception:
            log.exception("events.login_check_failed")


@contextlib.asynccontextmanager
async def login_watch(
    hub: StreamHub, access: StreamAccess, interval_s: float = LOGIN_CHECK_S
) -> AsyncIterator[None]:
    task = asyncio.create_task(_every(hub, access, interval_s), name="login-watch")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
