"""PATCH /tasks (mark all) and DELETE /tasks?completed= (clear), with the counts every
listing carries, on real PostgreSQL; and single-task updates running beside a bulk one."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.integration.http import assert_problem


async def _create(client, headers, *states: bool) -> list[dict]:
    created = []
    for i, done in enumerate(states):
        response = await client.post(
            "/tasks", json={"title": f"task {i}", "is_completed": done}, headers=headers
        )
        assert response.status_code == 201, response.text
        created.append(response.json())
    return created


async def _state(client, headers, **params) -> tuple[dict[str, dict], dict]:
    body = (await client.get("/tasks", params={"limit": 200, **params}, headers=headers)).json()
    return {t["id"]: t for t in body["tasks"]}, body["counts"]


async def _counted_by_sql(engine) -> dict[str, tuple[int, int]]:
    """Each user's counter row, and the same numbers counted from the tasks themselves."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT c.total, c.completed, count(t.id), count(t.id) FILTER (WHERE"
                " t.is_completed) FROM task_counters c LEFT JOIN tasks t USING (user_id)"
                " GROUP BY c.user_id, c.total, c.completed"
            )
        )
        return [tuple(r) for r in rows]


async def test_mark_all_then_clear_completed_with_counts_after_each(client, alice, bob, engine):
    tasks = await _create(client, alice, True, False, False, False)
    await _create(client, bob, False, True)
    _, counts = await _state(client, alice)
    assert counts == {"all": 4, "active": 3, "completed": 1}

    marked = await client.patch("/tasks", json={"is_completed": True}, headers=alice)
    assert marked.status_code == 200
    assert marked.json() == {"updated": 3}
    after, counts = await _state(client, alice, completed="true")
    assert counts == {"all": 4, "active": 0, "completed": 4}
    done_before = tasks[0]
    assert after[done_before["id"]] == done_before, "a task that did not change keeps its version"
    for task in tasks[1:]:
        assert after[task["id"]]["version"] == 2
        assert after[task["id"]]["updated_at"] > task["updated_at"]

    unmarked = await client.patch(
        "/tasks", params={"completed": "true"}, json={"is_completed": False}, headers=alice
    )
    assert unmarked.json() == {"updated": 4}
    assert (await _state(client, alice))[1] == {"all": 4, "active": 4, "completed": 0}
    again = await client.patch("/tasks", json={"is_completed": False}, headers=alice)
    assert again.json() == {"updated": 0}

    await client.patch(f"/tasks/{tasks[0]['id']}", json={"is_completed": True}, headers=alice)
    cleared = await client.delete("/tasks", params={"completed": "true"}, headers=alice)
    assert cleared.status_code == 200
    assert cleared.json() == {"deleted": 1}
    remaining, counts = await _state(client, alice)
    assert counts == {"all": 3, "active": 3, "completed": 0}
    assert set(remaining) == {t["id"] for t in tasks[1:]}
    cleared = await client.delete("/tasks", params={"completed": "false"}, headers=alice)
    assert cleared.json() == {"deleted": 3}
    assert await _state(client, alice) == ({}, {"all": 0, "active": 0, "completed": 0})

    assert (await _state(client, bob))[1] == {"all": 2, "active": 1, "completed": 1}
    assert all(row[:2] == row[2:] for row in await _counted_by_sql(engine))


async def test_counts_ride_along_whatever_the_filter_and_page(client, alice):
    await _create(client, alice, True, True, False)
    for params in ({}, {"completed": "true"}, {"completed": "false"}, {"offset": 50}):
        body = (await client.get("/tasks", params=params, headers=alice)).json()
        assert body["counts"] == {"all": 3, "active": 1, "completed": 2}, params
    filtered = (await client.get("/tasks", params={"completed": "true"}, headers=alice)).json()
    assert filtered["total"] == 2


async def test_clear_needs_completed(client, alice):
    await _create(client, alice, True, False)
    for params in ({}, {"completed": "yes"}, {"completed": ""}):
        response = await client.delete("/tasks", params=params, headers=alice)
        body = assert_problem(response, 400)
        assert [e["field"] for e in body["errors"]] == ["completed"]
    assert (await _state(client, alice))[1]["all"] == 2


async def test_mark_all_refuses_a_bad_body(client, alice):
    for body in (
        {},
        {"is_completed": "true"},
        {"is_completed": None},
        {"is_completed": True, "x": 1},
    ):
        assert_problem(await client.patch("/tasks", json=body, headers=alice), 400)
    assert_problem(await client.patch("/tasks", json={"is_completed": True}), 401)
    assert_problem(await client.delete("/tasks", params={"completed": "true"}), 401)


async def test_20_single_updates_beside_a_bulk_toggle_lose_nothing(client, alice, engine):
    """Half the single updates rename a task, half mark it active; the bulk marks every task
    complete. Each single update bumps its task's version, the bulk bumps the tasks it
    changes; whatever the order the database chose, no write is lost and none deadlocks."""
    starts = [i % 4 == 0 for i in range(20)]
    tasks = await _create(client, alice, *starts)
    for _ in range(3):
        singles = [
            client.patch(
                f"/tasks/{task['id']}",
                json={"title": f"renamed {i}"} if i % 2 else {"is_completed": False},
                headers=alice,
            )
            for i, task in enumerate(tasks)
        ]
        bulk = client.patch("/tasks", json={"is_completed": True}, headers=alice)
        before = (await _state(client, alice))[0]
        *single_responses, bulk_response = await asyncio.gather(*singles, bulk)

        assert [r.status_code for r in single_responses] == [200] * 20
        assert bulk_response.status_code == 200
        after, counts = await _state(client, alice)
        changed_by_bulk = 0
        for i, task in enumerate(tasks):
            old, new, single = before[task["id"]], after[task["id"]], single_responses[i].json()
            if i % 2:
                assert new["title"] == f"renamed {i}"
                bulk_changed = not old["is_completed"]
                assert new["is_completed"]
            else:
                # the single one ran last exactly when the task ended active
                single_last = not new["is_completed"]
                bulk_changed = not single_last or not old["is_completed"]
                assert single_last == (single["version"] == new["version"])
            changed_by_bulk += bulk_changed
            assert new["version"] == old["version"] + 1 + bulk_changed, (i, old, new)
        assert bulk_response.json() == {"updated": changed_by_bulk}
        active = sum(not t["is_completed"] for t in after.values())
        assert counts == {"all": 20, "active": active, "completed": 20 - active}
        assert all(row[:2] == row[2:] for row in await _counted_by_sql(engine))
        await client.patch("/tasks", json={"is_completed": False}, headers=alice)
        for task, done in zip(tasks, starts, strict=True):
            if done:
                await client.patch(
                    f"/tasks/{task['id']}", json={"is_completed": True}, headers=alice
                )
