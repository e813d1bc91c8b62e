"""The account calls over HTTP on real PostgreSQL: password change, sessions, logout-all
and account deletion (issue 12)."""

from __future__ import annotations

import uuid

import jwt
from sqlalchemy import text

from tests.integration.conftest import bearer, register
from tests.integration.http import assert_problem

EMAIL, PASSWORD = "carol@example.com", "correct horse"
NEW_PASSWORD = "battery staple"


async def _login(client, password=PASSWORD, agent="test-agent", email=EMAIL):
    response = await client.post(
        "/auth/login", json={"email": email, "password": password}, headers={"User-Agent": agent}
    )
    return response


async def _refresh(client, auth):
    return await client.post("/auth/refresh", json={"refresh_token": auth["refresh_token"]})


def _sid(auth) -> str:
    return jwt.decode(auth["access_token"], options={"verify_signature": False})["sid"]


async def test_a_password_change_ends_every_other_login_and_the_new_one_works(client):
    phone = await register(client, EMAIL)
    laptop = (await _login(client)).json()
    changed = await client.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(laptop),
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["cache-control"] == "no-store"
    fresh = changed.json()
    assert set(fresh) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "device_token",
        "user",
    }
    # Neither earlier login can refresh; the new one can, and its token works.
    assert (await _refresh(client, phone)).status_code == 401
    assert (await _refresh(client, laptop)).status_code == 401
    refreshed = await _refresh(client, fresh)
    assert refreshed.status_code == 200
    assert (await client.get("/auth/me", headers=bearer(refreshed.json()))).status_code == 200
    assert (await _login(client)).status_code == 401
    assert (await _login(client, NEW_PASSWORD)).status_code == 200
    sessions = (await client.get("/auth/sessions", headers=bearer(fresh))).json()["sessions"]
    assert len(sessions) == 2  # the new login and the one just made with the new password


async def test_a_wrong_current_password_is_a_400_naming_it_and_changes_nothing(client):
    auth = await register(client, EMAIL)
    response = await client.post(
        "/auth/password",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=bearer(auth),
    )
    body = assert_problem(response, 400)
    assert [e["field"] for e in body["errors"]] == ["current_password"]
    assert (await _refresh(client, auth)).status_code == 200
    assert (await _login(client)).status_code == 200


async def test_the_new_password_follows_the_password_rules(client):
    auth = await register(client, EMAIL)
    for new, field in (("short", "new_password"), ("x" * 73, "new_password")):
        response = await client.post(
            "/auth/password",
            json={"current_password": PASSWORD, "new_password": new},
            headers=bearer(auth),
        )
        body = assert_problem(response, 400)
        assert [e["field"] for e in body["errors"]] == [field]
    missing = await client.post(
        "/auth/password", json={"new_password": NEW_PASSWORD}, headers=bearer(auth)
    )
    assert [e["field"] for e in assert_problem(missing, 400)["errors"]] == ["current_password"]
    assert (await _login(client)).status_code == 200


async def test_sessions_lists_live_logins_newest_first_with_current_right(client):
    await register(client, EMAIL)
    phone = (await _login(client, agent="Phone/1.0")).json()
    laptop = (await _login(client, agent="Laptop/2.0")).json()
    for caller, agent in ((phone, "Phone/1.0"), (laptop, "Laptop/2.0")):
        response = await client.get("/auth/sessions", headers=bearer(caller))
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        sessions = response.json()["sessions"]
        assert [s["user_agent"] for s in sessions[:2]] == ["Laptop/2.0", "Phone/1.0"]
        assert len(sessions) == 3  # the registration is a login too
        current = [s for s in sessions if s["current"]]
        assert len(current) == 1
        assert current[0]["user_agent"] == agent
        assert current[0]["id"] == _sid(caller)
        assert set(current[0]) == {
            "id",
            "created_at",
            "last_used_at",
            "expires_at",
            "user_agent",
            "current",
        }


async def test_a_refresh_moves_last_used_and_keeps_the_session(client):
    first = await register(client, EMAIL)
    before = (await client.get("/auth/sessions", headers=bearer(first))).json()["sessions"][0]
    refreshed = (await _refresh(client, first)).json()
    after = (await client.get("/auth/sessions", headers=bearer(refreshed))).json()["sessions"]
    assert [s["id"] for s in after] == [before["id"]]
    assert after[0]["current"] is True
    assert after[0]["last_used_at"] > before["last_used_at"]
    assert after[0]["expires_at"] > before["expires_at"]
    assert after[0]["created_at"] == before["created_at"]


async def test_a_long_user_agent_is_cut_to_255_characters(client):
    await register(client, EMAIL)
    auth = (await _login(client, agent="A" * 1000)).json()
    sessions = (await client.get("/auth/sessions", headers=bearer(auth))).json()["sessions"]
    assert sessions[0]["user_agent"] == "A" * 255


async def test_ending_a_session_stops_its_refresh_only(client):
    await register(client, EMAIL)
    phone = (await _login(client, agent="Phone")).json()
    laptop = (await _login(client, agent="Laptop")).json()
    ended = await client.delete(f"/auth/sessions/{_sid(phone)}", headers=bearer(laptop))
    assert ended.status_code == 204
    assert ended.content == b""
    assert (await _refresh(client, phone)).status_code == 401
    assert (await _refresh(client, laptop)).status_code == 200
    listed = (await client.get("/auth/sessions", headers=bearer(laptop))).json()["sessions"]
    assert _sid(phone) not in [s["id"] for s in listed]
    again = await client.delete(f"/auth/sessions/{_sid(phone)}", headers=bearer(laptop))
    assert_problem(again, 404)


