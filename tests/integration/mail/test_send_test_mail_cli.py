"""`todo-api send-test-mail`, run as a user runs it, against a real SMTP server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import trustme

from tests.integration.processes import CLI
from tests.postgres import free_port
from tests.smtp_server import (
    CREDENTIALS,
    PASSWORD,
    USER,
    Authenticator,
    smtp_server,
)


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    unset = {"DATABASE_URL", "APP_ENV", "SMTP_URL", "MAIL_FROM", "SSL_CERT_FILE"}
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [CLI, "send-test-mail", *args],
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_it_sends_one_message_and_says_so():
    with smtp_server() as inbox:
        result = _run(
            "--to",
            "ada@example.com",
            SMTP_URL=f"smtp://127.0.0.1:{inbox.port}",
            MAIL_FROM="Todo <no-reply@todo.example>",
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "sent to ada@example.com\n"
    [received] = inbox.messages
    assert received.rcpt_tos == ["ada@example.com"]
    message = received.parsed()
    assert message["From"] == "Todo <no-reply@todo.example>"
    assert "mail delivery works" in message.get_body(("plain",)).get_content()
    assert "mail delivery works" in message.get_body(("html",)).get_content()


def test_it_sends_over_starttls_with_auth(ca: trustme.CA, server_tls, tmp_path: Path):
    auth = Authenticator()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    options = {"tls_context": server_tls, "require_starttls": True, "auth_required": True}
    with smtp_server(authenticator=auth, **options) as inbox:
        result = _run(
            "--to",
            "ada@example.com",
            SMTP_URL=f"smtp://{CREDENTIALS}@127.0.0.1:{inbox.port}",
            SSL_CERT_FILE=str(ca_file),  # the system trust store, as far as the CLI knows
        )
    assert result.returncode == 0, result.stderr
    assert auth.attempts == [(USER.encode(), PASSWORD.encode())]
    assert [(m.tls, m.authenticated) for m in inbox.messages] == [(True, True)]


def test_a_failure_is_one_line_exit_1_and_no_password():
    url = f"smtp://{CREDENTIALS}@127.0.0.1:{free_port()}"  # nothing listens there
    result = _run("--to", "ada@example.com", SMTP_URL=url)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("todo-api send-test-mail: SMTPConnectError: ")
    assert "s3cr" not in result.stderr


def test_a_malformed_url_is_one_line_exit_1_and_no_password():
    result = _run("--to", "ada@example.com", SMTP_URL="smtp://u:hun/ter2@mail.example.com")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "todo-api send-test-mail: SMTP_URL is malformed; expected "
        "smtp[s]://[user:password@]host[:port], user and password percent-encoded"
    ]


def test_without_smtp_url_it_says_so_and_exits_2():
    result = _run("--to", "ada@example.com")
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["todo-api send-test-mail: SMTP_URL is not set"]
