"""The in-memory failed-login repository."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import MutableMapping
from datetime import datetime

from todo_core.ports import FailureLimits, LimitingFailures, LoginFailureRepository


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    email_key: str
    address: str
    failed_at: datetime


class InMemoryLoginFailureRepository(LoginFailureRepository):
    _ids = itertools.count(1)

    def __init__(self, failures: MutableMapping[int, Failure]) -> None:
        self._failures = failures

    def _nth_newest(self, matches: list[Failure], limit: int | None) -> datetime | None:
        if limit is None:
            return None
        times = sorted((f.failed_at for f in matches), reverse=True)
        return times[limit - 1] if len(times) >= limit else None

    async def attempt(
        self, email_key: str, address: str, now: datetime, since: datetime, limits: FailureLimits
    ) -> tuple[int, LimitingFailures]:
        # No await before the insert: attempts on the one event loop take turns as it is.
        recent = [f for f in self._failures.values() if f.failed_at > since]
        of_email = [f for f in recent if f.email_key == email_key]
        found = LimitingFailures(
            email=self._nth_newest(of_email, limits.email),
            address=self._nth_newest([f for f in recent if f.address == address], limits.address),
            pair=self._nth_newest([f for f in of_email if f.address == address], limits.pair),
        )
        attempt_id = next(self._ids)
        self._failures[attempt_id] = Failure(email_key, address, now)
        return attempt_id, found

    async def withdraw(self, attempt_id: int) -> None:
        self._failures.pop(attempt_id, None)

    async def clear(self, email_key: str, address: str | None = None) -> None:
        doomed = [
            i
            for i, f in self._failures.items()
            if f.email_key == email_key and address in (None, f.address)
        ]
        for failure_id in doomed:
            del self._failures[failure_id]

    async def purge_older(self, before: datetime, batch_size: int) -> int:
        doomed = [i for i, f in self._failures.items() if f.failed_at < before][:batch_size]
        for failure_id in doomed:
            del self._failures[failure_id]
        return len(doomed)
