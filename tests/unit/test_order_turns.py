"""Moves of one user's order take turns in a process (order_turns.py): as many at a time
per key as there are places, in arrival order, other keys never waiting, and nothing kept
once nobody waits."""

from __future__ import annotations

import asyncio

import pytest

from todo_adapters.sql.order_turns import Turns


async def _take(turns: Turns, key: str, log: list[str], name: str, gate: asyncio.Event) -> None:
    async with turns.turn(key):
        log.append(f"{name} in")
        await gate.wait()
        log.append(f"{name} out")


async def test_one_key_one_at_a_time_in_arrival_order_other_keys_free() -> None:
    turns, log, gate = Turns(), [], asyncio.Event()
    tasks = [
        asyncio.create_task(_take(turns, key, log, name, gate))
        for key, name in (("ada", "a1"), ("ada", "a2"), ("bob", "b1"), ("ada", "a3"))
    ]
    await asyncio.sleep(0.01)
    assert log == ["a1 in", "b1 in"]
    gate.set()
    await asyncio.gather(*tasks)
    ada = [entry for entry in log if entry.startswith("a")]
    assert ada == ["a1 in", "a1 out", "a2 in", "a2 out", "a3 in", "a3 out"]
    assert turns._queues == {}


async def test_a_cancelled_or_failed_turn_leaves_the_queue_clean() -> None:
    turns, log, gate = Turns(), [], asyncio.Event()
    holder = asyncio.create_task(_take(turns, "ada", log, "a1", gate))
    waiter = asyncio.create_task(_take(turns, "ada", log, "a2", gate))
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.set()
    await holder
    with pytest.raises(RuntimeError):
        async with turns.turn("ada"):
            raise RuntimeError("the statement failed")
    assert log == ["a1 in", "a1 out"]
    assert turns._queues == {}


async def test_two_places_two_at_a_time_the_rest_in_arrival_order() -> None:
    turns, log, gates = Turns(places=2), [], [asyncio.Event() for _ in range(4)]
    tasks = [
        asyncio.create_task(_take(turns, "ada", log, f"a{i}", gate)) for i, gate in enumerate(gates)
    ]
    await asyncio.sleep(0.01)
    assert log == ["a0 in", "a1 in"]
    gates[1].set()
    await asyncio.sleep(0.01)
    assert log[2:] == ["a1 out", "a2 in"]
    gates[0].set()
    await asyncio.sleep(0.01)
    assert log[4:] == ["a0 out", "a3 in"]
    for gate in gates:
        gate.set()
    await asyncio.gather(*tasks)
    assert turns._queues == {}
