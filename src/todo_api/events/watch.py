"""Ending the streams whose login has ended (logout, a revoked session, a password change,
a deleted account) within a few seconds: one query every LOGIN_CHECK_S for the logins of
all this worker's open streams, however many, rather than one per stream."""

from __future__ import annotations

import contextlib

from todo_api.composition.jobs import periodic
from todo_api.events.hub import StreamHub
from todo_core.stream_access import StreamAccess

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


def login_watch(
    hub: StreamHub, access: StreamAccess, interval_s: float = LOGIN_CHECK_S
) -> contextlib.AbstractAsyncContextManager[None]:
    """The check every `interval_s` while the block runs (the maintenance jobs' timer)."""
    return periodic(
        interval_s, lambda: end_streams_of_ended_logins(hub, access), "events.login_ended"
    )
