"""Failed-login throttling: per email (registered or not, alike) and per client address,
over a sliding window. Only failures count: a refused (throttled) attempt neither counts
nor extends the block, so nobody can hold an account locked with one request a window.
An attempt counts as a failure from the moment it starts (until it succeeds), and the
attempts for one email take turns to count, so that a burst of attempts sent at once
cannot pass the limit: the limit is exact."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

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

    async def attempt(self, uow: UnitOfWork, email_key: str, client: Client) -> None:
        """Count a login attempt as a failure from now on (a success clears the email's
        count); raise LoginThrottledError, with when to retry, if the email or the address
        already had too many failures within the window. A refused attempt is withdrawn:
        it neither counts nor extends the block."""
        policy, now = self._policy, self._clock.now()
        attempt_id, limiting = await uow.login_failures.attempt(
            email_key,
            client.address,
            now,
            now - policy.window,
            policy.max_failures,
            policy.max_failures_per_address,
        )
        held = [
            (t, scope)
            for t, scope in ((limiting.email, "email"), (limiting.address, "address"))
            if t
        ]
        if held:
            await uow.login_failures.withdraw(attempt_id)
            oldest, scope = max(held)
            until = oldest + policy.window
            raise LoginThrottledError(max(1, math.ceil((until - now).total_seconds())), scope)

    async def purge(self, uow: UnitOfWork, batch_size: int) -> int:
        return await uow.login_failures.purge_older(
            self._clock.now() - self._policy.window, batch_size
        )
