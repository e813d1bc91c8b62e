"""A real SMTP server (aiosmtpd, in a thread of its own) that records what it receives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.postgres import free_port

USER, PASSWORD = "mailer@todo.example", "s3cr/t:p@ss"
CREDENTIALS = "mailer%40todo.example:s3cr%2Ft%3Ap%40ss"  # USER:PASSWORD, percent-encoded


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    authenticated: bool

    def parsed(self) -> EmailMessage:
        # SMTP carries CRLF line ends; a mail client reads them as line ends.
        message = message_from_bytes(self.content.replace(b"\r\n", b"\n"), policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


class Inbox:
    """The aiosmtpd handler: keeps every message; refuses the addresses in `refused`."""

    def __init__(self, refused: frozenset[str] = frozenset()) -> None:
        self.port = 0
        self.messages: list[Received] = []
        self.refused = refused

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
                tls,
                bool(session.authenticated),
            )
        )
        return "250 OK"


class Authenticator:
    """Accepts USER/PASSWORD and records every attempt, accepted or not."""

    def __init__(self) -> None:
        self.attempts: list[tuple[bytes, bytes]] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.attempts.append((data.login, data.password))
        ok = (data.login, data.password) == (USER.encode(), PASSWORD.encode())
        return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server(
    port: int | None = None, refused: frozenset[str] = frozenset(), **options: Any
) -> Iterator[Inbox]:
    """An SMTP server on 127.0.0.1 (on `port`, or a free one) for as long as the block
    runs. `options` go to aiosmtpd: tls_context (STARTTLS), ssl_context (implicit TLS),
    require_starttls, authenticator, auth_required, auth_require_tls."""
    inbox = Inbox(refused)
    inbox.port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
