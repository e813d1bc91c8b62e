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
takes no number, docs/design.md), or a database brought back to an earlier point."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
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

    def get(self, key: Hashable) -> Kept | None:
        found = self._kept.get(key)
        if found is not None:  # In use: the last to go.
            self._kept.move_to_end(key)
        return found

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
