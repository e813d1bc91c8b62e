"""Many requests at once on one row or one email: the database's row locks and unique
constraint decide, and the API reports each outcome with the right status."""

from __future__ import annotations

import asyncio
from collections import Counter

FIELDS = ["title", "description", "is_completed"]


def _change(i: int) -> dict:
    field = FIELDS[i % 3]
    value = {"title": f"title {i}", "description": f"description {i}", "is_completed": i % 2 == 0}
    return {field: value[field]}


async def test_50_concurrent_updates_lose_nothing(client, alice):
    task = (await client.post("/tasks", json={"title": "start"}, headers=alice)).json()
    url = f"/tasks/{task['id']}"
    responses = await asyncio.gather(
        *(
            (client.patch if i % 2 else client.put)(url, json=_change(i), headers=alice)
            for i in range(50)
        )
    )
    assert [r.status_code for r in responses] == [200] * 50
    versions = sorted(r.json()["version"] for r in responses)
    assert versions == list(range(2, 52)), "each update bumps the version exactly once"
    final = (await client.get(url, headers=alice)).json()
    assert final["version"] == 51
    # The last writer of each field (the highest version that touched it) is what remains.
    for field in FIELDS:
        writers = [r.json() for i, r in enumerate(responses) if field in _change(i)]
        last = max(writers, key=lambda body: body["version"])
        assert final[field] == last[field], field


async def test_concurrent_registrations_of_one_email_exactly_one_wins(client):
    responses = await asyncio.gather(
        *(
            client.post(
                "/auth/register",
                json={
                    "email": f"{'Same' if i % 2 else 'same'}@example.com",
                    "password": "long enough",
                },
            )
            for i in range(20)
        )
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 400: 19}
    refused = next(r for r in responses if r.status_code == 400)
    assert "already registered" in refused.json()["detail"]


async def test_a_task_deleted_while_being_updated_is_404_never_500(client, alice):
    for _ in range(5):
        task = (await client.post("/tasks", json={"title": "doomed"}, headers=alice)).json()
        url = f"/tasks/{task['id']}"
        updates = [client.patch(url, json={"title": f"u{i}"}, headers=alice) for i in range(10)]
        responses = await asyncio.gather(
            *updates[:5], client.delete(url, headers=alice), *updates[5:]
        )
        deletion = responses[5]
        assert deletion.status_code == 204
        assert {r.status_code for r in responses[:5] + responses[6:]} <= {200, 404}
        assert (await client.get(url, headers=alice)).status_code == 404