async def test_a_session_of_another_user_or_an_unknown_one_is_a_404(client):
    carol = await register(client, EMAIL)
    dave = await register(client, "dave@example.com")
    for session_id in (_sid(dave), str(uuid.uuid4())):
        response = await client.delete(f"/auth/sessions/{session_id}", headers=bearer(carol))
        assert_problem(response, 404)
    assert (await _refresh(client, dave)).status_code == 200
    not_an_id = await client.delete("/auth/sessions/not-a-uuid", headers=bearer(carol))
    assert_problem(not_an_id, 400)


async def test_logout_all_ends_every_login(client):
    first = await register(client, EMAIL)
    second = (await _login(client)).json()
    response = await client.post("/auth/logout-all", headers=bearer(second))
    assert response.status_code == 204
    for auth in (first, second):
        assert (await _refresh(client, auth)).status_code == 401
    # The access tokens of the ended logins manage the account no more (issue 23).
    listed = await client.get("/auth/sessions", headers=bearer(second))
    assert_problem(listed, 401)
    # A login after it is a new, working one, and it has the only live session.
    third = (await _login(client)).json()
    listed = await client.get("/auth/sessions", headers=bearer(third))
    assert len(listed.json()["sessions"]) == 1
    assert (await _refresh(client, third)).status_code == 200


async def test_account_calls_need_a_token(client):
    for method, path, body in (
        ("POST", "/auth/password", {"current_password": "x", "new_password": NEW_PASSWORD}),
        ("DELETE", "/auth/me", {"password": "x"}),
        ("GET", "/auth/sessions", None),
        ("DELETE", f"/auth/sessions/{uuid.uuid4()}", None),
        ("POST", "/auth/logout-all", None),
    ):
        response = await client.request(method, path, json=body)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


async def test_deleting_the_account_needs_the_password(client):
    auth = await register(client, EMAIL)
    wrong = await client.request(
        "DELETE", "/auth/me", json={"password": "not it at all"}, headers=bearer(auth)
    )
    assert [e["field"] for e in assert_problem(wrong, 400)["errors"]] == ["password"]
    missing = await client.request("DELETE", "/auth/me", headers=bearer(auth))
    assert_problem(missing, 400)
    assert (await client.get("/auth/me", headers=bearer(auth))).status_code == 200


async def test_a_deleted_account_leaves_nothing_and_its_tokens_do_nothing(client, engine):
    auth = await register(client, EMAIL)
    other = await register(client, "dave@example.com")
    headers = bearer(auth)
    task = (await client.post("/tasks", json={"title": "mine"}, headers=headers)).json()
    keyed = {**headers, "Idempotency-Key": "k1"}
    assert (await client.post("/tasks", json={"title": "kept"}, headers=keyed)).status_code == 201
    assert (await client.post("/auth/password-reset", json={"email": EMAIL})).status_code == 202
    await _login(client, "wrong password")  # a failed login of the email
    await client.post("/tasks", json={"title": "dave's"}, headers=bearer(other))

    deleted = await client.request(
        "DELETE", "/auth/me", json={"password": PASSWORD}, headers=headers
    )
    assert deleted.status_code == 204

    user_id = auth["user"]["id"]
    async with engine.connect() as connection:
        for table in (
            "users",
            "tasks",
            "task_counters",
            "sessions",
            "refresh_tokens",
            "idempotency_keys",
            "password_resets",
        ):
            column = "id" if table == "users" else "user_id"
            left = await connection.scalar(
                text(f"SELECT count(*) FROM {table} WHERE {column} = :id"), {"id": user_id}
            )
            assert left == 0, table
        for table in ("login_failures", "password_resets"):
            assert await connection.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table
        assert await connection.scalar(text("SELECT count(*) FROM tasks")) == 1  # dave's

    # Writes, the user and every account call: 401. Reads find nothing.
    for method, path, body in (
        ("GET", "/auth/me", None),
        ("POST", "/tasks", {"title": "ghost"}),
        ("POST", "/auth/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        ("DELETE", "/auth/me", {"password": PASSWORD}),
        ("GET", "/auth/sessions", None),
        ("DELETE", f"/auth/sessions/{_sid(auth)}", None),
        ("POST", "/auth/logout-all", None),
    ):
        response = await client.request(method, path, json=body, headers=headers)
        assert_problem(response, 401)
    replay = await client.post("/tasks", json={"title": "kept"}, headers=keyed)
    assert_problem(replay, 401)
    assert (await client.get(f"/tasks/{task['id']}", headers=headers)).status_code == 404
    listed = (await client.get("/tasks", headers=headers)).json()
    assert (listed["tasks"], listed["total"]) == ([], 0)
    assert (await _refresh(client, auth)).status_code == 401
    async with engine.connect() as connection:
        assert (
            await connection.scalar(
                text("SELECT count(*) FROM tasks WHERE user_id = :id"), {"id": user_id}
            )
            == 0
        )

    # The email is free again, for a new account with nothing of the old one.
    again = await register(client, EMAIL, "another password")
    assert again["user"]["id"] != user_id
    assert (await client.get("/tasks", headers=bearer(again))).json()["total"] == 0


async def test_wrong_current_passwords_are_throttled_like_logins(client):
    auth = await register(client, EMAIL)
    for _ in range(10):
        wrong = await client.post(
            "/auth/password",
            json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
            headers=bearer(auth),
        )
        assert_problem(wrong, 400)
    refused = await client.request(
        "DELETE", "/auth/me", json={"password": PASSWORD}, headers=bearer(auth)
    )
    assert_problem(refused, 429)
    assert int(refused.headers["retry-after"]) > 0
    assert (await client.get("/auth/me", headers=bearer(auth))).status_code == 200
    assert_problem(await _login(client), 429)
