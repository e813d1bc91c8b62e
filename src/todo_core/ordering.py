"""The manual order of a user's tasks: each task has a position, a string of base-36 digits,
and the order is the positions' byte order (PostgreSQL's "C" collation, Python's str).

A new task's position is the time it was created (microseconds, fixed width) followed by
its id: later tasks sort after earlier ones with no read of the others, so a create stays
one statement. A move writes only the moved task: its new position is a string strictly
between those of its new neighbours (fractional indexing), so no other task is renumbered.
Between any two distinct positions that do not end in the smallest digit there is always
another; no position made here ends in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

DIGITS: Final = "0123456789abcdefghijklmnopqrstuvwxyz"  # ascending in ASCII
_BASE: Final = len(DIGITS)
_TIME_WIDTH: Final = 11  # 36**11 microseconds: beyond year 6000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MIDDLE: Final = DIGITS[_BASE // 2]
# A move whose position would be longer than this respaces the tasks around the gap first
# (rare: keys grow by about one digit per five moves into one same gap).
POSITION_MAX_LENGTH: Final = 64
# The tasks respaced on each side of a worn gap, at first: a window grows fourfold while
# its new positions would be longer than RESPACED_MAX_LENGTH (the tasks at its edges lie
# in the worn part of the order too), up to the user's whole order.
RESPACE_EACH_SIDE: Final = 32
RESPACED_MAX_LENGTH: Final = POSITION_MAX_LENGTH // 2


def _base36(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, _BASE)
        digits.append(DIGITS[digit])
    return "".join(reversed(digits))


def time_key(now: datetime) -> str:
    """Sorts after every position made for an earlier time, before any made from now on."""
    micros = (now - _EPOCH) // timedelta(microseconds=1)
    return _base36(max(micros, 0), _TIME_WIDTH)


def end_position(now: datetime, task_id: UUID) -> str:
    """A new task's position: after every task created before it (the id breaks ties
    between tasks created in the same microsecond)."""
    return f"{time_key(now)}{task_id.hex}{_MIDDLE}"


def _midpoint(low: str, high: str | None) -> str:
    """A string strictly between `low` and `high` ("" is before everything, None after)."""
    if high is not None:
        common = 0
        while common < len(high) and (low[common] if common < len(low) else "0") == high[common]:
            common += 1
        if common:
            return high[:common] + _midpoint(low[common:], high[common:])
    digit_low = DIGITS.index(low[0]) if low else 0
    digit_high = DIGITS.index(high[0]) if high is not None else _BASE
    if digit_high - digit_low > 1:
        return DIGITS[(digit_low + digit_high + 1) // 2]
    if high is not None and len(high) > 1:
        return high[:1]
    return DIGITS[digit_low] + _midpoint(low[1:], None)


def _before(high: str) -> str:
    """A short string before `high`: its first digit other than the smallest, one lower
    (or, when that is the second smallest, the smallest and then the largest). Moving a
    task to the top again and again then lengthens positions by one digit every 35 moves,
    where the midpoint with "" did every five, and so wore the gap (and respaced the
    tasks around it) seven times as often."""
    first = len(high) - len(high.lstrip(DIGITS[0]))
    digit = DIGITS.index(high[first])
    if digit > 1:
        return high[:first] + DIGITS[digit - 1]
    return high[:first] + DIGITS[0] + DIGITS[-1]


def _upper_bound(low: str | None, high: str | None, now: datetime) -> str | None:
    """What positions after `low` stay below: `high`, checked to come after `low`; with no
    task after `low`, the positions of tasks created from `now` on, so that a new task still
    goes to the end (None: the clock is behind the last task's, and then anything after it
    will do)."""
    if high is None:
        ceiling = time_key(now)
        return ceiling if (low or "") < ceiling else None
    if low is not None and not low < high:
        raise ValueError(f"positions out of order: {low!r} !< {high!r}")
    return high


def position_between(low: str | None, high: str | None, now: datetime) -> str:
    """The position of a task moved between neighbours at `low` and `high` (None: no task
    on that side)."""
    high = _upper_bound(low, high, now)
    if high is None:
        return (low or "") + _MIDDLE
    if low is None:
        return _before(high)
    return _midpoint(low, high)


def spread_between(low: str | None, high: str | None, count: int, now: datetime) -> list[str]:
    """`count` ascending positions strictly between `low` and `high` (None: no task on that
    side; after the last task, below the positions of tasks created from `now` on), as
    short as the gap allows: each is the midpoint of the part of the gap left to it, so
    n positions take about log36(n) digits more than one would."""
    high = _upper_bound(low, high, now)
    found: list[str] = []
    _halve(low or "", high, count, found)
    return found


def _halve(low: str, high: str | None, count: int, found: list[str]) -> None:
    if count == 0:
        return
    middle = _midpoint(low, high)
    before = (count - 1) // 2
    _halve(low, middle, before, found)
    found.append(middle)
    _halve(middle, high, count - 1 - before, found)


@dataclass(frozen=True, slots=True)
class OrderWindow:
    """Some of a user's tasks on both sides of a gap in their order, in order: `before` of
    them before the gap; `low` and `high` are the positions of the nearest tasks outside the
    window (None: the window reaches that end of the order)."""

    low: str | None
    tasks: tuple[UUID, ...]
    before: int
    high: str | None

    @property
    def whole(self) -> bool:
        return self.low is None and self.high is None
