"""Break PostgreSQL under a stream of requests and watch the service keep its word: only
2xx or 503 (never a 500 or a hang), ready again soon after the database is, and every
acknowledged task stored exactly once. Each test breaks a server of its own (embedded, in
a temporary directory), never a shared one."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.conftest import admin_engine, bearer, register
from tests.integration.http import serving
from todo_adapters.sql.embedded import EmbeddedPostgres
from todo_adapters.sql.engine import PoolSettings, build_engine
from todo_api.app import create_app
from todo_api.settings import Settings

pytestmark = pytest.mark.timeout(180)
SLOWEST_ANSWER_S = 8.0  # pool wait + connect timeout, with room for a loaded CI machine


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path / "db")
    yield server
    server.stop()


@asynccontextmanager
async def _service(
    own_postgres: EmbeddedPostgres, tmp_path: Path, *, statement_timeout_ms: int = 500
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        DATABASE_URL=own_postgres.url(),
        DATA_DIR=tmp_path,
        JWT_SECRET="fault-test-secret-of-at-least-32-bytes",
        BCRYPT_ROUNDS=4,
        DB_POOL_SIZE=4,
        DB_MAX_OVERFLOW=2,
        DB_POOL_TIMEOUT=2,
        DB_STATEMENT_TIMEOUT=statement_timeout_ms,
        LOG_LEVEL="WARNING",
    )
    async with serving(create_app(settings)) as http:
        http.headers.update(bearer(await register(http, "load@example.com")))
        yield http


@pytest.fixture
async def service(
    own_postgres: EmbeddedPostgres, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with _service(own_postgres, tmp_path) as http:
        yield http


class Stream:
    """Writers that create tasks with unique titles until told to stop."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.statuses: list[int] = []
        self.acknowledged: set[str] = set()
        self.slowest = 0.0
        self.running = True

    async def _writer(self) -> None:
        while self.running:
            title = uuid.uuid4().hex
            began = time.perf_counter()
            response = await self.client.post("/tasks", json={"title": title})
            self.slowest = max(self.slowest, time.perf_counter() - began)
            self.statuses.append(response.status_code)
            if response.status_code == 201:
                self.acknowledged.add(title)
            elif response.status_code == 503:
                assert response.headers["retry-after"]
                await asyncio.sleep(0.05)

    async def run(self, writers: int, during: object) -> None:
        tasks = [asyncio.create_task(self._writer()) for _ in range(writers)]
        try:
            await during  # type: ignore[misc]
        finally:
            self.running = False
            await asyncio.gather(*tasks)


async def _stored_titles(client: httpx.AsyncClient) -> list[str]:
    titles, cursor = [], None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/tasks", params=params)).json()
        titles.extend(t["title"] for t in body["tasks"])
        if (cursor := body["next_cursor"]) is None:
            return titles


async def _seconds_until_ready(client: httpx.AsyncClient, limit: float) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < limit:
        if (await client.get("/health/ready")).status_code == 200:
            return time.perf_counter() - began
        await asyncio.sleep(0.05)
    pytest.fail(f"not ready within {limit} s of PostgreSQL")


async def test_postgres_restart_under_load_loses_nothing(service, own_postgres):
    stream = Stream(service)
    recovery: dict[str, float] = {}

    async def restart() -> None:
        await asyncio.sleep(1.0)
        await asyncio.to_thread(own_postgres.stop)
        await asyncio.sleep(0.5)
        down = await service.get("/health/ready")
        assert down.status_code == 503
        await asyncio.sleep(1.5)
        await asyncio.to_thread(own_postgres.start)
        recovery["ready_s"] = await _seconds_until_ready(service, 5.0)
        await asyncio.sleep(1.0)

    await stream.run(writers=4, during=restart())

    assert set(stream.statuses) <= {201, 503}, sorted(set(stream.statuses))
    assert 503 in stream.statuses, "the outage should have been seen"
    assert stream.statuses.count(201) > 20
    assert recovery["ready_s"] < 5.0
    assert stream.slowest < SLOWEST_ANSWER_S
    stored = await _stored_titles(service)
    assert len(stored) == len(set(stored)), "a task was stored twice"
    assert stream.acknowledged <= set(stored), "an acknowledged task was lost"


