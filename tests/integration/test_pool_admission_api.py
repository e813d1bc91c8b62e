"""When every pooled connection is taken, requests wait their turn in arrival order; past
the pool timeout, or beyond the line's length, the answer is a 503 with Retry-After, never
a hang or a 500."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI

from tests.integration.conftest import bearer, register
from tests.integration.http import assert_problem, serving
from todo_adapters.sql.gate import PoolGate
from todo_api.app import create_app
from todo_api.settings import Settings

SLOTS = 2


@pytest.fixture
async def tight(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, PoolGate]]:
    """An app with two connections, at most one request waiting, half a second of patience."""
    narrow = settings.model_copy(
        update={
            "DB_POOL_SIZE": SLOTS,
            "DB_MAX_OVERFLOW": 0,
            "DB_POOL_TIMEOUT": 0.5,
            "DB_POOL_MAX_WAITING": 1,
        }
    )
    app = create_app(narrow)
    async with serving(app) as http:
        http.headers.update(bearer(await register(http, "carol@example.com")))
        yield http, app.state.container.uow_factory().gate


async def take_every_slot(gate: PoolGate) -> None:
    for _ in range(SLOTS):
        await gate.enter()


def give_back_every_slot(gate: PoolGate) -> None:
    for _ in range(SLOTS):
        gate.leave()


async def one_in_line(http: httpx.AsyncClient, gate: PoolGate) -> asyncio.Task[httpx.Response]:
    """Every slot taken, and a GET /tasks waiting for one (seen waiting, not assumed)."""
    await take_every_slot(gate)
    waiting = asyncio.create_task(http.get("/tasks"))
    for _ in range(400):  # up to 2 s
        if gate.waiting:
            break
        await asyncio.sleep(0.005)
    assert gate.waiting == 1
    return waiting


async def test_a_request_waits_for_a_connection_and_then_is_served(
    tight: tuple[httpx.AsyncClient, PoolGate],
) -> None:
    http, gate = tight
    waiting = await one_in_line(http, gate)
    give_back_every_slot(gate)
    assert (await waiting).status_code == 200


async def test_past_the_pool_timeout_the_answer_is_503_with_retry_after(
    tight: tuple[httpx.AsyncClient, PoolGate],
) -> None:
    http, gate = tight
    await take_every_slot(gate)
    began = time.perf_counter()
    response = await http.get("/tasks")
    waited = time.perf_counter() - began
    assert_problem(response, 503)
    assert response.headers["retry-after"]
    assert 0.5 <= waited < 2.5
    give_back_every_slot(gate)
    assert (await http.get("/tasks")).status_code == 200


async def test_beyond_the_line_the_answer_is_an_immediate_503(
    tight: tuple[httpx.AsyncClient, PoolGate],
) -> None:
    http, gate = tight
    in_line = await one_in_line(http, gate)
    began = time.perf_counter()
    response = await http.get("/tasks")
    assert time.perf_counter() - began < 0.2
    assert_problem(response, 503)
    assert response.headers["retry-after"]
    give_back_every_slot(gate)
    assert (await in_line).status_code == 200


async def test_a_login_holds_no_connection_while_bcrypt_runs(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client, "dave@example.com", "correct horse")
    container = app.state.container
    real = container.password_hasher()
    verifying, finish = asyncio.Event(), asyncio.Event()

    class HeldHasher:
        async def verify(self, password: str, password_hash: str) -> bool:
            verifying.set()
            await finish.wait()
            return bool(await real.verify(password, password_hash))

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    container.password_hasher.override(providers.Object(HeldHasher()))
    try:
        login = asyncio.create_task(
            client.post(
                "/auth/login", json={"email": "dave@example.com", "password": "correct horse"}
            )
        )
        await asyncio.wait_for(verifying.wait(), 5)
        _, in_use = container.pool_status()
        assert in_use == 0
        finish.set()
        assert (await login).status_code == 200
    finally:
        container.password_hasher.reset_override()
