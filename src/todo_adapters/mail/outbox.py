"""RetryingOutbox: mail sent after the request, in the background, retried while the
mail server is down.

One worker task sends the messages one at a time, each when it is due. A message that
fails goes back with a due time of its own (exponential backoff with jitter), so it never
holds up the messages behind it; it is dropped once it would be older than
`give_up_after` (a reset link is useless after its TTL), or at once when the server
refuses it for good. The queue is bounded: past `max_queued`, new messages are dropped,
so a flood of requests cannot eat the memory; and one recipient has at most
`max_per_recipient` messages in it, one requester (the client address that asked for
them) at most `max_per_requester`, so that no one address, whose mail keeps failing or
who asks for mail to many addresses it controls, can take the room the others' mail
needs. Nothing here logs a message's text, subject or recipient (the text holds a reset
token)."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

from todo_adapters.mail.errors import UndeliverableMailError
from todo_core.ports import Mailer, MailMessage, MailOutbox


def _log() -> Any:
    # A logger looked up per event (they are rare), not one kept at import: a kept one is
    # fixed to the logging setup of its first use, which an app configured later, or a
    # test capturing events, would then not reach.
    return structlog.get_logger("todo_adapters.mail")


# Why a message was given up: too old to be of use, refused for good by the server, no
# room in the queue, its recipient's share of the queue taken, or still queued when the
# outbox stopped.
FailureReason = Literal[
    "expired", "rejected", "queue_full", "recipient_full", "requester_full", "shutdown"
]


def _nothing() -> None:
    pass


def _nothing_for(reason: FailureReason) -> None:
    pass


@dataclass(frozen=True, slots=True)
class OutboxHooks:
    """Called from the event loop once per message and outcome, e.g. to count them for
    metrics: `on_sent` when delivered, `on_retry` when a failed attempt is scheduled
    again, `on_failed(reason)` when the message is given up. A hook that raises is logged
    and otherwise ignored."""

    on_sent: Callable[[], None] = _nothing
    on_retry: Callable[[], None] = _nothing
    on_failed: Callable[[FailureReason], None] = _nothing_for


@dataclass(frozen=True, slots=True)
class Backoff:
    """The wait before attempt n+1 after n failed: first_s * factor**(n-1), capped, with
    ±jitter (a fraction) so that many messages do not retry in lockstep."""

    first_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 60.0
    jitter: float = 0.1

    def delay(self, failures: int) -> float:
        base = min(self.cap_s, self.first_s * self.factor ** (failures - 1))
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)  # noqa: S311 (not crypto)


@dataclass(slots=True)
class _Entry:
    message: MailMessage = field(repr=False)
    posted: float
    requester: str = field(default="", repr=False)
    failures: int = 0

    @property
    def shares(self) -> tuple[tuple[str, str], ...]:
        """The parts of the queue it takes room in: its recipient's, its requester's."""
        to = ("to", self.message.to)
        return (to, ("by", self.requester)) if self.requester else (to,)


class RetryingOutbox(MailOutbox):
    def __init__(
        self,
        mailer: Mailer,
        give_up_after: float,
        *,
        hooks: OutboxHooks | None = None,
        backoff: Backoff | None = None,
        max_queued: int = 10_000,
        max_per_recipient: int = 2,
        max_per_requester: int = 20,
        hold_s: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        """`give_up_after`: seconds after post() past which a message is dropped. `hold_s`:
        the first attempt comes a random time in this range after post(), so that sending
        never runs while the response of the request that posted it is being written, nor
        at a fixed time after it: a request that posts takes as long as one that does not."""
        self._mailer = mailer
        self._hold_s = hold_s
        self._give_up_after = give_up_after
        self._hooks = hooks or OutboxHooks()
        self._backoff = backoff or Backoff()
        self._max_queued = max_queued
        self._limits = {"to": max_per_recipient, "by": max_per_requester}
        # Messages not yet sent nor given up, per recipient and per requester.
        self._taken: dict[tuple[str, str], int] = {}
        self._due: list[tuple[float, int, _Entry]] = []  # a heap, earliest due first
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending: _Entry | None = None
        self._closing = False
        self._closed = False
        self._full = False
        self._shutdown_drops = 0

    @property
    def pending(self) -> int:
        """Messages not yet delivered nor given up (queued, waiting to retry, or sending)."""
        return len(self._due) + (self._sending is not None)

    def post(self, message: MailMessage, requester: str = "") -> None:
        """Queue the message; call from the event loop's thread. Never blocks, never
        raises: a message that finds the queue full, its recipient's or its requester's
        share of it taken, or the outbox stopped is dropped."""
        if self._closed:
            self._give_up("shutdown")
            return
        if len(self._due) >= self._max_queued:
            if not self._full:  # once per episode: a flood must not flood the log too
                _log().warning("mail.queue_full", max_queued=self._max_queued)
            self._full = True
            self._give_up("queue_full")
            return
        self._full = False
        now = time.monotonic()
        entry = _Entry(message, posted=now, requester=requester)
        for share in entry.shares:
            if self._taken.get(share, 0) >= self._limits[share[0]]:
                self._give_up("recipient_full" if share[0] == "to" else "requester_full")
                return
        for share in entry.shares:
            self._taken[share] = self._taken.get(share, 0) + 1
        hold = random.uniform(*self._hold_s) if self._hold_s[1] else 0.0  # noqa: S311 - not security
        self._push(now + hold, entry)

    async def start(self) -> None:
        """Start the worker (in the running event loop). Messages posted before start()
        wait for it."""
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._work(), name="mail-outbox")
            self._task.add_done_callback(_report_crash)

    async def stop(self, timeout_s: float = 10.0) -> int:
        """Give every message still queued one last attempt, backoff or not, for up to
        `timeout_s` seconds, then cancel the worker. Returns (and logs) how many were left
        undelivered (failed that last attempt, or never got it); each counts as failed
        ("shutdown"). Later posts are dropped."""
        if self._closed:
            return 0
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=timeout_s)
            if not self._task.done():
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        self._closed = True
        for _ in range(self.pending):
            self._give_up("shutdown")
        self._due.clear()
        self._taken.clear()
        self._sending = None
        _log().info("mail.outbox_stopped", undelivered=self._shutdown_drops)
        return self._shutdown_drops

    async def _work(self) -> None:
        while (entry := await self._next()) is not None:
            self._sending = entry  # still set if stop() cancels the send: it counts as left
            await self._attempt(entry)
            self._sending = None

    async def _next(self) -> _Entry | None:
        """The next message due, waiting for it; None once closing with nothing left."""
        while True:
            if self._closing:
                return heapq.heappop(self._due)[2] if self._due else None
            wait = self._due[0][0] - time.monotonic() if self._due else None
            if wait is not None and wait <= 0:
                return heapq.heappop(self._due)[2]
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def _attempt(self, entry: _Entry) -> None:
        if self._expired(entry, time.monotonic()):
            self._give_up("expired", entry)
            return
        try:
            await self._mailer.send(entry.message)
        except UndeliverableMailError as exc:
            self._give_up("rejected", entry, exc)
        except Exception as exc:  # any mailer, any failure: the next attempt may succeed
            self._retry(entry, exc)
        else:
            self._finished(entry)
            _log().info("mail.sent", attempts=entry.failures + 1)
            self._call(self._hooks.on_sent)

    def _finished(self, entry: _Entry) -> None:
        for share in entry.shares:
            left = self._taken.get(share, 0) - 1
            if left > 0:
                self._taken[share] = left
            else:
                self._taken.pop(share, None)

    def _retry(self, entry: _Entry, exc: Exception) -> None:
        entry.failures += 1
        if self._closing:
            self._give_up("shutdown", entry, exc)
            return
        delay = self._backoff.delay(entry.failures)
        due = time.monotonic() + delay
        if self._expired(entry, due):
            self._give_up("expired", entry, exc)
            return
        _log().warning(
            "mail.retry", attempt=entry.failures, retry_in_s=round(delay, 1), **_error(exc)
        )
        self._push(due, entry)
        self._call(self._hooks.on_retry)

    def _expired(self, entry: _Entry, at: float) -> bool:
        return at - entry.posted > self._give_up_after

    def _push(self, due: float, entry: _Entry) -> None:
        heapq.heappush(self._due, (due, next(self._order), entry))
        self._wake.set()

    def _give_up(
        self, reason: FailureReason, entry: _Entry | None = None, exc: Exception | None = None
    ) -> None:
        if reason == "shutdown":
            self._shutdown_drops += 1
        if entry is not None:
            self._finished(entry)
            errors = _error(exc) if exc is not None else {}
            _log().warning("mail.given_up", reason=reason, attempts=entry.failures, **errors)
        self._call(self._hooks.on_failed, reason)

    @staticmethod
    def _call(hook: Callable[..., None], *args: object) -> None:
        try:
            hook(*args)
        except Exception as exc:  # a metrics hook must not stop the mail
            _log().error("mail.hook_failed", hook=getattr(hook, "__name__", "?"), **_error(exc))


def _error(exc: Exception) -> dict[str, str]:
    # The class and the server's words; our mailers put no secret in their exceptions.
    return {"error": type(exc).__name__, "detail": str(exc)[:300]}


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        _log().error("mail.outbox_crashed", error=type(exc).__name__, detail=str(exc))
