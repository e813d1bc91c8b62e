"""RetryingOutbox on a scripted mailer, with short backoffs: ordering, retries, giving up,
the bounded queue, hooks and stop(). The real-time runs against a real SMTP server are in
tests/integration/mail/test_mail_delivery.py."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from structlog.testing import capture_logs

from tests.eventually import eventually
from tests.outbox_tally import Tally
from todo_adapters.mail.errors import UndeliverableMailError
from todo_adapters.mail.outbox import Backoff, OutboxHooks, RetryingOutbox
from todo_core.ports import Mailer, MailMessage

FAST = Backoff(first_s=0.05, factor=2, cap_s=0.2, jitter=0.1)


def message(to: str = "ada@example.com") -> MailMessage:
    return MailMessage(to=to, subject="Reset", text="token=SECRET-TOKEN", html="<p>SECRET</p>")


class ScriptedMailer(Mailer):
    """Fails for the addresses in `down` (all of them while `everything_down`), refuses
    those in `refused` for good, takes `delay_s` per send, records what it delivered."""

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self.attempts: Counter[str] = Counter()
        self.down: set[str] = set()
        self.refused: set[str] = set()
        self.everything_down = False
        self.delay_s = 0.0

    async def send(self, message: MailMessage) -> None:
        self.attempts[message.to] += 1
        await asyncio.sleep(self.delay_s)
        if message.to in self.refused:
            raise UndeliverableMailError("550 no such user")
        if self.everything_down or message.to in self.down:
            raise ConnectionRefusedError("connection refused")
        self.delivered.append(message.to)


@pytest.fixture
def mailer() -> ScriptedMailer:
    return ScriptedMailer()


@pytest.fixture
def tally() -> Tally:
    return Tally()


@pytest.fixture
async def outbox(mailer: ScriptedMailer, tally: Tally) -> AsyncIterator[RetryingOutbox]:
    box = RetryingOutbox(mailer, give_up_after=30, hooks=tally.hooks(), backoff=FAST)
    await box.start()
    yield box
    await box.stop(timeout_s=1)


async def test_a_posted_message_is_sent_in_the_background(outbox, mailer, tally):
    outbox.post(message())
    assert mailer.delivered == []  # post() only queues
    await eventually(lambda: tally.sent == 1)
    assert mailer.delivered == ["ada@example.com"]
    assert outbox.pending == 0


async def test_a_failed_send_is_retried_with_backoff_until_it_succeeds(outbox, mailer, tally):
    mailer.everything_down = True
    outbox.post(message())
    await eventually(lambda: mailer.attempts["ada@example.com"] >= 3)
    mailer.everything_down = False
    await eventually(lambda: tally.sent == 1)
    assert tally.retries == mailer.attempts["ada@example.com"] - 1
    assert tally.failed == []


def test_the_backoff_doubles_up_to_its_cap_with_a_little_jitter():
    backoff = Backoff(first_s=1, factor=2, cap_s=60, jitter=0.1)
    for failures, base in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (30, 60)]:
        assert base * 0.9 <= backoff.delay(failures) <= base * 1.1


async def test_a_failing_message_does_not_hold_up_the_next(outbox, mailer, tally):
    mailer.down = {"broken@example.com"}
    outbox.post(message("broken@example.com"))
    outbox.post(message("ada@example.com"))
    await eventually(lambda: mailer.delivered == ["ada@example.com"], within_s=0.5)
    assert mailer.attempts["broken@example.com"] >= 1
    assert outbox.pending == 1  # still retrying


async def test_a_message_older_than_give_up_after_is_dropped(mailer, tally):
    mailer.everything_down = True
    box = RetryingOutbox(mailer, give_up_after=0.3, hooks=tally.hooks(), backoff=FAST)
    await box.start()
    box.post(message())
    await eventually(lambda: tally.failed == ["expired"])
    attempts = mailer.attempts["ada@example.com"]
    assert 1 <= attempts <= 5  # about 3; fewer on a machine slow enough to lag
    await asyncio.sleep(0.3)
    assert mailer.attempts["ada@example.com"] == attempts  # no attempt after giving up
    assert (box.pending, tally.sent) == (0, 0)
    assert await box.stop(timeout_s=1) == 0


async def test_a_message_that_waited_too_long_in_the_queue_is_not_sent(mailer, tally):
    box = RetryingOutbox(mailer, give_up_after=0.05, hooks=tally.hooks(), backoff=FAST)
    box.post(message())
    await asyncio.sleep(0.1)  # posted before start(): it waits, and grows too old
    await box.start()
    await eventually(lambda: tally.failed == ["expired"])
    assert mailer.attempts["ada@example.com"] == 0
    await box.stop(timeout_s=1)


async def test_a_message_refused_for_good_is_not_retried(outbox, mailer, tally):
    mailer.refused = {"nobody@example.com"}
    outbox.post(message("nobody@example.com"))
    await eventually(lambda: tally.failed == ["rejected"])
    await asyncio.sleep(0.2)
    assert mailer.attempts["nobody@example.com"] == 1
    assert tally.retries == 0


async def test_a_full_queue_drops_new_messages_without_raising(mailer, tally):
    box = RetryingOutbox(mailer, give_up_after=30, hooks=tally.hooks(), max_queued=2)
    with capture_logs() as logs:
        for _ in range(5):
            box.post(message())  # not started: nothing drains the queue
    assert box.pending == 2
    assert tally.failed == ["queue_full"] * 3
    assert [e["event"] for e in logs] == ["mail.queue_full"]  # once, not once per message
    await box.start()
    await eventually(lambda: tally.sent == 2)
    await box.stop(timeout_s=1)


async def test_a_hook_that_raises_stops_nothing(mailer):
    def broken() -> None:
        raise RuntimeError("metrics are down")

    box = RetryingOutbox(mailer, give_up_after=30, hooks=OutboxHooks(on_sent=broken))
    await box.start()
    box.post(message())
    box.post(message("grace@example.com"))
    await eventually(lambda: len(mailer.delivered) == 2)
    assert await box.stop(timeout_s=1) == 0


async def test_stop_delivers_what_is_queued_then_drops_later_posts(mailer, tally):
    box = RetryingOutbox(mailer, give_up_after=30, hooks=tally.hooks())
    await box.start()
    for n in range(3):
        box.post(message(f"user{n}@example.com"))
    assert await box.stop(timeout_s=5) == 0
    assert len(mailer.delivered) == 3
    box.post(message())  # after stop: dropped, no exception
    assert tally.failed == ["shutdown"]
    assert box.pending == 0
    assert await box.stop(timeout_s=5) == 0  # a second stop has nothing to do


async def test_stop_gives_waiting_retries_one_last_attempt(mailer, tally):
    box = RetryingOutbox(mailer, give_up_after=600, hooks=tally.hooks())  # backoff 1 s, 2 s…
    await box.start()
    mailer.everything_down = True
    box.post(message())
    await eventually(lambda: tally.retries == 1)
    mailer.everything_down = False  # back up, but the retry is a second away
    assert await box.stop(timeout_s=0.5) == 0
    assert tally.sent == 1


async def test_stop_cancels_a_send_that_outlasts_its_timeout_and_counts_what_is_left(mailer, tally):
    mailer.delay_s = 10
    box = RetryingOutbox(mailer, give_up_after=600, hooks=tally.hooks())
    await box.start()
    box.post(message("slow@example.com"))
    box.post(message("next@example.com"))
    await eventually(lambda: mailer.attempts["slow@example.com"] == 1)
    with capture_logs() as logs:
        assert await box.stop(timeout_s=0.2) == 2
    assert tally.failed == ["shutdown", "shutdown"]
    assert {"event": "mail.outbox_stopped", "undelivered": 2, "log_level": "info"} in logs


async def test_no_log_event_carries_the_message(mailer, tally):
    mailer.everything_down = True
    box = RetryingOutbox(mailer, give_up_after=0.2, hooks=tally.hooks(), backoff=FAST)
    with capture_logs() as logs:
        await box.start()
        box.post(message())
        await eventually(lambda: tally.failed == ["expired"])
        mailer.everything_down = False
        box.post(message())
        await eventually(lambda: tally.sent == 1)
        await box.stop(timeout_s=1)
    events = {e["event"] for e in logs}
    assert {"mail.retry", "mail.given_up", "mail.sent", "mail.outbox_stopped"} <= events
    text = repr(logs)
    assert "SECRET" not in text
    assert "ada@example.com" not in text


async def test_a_hold_delays_the_first_attempt_into_its_range(mailer, tally):
    box = RetryingOutbox(mailer, give_up_after=30, hooks=tally.hooks(), hold_s=(0.3, 0.4))
    await box.start()
    try:
        posted = time.monotonic()
        box.post(message())
        await eventually(lambda: tally.sent == 1)
        assert 0.3 <= time.monotonic() - posted < 1.0
    finally:
        await box.stop(timeout_s=1)


async def test_one_recipient_cannot_fill_the_queue(mailer, tally):
    """Issue 23: mail to one address that keeps failing must not take the others' room."""
    mailer.down = {"flood@example.com"}
    box = RetryingOutbox(
        mailer, give_up_after=30, hooks=tally.hooks(), backoff=FAST, max_per_recipient=2
    )
    await box.start()
    for _ in range(50):
        box.post(message("flood@example.com"))
    box.post(message("ada@example.com"))
    assert box.pending == 3
    assert tally.failed == ["recipient_full"] * 48
    await eventually(lambda: mailer.delivered == ["ada@example.com"])
    mailer.down = set()
    await eventually(lambda: tally.sent == 3)
    box.post(message("flood@example.com"))  # its share is free again once delivered
    await eventually(lambda: tally.sent == 4)
    await box.stop(timeout_s=1)


