"""Refresh tokens: rotation, reuse detection, logout, expiry and purge."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.integration.conftest import register

CREDENTIALS = {"email": "carol@example.com", "password": "correct horse"}


async def _refresh(client, token):
    return await client.post("/auth/refresh", json={"refresh_token": token})


async def test_register_and_login_return_a_refresh_token(client):
    registered = await register(client, CREDENTIALS["email"])
    logged_in = (await client.post("/auth/login", json=CREDENTIALS)).json()
    for body in (registered, logged_in):
        assert len(body["refresh_token"]) >= 43  # 256 bits, base64url
    assert registered["refresh_token"] != logged_in["refresh_token"]


async def test_refresh_rotates_and_the_new_pair_works(client):
    first = await register(client, CREDENTIALS["email"])
    response = await _refresh(client, first["refresh_token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user"] == first["user"]
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert me.status_code == 200
    assert (await _refresh(client, second["refresh_token"])).status_code == 200


async def test_reusing_a_spent_token_revokes_the_whole_family(client, caplog):
    first = await register(client, CREDENTIALS["email"])
    second = (await _refresh(client, first["refresh_token"])).json()
    third = (await _refresh(client, second["refresh_token"])).json()

    reuse = await _refresh(client, first["refresh_token"])
    assert reuse.status_code == 401
    assert reuse.headers["content-type"] == "application/problem+json"
    assert "refresh token" in reuse.json()["detail"].lower()
    # The newest descendant, never used, is revoked too.
    assert (await _refresh(client, third["refresh_token"])).status_code == 401
    assert "security.refresh_token_reused" in caplog.text


async def test_reuse_does_not_touch_other_logins(client):
    phone = await register(client, CREDENTIALS["email"])
    laptop = (await client.post("/auth/login", json=CREDENTIALS)).json()
    rotated = (await _refresh(client, phone["refresh_token"])).json()
    assert (await _refresh(client, phone["refresh_token"])).status_code == 401
    assert (await _refresh(client, rotated["refresh_token"])).status_code == 401
    assert (await _refresh(client, laptop["refresh_token"])).status_code == 200


async def test_unknown_and_malformed_tokens_are_401(client):
    assert (await _refresh(client, "not-a-token")).status_code == 401
    assert (await _refresh(client, "")).status_code == 401
    missing = await client.post("/auth/refresh", json={})
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "refresh_token"


async def test_refresh_ignores_a_stale_authorization_header(client):
    first = await register(client, CREDENTIALS["email"])
    response = await client.post(
        "/auth/refresh",
        json={"refresh_token": first["refresh_token"]},
        headers={"Authorization": "Bearer expired.garbage.token"},
    )
    assert response.status_code == 200


async def test_expired_refresh_token_is_401_and_purged(app, client, engine):
    first = await register(client, CREDENTIALS["email"])
    token_hash = hashlib.sha256(first["refresh_token"].encode()).hexdigest()
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE refresh_tokens SET expires_at = :past WHERE token_hash = :h"),
            {"past": datetime.now(UTC) - timedelta(seconds=1), "h": token_hash},
        )
    assert (await _refresh(client, first["refresh_token"])).status_code == 401

    auth = app.state.container.auth_service()
    purged = await auth.purge_expired()
    assert purged == 1
    async with engine.connect() as connection:
        left = await connection.scalar(
            text("SELECT count(*) FROM refresh_tokens WHERE token_hash = :h"), {"h": token_hash}
        )
    assert left == 0


async def test_only_hashes_are_stored(client, engine):
    first = await register(client, CREDENTIALS["email"])
    async with engine.connect() as connection:
        stored = (await connection.execute(text("SELECT token_hash FROM refresh_tokens"))).scalars()
        assert list(stored) == [hashlib.sha256(first["refresh_token"].encode()).hexdigest()]


async def test_logout_ends_that_login_only(client):
    phone = await register(client, CREDENTIALS["email"])
    laptop = (await client.post("/auth/login", json=CREDENTIALS)).json()
    bearer = {"Authorization": f"Bearer {phone['access_token']}"}

    out = await client.post(
        "/auth/logout", json={"refresh_token": phone["refresh_token"]}, headers=bearer
    )
    assert out.status_code == 204
    assert out.content == b""
    assert (await _refresh(client, phone["refresh_token"])).status_code == 401
    assert (await _refresh(client, laptop["refresh_token"])).status_code == 200


async def test_logout_needs_a_bearer_and_the_callers_own_token(client):
    mine = await register(client, CREDENTIALS["email"])
    theirs = await register(client, "dave@example.com")
    no_bearer = await client.post("/auth/logout", json={"refresh_token": mine["refresh_token"]})
    assert no_bearer.status_code == 401
    assert no_bearer.headers["www-authenticate"].startswith("Bearer")

    foreign = await client.post(
        "/auth/logout",
        json={"refresh_token": theirs["refresh_token"]},
        headers={"Authorization": f"Bearer {mine['access_token']}"},
    )
    assert foreign.status_code == 401
    assert (await _refresh(client, theirs["refresh_token"])).status_code == 200
