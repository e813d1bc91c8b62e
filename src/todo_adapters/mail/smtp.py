"""SmtpMailer: delivers over SMTP, configured by one URL.

    smtp://host[:25]                   plain local relay (STARTTLS when the server offers it)
    smtp://user:password@host[:25]     STARTTLS required before AUTH: never creds in clear
    smtps://user:password@host[:465]   implicit TLS (user and password optional)

User and password are percent-encoded in the URL (`p%40ss` for `p@ss`)."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from todo_adapters.mail.errors import UndeliverableMailError
from todo_core.ports import Mailer, MailMessage

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
DEFAULT_TIMEOUT_S = 10.0
_URL_FORM = "smtp[s]://[user:password@]host[:port], user and password percent-encoded"


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to connect; parsed from SMTP_URL by `parse_smtp_url`."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    implicit_tls: bool = False

    @property
    def start_tls(self) -> bool | None:
        """True (required) when credentials would travel over a plain connection; None
        (aiosmtplib's default: upgrade if the server offers it) for a local relay."""
        if self.implicit_tls:
            return False
        return True if self.username is not None else None


def parse_smtp_url(url: str) -> SmtpServer:
    """The server an SMTP_URL names. Raises ValueError saying what is wrong; the message
    never repeats the URL, whose password it would leak."""
    try:
        parts = urlsplit(url.strip())
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:  # a bad port, or a password with an unencoded ':' '/' '#' '?'
        raise ValueError(f"SMTP_URL is malformed; expected {_URL_FORM}") from None
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"SMTP_URL scheme must be smtp or smtps, not {scheme or '(none)'!r}")
    if not host:
        raise ValueError(f"SMTP_URL has no host; expected {_URL_FORM}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"SMTP_URL has a path, query or fragment; expected {_URL_FORM}")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if (username is None) != (password is None):
        raise ValueError("SMTP_URL needs both a user and a password, or neither")
    return SmtpServer(
        host=host,
        port=port or DEFAULT_PORTS[scheme],
        username=username,
        password=password,
        implicit_tls=scheme == "smtps",
    )


def sender_address(mail_from: str) -> str:
    """The bare address in MAIL_FROM ('Todo <no-reply@example.com>'). Raises ValueError."""
    _, address = parseaddr(mail_from)
    local, at, domain = address.rpartition("@")
    if not (local and at and domain) or "\n" in mail_from or "\r" in mail_from:
        raise ValueError(
            f"MAIL_FROM must be an address like 'Todo <no-reply@example.com>', not {mail_from!r}"
        )
    return address


def build_email(message: MailMessage, mail_from: str, domain: str) -> EmailMessage:
    """A multipart/alternative message: the plain text, then the HTML version."""
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(datetime.now(UTC))
    email["Message-ID"] = make_msgid(domain=domain)  # domain given: no DNS lookup per message
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    return email


class SmtpMailer(Mailer):
    def __init__(
        self,
        smtp_url: str,
        mail_from: str,
        *,
        tls_context: ssl.SSLContext | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """Raises ValueError for a malformed SMTP_URL or MAIL_FROM. `tls_context`: whom
        to trust (default: the system's CAs, hostname checked)."""
        self._server = parse_smtp_url(smtp_url)
        self._from = mail_from
        self._envelope_from = sender_address(mail_from)
        self._domain = self._envelope_from.rpartition("@")[2]
        self._tls_context = tls_context
        self._timeout_s = timeout_s

    @property
    def server(self) -> SmtpServer:
        return self._server

    async def send(self, message: MailMessage) -> None:
        """Deliver now. Raises UndeliverableMailError when the server refuses the message
        for good; aiosmtplib's SMTPException, OSError or TimeoutError for anything else
        (server down, TLS or AUTH failure, timeout: worth another try)."""
        try:
            email = build_email(message, self._from, self._domain)
        except (ValueError, TypeError) as exc:  # e.g. a line break in a header
            raise UndeliverableMailError(f"cannot encode the message: {exc}") from exc
        server = self._server
        try:
            # aiosmtplib's timeout bounds each step; this one bounds the whole exchange.
            async with asyncio.timeout(self._timeout_s * 3):
                await aiosmtplib.send(
                    email,
                    sender=self._envelope_from,
                    recipients=[message.to],
                    hostname=server.host,
                    port=server.port,
                    username=server.username,
                    password=server.password,
                    use_tls=server.implicit_tls,
                    start_tls=server.start_tls,
                    tls_context=self._tls_context,
                    timeout=self._timeout_s,
                )
        except aiosmtplib.SMTPNotSupported as exc:
            # E.g. a non-ASCII address and a server without SMTPUTF8: no retry can help.
            raise UndeliverableMailError(f"not supported by the server: {exc}") from exc
        except aiosmtplib.SMTPException as exc:
            if _permanent(exc):
                raise UndeliverableMailError(f"refused by the server: {exc}") from exc
            raise


def _permanent(exc: aiosmtplib.SMTPException) -> bool:
    """A refusal for good (a 5xx reply) of the sender, a recipient or the message. A
    refused login is not one: it is the configuration's, and may be fixed meanwhile."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(refusal.code >= 500 for refusal in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return False
    return isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 500
