"""Keyset paging with next_cursor: every sort, the completed filter, tampering, and a walk
that stays exact while tasks are inserted and deleted under it."""

from __future__ import annotations

import base64
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

SORTS = ["created_at", "-created_at", "updated_at", "-updated_at"]


async def _seed(engine, user_id: str, count: int, *, same_instant: bool = False) -> list[str]:
    """Insert tasks directly (fast); `same_instant` makes every timestamp equal, so the id
    alone must break the ties."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        moment = base if same_instant else base + timedelta(seconds=i)
        rows.append(
            {
                "id": uuid.uuid4(),
                "user_id": uuid.UUID(user_id),
                "title": f"task {i:04d}",
                "done": i % 3 == 0,
                "created": moment,
                "updated": moment + timedelta(seconds=(i * 7) % count),
            }
        )
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO tasks (id, user_id, title, is_completed, created_at, updated_at,"
                " version) VALUES (:id, :user_id, :title, :done, :created, :updated, 1)"
            ),
            rows,
        )
    return [str(r["id"]) for r in rows]


async def _user_id(client, headers) -> str:
    return (await client.get("/auth/me", headers=headers)).json()["id"]


async def _walk(client, headers, **params) -> list[dict]:
    seen, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/tasks", params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.extend(body["tasks"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("completed", [None, True, False])
async def test_cursor_walk_equals_the_full_ordered_list(client, alice, engine, sort, completed):
    await _seed(engine, await _user_id(client, alice), 37)
    filters = {"sort": sort} | (
        {"completed": str(completed).lower()} if completed is not None else {}
    )
    everything = (
        await client.get("/tasks", params={**filters, "limit": 200}, headers=alice)
    ).json()
    walked = await _walk(client, alice, limit=5, **filters)
    assert [t["id"] for t in walked] == [t["id"] for t in everything["tasks"]]
    assert len(walked) == everything["total"]


async def test_ties_on_the_timestamp_are_broken_by_id(client, alice, engine):
    ids = await _seed(engine, await _user_id(client, alice), 25, same_instant=True)
    walked = await _walk(client, alice, limit=4)
    assert sorted(t["id"] for t in walked) == sorted(ids)
    assert len({t["id"] for t in walked}) == 25


async def test_last_page_has_no_cursor_and_total_respects_the_filter(client, alice, engine):
    await _seed(engine, await _user_id(client, alice), 9)
    page = (await client.get("/tasks", params={"limit": 9}, headers=alice)).json()
    assert page["next_cursor"] is None
    done = (
        await client.get("/tasks", params={"completed": "true", "limit": 1}, headers=alice)
    ).json()
    assert done["total"] == 3
    assert done["next_cursor"] is not None


async def test_cursor_and_offset_compose_with_limit(client, alice, engine):
    await _seed(engine, await _user_id(client, alice), 10)
    by_offset = (await client.get("/tasks", params={"limit": 3, "offset": 3}, headers=alice)).json()
    first = (await client.get("/tasks", params={"limit": 3}, headers=alice)).json()
    by_cursor = (
        await client.get(
            "/tasks", params={"limit": 3, "cursor": first["next_cursor"]}, headers=alice
        )
    ).json()
    assert [t["id"] for t in by_cursor["tasks"]] == [t["id"] for t in by_offset["tasks"]]
    both = await client.get(
        "/tasks", params={"offset": 1, "cursor": first["next_cursor"]}, headers=alice
    )
    assert both.status_code == 400


async def test_forged_mangled_and_mismatched_cursors_are_400(client, alice, engine):
    await _seed(engine, await _user_id(client, alice), 6)
    cursor = (await client.get("/tasks", params={"limit": 2}, headers=alice)).json()["next_cursor"]
    payload, mac = cursor.split(".")
    forged_payload = (
        base64.urlsafe_b64encode(
            base64.urlsafe_b64decode(payload + "==").replace(b"-created_at", b"created_at")
        )
        .rstrip(b"=")
        .decode()
    )
    for bad in [
        "garbage",
        cursor[:-2],
        f"{forged_payload}.{mac}",
        f"{payload}.{'A' * len(mac)}",
        "a.b.c",
        "%%%",
        "\u00e9.\u00e9",
    ]:
        response = await client.get("/tasks", params={"cursor": bad}, headers=alice)
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["field"] == "cursor"
    other_sort = await client.get(
        "/tasks", params={"cursor": cursor, "sort": "created_at"}, headers=alice
    )
    assert other_sort.status_code == 400


async def test_a_cursor_never_reveals_another_users_tasks(client, alice, bob, engine):
    await _seed(engine, await _user_id(client, alice), 4)
    await _seed(engine, await _user_id(client, bob), 4)
    cursor = (await client.get("/tasks", params={"limit": 1}, headers=alice)).json()["next_cursor"]
    page = (await client.get("/tasks", params={"cursor": cursor}, headers=bob)).json()
    bob_id = await _user_id(client, bob)
    assert all(t["user_id"] == bob_id for t in page["tasks"])


async def test_walk_of_1000_with_interleaved_inserts_and_deletes(client, alice, engine):
    """Each task that exists from start to end is seen exactly once; deleted ones may or
    may not have been seen, new ones (newer than the walk's position) are not repeated."""
    original = set(await _seed(engine, await _user_id(client, alice), 1000))
    rng = random.Random(7)
    deleted: set[str] = set()
    inserted: set[str] = set()
    seen: list[str] = []
    cursor = None
    mutations = 0
    while True:
        query = {"limit": 15, **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/tasks", params=query, headers=alice)).json()
        seen.extend(t["id"] for t in body["tasks"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        if mutations < 50:
            mutations += 1
            if mutations % 2:
                created = await client.post("/tasks", json={"title": "new"}, headers=alice)
                inserted.add(created.json()["id"])
            else:
                victim = rng.choice(sorted(original - deleted))
                assert (await client.delete(f"/tasks/{victim}", headers=alice)).status_code == 204
                deleted.add(victim)
    assert mutations == 50
    assert len(seen) == len(set(seen)), "a task was visited twice"
    assert original - deleted <= set(seen), "a surviving task was skipped"
    assert not (inserted & set(seen)), "tasks newer than the walk appear behind its position"


@pytest.mark.parametrize("sort", ["due_at", "-due_at", "priority", "-priority", "position"])
@pytest.mark.parametrize("label", [None, "work"])
async def test_walks_of_the_new_sorts_stay_exact_while_tasks_change(
    client, alice, engine, sort, label
):
    """Issue 20: by due date (a third without one), priority (many ties) or position, with
    or without a label filter, while tasks are created, deleted and edited (in fields other
    than the sort's) under the walk: every surviving matching task exactly once."""
    original = await _seed(engine, await _user_id(client, alice), 300)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE tasks SET priority = abs(hashtext(id::text)) % 4,"
                " labels = CASE WHEN abs(hashtext(title)) % 2 = 0 THEN ARRAY['Work'] ELSE '{}' END,"
                " due_at = CASE WHEN abs(hashtext(title)) % 3 > 0"
                " THEN created_at + (abs(hashtext(id::text)) % 50) * interval '1 day' END"
            )
        )
    matching = set(original)
    if label:
        matching = {t["id"] for t in await _walk(client, alice, label=label, limit=200)}
        assert 0 < len(matching) < len(original)
    rng = random.Random(20)
    deleted: set[str] = set()
    seen: list[str] = []
    cursor = None
    step = 0
    while True:
        query = {"limit": 7, "sort": sort, **({"label": label} if label else {})}
        query.update({"cursor": cursor} if cursor else {})
        response = await client.get("/tasks", params=query, headers=alice)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.extend(t["id"] for t in body["tasks"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        step += 1
        if step % 3 == 0:
            await client.post(
                "/tasks", json={"title": "new", "labels": ["work"], "priority": 2}, headers=alice
            )
        elif step % 3 == 1:
            victim = rng.choice(sorted(set(original) - deleted))
            assert (await client.delete(f"/tasks/{victim}", headers=alice)).status_code == 204
            deleted.add(victim)
        else:
            edited = rng.choice(sorted(set(original) - deleted))
            patch = {"title": f"edited {step}", "is_completed": True}
            assert (
                await client.patch(f"/tasks/{edited}", json=patch, headers=alice)
            ).status_code == 200
    assert step > 10
    assert len(seen) == len(set(seen)), "a task was visited twice"
    assert matching - deleted <= set(seen), "a surviving task was skipped"
