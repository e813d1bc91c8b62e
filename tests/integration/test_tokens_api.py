"""Bearer tokens through HTTP: /auth/me and every way a token can be bad, including the
spec's "token expires mid-session" and a user deleted after the token was issued."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import text

from tests.integration.conftest import TEST_JWT_SECRET, register
from tests.integration.http import assert_problem


def craft_token(user_id: str, *, secret=TEST_JWT_SECRET, algorithm="HS256", **overrides) -> str:
    """A token like the app's own, with any claim replaced (None drops it)."""
    now = datetime.now(UTC)
    claims = {
        "sub": user_id,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
        "iss": "todo-api",
        "aud": "todo-api",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    key = None if algorithm == "none" else secret
    return jwt.encode(claims, key, algorithm=algorithm)


async def me(client, token: str):
    return await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})


async def test_auth_me_without_a_token_is_a_401_with_a_bare_bearer_challenge(client):
    response = await client.get("/auth/me")

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_crafted_token_like_the_apps_own_is_accepted(client, alice):
    """Proves the helper above makes valid tokens, so each 401 is about the one change."""
    user_id = (await client.get("/auth/me", headers=alice)).json()["id"]

    assert (await me(client, craft_token(user_id))).status_code == 200


def _bad_tokens(user_id: str) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "garbage": "garbage",
        "not-three-parts": "a.b",
        "expired": craft_token(
            user_id, iat=now - timedelta(hours=1), exp=now - timedelta(minutes=5)
        ),
        "wrong signature": craft_token(user_id, secret="another-secret-of-at-least-32-bytes!!"),
        "alg none": craft_token(user_id, algorithm="none"),
        "alg HS512": craft_token(user_id, algorithm="HS512"),
        "wrong issuer": craft_token(user_id, iss="someone-else"),
        "wrong audience": craft_token(user_id, aud="someone-else"),
        "no exp": craft_token(user_id, exp=None),
        "no iat": craft_token(user_id, iat=None),
        "no sub": craft_token(user_id, sub=None),
        "sub not a uuid": craft_token("not-a-uuid"),
    }


# The test secret is shorter than HS512 would like; that token must be refused anyway.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_every_bad_token_is_a_401_with_an_invalid_token_challenge(client, alice):
    user_id = (await client.get("/auth/me", headers=alice)).json()["id"]

    for name, token in _bad_tokens(user_id).items():
        response = await me(client, token)
        assert response.status_code == 401, name
        assert_problem(response, 401)
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer"), name
        assert 'error="invalid_token"' in challenge, name


async def test_an_expired_token_says_so_in_the_challenge(client, alice):
    user_id = (await client.get("/auth/me", headers=alice)).json()["id"]
    now = datetime.now(UTC)

    response = await me(client, craft_token(user_id, exp=now - timedelta(minutes=5)))

    assert 'error_description="token expired"' in response.headers["www-authenticate"]


async def test_a_token_that_expired_mid_session_is_refused_on_every_protected_call(client, alice):
    user_id = (await client.get("/auth/me", headers=alice)).json()["id"]
    now = datetime.now(UTC)
    token = craft_token(user_id, iat=now - timedelta(minutes=20), exp=now - timedelta(minutes=5))
    headers = {"Authorization": f"Bearer {token}"}

    for method, url, body in [
        ("GET", "/tasks", None),
        ("POST", "/tasks", {"title": "t"}),
        ("GET", "/auth/me", None),
    ]:
        response = await client.request(method, url, json=body, headers=headers)
        assert_problem(response, 401)
        assert 'error_description="token expired"' in response.headers["www-authenticate"]
    assert (await client.get("/tasks", headers=alice)).json()["total"] == 0


async def test_up_to_30_seconds_of_clock_skew_is_allowed(client, alice):
    user_id = (await client.get("/auth/me", headers=alice)).json()["id"]
    now = datetime.now(UTC)

    just_expired = craft_token(user_id, exp=now - timedelta(seconds=10))
    long_expired = craft_token(user_id, exp=now - timedelta(seconds=45))

    assert (await me(client, just_expired)).status_code == 200
    assert (await me(client, long_expired)).status_code == 401


async def test_a_token_of_a_user_who_no_longer_exists_is_a_401(client, engine):
    body = await register(client, "ada@example.com")
    async with engine.begin() as connection:
        await connection.execute(
            text("DELETE FROM users WHERE id = :id"), {"id": body["user"]["id"]}
        )
    headers = {"Authorization": f"Bearer {body['access_token']}"}

    for response in (
        await client.get("/auth/me", headers=headers),
        await client.post("/tasks", json={"title": "orphan"}, headers=headers),
    ):
        assert_problem(response, 401)
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