class KeyedStream(Stream):
    """Writers that create tasks under an Idempotency-Key each, as a mobile client would:
    every failure is retried with the same key and body until a 201 comes back."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        super().__init__(client)
        self.replies: dict[str, list[dict]] = {}

    async def _create(self, key: str) -> None:
        while True:
            try:
                response = await self.client.post(
                    "/tasks", json={"title": key}, headers={"Idempotency-Key": key}
                )
            except httpx.TransportError:
                await asyncio.sleep(0.05)
                continue
            self.statuses.append(response.status_code)
            if response.status_code == 201:
                self.replies.setdefault(key, []).append(response.json())
                return
            await asyncio.sleep(0.05)

    async def _writer(self) -> None:
        while self.running:
            key = uuid.uuid4().hex
            await self._create(key)
            # and once more, as a client that never saw the first answer would
            await self._create(key)


async def test_retries_with_keys_across_a_restart_create_each_task_once(service, own_postgres):
    stream = KeyedStream(service)

    async def restart() -> None:
        await asyncio.sleep(1.0)
        await asyncio.to_thread(own_postgres.stop)
        await asyncio.sleep(1.5)
        await asyncio.to_thread(own_postgres.start)
        await _seconds_until_ready(service, 5.0)
        await asyncio.sleep(1.0)

    await stream.run(writers=4, during=restart())

    assert set(stream.statuses) <= {201, 409, 503}, sorted(set(stream.statuses))
    assert 503 in stream.statuses, "the outage should have been seen"
    assert len(stream.replies) > 20
    for key, replies in stream.replies.items():
        assert len(replies) == 2, key
        assert replies[0] == replies[1], "a retry got another reply than the first"
    stored = Counter(await _stored_titles(service))
    assert stored == Counter(set(stream.replies)), "each key must end with exactly one task"


async def test_connections_killed_mid_request_give_503_never_500(service, own_postgres):
    stream = Stream(service)
    admin = build_engine(own_postgres.url(), PoolSettings(size=1, max_overflow=0))

    async def kill_repeatedly() -> None:
        for _ in range(15):
            await asyncio.sleep(0.1)
            async with admin.begin() as connection:
                await connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE application_name = 'todo-api' AND pid <> pg_backend_pid()"
                    )
                )

    try:
        await stream.run(writers=4, during=kill_repeatedly())
    finally:
        await admin.dispose()
    assert set(stream.statuses) <= {201, 503}, sorted(set(stream.statuses))
    stored = await _stored_titles(service)
    assert len(stored) == len(set(stored))
    assert stream.acknowledged <= set(stored)


async def test_a_statement_beyond_the_timeout_is_503_not_a_hang(service, own_postgres):
    task = (await service.post("/tasks", json={"title": "locked"})).json()
    locker = build_engine(own_postgres.url(), PoolSettings(size=1, max_overflow=0))
    try:
        async with locker.connect() as connection, connection.begin():
            await connection.execute(
                text("SELECT 1 FROM tasks WHERE id = :id FOR UPDATE"), {"id": task["id"]}
            )
            began = time.perf_counter()
            blocked = await service.patch(f"/tasks/{task['id']}", json={"title": "waited"})
            waited = time.perf_counter() - began
        assert blocked.status_code == 503
        assert blocked.headers["retry-after"]
        assert blocked.headers["content-type"] == "application/problem+json"
        assert waited < 3.0
    finally:
        await locker.dispose()
    after = await service.get(f"/tasks/{task['id']}")
    assert after.json()["title"] == "locked"
    assert (await service.patch(f"/tasks/{task['id']}", json={"title": "now"})).status_code == 200


async def _set_standby_names(admin: AsyncEngine, names: str) -> None:
    async with admin.connect() as connection:
        await connection.execute(text(f"ALTER SYSTEM SET synchronous_standby_names = '{names}'"))
        await connection.execute(text("SELECT pg_reload_conf()"))


# Materialized: the cancel must not run before the filter.
_CANCEL_STANDBY_WAITS = text(
    "WITH waiting AS MATERIALIZED (SELECT pid FROM pg_stat_activity"
    " WHERE wait_event = 'SyncRep')"
    " SELECT pid FROM waiting WHERE pg_cancel_backend(pid)"
)


async def _cancel_waits_for_the_standby(admin: AsyncEngine, count: int) -> None:
    """What an operator does to commits that hang on a lost standby: cancel them."""
    cancelled: set[int] = set()
    while len(cancelled) < count:
        async with admin.connect() as connection:
            cancelled |= set((await connection.execute(_CANCEL_STANDBY_WAITS)).scalars())
        await asyncio.sleep(0.05)


async def test_a_commit_its_standby_never_confirmed_is_503_and_its_retry_settles_it(
    own_postgres, tmp_path
):
    """A synchronous standby that never answers: every commit waits for it. A commit whose
    wait is cancelled stays on this server alone, and PostgreSQL reports it as done with a
    WARNING; a failover would lose it. The client is told 503, never 2xx."""
    admin = admin_engine(own_postgres.url())  # ALTER SYSTEM runs outside a transaction
    key = {"Idempotency-Key": uuid.uuid4().hex}
    # A statement timeout of 5 s: asyncpg's own (7 s) cannot be what ends the waits here.
    async with _service(own_postgres, tmp_path, statement_timeout_ms=5000) as service:
        updated, deleted = [
            (await service.post("/tasks", json={"title": title})).json()["id"]
            for title in ("to update", "to delete")
        ]
        try:
            await _set_standby_names(admin, "a_standby_that_never_answers")
            began = time.perf_counter()
            answers = await asyncio.gather(
                service.post("/tasks", json={"title": "waited"}, headers=key),
                service.patch(f"/tasks/{updated}", json={"title": "waited too"}),
                service.delete(f"/tasks/{deleted}"),
                asyncio.wait_for(_cancel_waits_for_the_standby(admin, count=3), timeout=30),
            )
            answered_after = time.perf_counter() - began
            for answer in answers[:3]:
                assert answer.status_code == 503, answer.text
                assert answer.headers["retry-after"]
            assert answered_after < 5.0
            assert (await service.get("/tasks")).status_code == 200, "reads wait for no standby"
        finally:
            await _set_standby_names(admin, "")
            await admin.dispose()
        # The commits are on this server: the keyed create's retry gets the task it made.
        again = await service.post("/tasks", json={"title": "waited"}, headers=key)
        assert again.status_code == 201
        assert [t for t in await _stored_titles(service) if t == "waited"] == ["waited"]
