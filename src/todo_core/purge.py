"""Deleting expired rows without holding locks for long."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from todo_core.ports import UnitOfWork, UnitOfWorkFactory

PURGE_BATCH: Final = 1000


async def purge_in_batches(
    uow_factory: UnitOfWorkFactory, purge: Callable[[UnitOfWork], Awaitable[int]]
) -> int:
    """Run `purge` (which deletes at most PURGE_BATCH rows) in one short transaction after
    another until a batch comes back short; how many rows went in all."""
    purged = 0
    while True:
        async with uow_factory() as uow:
            deleted = await purge(uow)
            await uow.commit()
        purged += deleted
        if deleted < PURGE_BATCH:
            return purged
