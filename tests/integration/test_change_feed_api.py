"""GET /tasks/changes on real PostgreSQL: the full sync, then only what changed after a
token (every kind of write, deletions included), paging, tokens bound to their user, 410
past the retention, and the purge of old deletions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.integration.feed_client import FeedFollower, listed
from tests.integration.http import assert_problem
from tests.integration.processes import TEST_JWT_SECRET
from todo_api.http.sync_tokens import SyncTokens
from todo_core.feed import SyncPoint


async def _create(client, headers, title: str, **fields) -> dict:
    response = await client.post("/tasks", json={"title": title, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _changes(client, headers, **params) -> dict:
    response = await client.get("/tasks/changes", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_full_sync_pages_through_every_task_of_the_caller_only(client, alice, bob):
    mine = [await _create(client, alice, f"task {i}") for i in range(5)]
    await _create(client, bob, "not alice's")

    first = await _changes(client, alice, limit=2)
    assert [t["id"] for t in first["changes"]] == [t["id"] for t in mine[:2]]
    assert first["deleted"] == []
    assert first["has_more"] is True
    follower = FeedFollower(client, alice, limit=2)
    await follower.sync()
    assert follower.tasks == {t["id"]: t for t in mine}
    assert follower.pages == 3

    # Nothing changed: the same token comes back empty, and stays usable.
    again = await _changes(client, alice, since=follower.since)
    assert again == {"changes": [], "deleted": [], "next": again["next"], "has_more": False}


async def test_every_kind_of_write_is_in_the_feed_once_in_its_current_form(client, alice):
    kept, edited, moved, gone, done = [await _create(client, alice, f"t{i}") for i in range(5)]
    follower = FeedFollower(client, alice)
    await follower.sync()
    token = follower.since

    for method, fields in (("PATCH", {"title": "new", "priority": 3}), ("PUT", {"title": "x"})):
        changed = await client.request(method, f"/tasks/{edited['id']}", json=fields, headers=alice)
        assert changed.status_code == 200, changed.text
    moved_now = await client.post(f"/tasks/{moved['id']}/move", json={"after": None}, headers=alice)
    assert moved_now.status_code == 200
    assert (await client.delete(f"/tasks/{gone['id']}", headers=alice)).status_code == 204
    await client.patch(f"/tasks/{done['id']}", json={"is_completed": True}, headers=alice)
    created = await _create(client, alice, "late")
    marked = await client.patch("/tasks", json={"is_completed": True}, headers=alice)
    assert marked.json() == {"updated": 4}  # kept, edited, moved, created
    cleared = await client.delete("/tasks", params={"completed": "true"}, headers=alice)
    assert cleared.json() == {"deleted": 5}
    survivor = await _create(client, alice, "after the clear")

    body = await _changes(client, alice, since=token)
    assert [t["id"] for t in body["changes"]] == [survivor["id"]]
    assert body["changes"][0] == survivor
    assert sorted(body["deleted"]) == sorted(
        t["id"] for t in (kept, edited, moved, gone, done, created)
    )
    await follower.sync()
    assert follower.tasks == await listed(client, alice)


async def test_the_feed_follows_updates_moves_and_deletes_exactly(client, alice):
    tasks = [await _create(client, alice, f"t{i}", labels=["x"]) for i in range(4)]
    follower = FeedFollower(client, alice, limit=3)
    await follower.sync()
    await client.patch(
        f"/tasks/{tasks[0]['id']}", json={"due_at": "2027-01-02T03:04:05+02:00"}, headers=alice
    )
    await client.post(
        f"/tasks/{tasks[1]['id']}/move", json={"after": tasks[3]["id"]}, headers=alice
    )
    await client.delete(f"/tasks/{tasks[2]['id']}", headers=alice)
    await follower.sync()
    assert follower.tasks == await listed(client, alice)
    assert len(follower.tasks) == 3


async def test_a_deleted_task_is_reported_after_the_token_only(client, alice):
    old = await _create(client, alice, "deleted before the token")
    await client.delete(f"/tasks/{old['id']}", headers=alice)
    full = await _changes(client, alice)
    assert full["changes"] == []
    assert full["deleted"] == []
    task = await _create(client, alice, "deleted after")
    await client.delete(f"/tasks/{task['id']}", headers=alice)
    body = await _changes(client, alice, since=full["next"])
    assert body["changes"] == []
    assert body["deleted"] == [task["id"]]


async def test_bad_tokens_and_limits_are_400(client, alice, bob):
    await _create(client, alice, "a")
    alices = (await _changes(client, alice))["next"]
    assert_problem(await client.get("/tasks/changes", params={"since": alices}, headers=bob), 400)
    forged = alices[:-2] + ("AA" if not alices.endswith("AA") else "BB")
    for since in (forged, "not-a-token", "", "é", "A" * 256):
        problem = assert_problem(
            await client.get("/tasks/changes", params={"since": since}, headers=alice), 400
        )
        assert problem["errors"][0]["field"] == "since"
    for limit in (0, 1001, "x"):
        assert_problem(
            await client.get("/tasks/changes", params={"limit": limit}, headers=alice), 400
        )
    assert_problem(await client.get("/tasks/changes"), 401)


async def test_a_token_older_than_the_retention_is_410(client, alice):
    task = await _create(client, alice, "a")
    user_id = uuid.UUID(task["user_id"])
    tokens = SyncTokens(TEST_JWT_SECRET)
    long_ago = datetime.now(UTC) - timedelta(days=31)  # SYNC_RETENTION: 30 days by default
    stale = tokens.encode(user_id, SyncPoint(0, uuid.UUID(int=0), long_ago))
    problem = assert_problem(
        await client.get("/tasks/changes", params={"since": stale}, headers=alice), 410
    )
    assert "without" in problem["detail"]
    recent = tokens.encode(user_id, SyncPoint(0, uuid.UUID(int=0), long_ago + timedelta(days=2)))
    assert (await _changes(client, alice, since=recent))["changes"] == [task]


async def test_old_deletions_are_purged_and_recent_ones_kept(app, client, alice, engine):
    old, recent = await _create(client, alice, "old"), await _create(client, alice, "recent")
    for task in (old, recent):
        await client.delete(f"/tasks/{task['id']}", headers=alice)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE task_deletions SET deleted_at = now() - interval '31 days 2 hours'"
                " WHERE task_id = :id"
            ),
            {"id": old["id"]},
        )
    purged = await app.state.container.sync_service().purge_deletions()
    assert purged == 1
    async with engine.connect() as connection:
        left = (
            (await connection.execute(text("SELECT task_id FROM task_deletions"))).scalars().all()
        )
    assert [str(t) for t in left] == [recent["id"]]


async def test_deleting_the_account_forgets_its_feed(client, alice, bob, engine):
    for i in range(3):
        await _create(client, alice, f"a{i}")
    for who in (alice, bob):
        gone = await _create(client, who, "deleted")
        assert (await client.delete(f"/tasks/{gone['id']}", headers=who)).status_code == 204
    await _create(client, bob, "b")
    response = await client.request(
        "DELETE", "/auth/me", json={"password": "correct horse"}, headers=alice
    )
    assert response.status_code == 204, response.text
    async with engine.connect() as connection:
        owners = (
            (await connection.execute(text("SELECT DISTINCT user_id FROM task_deletions")))
            .scalars()
            .all()
        )
    bob_task = (await listed(client, bob)).popitem()[1]
    assert [str(o) for o in owners] == [bob_task["user_id"]]


async def test_other_methods_on_the_feed_are_405_not_a_task_named_changes(client, alice):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = await client.request(method, "/tasks/changes", json={}, headers=alice)
        assert_problem(response, 405)
        assert response.headers["allow"] == "GET, HEAD"
    # The task routes keep their own Allow.
    response = await client.request("POST", f"/tasks/{uuid.uuid4()}", headers=alice)
    assert response.headers["allow"] == "DELETE, GET, HEAD, PATCH, PUT"
