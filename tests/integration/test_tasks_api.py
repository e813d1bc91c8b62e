"""User story 3 through HTTP: create, list, get and delete tasks, each user seeing and
changing only their own (updates are in test_task_updates_api.py)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import pytest

from tests.integration.http import assert_problem

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
TASK_FIELDS = {
    "id",
    "user_id",
    "title",
    "description",
    "is_completed",
    "created_at",
    "updated_at",
    "version",
    "due_at",
    "priority",
    "labels",
    "position",
}


async def create(client, headers, title: str = "Buy milk", **fields) -> dict:
    response = await client.post("/tasks", json={"title": title, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def instant(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


async def fetch(client, headers, task_id: str):
    return await client.get(f"/tasks/{task_id}", headers=headers)


# --- create ---------------------------------------------------------------------------


async def test_create_returns_201_the_task_and_its_location(client, alice):
    user_id = (await client.get("/auth/me", headers=alice)).json()["id"]

    response = await client.post("/tasks", json={"title": "  Buy milk \n"}, headers=alice)

    assert response.status_code == 201
    task = response.json()
    assert set(task) >= TASK_FIELDS  # API.md allows additions
    assert task["title"] == "Buy milk"
    assert task["description"] is None
    assert task["is_completed"] is False
    assert task["version"] == 1
    assert task["user_id"] == user_id
    assert uuid.UUID(task["id"]).version == 4
    assert RFC3339_UTC.fullmatch(task["created_at"])
    assert task["updated_at"] == task["created_at"]
    assert response.headers["location"] == f"/tasks/{task['id']}"
    assert (await client.get(response.headers["location"], headers=alice)).json() == task


async def test_create_takes_description_and_is_completed(client, alice):
    task = await create(client, alice, "Read", description="chapter 3", is_completed=True)

    assert (task["description"], task["is_completed"]) == ("chapter 3", True)
    assert (await fetch(client, alice, task["id"])).json() == task


# --- list -----------------------------------------------------------------------------


async def test_list_returns_only_the_callers_tasks(client, alice, bob):
    mine = [await create(client, alice, f"alice {i}") for i in range(3)]
    await create(client, bob, "bob's")

    response = await client.get("/tasks", headers=alice)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3
    assert {t["id"] for t in body["tasks"]} == {t["id"] for t in mine}
    assert (body["limit"], body["offset"]) == (50, 0)


async def test_a_new_user_has_no_tasks(client, alice):
    body = (await client.get("/tasks", headers=alice)).json()

    assert (body["tasks"], body["total"]) == ([], 0)


async def test_limit_and_offset_page_through_newest_first(client, alice):
    titles = [(await create(client, alice, f"task {i}"))["title"] for i in range(5)]

    body = (await client.get("/tasks?limit=2&offset=1", headers=alice)).json()

    assert [t["title"] for t in body["tasks"]] == [titles[3], titles[2]]
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 1)


async def test_limit_bounds_1_and_200_are_accepted(client, alice):
    await create(client, alice)

    for limit in (1, 200):
        response = await client.get(f"/tasks?limit={limit}", headers=alice)
        assert response.status_code == 200
        assert response.json()["limit"] == limit


async def test_completed_filters_and_total_counts_the_matches(client, alice, bob):
    done = await create(client, alice, "done", is_completed=True)
    todo = [await create(client, alice, f"todo {i}") for i in range(2)]
    await create(client, bob, "bob done", is_completed=True)

    finished = (await client.get("/tasks?completed=true", headers=alice)).json()
    open_ = (await client.get("/tasks?completed=false", headers=alice)).json()

    assert ([t["id"] for t in finished["tasks"]], finished["total"]) == ([done["id"]], 1)
    assert {t["id"] for t in open_["tasks"]} == {t["id"] for t in todo}
    assert open_["total"] == 2


async def test_every_sort_order(client, alice):
    a, b, c = [(await create(client, alice, name))["id"] for name in "abc"]
    await client.put(f"/tasks/{a}", json={"is_completed": True}, headers=alice)

    async def order(sort: str) -> list[str]:
        response = await client.get(f"/tasks?sort={sort}", headers=alice)
        assert response.status_code == 200
        return [t["id"] for t in response.json()["tasks"]]

    assert await order("created_at") == [a, b, c]
    assert await order("-created_at") == [c, b, a]
    assert await order("updated_at") == [b, c, a]
    assert await order("-updated_at") == [a, c, b]
    assert (await client.get("/tasks", headers=alice)).json()["tasks"][0]["id"] == c


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("completed=maybe", "completed"),
        ("sort=title", "sort"),
        ("sort=created_at;DROP TABLE tasks", "sort"),
    ],
)
async def test_a_bad_query_parameter_is_a_400_naming_it(client, alice, query, field):
    response = await client.get(f"/tasks?{query}", headers=alice)

    body = assert_problem(response, 400)
    assert [e["field"] for e in body["errors"]] == [field]
    assert field in body["detail"]


# --- one task: get, 404, 403, 400 -------------------------------------------------------


async def test_get_returns_the_callers_task(client, alice):
    task = await create(client, alice)

    response = await fetch(client, alice, task["id"])

    assert response.status_code == 200
    assert response.json() == task


def _one_task_calls(task_id: str) -> list[tuple[str, str, dict | None]]:
    url = f"/tasks/{task_id}"
    return [
        ("GET", url, None),
        ("PUT", url, {"title": "hijacked"}),
        ("PATCH", url, {"is_completed": True}),
        ("DELETE", url, None),
    ]


async def test_an_unknown_id_is_a_404_on_every_call(client, alice):
    for method, url, body in _one_task_calls(str(uuid.uuid4())):
        response = await client.request(method, url, json=body, headers=alice)
        assert_problem(response, 404)


async def test_another_users_task_is_a_403_and_stays_untouched(client, alice, bob):
    task = await create(client, alice, "private", description="secret")

    for method, url, body in _one_task_calls(task["id"]):
        response = await client.request(method, url, json=body, headers=bob)
        problem = assert_problem(response, 403)
        assert "private" not in response.text, method
        assert "secret" not in response.text, method
        assert problem["instance"] == url

    assert (await fetch(client, alice, task["id"])).json() == task


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"])
async def test_a_malformed_id_is_a_400_naming_task_id(client, alice, bad_id):
    for method, url, body in _one_task_calls(bad_id):
        response = await client.request(method, url, json=body, headers=alice)
        problem = assert_problem(response, 400)
        assert [e["field"] for e in problem["errors"]] == ["task_id"], method


async def test_every_task_call_without_a_token_is_a_401(client, alice):
    task = await create(client, alice)

    calls = [("GET", "/tasks", None), ("POST", "/tasks", {"title": "x"})]
    for method, url, body in calls + _one_task_calls(task["id"]):
        response = await client.request(method, url, json=body)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer", method
    assert (await fetch(client, alice, task["id"])).json() == task


# --- delete ---------------------------------------------------------------------------


async def test_delete_is_204_then_the_task_is_gone(client, alice):
    task = await create(client, alice)
    kept = await create(client, alice, "kept")

    response = await client.delete(f"/tasks/{task['id']}", headers=alice)

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await fetch(client, alice, task["id"]), 404)
    assert_problem(await client.delete(f"/tasks/{task['id']}", headers=alice), 404)
    assert [t["id"] for t in (await client.get("/tasks", headers=alice)).json()["tasks"]] == [
        kept["id"]
    ]
