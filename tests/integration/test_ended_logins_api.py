"""Ending a login ends what its access token can do on the account and on writes (issue 23,
item 5): a phone signed out from the laptop kept 200 on GET /auth/sessions, 204 on
DELETE /auth/sessions/{laptop} and on logout-all, and 201 on POST /tasks until its token
expired. Over HTTP on real PostgreSQL; reads may trust the token until it expires."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.conftest import bearer, register
from tests.integration.http import assert_problem

EMAIL, PASSWORD = "owner@example.com", "correct horse"


async def _sign_in(client, agent: str) -> dict:
    response = await client.post(
        "/auth/login",
        json={"email": EMAIL, "password": PASSWORD},
        headers={"User-Agent": agent},
    )
    assert response.status_code == 200
    return response.json()


async def _session_of(client, signed_in: dict) -> str:
    listed = await client.get("/auth/sessions", headers=bearer(signed_in))
    return next(s["id"] for s in listed.json()["sessions"] if s["current"])


@pytest.fixture
async def laptop_and_phone(client):
    await register(client, EMAIL, PASSWORD)
    laptop, phone = await _sign_in(client, "Laptop"), await _sign_in(client, "Phone")
    task = await client.post("/tasks", json={"title": "mine"}, headers=bearer(phone))
    assert task.status_code == 201
    # The laptop signs the phone out.
    phone_session = await _session_of(client, phone)
    ended = await client.delete(f"/auth/sessions/{phone_session}", headers=bearer(laptop))
    assert ended.status_code == 204
    return bearer(laptop), bearer(phone), task.json()["id"]


def _refused(response) -> None:
    body = assert_problem(response, 401)
    assert "session ended" in body["detail"]
    assert 'error_description="session ended"' in response.headers["www-authenticate"]


async def test_an_ended_logins_token_cannot_manage_the_account(client, laptop_and_phone):
    laptop, phone, _ = laptop_and_phone
    laptop_session = (await client.get("/auth/sessions", headers=laptop)).json()["sessions"][0]
    for method, path, body in (
        ("GET", "/auth/sessions", None),
        ("DELETE", f"/auth/sessions/{laptop_session['id']}", None),
        ("POST", "/auth/logout-all", None),
        ("GET", "/auth/me", None),
        ("POST", "/auth/password", {"current_password": PASSWORD, "new_password": "x" * 12}),
        ("DELETE", "/auth/me", {"password": PASSWORD}),
    ):
        _refused(await client.request(method, path, json=body, headers=phone))
    # The owner's laptop was not signed out, and the password did not change.
    listed = await client.get("/auth/sessions", headers=laptop)
    agents = [s["user_agent"] for s in listed.json()["sessions"]]
    assert "Laptop" in agents
    assert "Phone" not in agents
    assert (await _sign_in(client, "Tablet"))["user"]["email"] == EMAIL


async def test_an_ended_logins_token_cannot_write_tasks(client, laptop_and_phone):
    laptop, phone, task_id = laptop_and_phone
    for method, path, body, extra in (
        ("POST", "/tasks", {"title": "stolen"}, {}),
        ("POST", "/tasks", {"title": "stolen"}, {"Idempotency-Key": str(uuid.uuid4())}),
        ("PUT", f"/tasks/{task_id}", {"title": "stolen"}, {}),
        ("PATCH", f"/tasks/{task_id}", {"is_completed": True}, {}),
        ("PATCH", f"/tasks/{task_id}", {"labels": ["stolen"], "priority": 3}, {}),
        ("POST", f"/tasks/{task_id}/move", {"after": None}, {}),
        ("DELETE", f"/tasks/{task_id}", None, {}),
        ("PATCH", "/tasks", {"is_completed": True}, {}),
        ("DELETE", "/tasks?completed=false", None, {}),
    ):
        _refused(await client.request(method, path, json=body, headers={**phone, **extra}))
    # Nothing was written; reads may still answer until the token expires.
    listed = await client.get("/tasks", headers=laptop)
    assert [(t["title"], t["is_completed"]) for t in listed.json()["tasks"]] == [("mine", False)]
    assert listed.json()["tasks"][0]["version"] == 1, "not even moved"
    assert (await client.get("/tasks", headers=phone)).status_code == 200


async def test_a_live_logins_writes_are_untouched(client, laptop_and_phone):
    laptop, _, task_id = laptop_and_phone
    assert (await client.post("/tasks", json={"title": "new"}, headers=laptop)).status_code == 201
    put = await client.put(f"/tasks/{task_id}", json={"title": "renamed"}, headers=laptop)
    assert put.status_code == 200
    # A write that finds nothing still says why, as before.
    assert (await client.delete(f"/tasks/{uuid.uuid4()}", headers=laptop)).status_code == 404
    assert (await client.delete(f"/tasks/{task_id}", headers=laptop)).status_code == 204


async def test_a_password_change_ends_the_other_tokens_writes(client):
    await register(client, EMAIL, PASSWORD)
    laptop, phone = await _sign_in(client, "Laptop"), await _sign_in(client, "Phone")
    changed = await client.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": "a new password"},
        headers=bearer(laptop),
    )
    assert changed.status_code == 200
    for old in (laptop, phone):
        _refused(await client.post("/tasks", json={"title": "x"}, headers=bearer(old)))
    fresh = bearer(changed.json())
    assert (await client.post("/tasks", json={"title": "x"}, headers=fresh)).status_code == 201