async def test_a_recipient_refused_for_good_frees_its_share(mailer, tally):
    mailer.refused = {"gone@example.com"}
    box = RetryingOutbox(mailer, give_up_after=30, hooks=tally.hooks(), max_per_recipient=1)
    await box.start()
    box.post(message("gone@example.com"))
    await eventually(lambda: tally.failed == ["rejected"])
    box.post(message("gone@example.com"))
    await eventually(lambda: tally.failed == ["rejected", "rejected"])
    assert mailer.attempts["gone@example.com"] == 2
    await box.stop(timeout_s=1)


async def test_one_requester_cannot_fill_the_queue(mailer, tally):
    """Issue 23: one client asking for mail to many addresses whose mail keeps failing."""
    mailer.everything_down = True
    box = RetryingOutbox(
        mailer, give_up_after=30, hooks=tally.hooks(), backoff=FAST, max_per_requester=3
    )
    for n in range(10):
        box.post(message(f"victim{n}@attacker.example"), "203.0.113.7")
    box.post(message("ada@example.com"), "192.0.2.1")
    box.post(message("bob@example.com"))  # no requester named: not counted as one
    assert box.pending == 5
    assert tally.failed == ["requester_full"] * 7
    mailer.everything_down = False
    await box.start()
    await eventually(lambda: tally.sent == 5)
    box.post(message("victim9@attacker.example"), "203.0.113.7")  # its share is free again
    await eventually(lambda: tally.sent == 6)
    await box.stop(timeout_s=1)
