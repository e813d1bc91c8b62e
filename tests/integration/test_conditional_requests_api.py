"""ETag, If-None-Match and If-Match: optimistic concurrency without read-then-write races."""

from __future__ import annotations

import asyncio
import uuid


async def _create(client, headers, title="Draft"):
    response = await client.post("/tasks", json={"title": title}, headers=headers)
    assert response.status_code == 201
    return response.json(), response.headers["etag"]


async def test_every_task_response_carries_an_etag_that_changes_with_the_version(client, alice):
    task, created_tag = await _create(client, alice)
    fetched = await client.get(f"/tasks/{task['id']}", headers=alice)
    assert fetched.headers["etag"] == created_tag
    updated = await client.patch(f"/tasks/{task['id']}", json={"title": "x"}, headers=alice)
    assert updated.headers["etag"] not in {created_tag, ""}
    assert created_tag.startswith('"')
    assert created_tag.endswith('"')


async def test_if_none_match_gives_304_while_current(client, alice):
    task, tag = await _create(client, alice)
    url = f"/tasks/{task['id']}"
    not_modified = await client.get(url, headers={**alice, "If-None-Match": tag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == tag
    weak = await client.get(url, headers={**alice, "If-None-Match": f'"other", W/{tag}'})
    assert weak.status_code == 304

    await client.patch(url, json={"is_completed": True}, headers=alice)
    fresh = await client.get(url, headers={**alice, "If-None-Match": tag})
    assert fresh.status_code == 200
    assert fresh.json()["is_completed"] is True


async def test_if_none_match_does_not_bypass_ownership(client, alice, bob):
    task, tag = await _create(client, alice)
    response = await client.get(f"/tasks/{task['id']}", headers={**bob, "If-None-Match": tag})
    assert response.status_code == 403


async def test_stale_if_match_is_412_and_changes_nothing(client, alice):
    task, stale = await _create(client, alice)
    url = f"/tasks/{task['id']}"
    await client.patch(url, json={"title": "Second"}, headers=alice)

    for method, body in (
        ("PUT", {"title": "Lost"}),
        ("PATCH", {"title": "Lost"}),
        ("DELETE", None),
    ):
        response = await client.request(
            method, url, json=body, headers={**alice, "If-Match": stale}
        )
        assert response.status_code == 412, method
        assert response.headers["content-type"] == "application/problem+json"
    current = (await client.get(url, headers=alice)).json()
    assert (current["title"], current["version"]) == ("Second", 2)


async def test_current_if_match_applies(client, alice):
    task, tag = await _create(client, alice)
    url = f"/tasks/{task['id']}"
    updated = await client.put(url, json={"title": "Mine"}, headers={**alice, "If-Match": tag})
    assert updated.status_code == 200
    assert updated.json()["version"] == 2
    listed = f'"nope", {updated.headers["etag"]}'
    deleted = await client.delete(url, headers={**alice, "If-Match": listed})
    assert deleted.status_code == 204


async def test_if_match_star_weak_and_foreign_tags(client, alice):
    task, tag = await _create(client, alice)
    _, other_tag = await _create(client, alice, "Other")
    url = f"/tasks/{task['id']}"
    weak = await client.patch(url, json={"title": "w"}, headers={**alice, "If-Match": f"W/{tag}"})
    assert weak.status_code == 412, "If-Match compares strongly"
    foreign = await client.patch(url, json={"title": "f"}, headers={**alice, "If-Match": other_tag})
    assert foreign.status_code == 412, "another task's tag never matches"
    star = await client.patch(url, json={"title": "s"}, headers={**alice, "If-Match": "*"})
    assert star.status_code == 200


async def test_if_match_on_missing_or_foreign_task_keeps_404_and_403(client, alice, bob):
    task, tag = await _create(client, alice)
    foreign = await client.patch(
        f"/tasks/{task['id']}", json={"title": "x"}, headers={**bob, "If-Match": tag}
    )
    assert foreign.status_code == 403
    missing = await client.delete(f"/tasks/{uuid.uuid4()}", headers={**alice, "If-Match": tag})
    assert missing.status_code == 404


async def test_concurrent_conditional_updates_exactly_one_wins(client, alice):
    task, tag = await _create(client, alice)
    url = f"/tasks/{task['id']}"
    responses = await asyncio.gather(
        *(
            client.patch(url, json={"title": f"writer {i}"}, headers={**alice, "If-Match": tag})
            for i in range(8)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 7
    assert (await client.get(url, headers=alice)).json()["version"] == 2


async def test_concurrent_unconditional_updates_of_different_fields_all_survive(client, alice):
    task, _ = await _create(client, alice)
    url = f"/tasks/{task['id']}"
    await asyncio.gather(
        client.patch(url, json={"title": "New title"}, headers=alice),
        client.patch(url, json={"description": "New description"}, headers=alice),
        client.put(url, json={"is_completed": True}, headers=alice),
    )
    final = (await client.get(url, headers=alice)).json()
    assert final["title"] == "New title"
    assert final["description"] == "New description"
    assert final["is_completed"] is True
    assert final["version"] == 4
