"""SmtpMailer and RetryingOutbox against a real SMTP server: a plain relay, STARTTLS with
AUTH, implicit TLS, refusals, timeouts, and a server that is down for a while."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time

import aiosmtplib
import pytest

from tests.eventually import eventually
from tests.outbox_tally import Tally
from tests.postgres import free_port
from tests.smtp_server import (
    CREDENTIALS,
    PASSWORD,
    USER,
    Authenticator,
    smtp_server,
)
from todo_adapters.mail.errors import UndeliverableMailError
from todo_adapters.mail.outbox import RetryingOutbox
from todo_adapters.mail.smtp import SmtpMailer
from todo_core.ports import MailMessage

FROM = "Todo <no-reply@todo.example>"
MESSAGE = MailMessage(
    to="ada@example.com",
    subject="Reset your password ✓",
    text="Follow https://todo.example/reset?token=abc within the hour. Ça marche.\n",
    html='<p>Follow <a href="https://todo.example/reset?token=abc">this link</a>. Ça marche.</p>\n',
)


def test_the_credentials_in_the_url_decode_to_the_test_user():
    mailer = SmtpMailer(f"smtp://{CREDENTIALS}@127.0.0.1:1", FROM)
    assert (mailer.server.username, mailer.server.password) == (USER, PASSWORD)


async def test_a_plain_relay_gets_the_message_with_its_text_and_html_parts():
    with smtp_server() as inbox:
        await SmtpMailer(f"smtp://127.0.0.1:{inbox.port}", FROM).send(MESSAGE)
    [received] = inbox.messages
    assert received.mail_from == "no-reply@todo.example"
    assert received.rcpt_tos == ["ada@example.com"]
    assert not received.tls  # this relay offers no STARTTLS
    message = received.parsed()
    assert message["From"] == FROM
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == MESSAGE.subject
    assert message["Date"].datetime is not None
    assert message["Message-ID"].endswith("@todo.example>")
    assert message.get_body(("plain",)).get_content() == MESSAGE.text
    assert message.get_body(("html",)).get_content() == MESSAGE.html


async def test_a_relay_that_offers_starttls_gets_it(server_tls, client_tls):
    with smtp_server(tls_context=server_tls) as inbox:
        mailer = SmtpMailer(f"smtp://127.0.0.1:{inbox.port}", FROM, tls_context=client_tls)
        await mailer.send(MESSAGE)
    assert [m.tls for m in inbox.messages] == [True]


async def test_credentials_go_over_starttls(server_tls, client_tls):
    auth = Authenticator()
    options = {"tls_context": server_tls, "require_starttls": True, "auth_required": True}
    with smtp_server(authenticator=auth, **options) as inbox:
        url = f"smtp://{CREDENTIALS}@127.0.0.1:{inbox.port}"
        await SmtpMailer(url, FROM, tls_context=client_tls).send(MESSAGE)
    assert auth.attempts == [(USER.encode(), PASSWORD.encode())]
    [received] = inbox.messages
    assert (received.tls, received.authenticated) == (True, True)
    assert received.parsed().get_body(("plain",)).get_content() == MESSAGE.text


async def test_a_wrong_password_raises_and_sends_nothing(server_tls, client_tls):
    auth = Authenticator()
    options = {"tls_context": server_tls, "require_starttls": True, "auth_required": True}
    with smtp_server(authenticator=auth, **options) as inbox:
        url = f"smtp://{USER.replace('@', '%40')}:wrong@127.0.0.1:{inbox.port}"
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await SmtpMailer(url, FROM, tls_context=client_tls).send(MESSAGE)
    assert inbox.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_credentials_are_never_sent_to_a_server_without_starttls():
    auth = Authenticator()
    # This server would take AUTH in clear text; the mailer must refuse to offer it.
    options = {"auth_required": True, "auth_require_tls": False}
    with smtp_server(authenticator=auth, **options) as inbox:
        url = f"smtp://{CREDENTIALS}@127.0.0.1:{inbox.port}"
        with pytest.raises(aiosmtplib.SMTPException, match="STARTTLS"):
            await SmtpMailer(url, FROM).send(MESSAGE)
    assert auth.attempts == []
    assert inbox.messages == []


async def test_a_certificate_the_system_does_not_trust_is_refused(server_tls):
    auth = Authenticator()
    with smtp_server(tls_context=server_tls, require_starttls=True, authenticator=auth) as inbox:
        url = f"smtp://{CREDENTIALS}@127.0.0.1:{inbox.port}"
        with pytest.raises((aiosmtplib.SMTPException, ssl.SSLError)):
            await SmtpMailer(url, FROM).send(MESSAGE)  # no tls_context: the system's CAs
    assert auth.attempts == []
    assert inbox.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_smtps_speaks_tls_from_the_first_byte(server_tls, client_tls):
    auth = Authenticator()
    # auth_require_tls=False: aiosmtpd only counts STARTTLS as TLS; this whole link is TLS.
    options = {"ssl_context": server_tls, "auth_required": True, "auth_require_tls": False}
    with smtp_server(authenticator=auth, **options) as inbox:
        url = f"smtps://{CREDENTIALS}@127.0.0.1:{inbox.port}"
        await SmtpMailer(url, FROM, tls_context=client_tls).send(MESSAGE)
    assert auth.attempts == [(USER.encode(), PASSWORD.encode())]
    assert [(m.tls, m.authenticated) for m in inbox.messages] == [(True, True)]


async def test_a_refused_recipient_is_undeliverable():
    with smtp_server(refused=frozenset({"nobody@example.com"})) as inbox:
        mailer = SmtpMailer(f"smtp://127.0.0.1:{inbox.port}", FROM)
        with pytest.raises(UndeliverableMailError, match="550"):
            await mailer.send(MailMessage("nobody@example.com", "s", "t", "<p>h</p>"))
    assert inbox.messages == []


async def test_an_address_the_server_cannot_take_is_undeliverable_and_never_retried():
    """Issue 23: a non-ASCII address and a server without SMTPUTF8 (SMTPNotSupported) was
    retried for half an hour as if the server were down."""
    tally = Tally()
    with smtp_server(enable_SMTPUTF8=False) as inbox:
        mailer = SmtpMailer(f"smtp://127.0.0.1:{inbox.port}", FROM)
        look_alike = MailMessage("\uff43arol@example.com", "s", "t", "<p>h</p>")
        with pytest.raises(UndeliverableMailError, match="not supported"):
            await mailer.send(look_alike)
        outbox = RetryingOutbox(mailer, give_up_after=120, hooks=tally.hooks())
        await outbox.start()
        outbox.post(look_alike)
        await eventually(lambda: tally.failed == ["rejected"])
        await asyncio.sleep(1.5)  # the first retry would have come by now
        assert (tally.retries, outbox.pending) == (0, 0)
        await outbox.stop(timeout_s=1)
    assert inbox.messages == []


async def test_nothing_listening_raises():
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await SmtpMailer(f"smtp://127.0.0.1:{free_port()}", FROM).send(MESSAGE)


async def test_a_server_that_never_answers_times_out():
    with socket.socket() as silent:  # accepts connections (the backlog), never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"smtp://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await SmtpMailer(url, FROM, timeout_s=0.5).send(MESSAGE)
        assert time.monotonic() - started < 3


@pytest.mark.timeout(90)
async def test_the_outbox_delivers_once_a_server_down_at_first_comes_up():
    port, tally = free_port(), Tally()
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", FROM)
    outbox = RetryingOutbox(mailer, give_up_after=120, hooks=tally.hooks())  # default backoff
    await outbox.start()
    try:
        outbox.post(MESSAGE)  # nothing listens on the port yet
        await asyncio.sleep(10)
        assert (tally.sent, tally.failed) == (0, [])
        assert tally.retries >= 3  # at about 0, 1, 3 and 7 s
        with smtp_server(port=port) as inbox:
            await eventually(lambda: tally.sent == 1, within_s=40)  # next attempt: ~15 s
        assert [m.rcpt_tos for m in inbox.messages] == [["ada@example.com"]]
        assert inbox.messages[0].parsed().get_body(("plain",)).get_content() == MESSAGE.text
        assert tally.failed == []
    finally:
        assert await outbox.stop(timeout_s=5) == 0
    assert tally.sent == 1


@pytest.mark.timeout(30)
async def test_the_outbox_drops_a_message_older_than_give_up_after():
    tally = Tally()
    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", FROM)  # nothing listens there
    outbox = RetryingOutbox(mailer, give_up_after=2, hooks=tally.hooks())
    await outbox.start()
    try:
        outbox.post(MESSAGE)  # never raises
        await eventually(lambda: tally.failed == ["expired"], within_s=10)
        assert (tally.sent, outbox.pending) == (0, 0)
    finally:
        assert await outbox.stop(timeout_s=5) == 0
