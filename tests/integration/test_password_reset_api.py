"""Password reset by mail over HTTP on real PostgreSQL, with a real SMTP server in-process
(aiosmtpd) reading what the service sends (issue 12)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import SecretStr
from sqlalchemy import text

from tests.eventually import eventually
from tests.integration.conftest import bearer, register
from tests.integration.http import assert_problem, serving
from tests.integration.statements import captured
from tests.postgres import free_port
from tests.smtp_server import Inbox, smtp_server
from todo_api.app import create_app

EMAIL, PASSWORD, NEW_PASSWORD = "carol@example.com", "correct horse", "battery staple"
RESET_URL = "https://app.example.com/reset-password"


@asynccontextmanager
async def _service(settings, port: int, **extra) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(
        update={
            "SMTP_URL": SecretStr(f"smtp://127.0.0.1:{port}"),
            "PASSWORD_RESET_URL": RESET_URL,
            **extra,
        }
    )
    async with serving(create_app(configured)) as client:
        yield client


def _token(inbox: Inbox, index: int = -1) -> str:
    text_part = inbox.messages[index].parsed().get_body(("plain",)).get_content()
    link = re.search(r"https://\S+", text_part).group(0)
    assert link.startswith(f"{RESET_URL}?token=")
    return parse_qs(urlsplit(link).query)["token"][0]


async def _request(client, email=EMAIL) -> httpx.Response:
    return await client.post("/auth/password-reset", json={"email": email})


async def _confirm(client, token, password=NEW_PASSWORD) -> httpx.Response:
    return await client.post(
        "/auth/password-reset/confirm", json={"token": token, "new_password": password}
    )


async def _login(client, password) -> httpx.Response:
    return await client.post("/auth/login", json={"email": EMAIL, "password": password})


async def test_a_reset_mail_arrives_and_its_link_works_once(settings):
    with smtp_server() as inbox:
        async with _service(settings, inbox.port) as client:
            other_device = await register(client, EMAIL, PASSWORD)
            accepted = await _request(client)
            assert accepted.status_code == 202
            assert accepted.headers["cache-control"] == "no-store"
            await eventually(lambda: inbox.messages, within_s=10)

            received = inbox.messages[0]
            assert received.rcpt_tos == [EMAIL]
            message = received.parsed()
            assert message["To"] == EMAIL
            assert message["Subject"] == "Reset your password"
            token = _token(inbox)
            html = message.get_body(("html",)).get_content()
            assert f'href="{RESET_URL}?token={token}"' in html

            confirmed = await _confirm(client, token)
            assert confirmed.status_code == 200, confirmed.text
            assert confirmed.json()["user"]["email"] == EMAIL
            assert (
                await client.get("/auth/me", headers=bearer(confirmed.json()))
            ).status_code == 200
            spent = await _confirm(client, token, "yet another one")
            assert [e["field"] for e in assert_problem(spent, 400)["errors"]] == ["token"]
            # Every earlier login has ended; the new password is the one.
            refresh = {"refresh_token": other_device["refresh_token"]}
            assert (await client.post("/auth/refresh", json=refresh)).status_code == 401
            assert (await _login(client, PASSWORD)).status_code == 401
            assert (await _login(client, NEW_PASSWORD)).status_code == 200
            metrics = (await client.get("/metrics")).text
            assert 'auth_password_reset_mails_total{outcome="sent"} 1.0' in metrics


async def test_an_unknown_email_answers_alike_after_the_same_work_and_gets_no_mail(settings):
    with smtp_server() as inbox:
        app = create_app(
            settings.model_copy(update={"SMTP_URL": SecretStr(f"smtp://127.0.0.1:{inbox.port}")})
        )
        async with serving(app) as client:
            await register(client, EMAIL, PASSWORD)
            engine = app.state.container.engine()
            # asyncpg hands each statement to the capture on the loop's next turn.
            with captured(engine) as known_work:
                known = await _request(client)
                await asyncio.sleep(0.05)
            with captured(engine) as unknown_work:
                unknown = await _request(client, "nobody@example.com")
                await asyncio.sleep(0.05)
            # The same statement, with other arguments.
            assert [sql for sql, _ in known_work] == [sql for sql, _ in unknown_work]
            # One statement (behind a transaction pooler, in a transaction of its own).
            statements = [sql for sql, _ in known_work if sql not in ("BEGIN;", "COMMIT;")]
            assert len(statements) == 1
            assert statements[0].startswith("INSERT INTO password_resets")
            for response in (known, unknown):
                assert response.status_code == 202
            assert known.json() == unknown.json()
            ignored = ("x-request-id", "date")
            assert {k: v for k, v in known.headers.items() if k not in ignored} == {
                k: v for k, v in unknown.headers.items() if k not in ignored
            }
            await eventually(lambda: inbox.messages, within_s=10)
            await asyncio.sleep(0.5)
            assert [m.rcpt_tos for m in inbox.messages] == [[EMAIL]]


async def test_not_an_email_is_a_400(client):
    for email in ("not an email", "", "a@b"):
        assert_problem(await _request(client, email), 400)


async def test_production_without_smtp_url_is_a_503_and_sends_nothing(settings):
    production = settings.model_copy(update={"APP_ENV": "production"})
    async with serving(create_app(production)) as client:
        await register(client, EMAIL, PASSWORD)
        body = assert_problem(await _request(client), 503)
        assert "not configured" in body["detail"]


async def test_development_without_smtp_url_writes_the_link_to_the_log(client, caplog):
    await register(client, EMAIL, PASSWORD)
    assert (await _request(client)).status_code == 202
    logged = []
    await eventually(
        lambda: (
            logged.extend(
                r.msg
                for r in caplog.records
                if isinstance(r.msg, dict) and r.msg["event"] == "mail.logged"
            )
            or logged
        )
    )
    link = re.search(r"http://localhost:3000/reset-password\?token=\S+", logged[0]["text"]).group(0)
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert (await _confirm(client, token)).status_code == 200


async def test_a_later_reset_or_a_password_change_voids_the_earlier_links(settings):
    with smtp_server() as inbox:
        async with _service(settings, inbox.port) as client:
            auth = await register(client, EMAIL, PASSWORD)
            for _ in range(2):
                await _request(client)
            await eventually(lambda: len(inbox.messages) == 2, within_s=10)
            first, second = _token(inbox, 0), _token(inbox, 1)
            assert (await _confirm(client, second)).status_code == 200
            assert_problem(await _confirm(client, first, "some other one"), 400)

            await _request(client)
            await eventually(lambda: len(inbox.messages) == 3, within_s=10)
            login = (await _login(client, NEW_PASSWORD)).json()
            changed = await client.post(
                "/auth/password",
                json={"current_password": NEW_PASSWORD, "new_password": PASSWORD},
                headers=bearer(login),
            )
            assert changed.status_code == 200
            assert_problem(await _confirm(client, _token(inbox, 2), "and another"), 400)
            del auth


async def test_an_expired_or_unknown_token_is_the_same_400(settings, engine):
    with smtp_server() as inbox:
        async with _service(settings, inbox.port) as client:
            await register(client, EMAIL, PASSWORD)
            await _request(client)
            await eventually(lambda: inbox.messages, within_s=10)
            async with engine.begin() as connection:
                await connection.execute(
                    text("UPDATE password_resets SET expires_at = now() - interval '1 second'")
                )
            expired = assert_problem(await _confirm(client, _token(inbox)), 400)
            unknown = assert_problem(await _confirm(client, "no-such-token"), 400)
            assert expired["detail"] == unknown["detail"]
            assert (await _login(client, PASSWORD)).status_code == 200


async def test_the_new_password_follows_the_rules(client):
    response = await _confirm(client, "whatever", "short")
    assert [e["field"] for e in assert_problem(response, 400)["errors"]] == ["new_password"]


async def test_a_mail_server_down_at_first_and_up_10_s_later_still_delivers(settings):
    port = free_port()
    async with _service(settings, port) as client:
        await register(client, EMAIL, PASSWORD)
        started = time.monotonic()
        assert (await _request(client)).status_code == 202
        assert time.monotonic() - started < 2  # the 202 never waits for the mail server
        await asyncio.sleep(10)
        with smtp_server(port) as inbox:
            await eventually(lambda: inbox.messages, within_s=60)
            assert (await _confirm(client, _token(inbox))).status_code == 200


async def test_no_reset_token_reaches_the_log(settings, caplog):
    with smtp_server() as inbox:
        app = create_app(
            settings.model_copy(
                update={
                    "SMTP_URL": SecretStr(f"smtp://127.0.0.1:{inbox.port}"),
                    "PASSWORD_RESET_URL": RESET_URL,
                }
            )
        )
        # The app set up logging anew: the capture listens again.
        logging.getLogger().addHandler(caplog.handler)
        async with serving(app) as client:
            await register(client, EMAIL, PASSWORD)
            await _request(client)
            await eventually(lambda: inbox.messages, within_s=10)
            token = _token(inbox)
            assert (await _confirm(client, token)).status_code == 200
    events = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    assert {"auth.password_reset_requested", "auth.password_reset_completed"} <= {
        e["event"] for e in events
    }
    assert all(e.get("request_id") for e in events if e["event"].startswith("auth.password"))
    # Records of the service and its libraries (not of the test's own SMTP server).
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]
    assert not [r for r in ours if token in r.getMessage()]


async def test_one_email_gets_at_most_password_reset_max_mails_messages(settings):
    with smtp_server() as inbox:
        async with _service(settings, inbox.port, PASSWORD_RESET_MAX_MAILS=2) as client:
            await register(client, EMAIL, PASSWORD)
            answers = [await _request(client) for _ in range(4)]
            assert {(a.status_code, a.text) for a in answers} == {
                (answers[0].status_code, answers[0].text)
            }
            await eventually(lambda: len(inbox.messages) == 2, within_s=10)
            await asyncio.sleep(1.5)
            assert len(inbox.messages) == 2
            # A link that went out works (and voids the other).
            assert (await _confirm(client, _token(inbox, 1))).status_code == 200


async def test_expired_reset_requests_are_purged(app, client, engine):
    await register(client, EMAIL, PASSWORD)
    await _request(client)
    await _request(client, "nobody@example.com")
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE password_resets SET expires_at = now() - interval '1 second'")
        )
    purged = await app.state.container.password_reset_service().purge_expired()
    assert purged == 2  # the registered email's request and the unknown one's
