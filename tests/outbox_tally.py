"""Counts what an outbox reports through its hooks, for the outbox tests."""

from __future__ import annotations

from todo_adapters.mail.outbox import FailureReason, OutboxHooks


class Tally:
    def __init__(self) -> None:
        self.sent = 0
        self.retries = 0
        self.failed: list[FailureReason] = []

    def hooks(self) -> OutboxHooks:
        return OutboxHooks(
            on_sent=self.on_sent, on_retry=self.on_retry, on_failed=self.failed.append
        )

    def on_sent(self) -> None:
        self.sent += 1

    def on_retry(self) -> None:
        self.retries += 1
