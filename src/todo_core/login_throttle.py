"""Failed-login throttling over a sliding window, counted three ways: an email from one
client address (the tight limit, so that guessing from one place stops soon), an email
from every address (a looser one, so that a distributed guesser stops too), and a client
address for every email. A login from a device its owner signed in on before (it presents
the device token that login returned) is exempt from both email limits: nobody can hold an
owner out of a device they have used, whatever fails elsewhere (OWASP's device cookies).

Only failures count: a refused (throttled) attempt neither counts nor extends the block.
An attempt counts as a failure from the moment it starts (until it succeeds), and the
attempts for one email or one address take turns to count, so that a burst of attempts
sent at once cannot pass a limit: the limits are exact."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from todo_core.domain import Client
from todo_core.errors import LoginThrottledError
from todo_core.ports import Clock, FailureLimits, UnitOfWork


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int = 10  # one email from one address
    max_failures_per_address: int = 100  # one address, every email
    window: timedelta = timedelta(seconds=900)
    max_failures_per_email: int = 100  # one email, every address


class LoginThrottle:
    def __init__(self, policy: ThrottlePolicy, clock: Clock) -> None:
        self._policy = policy
        self._clock = clock

    async def attempt(
        self, uow: UnitOfWork, email_key: str, client: Client, *, known_device: bool = False
    ) -> None:
        """Count a login attempt as a failure from now on (a success clears it); raise
        LoginThrottledError, with when to retry, if a count it falls under already had
        too many failures within the window. A refused attempt is withdrawn: it neither
        counts nor extends the block. `known_device`: the email's limits do not apply."""
        policy, now = self._policy, self._clock.now()
        limits = FailureLimits(
            pair=None if known_device else policy.max_failures,
            email=None if known_device else policy.max_failures_per_email,
            address=policy.max_failures_per_address,
        )
        attempt_id, limiting = await uow.login_failures.attempt(
            email_key, client.address, now, now - policy.window, limits
        )
        held = [
            (t, scope)
            for t, scope in (
                (limiting.pair, "email"),
                (limiting.email, "email_all_addresses"),
                (limiting.address, "address"),
            )
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
