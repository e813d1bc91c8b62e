"""SMTP_URL and MAIL_FROM parsing, the MIME message, and the development LoggingMailer:
no network here (tests/integration/mail delivers to a real SMTP server)."""

from __future__ import annotations

import email
import traceback
from email import policy
from typing import Any

import pytest
from structlog.testing import capture_logs

from todo_adapters.mail.log_mailer import LoggingMailer
from todo_adapters.mail.smtp import (
    SmtpMailer,
    SmtpServer,
    build_email,
    parse_smtp_url,
    sender_address,
)
from todo_core.ports import MailMessage

MESSAGE = MailMessage(
    to="ada@example.com",
    subject="Réinitialiser votre mot de passe",
    text="Suivez ce lien : https://todo.example/reset?token=abc ✓\n",
    html='<p>Suivez <a href="https://todo.example/reset?token=abc">ce lien</a> ✓</p>\n',
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://localhost", SmtpServer("localhost", 25)),
        ("smtp://relay.internal:2525", SmtpServer("relay.internal", 2525)),
        ("smtps://mail.example.com", SmtpServer("mail.example.com", 465, implicit_tls=True)),
        (
            "smtp://me%40example.com:p%40ss%3Aw%2Frd@mail.example.com:587",
            SmtpServer("mail.example.com", 587, "me@example.com", "p@ss:w/rd"),
        ),
        (
            "SMTPS://u:pw@[::1]:4650/",
            SmtpServer("::1", 4650, "u", "pw", implicit_tls=True),
        ),
    ],
)
def test_the_url_names_host_port_credentials_and_tls(url: str, expected: SmtpServer):
    assert parse_smtp_url(url) == expected


def test_starttls_is_required_with_credentials_offered_without_and_off_with_implicit_tls():
    assert parse_smtp_url("smtp://u:pw@mail.example.com:587").start_tls is True
    assert parse_smtp_url("smtp://localhost").start_tls is None  # upgrade when offered
    assert parse_smtp_url("smtps://u:pw@mail.example.com").start_tls is False


def test_the_password_is_not_in_the_repr():
    server = parse_smtp_url("smtp://user:hunter2@mail.example.com:587")
    assert "hunter2" not in repr(server)
    assert "hunter2" not in repr(SmtpMailer("smtp://user:hunter2@mail.example.com", "a@b.c"))


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://user:hunter2@mail.example.com", "scheme must be smtp or smtps, not 'http'"),
        ("mail.example.com:25", "scheme must be smtp or smtps"),
        ("smtp://user:hunter2@", "no host"),
        ("smtp://user:hunter2@mail.example.com:port", "malformed"),
        ("smtp://user:hunter2@mail.example.com:99999", "malformed"),
        ("smtp://user:hun/ter2@mail.example.com", "malformed"),  # '/' not percent-encoded
        ("smtp://user:hun#ter2@mail.example.com", "malformed"),
        ("smtp://user:hunter2@mail.example.com/inbox", "path, query or fragment"),
        ("smtp://user:hunter2@mail.example.com?tls=1", "path, query or fragment"),
        ("smtp://hunter2@mail.example.com", "both a user and a password"),
    ],
)
def test_a_bad_url_is_a_clear_value_error_without_the_password(url: str, says: str):
    with pytest.raises(ValueError, match=says) as raised:
        SmtpMailer(url, "Todo <no-reply@example.com>")
    shown = "".join(traceback.format_exception(raised.value))
    assert "hunter2" not in shown
    assert "hun" not in str(raised.value)


@pytest.mark.parametrize("mail_from", ["", "no-reply", "Todo <>", "a@b.c\nBcc: x@y.z"])
def test_mail_from_must_be_an_address(mail_from: str):
    with pytest.raises(ValueError, match="MAIL_FROM must be an address"):
        SmtpMailer("smtp://localhost", mail_from)


def test_mail_from_may_carry_a_display_name():
    assert sender_address("Todo <no-reply@todo.example>") == "no-reply@todo.example"
    assert sender_address("no-reply@todo.example") == "no-reply@todo.example"


def test_the_message_has_the_headers_and_a_text_and_an_html_part():
    built = build_email(MESSAGE, "Todo <no-reply@todo.example>", "todo.example")
    parsed = email.message_from_bytes(built.as_bytes(), policy=policy.default)
    assert parsed["From"] == "Todo <no-reply@todo.example>"
    assert parsed["To"] == "ada@example.com"
    assert parsed["Subject"] == MESSAGE.subject
    assert parsed["Date"].datetime is not None
    assert parsed["Message-ID"].endswith("@todo.example>")
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content() == MESSAGE.text
    assert parsed.get_body(("html",)).get_content() == MESSAGE.html


class RecordingLogger:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))


async def test_the_logging_mailer_writes_one_event_with_the_text():
    logger = RecordingLogger()
    await LoggingMailer(logger).send(MESSAGE)
    assert logger.events == [
        ("mail.logged", {"to": MESSAGE.to, "subject": MESSAGE.subject, "text": MESSAGE.text})
    ]


async def test_the_logging_mailer_logs_through_structlog_by_default():
    with capture_logs() as logs:
        await LoggingMailer().send(MESSAGE)
    assert [(e["event"], e["to"], e["text"]) for e in logs] == [
        ("mail.logged", MESSAGE.to, MESSAGE.text)
    ]


def test_the_settings_keep_smtp_url_secret_and_default_to_a_valid_mail_from():
    from todo_api.settings import Settings

    settings = Settings(SMTP_URL="smtp://user:hunter2@mail.example.com:587")
    assert "hunter2" not in repr(settings)
    assert settings.SMTP_URL is not None
    assert parse_smtp_url(settings.SMTP_URL.get_secret_value()).password == "hunter2"
    assert sender_address(Settings.model_fields["MAIL_FROM"].default) == "no-reply@localhost"
