"""A clock for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from todo_core.ports import Clock


class FixedClock(Clock):
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)
