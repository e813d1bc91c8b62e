"""How GET /events streams end, over real HTTP against served processes: within 5 s of
their login ending (logout, a revoked session, a password change, a deleted account), at
the access token's expiry, at once on SIGTERM (while readiness answers 503); and how they
carry on, losing nothing, when the worker's listener connection is killed."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.event_client import opened
from tests.integration.processes import Service, served_for_tests

PASSWORD = "long enough"
LOGIN_ENDS_WITHIN = 5.0


@pytest.fixture(scope="module")
def service(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("endings")
    with served_for_tests(database_url, directory, WORKERS="2", STREAM_HEARTBEAT="1") as running:
        yield running


@asynccontextmanager
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service.base, timeout=10) as http:
        yield http


@pytest.fixture
async def http(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with client(service) as connected:
        yield connected


async def _register(http: httpx.AsyncClient, email: str = "ada@example.com") -> dict:
    answer = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _login(http: httpx.AsyncClient, email: str = "ada@example.com") -> dict:
    answer = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _bearer(login: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {login['access_token']}"}


async def _ticket(http: httpx.AsyncClient, login: dict) -> dict[str, str]:
    answer = await http.post("/events/ticket", headers=_bearer(login))
    assert answer.status_code == 201, answer.text
    return {"ticket": answer.json()["ticket"]}


async def _logout(http: httpx.AsyncClient, streamed: dict, _other: dict) -> None:
    body = {"refresh_token": streamed["refresh_token"]}
    assert (await http.post("/auth/logout", json=body, headers=_bearer(streamed))).is_success


async def _revoke(http: httpx.AsyncClient, streamed: dict, other: dict) -> None:
    sessions = (await http.get("/auth/sessions", headers=_bearer(streamed))).json()["sessions"]
    mine = next(s["id"] for s in sessions if s["current"])
    assert (await http.delete(f"/auth/sessions/{mine}", headers=_bearer(other))).is_success


async def _change_password(http: httpx.AsyncClient, _streamed: dict, other: dict) -> None:
    body = {"current_password": PASSWORD, "new_password": "another long one"}
    assert (await http.post("/auth/password", json=body, headers=_bearer(other))).is_success


async def _delete_account(http: httpx.AsyncClient, _streamed: dict, other: dict) -> None:
    answer = await http.request(
        "DELETE", "/auth/me", json={"password": PASSWORD}, headers=_bearer(other)
    )
    assert answer.is_success, answer.text


@pytest.mark.parametrize("by_ticket", [False, True], ids=["bearer", "ticket"])
@pytest.mark.parametrize("end", [_logout, _revoke, _change_password, _delete_account])
async def test_a_stream_ends_within_5_s_of_its_login(http: httpx.AsyncClient, end, by_ticket):
    streamed = await _register(http)
    other = await _login(http)  # a second login of the same user, on another device
    params = await _ticket(http, streamed) if by_ticket else None
    headers = None if by_ticket else _bearer(streamed)
    async with opened(http, headers, params) as stream, opened(http, _bearer(other)) as kept:
        await end(http, streamed, other)
        started = time.monotonic()
        await stream.ends(within=LOGIN_ENDS_WITHIN)
        assert time.monotonic() - started < LOGIN_ENDS_WITHIN
        if end in (_logout, _revoke):
            # The other login's stream goes on.
            task = await http.post("/tasks", json={"title": "still"}, headers=_bearer(other))
            assert (await kept.event()).json["id"] == task.json()["id"]
    # And it cannot be opened again with the same token.
    if not by_ticket:
        async with opened(http, _bearer(streamed), status=401):
            pass


async def test_a_stream_opened_after_its_login_ended_is_refused(http: httpx.AsyncClient):
    streamed = await _register(http)
    ticket = await _ticket(http, streamed)
    await _logout(http, streamed, streamed)
    async with opened(http, params=ticket, status=401):
        pass
    assert (await http.post("/events/ticket", headers=_bearer(streamed))).status_code == 401


async def test_a_killed_listener_connection_loses_no_event(
    http: httpx.AsyncClient, engine: AsyncEngine
):
    auth = _bearer(await _register(http))
    # Two streams: with two workers, likely one on each (both listeners are killed).
    async with opened(http, auth) as one, opened(http, auth) as two:
        before = await http.post("/tasks", json={"title": "before"}, headers=auth)
        for stream in (one, two):
            assert (await stream.event()).json["id"] == before.json()["id"]
        async with engine.connect() as connection:
            killed = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = 'todo-api-listen'"
                    " AND datname = current_database()"
                )
            )
        assert killed == 2, "one listener per worker"
        # Written while no listener hears: its notification is lost, the feed has it.
        during = await http.post("/tasks", json={"title": "during"}, headers=auth)
        for stream in (one, two):
            assert (await stream.event(within=10)).json["id"] == during.json()["id"]
        after = await http.post("/tasks", json={"title": "after"}, headers=auth)
        for stream in (one, two):
            assert (await stream.event()).json["id"] == after.json()["id"]


async def test_a_stream_ends_at_its_access_tokens_expiry(database_url: str, tmp_path):
    with served_for_tests(database_url, tmp_path, ACCESS_TOKEN_TTL="3") as short:
        async with client(short) as http:
            login = await _register(http)
            ticket = await _ticket(http, login)
            async with (
                opened(http, _bearer(login)) as by_token,
                opened(http, params=ticket) as by_ticket,
            ):
                started = time.monotonic()
                await by_token.ends(within=5)
                await by_ticket.ends(within=1)
                assert 1.5 < time.monotonic() - started < 4.5


async def test_sigterm_ends_every_stream_at_once_while_readiness_says_503(
    database_url: str, tmp_path
):
    with served_for_tests(database_url, tmp_path, SHUTDOWN_DRAIN_SECONDS="5") as stopping:
        async with client(stopping) as http:
            auth = _bearer(await _register(http))
            async with opened(http, auth) as one, opened(http, auth) as two:
                stopping.process.send_signal(signal.SIGTERM)
                started = time.monotonic()
                await one.ends(within=1)
                await two.ends(within=1)
                assert time.monotonic() - started < 1
                assert (await http.get("/health/ready")).status_code == 503
                async with opened(http, auth, status=503):
                    pass
        await asyncio.to_thread(stopping.process.wait, 15)
        assert stopping.process.returncode == 0
