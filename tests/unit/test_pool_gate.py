"""PoolGate: admission to the connection pool in arrival order, with shedding."""

from __future__ import annotations

import asyncio

import pytest

from todo_adapters.sql.gate import PoolGate
from todo_core.errors import StorageUnavailableError


async def test_a_released_slot_goes_to_the_first_waiter_not_to_whoever_asks_next() -> None:
    gate = PoolGate(capacity=1, timeout_s=5, max_waiting=100)
    await gate.enter()
    admitted: list[str] = []

    async def waiter(name: str) -> None:
        await gate.enter()
        admitted.append(name)
        gate.leave()

    waiters = [asyncio.create_task(waiter(f"waiter {n}")) for n in range(3)]
    await asyncio.sleep(0)
    # The holder leaves and at once asks again, before the woken waiter has run: with
    # asyncio.Queue (SQLAlchemy's pool) the holder would take the slot straight back.
    gate.leave()
    await gate.enter()
    admitted.append("newcomer")
    gate.leave()
    await asyncio.gather(*waiters)
    assert admitted == ["waiter 0", "waiter 1", "waiter 2", "newcomer"]


async def test_a_full_line_is_refused_at_once() -> None:
    gate = PoolGate(capacity=1, timeout_s=5, max_waiting=2)
    await gate.enter()
    waiting = [asyncio.create_task(gate.enter()) for _ in range(2)]
    await asyncio.sleep(0)
    assert gate.waiting == 2
    started = asyncio.get_running_loop().time()
    with pytest.raises(StorageUnavailableError):
        await gate.enter()
    assert asyncio.get_running_loop().time() - started < 0.05
    for _ in range(3):
        gate.leave()
    await asyncio.gather(*waiting)
    assert gate.waiting == 0


async def test_a_waiter_gives_up_after_the_timeout_and_frees_its_place() -> None:
    gate = PoolGate(capacity=1, timeout_s=0.05, max_waiting=1)
    await gate.enter()
    with pytest.raises(StorageUnavailableError):
        await gate.enter()
    assert gate.waiting == 0
    gate.leave()
    await asyncio.wait_for(gate.enter(), 1)
