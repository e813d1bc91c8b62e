"""Issue 20 through HTTP: due dates, priorities, labels, the caller's own order (moves),
the listing's filters, sorts and search, and GET /labels."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.integration.http import assert_problem
from todo_core.ordering import POSITION_MAX_LENGTH, RESPACE_EACH_SIDE, position_between


async def create(client, headers, title: str = "Buy milk", **fields) -> dict:
    response = await client.post("/tasks", json={"title": title, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def listed(client, headers, **params) -> dict:
    response = await client.get("/tasks", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def titles(body: dict) -> list[str]:
    return [t["title"] for t in body["tasks"]]


# --- the fields -------------------------------------------------------------------------


async def test_a_task_sent_as_the_original_spec_gets_the_defaults(client, alice):
    task = await create(client, alice, "plain", description=None, is_completed=False)
    assert (task["due_at"], task["priority"], task["labels"]) == (None, 0, [])
    assert isinstance(task["position"], str)
    assert task["position"]


async def test_create_takes_the_planning_fields_and_returns_due_at_in_utc(client, alice):
    task = await create(
        client, alice, due_at="2026-05-01T09:30:00+02:00", priority=3, labels=[" Home ", "Work"]
    )
    assert task["due_at"] == "2026-05-01T07:30:00Z"
    assert (task["priority"], task["labels"]) == (3, ["Home", "Work"])
    fetched = (await client.get(f"/tasks/{task['id']}", headers=alice)).json()
    assert fetched == task


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"due_at": "2026-05-01T09:30:00"}, "due_at"),
        ({"due_at": "2026-05-01"}, "due_at"),
        ({"due_at": 1767225600}, "due_at"),
        ({"priority": 4}, "priority"),
        ({"priority": -1}, "priority"),
        ({"priority": "3"}, "priority"),
        ({"labels": ["a", "A"]}, "labels"),
        ({"labels": [str(i) for i in range(21)]}, "labels"),
        ({"labels": ["x" * 51]}, "labels.0"),
        ({"labels": ["  "]}, "labels.0"),
        ({"labels": ["bell\x07"]}, "labels.0"),
        ({"labels": "home"}, "labels"),
    ],
)
async def test_a_bad_planning_field_is_a_400_naming_it(client, alice, fields, field):
    response = await client.post("/tasks", json={"title": "t", **fields}, headers=alice)
    body = assert_problem(response, 400)
    assert field in {e["field"] for e in body["errors"]}, body


async def test_put_keeps_its_original_fields_and_patch_takes_the_new_ones(client, alice):
    task = await create(client, alice, due_at="2026-05-01T09:00:00Z", labels=["home"], priority=2)
    url = f"/tasks/{task['id']}"
    refused = await client.put(url, json={"priority": 1}, headers=alice)
    assert "priority" in {e["field"] for e in assert_problem(refused, 400)["errors"]}
    patched = await client.patch(url, json={"due_at": None, "labels": []}, headers=alice)
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["due_at"], body["labels"], body["priority"]) == (None, [], 2)
    assert body["version"] == task["version"] + 1
    again = await client.patch(url, json={"priority": 3, "labels": ["a"]}, headers=alice)
    assert (again.json()["priority"], again.json()["labels"]) == (3, ["a"])
    for bad in ({"priority": None}, {"labels": None}, {"due_at": "2026-05-01T09:00"}):
        assert_problem(await client.patch(url, json=bad, headers=alice), 400)


async def test_idempotent_create_keeps_the_planning_fields(client, alice):
    body = {"title": "t", "labels": ["home"], "due_at": "2026-05-01T09:00:00Z"}
    headers = {**alice, "Idempotency-Key": "plan-1"}
    first = await client.post("/tasks", json=body, headers=headers)
    again = await client.post("/tasks", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.json()["labels"] == ["home"]
    other = await client.post("/tasks", json={**body, "labels": ["work"]}, headers=headers)
    assert_problem(other, 422)


# --- moves ------------------------------------------------------------------------------


async def test_new_tasks_go_to_the_end_and_moves_reorder_them(client, alice):
    a, b, c = [await create(client, alice, t) for t in "abc"]
    assert titles(await listed(client, alice, sort="position")) == ["a", "b", "c"]

    first = await client.post(f"/tasks/{c['id']}/move", json={"after": None}, headers=alice)
    assert first.status_code == 200, first.text
    assert first.json()["version"] == c["version"] + 1
    assert first.headers["ETag"]
    assert titles(await listed(client, alice, sort="position")) == ["c", "a", "b"]

    middle = await client.post(f"/tasks/{c['id']}/move", json={"after": a["id"]}, headers=alice)
    assert middle.json()["version"] == c["version"] + 2
    assert titles(await listed(client, alice, sort="position")) == ["a", "c", "b"]
    last = await client.post(f"/tasks/{a['id']}/move", json={"after": b["id"]}, headers=alice)
    assert last.status_code == 200
    await create(client, alice, "d")
    assert titles(await listed(client, alice, sort="position")) == ["c", "b", "a", "d"]
    # Only the moved task changed.
    assert (await client.get(f"/tasks/{b['id']}", headers=alice)).json() == b


async def test_move_errors(client, alice, bob):
    a, b = await create(client, alice, "a"), await create(client, alice, "b")
    theirs = await create(client, bob, "theirs")
    url = f"/tasks/{a['id']}/move"
    cases = [
        (url, {"after": a["id"]}, alice, 400),
        (url, {"after": "not-a-uuid"}, alice, 400),
        (url, {}, alice, 400),
        (url, {"after": str(uuid.uuid4())}, alice, 404),
        (url, {"after": theirs["id"]}, alice, 403),
        (f"/tasks/{uuid.uuid4()}/move", {"after": None}, alice, 404),
        (f"/tasks/{theirs['id']}/move", {"after": None}, alice, 403),
        ("/tasks/nope/move", {"after": None}, alice, 400),
    ]
    for target, body, headers, status in cases:
        assert_problem(await client.post(target, json=body, headers=headers), status)
    stale = await client.post(url, json={"after": b["id"]}, headers={**alice, "If-Match": '"0"'})
    assert_problem(stale, 412)
    fresh = (await client.get(f"/tasks/{a['id']}", headers=alice)).headers["ETag"]
    moved = await client.post(url, json={"after": b["id"]}, headers={**alice, "If-Match": fresh})
    assert moved.status_code == 200
    assert titles(await listed(client, alice, sort="position")) == ["b", "a"]


# --- listing ----------------------------------------------------------------------------


@pytest.fixture
async def planned(client, alice, bob) -> None:
    rows = [
        ("Landingpages", "2026-05-02T10:00:00Z", 3, ["Work"], None),
        ("Buy milk", "2026-05-01T10:00:00Z", 1, ["work", "errand"], "2 litres"),
        ("Water plants", None, 2, ["home"], None),
        ("Call the bank", "2026-05-03T10:00:00Z", 0, [], "about the card"),
        ("buy a lamp", None, 3, ["Errand", "Work"], None),
    ]
    for title, due, priority, labels, description in rows:
        await create(
            client,
            alice,
            title,
            due_at=due,
            priority=priority,
            labels=labels,
            description=description,
        )
    await create(client, bob, "Buy milk", labels=["work"], due_at="2026-05-01T10:00:00Z")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "land"}, ["Landingpages"]),
        ({"q": "buy mil"}, ["Buy milk"]),
        ({"q": "BUY"}, ["Buy milk", "buy a lamp"]),
        ({"q": "litre"}, ["Buy milk"]),
        ({"q": "card ban"}, ["Call the bank"]),
        ({"q": "ilk"}, []),
        ({"label": "WORK"}, ["Landingpages", "Buy milk", "buy a lamp"]),
        ({"label": ["work", "errand"]}, ["Buy milk", "buy a lamp"]),
        ({"has_due": "false"}, ["Water plants", "buy a lamp"]),
        ({"due_before": "2026-05-02T10:00:00Z"}, ["Buy milk"]),
        ({"due_after": "2026-05-02T10:00:00Z"}, ["Landingpages", "Call the bank"]),
        ({"priority": "3"}, ["Landingpages", "buy a lamp"]),
        ({"priority": "3", "label": "work", "q": "buy"}, ["buy a lamp"]),
    ],
)
async def test_filters(client, alice, planned, params, expected):
    body = await listed(client, alice, sort="created_at", **params)
    assert titles(body) == expected
    assert body["total"] == len(expected)
    assert body["counts"] == {"all": 5, "active": 5, "completed": 0}


async def test_sorts(client, alice, planned):
    by_due = titles(await listed(client, alice, sort="due_at"))
    assert by_due[:3] == ["Buy milk", "Landingpages", "Call the bank"]
    assert set(by_due[3:]) == {"Water plants", "buy a lamp"}
    by_due_desc = titles(await listed(client, alice, sort="-due_at"))
    assert by_due_desc[:3] == ["Call the bank", "Landingpages", "Buy milk"]
    priorities = [t["priority"] for t in (await listed(client, alice, sort="-priority"))["tasks"]]
    assert priorities == [3, 3, 2, 1, 0]
    assert titles(await listed(client, alice, sort="position"))[0] == "Landingpages"


@pytest.mark.parametrize("sort", ["due_at", "-due_at", "priority", "-priority", "position"])
async def test_cursor_pages_cover_every_matching_task_once(client, alice, planned, sort):
    whole = titles(await listed(client, alice, sort=sort, label="work"))
    seen, params = [], {"sort": sort, "label": "work", "limit": 1}
    while True:
        body = await listed(client, alice, **params)
        seen += titles(body)
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == whole
    assert len(whole) == 3
    other = await client.get("/tasks", params={**params, "label": "home"}, headers=alice)
    assert "cursor" in {e["field"] for e in assert_problem(other, 400)["errors"]}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"due_before": "2026-05-01T10:00:00"}, "due_before"),
        ({"due_after": "tomorrow"}, "due_after"),
        ({"has_due": "yes"}, "has_due"),
        ({"priority": "5"}, "priority"),
        ({"label": ""}, "label"),
        ({"q": "x" * 201}, "q"),
        ({"q": ""}, "q"),
        ({"q": "-- !"}, "q"),
        ({"sort": "title"}, "sort"),
    ],
)
async def test_a_bad_filter_is_a_400_naming_it(client, alice, params, field):
    response = await client.get("/tasks", params=params, headers=alice)
    assert field in {e["field"] for e in assert_problem(response, 400)["errors"]}


async def test_labels_with_counts_sorted_by_name(client, alice, bob, planned):
    response = await client.get("/labels", headers=alice)
    assert response.status_code == 200
    assert response.json() == {
        "labels": [
            {"name": "errand", "count": 2},
            {"name": "home", "count": 1},
            {"name": "Work", "count": 3},
        ]
    }
    assert (await client.get("/labels")).status_code == 401


async def test_many_moves_into_one_gap_respace_the_order_once_in_a_while(client, alice):
    a, b, c = [await create(client, alice, t) for t in "abc"]
    for turn in range(400):  # b and c take turns right after a: each move halves one gap
        moving = (c if turn % 2 == 0 else b)["id"]
        moved = await client.post(f"/tasks/{moving}/move", json={"after": a["id"]}, headers=alice)
        assert moved.status_code == 200, moved.text
    listed = (await listed_all(client, alice))["tasks"]
    assert [t["title"] for t in listed] == ["a", "b", "c"]
    assert max(len(t["position"]) for t in listed) <= 64
    assert listed[0]["version"] > 1, "a, never moved, was respaced"
    await create(client, alice, "d")
    assert titles(await listed_all(client, alice)) == ["a", "b", "c", "d"]


async def test_a_task_respaced_once_moves_into_a_worn_gap_again(client, alice):
    # d keeps its position from the first respacing; e comes after it. When the gap wears
    # again and d is the task moved into it, the second respacing may give e d's old
    # position: it must not collide with it (it answered 500).
    a, b, c, d = [await create(client, alice, t) for t in "abcd"]
    await create(client, alice, "e")

    async def wear_the_gap_after_a(until) -> list[dict]:
        for turn in range(400):
            moving = (c if turn % 2 == 0 else b)["id"]
            moved = await client.post(
                f"/tasks/{moving}/move", json={"after": a["id"]}, headers=alice
            )
            assert moved.status_code == 200, moved.text
            tasks = (await listed_all(client, alice))["tasks"]
            if until(tasks):
                return tasks
        raise AssertionError("the gap did not wear")

    def respaced(tasks) -> bool:
        return tasks[0]["version"] > 1

    def worn_for_d(tasks) -> bool:
        low, high = tasks[0]["position"], tasks[1]["position"]
        return len(position_between(low, high, datetime.now(UTC))) > POSITION_MAX_LENGTH

    await wear_the_gap_after_a(respaced)
    before = await wear_the_gap_after_a(worn_for_d)
    assert [t["title"] for t in before[-2:]] == ["d", "e"]
    assert before[-2]["version"] == 2, "d holds its position from the respacing"
    moved = await client.post(f"/tasks/{d['id']}/move", json={"after": a["id"]}, headers=alice)
    assert moved.status_code == 200, moved.text
    listed = (await listed_all(client, alice))["tasks"]
    assert titles({"tasks": listed}) == ["a", "d", *titles({"tasks": before[1:3]}), "e"]
    assert max(len(t["position"]) for t in listed) <= POSITION_MAX_LENGTH
    assert listed[-1]["version"] == 3, "e respaced twice"


async def test_a_worn_gap_in_a_long_order_respaces_only_the_tasks_around_it(client, alice):
    made = [await create(client, alice, f"{i:03}") for i in range(100)]
    anchor, b, c = made[50], made[98], made[99]
    for turn in range(400):  # b and c take turns right after the 51st task
        moving = (c if turn % 2 == 0 else b)["id"]
        moved = await client.post(
            f"/tasks/{moving}/move", json={"after": anchor["id"]}, headers=alice
        )
        assert moved.status_code == 200, moved.text
    order = (await listed(client, alice, sort="position", limit=200))["tasks"]
    expected = [f"{i:03}" for i in range(51)] + ["098", "099"] + [f"{i:03}" for i in range(51, 98)]
    assert titles({"tasks": order}) == expected
    respaced = [t["title"] for t in order if t["version"] > 1 and t["title"] not in ("098", "099")]
    assert respaced, "the gap wore and was respaced"
    assert len(respaced) <= 2 * RESPACE_EACH_SIDE, "more than the tasks around the gap"
    assert (order[0]["version"], order[-1]["version"]) == (1, 1)
    assert max(len(t["position"]) for t in order) <= POSITION_MAX_LENGTH


async def listed_all(client, headers) -> dict:
    return await listed(client, headers, sort="position")
