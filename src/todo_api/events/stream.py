"""One event stream, from its opening to its end.

Opening does everything that can fail with a status before the first byte: the caller's
identity (token or ticket), the resume token (400, or 410 once the feed no longer reaches
back to it), a slot (429). The stream joins the hub before it reads where it starts, so a
change that commits meanwhile wakes it: nothing falls between the start and the first
notification. Then, each time it is woken, it reads the feed after the last point it sent
(through the pool, for as long as the read takes) and sends one event per entry, each
with its own point as its id: whatever a client last received, it resumes right after it."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from todo_api.events import sse
from todo_api.events.hub import LiveStream, StreamHub
from todo_api.http.sync_tokens import SyncTokens
from todo_api.observability.logging import get_logger
from todo_api.routers.tasks.rendering import task_json
from todo_core.errors import DomainError, InvalidTokenError
from todo_core.feed import ChangePage, SyncPoint
from todo_core.ports import Clock, Principal
from todo_core.stream_access import StreamAccess, StreamGrant
from todo_core.sync import SyncService

log = get_logger("todo_api.events")

PAGE: Final = 500


@dataclass(frozen=True, slots=True)
class StreamAuth:
    """What the request showed: a verified access token, or a ticket (or neither)."""

    principal: Principal | None = None
    ticket: str | None = None


@dataclass(frozen=True, slots=True)
class Feed:
    sync: SyncService
    tokens: SyncTokens
    clock: Clock


class EventStreams:
    """The worker's entry to live updates: what GET /events calls."""

    def __init__(
        self, hub: StreamHub, access: StreamAccess, feed: Feed, heartbeat_s: float
    ) -> None:
        self._hub = hub
        self._access = access
        self._feed = feed
        self._heartbeat_s = heartbeat_s

    async def open(self, auth: StreamAuth, resume: str | None) -> AsyncGenerator[bytes]:
        """The stream's bytes. Raises before the first one: InvalidTokenError (401),
        ValidationError for a token not of this user (400), SyncTokenExpiredError (410),
        TooManyStreamsError (429), StreamsClosedError (503)."""
        grant = await self._grant(auth)
        user, feed = grant.user_id, self._feed
        since = feed.tokens.decode(user, resume, "Last-Event-ID") if resume else None
        live = await self._hub.join(grant)
        try:
            if since is None:
                return self._events(live, None, await feed.sync.now(user))
            first = await feed.sync.changes(user, since, PAGE)
            return self._events(live, first, since)
        except BaseException:
            self._hub.leave(live)
            raise

    async def _grant(self, auth: StreamAuth) -> StreamGrant:
        if auth.ticket is not None:
            return await self._access.redeem(auth.ticket)
        if auth.principal is None:
            raise InvalidTokenError("missing bearer token or ticket", token_sent=False)
        return await self._access.grant(auth.principal)

    async def _events(
        self, live: LiveStream, first: ChangePage | None, point: SyncPoint
    ) -> AsyncGenerator[bytes]:
        try:
            yield sse.RETRY
            if first is not None:
                yield self._page(live.grant.user_id, first)
                point = first.next
                if first.has_more:
                    live.wake()
            quiet_since = time.monotonic()
            while (wait := self._wait_s(live, quiet_since)) is not None:
                if not await live.woken(wait):
                    if self._expired(live.grant):
                        live.end("token expired")
                        break
                    yield sse.PING
                    quiet_since = time.monotonic()
                    continue
                if live.ended is not None or (read := await self._read(live, point)) is None:
                    break
                point, data = read
                if data:
                    yield data
                    quiet_since = time.monotonic()
            log.info("events.stream_ended", reason=live.ended)
        finally:
            self._hub.leave(live)

    def _expired(self, grant: StreamGrant) -> bool:
        return grant.expires_at is not None and grant.expires_at <= self._feed.clock.now()

    def _wait_s(self, live: LiveStream, quiet_since: float) -> float | None:
        """How long the stream may wait for news before it must send a heartbeat (or end at
        its token's expiry); None once it has ended."""
        if live.ended is not None:
            return None
        wait = self._heartbeat_s - (time.monotonic() - quiet_since)
        if live.grant.expires_at is not None:
            left = (live.grant.expires_at - self._feed.clock.now()).total_seconds()
            wait = min(wait, left)
        return max(wait, 0.0)

    async def _read(self, live: LiveStream, point: SyncPoint) -> tuple[SyncPoint, bytes] | None:
        """Every entry after `point`, as events; None when the feed cannot be read now (the
        stream ends: its client reconnects with its last id, nothing is lost)."""
        user, chunks = live.grant.user_id, []
        try:
            while True:
                page = await self._feed.sync.changes(user, point, PAGE)
                chunks.append(self._page(user, page))
                point = page.next
                if not page.has_more:
                    return point, b"".join(chunks)
        except DomainError as error:
            live.end(f"feed unavailable: {type(error).__name__}")
            return None

    def _page(self, user: UUID, page: ChangePage) -> bytes:
        issued_at = self._feed.clock.now()
        encode = self._feed.tokens.encode
        return b"".join(
            sse.event(encode(user, entry.point(issued_at)), sse.CHANGED, task_json(entry.task))
            if entry.task is not None
            else sse.event(
                encode(user, entry.point(issued_at)),
                sse.DELETED,
                b'{"id":"%s"}' % str(entry.task_id).encode(),
            )
            for entry in page.entries
        )
