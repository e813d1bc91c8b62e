"""LoggingMailer: for development without SMTP_URL. Each message becomes one log event,
text part included, so that a developer can follow the link it carries. Never in
production: the text holds secrets (a password reset token)."""

from __future__ import annotations

from typing import Any, Protocol

import structlog

from todo_core.ports import Mailer, MailMessage


class EventLogger(Protocol):
    def info(self, event: str, **fields: Any) -> Any: ...


class LoggingMailer(Mailer):
    def __init__(self, logger: EventLogger | None = None) -> None:
        self._log: EventLogger = logger or structlog.get_logger("todo_adapters.mail")

    async def send(self, message: MailMessage) -> None:
        """Logs `mail.logged` with to, subject and text; never raises."""
        self._log.info("mail.logged", to=message.to, subject=message.subject, text=message.text)
