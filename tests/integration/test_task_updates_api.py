"""Updating tasks through HTTP: PUT and PATCH with API.md's partial semantics, versions,
and concurrent updates that never lose each other."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.test_tasks_api import RFC3339_UTC, assert_problem, create, fetch, instant

UPDATE_METHODS = ["PUT", "PATCH"]


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_a_toggle_changes_only_is_completed_and_bumps_the_version(client, alice, method):
    task = await create(client, alice, "Buy milk", description="2 litres")

    response = await client.request(
        method, f"/tasks/{task['id']}", json={"is_completed": True}, headers=alice
    )

    assert response.status_code == 200
    updated = response.json()
    assert updated["is_completed"] is True
    assert (updated["title"], updated["description"]) == ("Buy milk", "2 litres")
    assert updated["version"] == 2
    assert updated["created_at"] == task["created_at"]
    assert RFC3339_UTC.fullmatch(updated["updated_at"])
    assert instant(updated["updated_at"]) > instant(task["updated_at"])
    assert (await fetch(client, alice, task["id"])).json() == updated


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_an_edit_with_null_description_clears_it(client, alice, method):
    task = await create(client, alice, "Buy milk", description="2 litres", is_completed=True)

    response = await client.request(
        method,
        f"/tasks/{task['id']}",
        json={"title": "  Buy oat milk ", "description": None},
        headers=alice,
    )

    updated = response.json()
    assert (updated["title"], updated["description"]) == ("Buy oat milk", None)
    assert updated["is_completed"] is True


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_absent_fields_keep_their_values(client, alice, method):
    task = await create(client, alice, "Buy milk", description="2 litres")

    updated = (
        await client.request(
            method, f"/tasks/{task['id']}", json={"description": "3 litres"}, headers=alice
        )
    ).json()

    assert (updated["title"], updated["description"]) == ("Buy milk", "3 litres")
    assert updated["is_completed"] is False


@pytest.mark.parametrize("method", UPDATE_METHODS)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": None}, "title"),
        ({"is_completed": None}, "is_completed"),
        ({}, "body"),
        ({"titel": "typo"}, "titel"),
        ({"is_completed": "yes"}, "is_completed"),
        ({"is_completed": 1}, "is_completed"),
        ({"title": 42}, "title"),
        ({"title": "   "}, "title"),
    ],
)
async def test_an_invalid_update_is_a_400_and_changes_nothing(client, alice, method, body, field):
    task = await create(client, alice, "Buy milk", description="2 litres")

    response = await client.request(method, f"/tasks/{task['id']}", json=body, headers=alice)

    problem = assert_problem(response, 400)
    assert field in {e["field"] for e in problem["errors"]}
    assert (await fetch(client, alice, task["id"])).json() == task


async def test_version_goes_up_by_one_per_update(client, alice):
    task = await create(client, alice)
    url = f"/tasks/{task['id']}"

    versions = [
        (
            await client.request(method, url, json={"is_completed": i % 2 == 0}, headers=alice)
        ).json()["version"]
        for i, method in enumerate(["PUT", "PATCH", "PUT", "PATCH"])
    ]

    assert versions == [2, 3, 4, 5]


async def test_concurrent_updates_of_different_fields_both_survive(client, alice):
    task = await create(client, alice, "Buy milk")
    url = f"/tasks/{task['id']}"

    title, done = await asyncio.gather(
        client.patch(url, json={"title": "Buy oat milk"}, headers=alice),
        client.patch(url, json={"is_completed": True}, headers=alice),
    )

    assert (title.status_code, done.status_code) == (200, 200)
    assert {title.json()["version"], done.json()["version"]} == {2, 3}
    final = (await fetch(client, alice, task["id"])).json()
    assert (final["title"], final["is_completed"], final["version"]) == ("Buy oat milk", True, 3)


async def test_many_concurrent_updates_each_count_once(client, alice):
    task = await create(client, alice)
    url = f"/tasks/{task['id']}"

    responses = await asyncio.gather(
        *(client.put(url, json={"description": f"edit {i}"}, headers=alice) for i in range(10))
    )

    assert sorted(r.json()["version"] for r in responses) == list(range(2, 12))
    assert (await fetch(client, alice, task["id"])).json()["version"] == 11
