"""GET /events over real HTTP against a served process with two workers: every kind of
write arrives as events, one per task, at every stream of the user whatever worker holds
it; resuming with Last-Event-ID loses nothing; heartbeats; tickets; the per-user limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.integration.event_client import opened
from tests.integration.notifications import hearing
from tests.integration.processes import Service, served_for_tests

HEARTBEAT = 1.0
MAX_STREAMS = 3


@pytest.fixture(scope="module")
def service(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    settings = {
        "WORKERS": "2",
        "STREAM_HEARTBEAT": str(HEARTBEAT),
        "MAX_STREAMS_PER_USER": str(MAX_STREAMS),
        "LOG_LEVEL": "INFO",
    }
    directory = tmp_path_factory.mktemp("events")
    with served_for_tests(database_url, directory, **settings) as running:
        yield running


@pytest.fixture
async def http(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service.base, timeout=10) as client:
        yield client


async def _signed_in(http: httpx.AsyncClient, email: str = "ada@example.com") -> dict[str, str]:
    answer = await http.post("/auth/register", json={"email": email, "password": "long enough"})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def test_every_kind_of_write_arrives_as_one_event_per_task(http: httpx.AsyncClient):
    auth = await _signed_in(http)
    async with opened(http, auth) as stream:
        created = (await http.post("/tasks", json={"title": "one"}, headers=auth)).json()
        event = await stream.event()
        assert event.event == "task.changed"
        shown = await http.get(f"/tasks/{created['id']}", headers=auth)
        assert event.json == shown.json(), "the task as GET /tasks/{id} renders it"

        await http.patch(f"/tasks/{created['id']}", json={"title": "uno"}, headers=auth)
        assert (await stream.event()).json["title"] == "uno"

        second = (await http.post("/tasks", json={"title": "two"}, headers=auth)).json()
        await stream.event()
        moved = await http.post(f"/tasks/{second['id']}/move", json={"after": None}, headers=auth)
        assert moved.status_code == 200, moved.text
        assert (await stream.event()).json["id"] == second["id"]

        bulk = await http.patch("/tasks", json={"is_completed": True}, headers=auth)
        assert bulk.status_code == 200, bulk.text
        completed = await stream.events(2)
        assert {e.json["id"] for e in completed} == {created["id"], second["id"]}
        assert all(e.json["is_completed"] for e in completed)

        await http.delete(f"/tasks/{created['id']}", headers=auth)
        deleted = await stream.event()
        assert (deleted.event, deleted.json) == ("task.deleted", {"id": created["id"]})

        await http.delete("/tasks", params={"completed": "true"}, headers=auth)
        assert (await stream.event()).json == {"id": second["id"]}


async def test_every_stream_of_the_user_gets_the_event_and_no_one_else(
    http: httpx.AsyncClient,
):
    ada, bob = await _signed_in(http), await _signed_in(http, "bob@example.com")
    # Three connections: with two workers, at least two streams share a worker and at
    # least one is on the other (or all on one: either way each must see the event).
    async with opened(http, ada) as one, opened(http, ada) as two, opened(http, bob) as theirs:
        async with opened(http, ada) as three:
            task = (await http.post("/tasks", json={"title": "shared"}, headers=ada)).json()
            for stream in (one, two, three):
                assert (await stream.event()).json["id"] == task["id"]
        mine = (await http.post("/tasks", json={"title": "bob's"}, headers=bob)).json()
        assert (await theirs.event()).json["id"] == mine["id"], "bob saw only his own"


async def test_writes_notify_a_user_only_while_a_stream_of_theirs_is_open(
    http: httpx.AsyncClient, direct_database_url: str
):
    auth = await _signed_in(http)
    me = (await http.get("/auth/me", headers=auth)).json()["id"]
    async with hearing(direct_database_url) as (_, heard):

        async def notified() -> bool:
            assert (await http.post("/tasks", json={"title": "t"}, headers=auth)).status_code == 201
            try:
                return await asyncio.wait_for(heard.get(), 0.5) == me
            except TimeoutError:
                return False

        assert not await notified(), "no stream open: nobody to wake"
        async with opened(http, auth) as stream:
            assert await notified()
            await stream.event()
        # The stream's worker sees its client gone at the latest at the next heartbeat,
        # then gives the user's slot and watch back.
        for _ in range(10):
            if not await notified():
                break
        else:
            pytest.fail("still notified after the stream closed")


async def test_resuming_with_last_event_id_loses_nothing(http: httpx.AsyncClient):
    auth = await _signed_in(http)
    async with opened(http, auth) as stream:
        first = (await http.post("/tasks", json={"title": "seen"}, headers=auth)).json()
        seen = await stream.event()
        assert seen.json["id"] == first["id"]
    # Disconnected: what happens meanwhile must come first on the next stream.
    missed = [
        (await http.post("/tasks", json={"title": f"missed {n}"}, headers=auth)).json()
        for n in range(3)
    ]
    await http.delete(f"/tasks/{first['id']}", headers=auth)
    resumed = {**auth, "Last-Event-ID": stream.last_id or ""}
    async with opened(http, resumed) as again:
        replayed = await again.events(4)
        assert [e.json["id"] for e in replayed] == [t["id"] for t in missed] + [first["id"]]
        assert replayed[-1].event == "task.deleted"
        live = (await http.post("/tasks", json={"title": "live"}, headers=auth)).json()
        assert (await again.event()).json["id"] == live["id"]
    # ?since= does the same, from any id.
    async with opened(http, auth, params={"since": replayed[1].id or ""}) as since:
        assert [e.json["id"] for e in await since.events(3)] == [
            missed[2]["id"], first["id"], live["id"],
        ]  # fmt: skip


async def test_heartbeats_come_while_nothing_happens(http: httpx.AsyncClient):
    auth = await _signed_in(http)
    async with opened(http, auth) as stream:
        started = asyncio.get_running_loop().time()
        for _ in range(3):
            block = await stream.block(within=HEARTBEAT * 2)
            assert block is not None
            assert block.comments == ["ping"], block
        assert asyncio.get_running_loop().time() - started >= HEARTBEAT * 2.5


async def test_bad_and_foreign_tokens_are_400_before_the_stream(http: httpx.AsyncClient):
    ada, bob = await _signed_in(http), await _signed_in(http, "bob@example.com")
    async with opened(http, ada) as stream:
        await http.post("/tasks", json={"title": "ada's"}, headers=ada)
        token = (await stream.event()).id or ""
    for headers in ({**bob, "Last-Event-ID": token}, {**ada, "Last-Event-ID": "forged"}):
        async with opened(http, headers, status=400) as refused:
            assert refused.response.headers["content-type"] == "application/problem+json"
    async with opened(http, {}, status=401):
        pass


async def test_at_most_max_streams_per_user_across_workers(http: httpx.AsyncClient):
    ada, bob = await _signed_in(http), await _signed_in(http, "bob@example.com")
    async with opened(http, ada), opened(http, ada), opened(http, ada):
        async with opened(http, ada, status=429) as refused:
            assert refused.response.json()["status"] == 429
            assert "Retry-After" in refused.response.headers
        async with opened(http, bob):  # another user's are their own
            pass
    # The slots came back when the streams closed (on whichever worker held them).
    await asyncio.sleep(0.5)
    async with opened(http, ada), opened(http, ada), opened(http, ada):
        pass


async def test_a_ticket_opens_one_stream_once(http: httpx.AsyncClient):
    auth = await _signed_in(http)
    assert (await http.post("/events/ticket")).status_code == 401
    answer = await http.post("/events/ticket", headers=auth)
    assert answer.status_code == 201, answer.text
    assert answer.json()["expires_in"] == 60
    ticket = answer.json()["ticket"]
    async with opened(http, params={"ticket": ticket}) as stream:
        task = (await http.post("/tasks", json={"title": "by ticket"}, headers=auth)).json()
        assert (await stream.event()).json["id"] == task["id"]
    async with opened(http, params={"ticket": ticket}, status=401) as spent:
        assert spent.response.headers["www-authenticate"].startswith("Bearer")
    async with opened(http, params={"ticket": "never issued"}, status=401):
        pass


async def test_head_answers_as_get_and_holds_no_slot(http: httpx.AsyncClient):
    auth = await _signed_in(http)
    for _ in range(MAX_STREAMS + 1):
        head = await http.head("/events", headers=auth)
        assert head.status_code == 200
        assert head.headers["content-type"].startswith("text/event-stream")
        assert head.content == b""
    assert (await http.head("/events")).status_code == 401
    await asyncio.sleep(0.5)  # the slots' unlocks run in the background
    async with opened(http, auth), opened(http, auth), opened(http, auth):
        pass
