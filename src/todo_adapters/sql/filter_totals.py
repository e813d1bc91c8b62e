"""What a filtered list matched, kept until the user's next write.

A page's `total` counts every task its filters match. For a user of 100,000 tasks a
search or label matching 25,000-50,000 of them reads each one: about 18 ms of
PostgreSQL, where the page itself takes well under one (bench/results/issue20.md). A
person paging through a search, or a screen reloading its list, asks the same count
again and again, and it changes only when the user's tasks do.

Every write of a user's tasks takes the next number on their counter row, in its own
transaction (`change_seq`, migrations 0010 and 0013; the change feed's numbers). A count
taken in a snapshot where the row carries number n is therefore the count of every
snapshot where it carries n. The page statement sends the number of the count kept here
and reads the row in its own snapshot: still n, and it skips the count
(task_listing.py's `_filtered_count`). The total stays exact; a write costs the next page
one count, as before.

What breaks the rule breaks the change feed too: a DELETE on tasks written by hand (it
takes no number, docs/design.md), or a database brought back to an earlier point.

A filter with no count kept yet is counted by one page at a time per worker: the others
asking it meanwhile wait for that count, then skip their own. Without it, 100 connections
asking a big user's first search at once each counted 50,000 matches on a cold table,
past the statement timeout, and none was kept for over a minute (bench/results/issue20.md)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import NamedTuple


class Kept(NamedTuple):
    """A count, and the user's change number it was taken at."""

    seq: int
    total: int


class FilterTotals:
    """The most recently counted filters, at most `capacity` of them (one process's
    memory, about 200 bytes each; each worker keeps its own)."""

    def __init__(self, capacity: int = 8_192) -> None:
        self._capacity = capacity
        self._kept: OrderedDict[Hashable, Kept] = OrderedDict()
        self._counting: dict[Hashable, asyncio.Event] = {}

    def get(self, key: Hashable) -> Kept | None:
        found = self._kept.get(key)
        if found is not None:  # In use: the last to go.
            self._kept.move_to_end(key)
        return found

    @asynccontextmanager
    async def first(self, key: Hashable) -> AsyncIterator[Kept | None]:
        """The kept count, if any. With none, the caller counts (and gets None) unless
        another page of this worker is counting the filter already: then it waits for
        that page to finish and gets what it kept. (An empty page keeps nothing: the
        waiting ones then count too, all at once, as before.)"""
        found = self.get(key)
        if found is None and (counting := self._counting.get(key)) is not None:
            await counting.wait()
            found = self.get(key)
        if found is not None or key in self._counting:  # (Or counting alongside another.)
            yield found
            return
        done = self._counting[key] = asyncio.Event()
        try:
            yield None
        finally:  # Kept or failed, the waiting pages go on (one of them counts again).
            del self._counting[key]
            done.set()

    def settle(self, key: Hashable, sent: Kept | None, seq: int | None, counted: int | None) -> int:
        """The filter's total, from a page that was sent `sent` and read change number
        `seq`: what it counted, kept for the next page, or, where it counted nothing
        because `seq` was still `sent`'s, `sent`'s total. (`sent`, not what is kept now:
        another page may have replaced it meanwhile.)"""
        kept = self._kept
        if counted is None:
            assert sent is not None  # NULL only where the row still carried sent's number
            return sent.total
        if seq is None:  # No counter row: the user has no task to count.
            kept.pop(key, None)
            return counted
        kept[key] = Kept(seq, counted)
        kept.move_to_end(key)
        if len(kept) > self._capacity:
            kept.popitem(last=False)
        return counted


FILTER_TOTALS = FilterTotals()
