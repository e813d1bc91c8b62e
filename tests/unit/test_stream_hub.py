"""A worker's stream hub against a listener that counts its locks as PostgreSQL does: a
session's advisory locks are re-entrant, each taken once per lock call and given back once
per unlock, and all of them go with the session. A stream may leave (synchronously, from
its `finally`) while another stream of the same user joins, or while the listener's new
connection takes the slots again; nothing may fail, each slot lock is held once per open
stream, and the user is watched exactly while one of their streams is open here."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Coroutine
from typing import Any, TypeVar
from uuid import UUID, uuid4

from todo_api.events.hub import LiveStream, Slot, StreamHub
from todo_core.stream_access import StreamGrant

T = TypeVar("T")


class CountingListener:
    """One session's locks: slot locks and watches, counted; `elsewhere`, the slots
    another worker holds."""

    connected = True

    def __init__(self) -> None:
        self.slots: Counter[Slot] = Counter()
        self.watches: Counter[UUID] = Counter()
        self.elsewhere: set[Slot] = set()
        self.wrong: list[str] = []  # what no session could do (an unlock of nothing)
        self.taking: asyncio.Event | None = None  # set: a take_slot or retake is under way
        self.go_on: asyncio.Event | None = None  # which waits for it
        self._connected: Callable[[], Awaitable[None]] | None = None

    async def start(
        self, on_notify: Callable[[str], None], on_connected: Callable[[], Awaitable[None]]
    ) -> None:
        self._connected = on_connected

    async def reconnect(self) -> None:
        """A new session: the old one's locks are gone."""
        self.slots.clear()
        self.watches.clear()
        assert self._connected is not None
        await self._connected()

    async def _round_trip(self) -> None:
        if self.taking is not None and self.go_on is not None:
            self.taking.set()
            await self.go_on.wait()

    async def during_round_trip(
        self, call: Coroutine[Any, Any, T], meanwhile: Callable[[], None]
    ) -> T:
        """`call`'s result, `meanwhile` run while its first query is on the wire."""
        self.taking, self.go_on = asyncio.Event(), asyncio.Event()
        started = asyncio.create_task(call)
        await self.taking.wait()
        meanwhile()
        self.go_on.set()
        return await started

    async def stop(self) -> None:
        return None

    async def take_slot(
        self, user_id: UUID, limit: int, held: Collection[int], *, watch: bool
    ) -> int | None:
        free = [n for n in range(limit) if n not in held and (user_id, n) not in self.elsewhere]
        if not free:
            return None
        await self._round_trip()
        if watch:
            self.watches[user_id] += 1
        self.slots[(user_id, free[0])] += 1  # this session's own lock: taken again
        return free[0]

    async def release_slot(self, user_id: UUID, slot: int | None, *, last: bool) -> None:
        if slot is not None:
            self._unlock(self.slots, (user_id, slot))
        if last:
            self._unlock(self.watches, user_id)

    def _unlock(self, locks: Counter[Any], key: Any) -> None:
        if locks[key] == 0:
            self.wrong.append(f"unlocked {key!r}, not held")
        else:
            locks[key] -= 1

    async def retake(self, slots: Collection[Slot]) -> set[Slot]:
        for user in {user for user, _ in slots}:
            self.watches[user] += 1
        await self._round_trip()
        lost = {slot for slot in slots if slot in self.elsewhere}
        for slot in set(slots) - lost:
            self.slots[slot] += 1
        return lost

    def held(self, user_id: UUID) -> int:
        return sum(n for (user, _), n in self.slots.items() if user == user_id)


def _grant(user_id: UUID) -> StreamGrant:
    return StreamGrant(user_id, uuid4(), None)


def _hub(max_per_user: int) -> tuple[CountingListener, StreamHub, UUID]:
    listener = CountingListener()
    return listener, StreamHub(listener, max_per_user=max_per_user), uuid4()


async def _settled(hub: StreamHub) -> None:
    """Until the slots given back in the background are back."""
    while hub._releases:
        await asyncio.gather(*hub._releases)


async def _all_given_back(
    hub: StreamHub, listener: CountingListener, user: UUID, *streams: LiveStream
) -> None:
    """The streams leave: then the user holds no watch and no slot, and nothing was
    unlocked twice."""
    for stream in streams:
        hub.leave(stream)
    await _settled(hub)
    assert (listener.watches[user], listener.held(user)) == (0, 0)
    assert listener.wrong == []


async def test_a_stream_leaving_while_another_of_its_user_joins():
    listener, hub, user = _hub(3)
    first = await hub.join(_grant(user))
    # Its client went away while the next stream asks for a slot.
    second = await listener.during_round_trip(hub.join(_grant(user)), lambda: hub.leave(first))
    await _settled(hub)
    assert list(hub) == [second]
    assert listener.watches[user] == 1, "the open stream's user must stay watched"
    assert listener.held(user) == 1
    await _all_given_back(hub, listener, user, second)


async def test_a_stream_joining_before_the_one_that_left_gave_its_slot_back():
    listener, hub, user = _hub(1)
    first = await hub.join(_grant(user))
    hub.leave(first)
    second = await hub.join(_grant(user))  # the only slot, taken again before it is freed
    await _settled(hub)
    assert second.slot == first.slot
    assert listener.watches[user] == 1
    assert listener.held(user) == 1
    await _all_given_back(hub, listener, user, second)


async def test_streams_of_one_user_share_one_watch():
    listener, hub, user = _hub(3)
    streams = [await hub.join(_grant(user)) for _ in range(3)]
    assert sorted(s.slot for s in streams) == [0, 1, 2]
    assert listener.watches[user] == 1
    for stream in streams:
        hub.leave(stream)
        await _settled(hub)
        assert listener.watches[user] == (1 if list(hub) else 0)
    assert listener.held(user) == 0
    assert listener.wrong == []


async def test_a_user_whose_streams_all_left_is_watched_again_by_the_next():
    listener, hub, user = _hub(3)
    # Two releases waiting, no stream left: one watch to give back.
    await _all_given_back(hub, listener, user, *[await hub.join(_grant(user)) for _ in range(2)])
    again = await hub.join(_grant(user))
    assert listener.watches[user] == 1
    await _all_given_back(hub, listener, user, again)


async def test_a_stream_leaving_while_a_new_connection_takes_the_slots_again():
    listener, hub, user = _hub(3)
    await hub.start()
    stream = await hub.join(_grant(user))
    # During the retake, which takes its slot and watch again.
    await listener.during_round_trip(listener.reconnect(), lambda: hub.leave(stream))
    await _all_given_back(hub, listener, user)


async def test_a_slot_lost_at_a_reconnect_is_not_unlocked_for_the_stream_that_lost_it():
    listener, hub, user = _hub(1)
    await hub.start()
    lost = await hub.join(_grant(user))
    listener.elsewhere.add((user, lost.slot))  # taken by another worker while we were away
    await listener.reconnect()
    assert lost.ended == "slot taken"
    listener.elsewhere.clear()  # and given back
    hub.leave(lost)
    newer = await hub.join(_grant(user))  # before the one that lost it has given it back
    await _settled(hub)
    assert newer.slot == lost.slot
    assert listener.held(user) == 1, "the newer stream's slot must stay locked"
    assert listener.watches[user] == 1
    await _all_given_back(hub, listener, user, newer)
