"""A worker's open event streams, and the one listener connection that wakes them.

The listener hears a user's id when that user's tasks change (from any worker of any
instance); every stream of that user here is woken and reads the feed from where it
stands. Each stream also holds one of the user's MAX_STREAMS_PER_USER slots, locked on the
listener's connection, so the limit holds across workers and instances, and a slot frees
itself when its worker dies. When the listener comes back after a drop, every stream is
woken (notifications sent meanwhile were lost: the feed has them) and its slot is locked
again; a stream whose slot another worker took meanwhile ends, its client reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterator
from typing import Protocol
from uuid import UUID

from todo_api.observability.logging import get_logger
from todo_core.errors import StreamsClosedError, TooManyStreamsError
from todo_core.stream_access import StreamGrant

log = get_logger("todo_api.events")

Slot = tuple[UUID, int]


class Listener(Protocol):
    @property
    def connected(self) -> bool: ...

    async def start(
        self, on_notify: Callable[[str], None], on_connected: Callable[[], Awaitable[None]]
    ) -> None: ...

    async def stop(self) -> None: ...

    async def take_slot(
        self, user_id: UUID, limit: int, held: Collection[int], *, watch: bool
    ) -> int | None:
        """The first free slot of the user's `limit` (`held`: those this worker holds), now
        locked; None when all are taken. With `watch`, the user is watched from now on
        (writes notify), unless no slot was free. StorageUnavailableError while the
        connection is down."""

    async def release_slot(self, user_id: UUID, slot: int | None, *, last: bool) -> None:
        """Give the slot back (None: none to give); with `last`, stop watching the user."""

    async def retake(self, slots: Collection[Slot]) -> set[Slot]:
        """Lock the slots again on a new connection; those that could not be come back."""


class LiveStream:
    """One open stream's place in the hub: what wakes it and what ends it."""

    __slots__ = ("_wake", "ended", "epoch", "grant", "slot")

    def __init__(self, grant: StreamGrant, slot: int, epoch: int) -> None:
        self.grant = grant
        self.slot = slot
        self.epoch = epoch  # the listener connection its slot is locked on
        self.ended: str | None = None
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
        self._wake.set()

    async def woken(self, within_s: float) -> bool:
        """Wait until woken (or ended), for at most `within_s`; whether it was. The wake is
        consumed: one that comes while the caller reads the feed wakes the next wait."""
        if not self._wake.is_set():
            try:
                await asyncio.wait_for(self._wake.wait(), within_s)
            except TimeoutError:
                return False
        self._wake.clear()
        return True


class StreamHub:
    def __init__(self, listener: Listener, max_per_user: int) -> None:
        self._listener = listener
        self._max_per_user = max_per_user
        self._streams: dict[UUID, dict[int, LiveStream]] = {}
        # The users whose watch the listener's connection holds, once each.
        self._watched: set[UUID] = set()
        # Slots and watches are taken, given back and locked again one at a time, so that
        # this worker never offers a slot it is about to hold (its locks are re-entrant),
        # and a user's watch goes with the last stream that is here when it is given back.
        self._slots = asyncio.Lock()
        self._epoch = 0
        self._releases: set[asyncio.Task[None]] = set()
        self.accepting = True

    async def start(self) -> None:
        await self._listener.start(self._heard, self._reconnected)

    async def stop(self) -> None:
        self.end_all("shutdown")
        if self._releases:
            await asyncio.gather(*self._releases, return_exceptions=True)
        await self._listener.stop()

    def __iter__(self) -> Iterator[LiveStream]:
        return (s for streams in list(self._streams.values()) for s in list(streams.values()))

    async def join(self, grant: StreamGrant) -> LiveStream:
        """A stream for the grant's user, in a slot of theirs. TooManyStreamsError when
        all are taken; StreamsClosedError while this worker cannot listen or is stopping."""
        if not self.accepting or not self._listener.connected:
            raise StreamsClosedError()
        user = grant.user_id
        async with self._slots:
            # A stream that left (leave() does not wait for this lock) is not in `held`
            # while its release waits: its slot may be locked again here (counted twice,
            # the release brings it back to one), and the user stays in _watched until
            # that release finds no stream of theirs here.
            held = list(self._streams.get(user, {}))
            watch = user not in self._watched
            slot = await self._listener.take_slot(user, self._max_per_user, held, watch=watch)
            if slot is None:
                raise TooManyStreamsError(self._max_per_user)
            if watch:
                self._watched.add(user)
            stream = LiveStream(grant, slot, self._epoch)
            self._streams.setdefault(user, {})[slot] = stream
        return stream

    def leave(self, stream: LiveStream) -> None:
        """Forget the stream and give its slot back. Synchronous, for a stream's `finally`
        under cancellation (a client gone): the unlock goes on in the background."""
        user = stream.grant.user_id
        mine = self._streams.get(user, {})
        if mine.get(stream.slot) is not stream:
            return
        del mine[stream.slot]
        if not mine:
            del self._streams[user]
        release = asyncio.create_task(self._release(stream))
        self._releases.add(release)
        release.add_done_callback(self._releases.discard)

    async def _release(self, stream: LiveStream) -> None:
        user = stream.grant.user_id
        async with self._slots:
            # A lock of an earlier connection went with it; unlocking on the new one would
            # free a slot that another stream here may hold by now. The watch is the
            # connection's, whichever stream took it: whether this was the user's last
            # stream is known only now (a stream may have joined since this one left).
            slot = stream.slot if stream.epoch == self._epoch else None
            last = user in self._watched and user not in self._streams
            if slot is None and not last:
                return
            await self._listener.release_slot(user, slot, last=last)
            if last:
                self._watched.discard(user)

    def end_all(self, reason: str) -> None:
        """End every stream and take no more (shutdown: clients reconnect elsewhere)."""
        self.accepting = False
        for stream in self:
            stream.end(reason)

    def _heard(self, payload: str) -> None:
        try:
            user = UUID(payload)
        except ValueError:
            return
        for stream in self._streams.get(user, {}).values():
            stream.wake()

    async def _reconnected(self) -> None:
        async with self._slots:
            self._epoch += 1
            self._watched.clear()  # The watches went with the old connection.
            # Those here now: one that leaves during the retake gives back what it retook.
            streams = list(self)
            held = [(s.grant.user_id, s.slot) for s in streams]
            try:
                lost = await self._listener.retake(held)
            except Exception:
                # The new connection went too: the next one tries again.
                log.warning("events.slots_not_retaken", streams=len(held))
                return
            self._watched.update(user for user, _ in held)
            for stream in streams:
                if (stream.grant.user_id, stream.slot) in lost:
                    stream.end("slot taken")  # the old epoch: that slot is not ours to unlock
                else:
                    stream.epoch = self._epoch
                stream.wake()
        if held:
            log.info("events.listener_reconnected", streams=len(held), ended=len(lost))
