"""Failed-login throttling: per email (registered or not, alike) and per client address,
over a sliding window. Only failures count: a refused (throttled) attempt neither counts
nor extends the block, so nobody can hold an account locked with one request a window."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from todo_core.domain import Client
from todo_core.errors import LoginThrottledError
from todo_core.ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int = 10
    max_failures_per_address: int = 100
    window: timedelta = timedelta(seconds=900)


class LoginThrottle:
    def __init__(self, policy: ThrottlePolicy, clock: Clock) -> None:
        self._policy = policy
        self._clock = clock

    async def check(self, uow: UnitOfWork, email_key: str, client: Client) -> None:
        """Raise LoginThrottledError, with when to retry, if the email or the address has
        had too many failures within the window."""
        policy, now = self._policy, self._clock.now()
        blocked = await uow.login_failures.blocked_until(
            email_key,
            client.address,
            now - policy.window,
            policy.window.total_seconds(),
            policy.max_failures,
            policy.max_failures_per_address,
        )
        scopes = _scopes(blocked.email, blocked.address)
        if scopes:
            until, scope = max(scopes)
            raise LoginThrottledError(max(1, math.ceil((until - now).total_seconds())), scope)

    async def failed(self, uow: UnitOfWork, email_key: str, client: Client) -> None:
        await uow.login_failures.record(email_key, client.address, self._clock.now())

    async def purge(self, uow: UnitOfWork, batch_size: int) -> int:
        return await uow.login_failures.purge_older(
            self._clock.now() - self._policy.window, batch_size
        )


def _scopes(email: datetime | None, address: datetime | None) -> list[tuple[datetime, str]]:
    return [(t, s) for t, s in ((email, "email"), (address, "address")) if t is not None]
