"""A worker's stream hub against a listener that counts its locks as PostgreSQL does: a
session's advisory locks are re-entrant, each taken once per lock call and given back once
per unlock. A stream may leave (synchronously, from its `finally`) while another stream of
the same user is joining; neither may fail, and the user stays watched exactly while one of
their streams is open here."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from uuid import UUID, uuid4

from todo_api.events.hub import Slot, StreamHub
from todo_core.stream_access import StreamGrant


class CountingListener:
    """One session's locks: slot locks and watches, counted."""

    connected = True

    def __init__(self) -> None:
        self.slots: Counter[Slot] = Counter()
        self.watches: Counter[UUID] = Counter()
        self.taking: asyncio.Event | None = None  # set: a take_slot is under way
        self.go_on: asyncio.Event | None = None  # a take_slot waits for it

    async def start(
        self, on_notify: Callable[[str], None], on_connected: Callable[[], Awaitable[None]]
    ) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def take_slot(
        self, user_id: UUID, limit: int, held: Collection[int], *, watch: bool
    ) -> int | None:
        free = [n for n in range(limit) if n not in held]
        if not free:
            return None
        if self.taking is not None and self.go_on is not None:
            self.taking.set()
            await self.go_on.wait()  # the round trip, during which others run
        if watch:
            self.watches[user_id] += 1
        self.slots[(user_id, free[0])] += 1  # this session's own lock: taken again
        return free[0]

    async def release_slot(self, user_id: UUID, slot: int, *, last: bool) -> None:
        assert self.slots[(user_id, slot)] > 0
        self.slots[(user_id, slot)] -= 1
        if last:
            assert self.watches[user_id] > 0
            self.watches[user_id] -= 1

    async def retake(self, slots: Collection[Slot]) -> set[Slot]:
        return set()

    def held(self, user_id: UUID) -> int:
        return sum(n for (user, _), n in self.slots.items() if user == user_id)


def _grant(user_id: UUID) -> StreamGrant:
    return StreamGrant(user_id, uuid4(), None)


async def _settled(hub: StreamHub) -> None:
    """Until the slots given back in the background are back."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_stream_leaving_while_another_of_its_user_joins():
    listener, user = CountingListener(), uuid4()
    hub = StreamHub(listener, max_per_user=3)
    first = await hub.join(_grant(user))
    listener.taking, listener.go_on = asyncio.Event(), asyncio.Event()
    joining = asyncio.create_task(hub.join(_grant(user)))
    await listener.taking.wait()
    hub.leave(first)  # its client went away while the next stream asks for a slot
    listener.go_on.set()
    second = await joining
    await _settled(hub)
    assert list(hub) == [second]
    assert listener.watches[user] == 1, "the open stream's user must stay watched"
    assert listener.held(user) == 1
    hub.leave(second)
    await _settled(hub)
    assert listener.watches[user] == 0
    assert listener.held(user) == 0


async def test_a_stream_joining_before_the_one_that_left_gave_its_slot_back():
    listener, user = CountingListener(), uuid4()
    hub = StreamHub(listener, max_per_user=1)
    first = await hub.join(_grant(user))
    hub.leave(first)
    second = await hub.join(_grant(user))  # the only slot, taken again before it is freed
    await _settled(hub)
    assert second.slot == first.slot
    assert listener.watches[user] == 1
    assert listener.held(user) == 1
    hub.leave(second)
    await _settled(hub)
    assert (listener.watches[user], listener.held(user)) == (0, 0)


async def test_streams_of_one_user_share_one_watch():
    listener, user = CountingListener(), uuid4()
    hub = StreamHub(listener, max_per_user=3)
    streams = [await hub.join(_grant(user)) for _ in range(3)]
    assert sorted(s.slot for s in streams) == [0, 1, 2]
    assert listener.watches[user] == 1
    for stream in streams:
        hub.leave(stream)
        await _settled(hub)
        assert listener.watches[user] == (1 if list(hub) else 0)
    assert listener.held(user) == 0
