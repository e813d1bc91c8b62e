"""bcrypt password hashing, run in worker threads: one hash costs tens to hundreds of
milliseconds of CPU, which would otherwise stall every request on the event loop.

The threads are a pool of the hasher's own, as many as the worker's share of the cores:
with asyncio's default pool, every login in flight got a thread, and the event loop's
thread competed with all of them for the CPU, so task reads slowed down with every
concurrent login. More threads would not verify more passwords per second anyway."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any, TypeVar

import bcrypt

from todo_core.domain import PASSWORD_MAX_BYTES
from todo_core.ports import PasswordHasher

T = TypeVar("T")


def _cost_of(password_hash: str) -> int | None:
    # Modular crypt format: $2b$<cost>$<salt+digest>
    parts = password_hash.split("$")
    if len(parts) == 4 and parts[2].isdigit():
        return int(parts[2])
    return None


class BcryptPasswordHasher(PasswordHasher):
    def __init__(self, rounds: int, threads: int = 1) -> None:
        self._rounds = rounds
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bcrypt")

    async def _in_thread(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)

    @cached_property
    def _dummy_hash(self) -> bytes:
        return bcrypt.hashpw(b"dummy password for unknown users", bcrypt.gensalt(self._rounds))

    def _hash_sync(self, password: str) -> str:
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self._rounds)).decode()

    def _verify_sync(self, password: str, password_hash: bytes) -> bool:
        encoded = password.encode("utf-8", "surrogatepass")  # never raises; never matches
        if len(encoded) > PASSWORD_MAX_BYTES or b"\x00" in encoded:
            # Never stored, so never matches; still spend the time of a real check.
            bcrypt.checkpw(b"x", self._dummy_hash)
            return False
        try:
            return bcrypt.checkpw(encoded, password_hash)
        except ValueError:
            return False

    async def hash(self, password: str) -> str:
        return await self._in_thread(self._hash_sync, password)

    async def verify(self, password: str, password_hash: str) -> bool:
        return await self._in_thread(self._verify_sync, password, password_hash.encode())

    async def verify_dummy(self, password: str) -> None:
        await self._in_thread(self._verify_sync, password, self._dummy_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        cost = _cost_of(password_hash)
        return cost is None or cost < self._rounds
