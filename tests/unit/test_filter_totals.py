"""The counts a worker keeps between a user's writes (filter_totals.py): each with the
change number it was taken at, the least recently used going first when full."""

from __future__ import annotations

import asyncio

from todo_adapters.sql.filter_totals import FilterTotals, Kept


def test_a_count_is_kept_with_its_number_and_stands_while_the_number_does():
    totals = FilterTotals()
    assert totals.settle("search", None, seq=7, counted=40) == 40
    sent = totals.get("search")
    assert sent == Kept(7, 40)
    # The page skipped the count (NULL): the total sent with it stands.
    assert totals.settle("search", sent, seq=7, counted=None) == 40
    # A write since: counted again, kept with the new number.
    assert totals.settle("search", sent, seq=8, counted=41) == 41
    assert totals.get("search") == Kept(8, 41)


def test_a_skipped_count_answers_what_was_sent_not_what_another_page_kept_since():
    totals = FilterTotals()
    totals.settle("search", None, seq=7, counted=40)
    sent = totals.get("search")
    totals.settle("search", sent, seq=8, counted=41)  # another page, after a write
    assert totals.settle("search", sent, seq=7, counted=None) == 40


def test_no_counter_row_keeps_nothing():
    totals = FilterTotals()
    totals.settle("search", None, seq=7, counted=40)
    assert totals.settle("search", None, seq=None, counted=0) == 0
    assert totals.get("search") is None


def test_the_least_recently_used_count_goes_first_when_full():
    totals = FilterTotals(capacity=2)
    for key in ("a", "b"):
        totals.settle(key, None, seq=1, counted=1)
    assert totals.get("a") is not None  # used: now the most recent
    totals.settle("c", None, seq=1, counted=1)
    assert (totals.get("a"), totals.get("b"), totals.get("c")) == (Kept(1, 1), None, Kept(1, 1))


async def test_pages_asking_a_filter_no_one_has_counted_wait_for_the_one_counting():
    totals, order = FilterTotals(), []

    async def page(name: str, counted: int) -> int | None:
        async with totals.first("search") as kept:
            order.append((name, kept))
            if kept is not None:
                return totals.settle("search", kept, seq=kept.seq, counted=None)
            await asyncio.sleep(0.01)  # the count
            return totals.settle("search", None, seq=7, counted=counted)

    results = await asyncio.gather(page("first", 40), page("second", 99), page("third", 99))
    assert results == [40, 40, 40]
    assert order == [("first", None), ("second", Kept(7, 40)), ("third", Kept(7, 40))]


async def test_when_the_count_fails_a_waiting_page_counts():
    totals = FilterTotals()

    async def failing() -> None:
        async with totals.first("search"):
            await asyncio.sleep(0.01)
            raise TimeoutError

    async def waiting() -> Kept | None:
        await asyncio.sleep(0)  # after the failing one has begun
        async with totals.first("search") as kept:
            totals.settle("search", None, seq=7, counted=40)
            return kept

    failed, kept = await asyncio.gather(failing(), waiting(), return_exceptions=True)
    assert isinstance(failed, TimeoutError)
    assert kept is None  # it counted, and kept what it counted
    assert totals.get("search") == Kept(7, 40)
