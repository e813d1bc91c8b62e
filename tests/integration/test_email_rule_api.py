"""Emails are ASCII addr-specs (issue 23, item 2): look-alike and invisible characters made
second accounts beside `carol@example.com`, whose reset mails could never be delivered.
Over HTTP on real PostgreSQL, with a real SMTP server (without SMTPUTF8) for the resets.
Accounts stored under the earlier rule keep working for login and reset."""

from __future__ import annotations

import asyncio

import bcrypt
import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr
from sqlalchemy import text

from tests.eventually import eventually
from tests.integration.conftest import register
from tests.integration.http import assert_problem, serving
from tests.postgres import free_port
from tests.smtp_server import smtp_server
from todo_api.app import create_app

PASSWORD = "correct horse"
LOOK_ALIKES = ["\uff43arol@example.com", "carol@example.com\u200b", "car\u200dol@example.com"]


@pytest.mark.parametrize("email", [*LOOK_ALIKES, "j\u00f6rg@example.com", "a..b@example.com"])
async def test_an_email_that_is_no_ascii_addr_spec_is_a_400_on_register_and_reset(client, email):
    await register(client, "carol@example.com", PASSWORD)
    refused = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    body = assert_problem(refused, 400)
    assert [e["field"] for e in body["errors"]] == ["email"]
    if not email.isascii():
        assert "ASCII" in body["errors"][0]["message"]
    reset = await client.post("/auth/password-reset", json={"email": email})
    assert_problem(reset, 400)


async def _legacy_account(engine, email: str) -> None:
    """A row stored before the rule, as the API then stored it."""
    password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (id, email, password_hash, created_at)"
                " VALUES (gen_random_uuid(), :email, :hash, now())"
            ),
            {"email": email, "hash": password_hash},
        )


async def test_an_account_stored_under_the_earlier_rule_still_logs_in(client, engine):
    legacy = LOOK_ALIKES[0]
    await _legacy_account(engine, legacy)
    login = await client.post("/auth/login", json={"email": legacy, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["email"] == legacy
    wrong = await client.post("/auth/login", json={"email": legacy, "password": "wrong pass"})
    assert wrong.status_code == 401


async def test_an_account_stored_under_the_earlier_rule_still_asks_for_a_reset(settings, engine):
    """The reset is accepted and tried once: the server cannot take the address (no
    SMTPUTF8), a refusal for good, never retried; mail to others still goes out."""
    legacy = LOOK_ALIKES[0]
    with smtp_server(enable_SMTPUTF8=False) as inbox:
        configured = settings.model_copy(
            update={"SMTP_URL": SecretStr(f"smtp://127.0.0.1:{inbox.port}")}
        )
        async with serving(create_app(configured)) as client:
            await _legacy_account(engine, legacy)
            await register(client, "carol@example.com", PASSWORD)
            accepted = await client.post("/auth/password-reset", json={"email": legacy})
            assert accepted.status_code == 202
            other = await client.post("/auth/password-reset", json={"email": "carol@example.com"})
            assert other.status_code == 202
            await eventually(lambda: len(inbox.messages) == 1, within_s=10)
            assert inbox.messages[0].rcpt_tos == ["carol@example.com"]
            await asyncio.sleep(2)  # a retry of the refused one would have come by now
            metrics = (await client.get("/metrics")).text
    assert 'auth_password_reset_mails_total{outcome="failed"} 1.0' in metrics, metrics
    assert len(inbox.messages) == 1


async def test_one_client_cannot_fill_the_mail_queue(settings):
    """While the mail server is down every reset mail waits to be retried: one client
    asking for 25 of them gets 20 queued (the rest dropped and counted as failed), and
    another client's still finds room."""
    configured = settings.model_copy(
        update={"SMTP_URL": SecretStr(f"smtp://127.0.0.1:{free_port()}")}  # nothing listens
    )
    app = create_app(configured)
    async with LifespanManager(app):
        flood = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 40000)),
            base_url="http://testserver",
        )
        other = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("192.0.2.1", 40000)),
            base_url="http://testserver",
        )
        async with flood, other:
            for n in range(25):
                await register(flood, f"owned{n}@attacker.example", PASSWORD)
                reset = await flood.post(
                    "/auth/password-reset", json={"email": f"owned{n}@attacker.example"}
                )
                assert reset.status_code == 202
            await register(other, "carol@example.com", PASSWORD)
            reset = await other.post("/auth/password-reset", json={"email": "carol@example.com"})
            assert reset.status_code == 202
            metrics = (await other.get("/metrics")).text
            assert app.state.container.mail_outbox().pending == 21
    assert 'auth_password_reset_mails_total{outcome="failed"} 5.0' in metrics
