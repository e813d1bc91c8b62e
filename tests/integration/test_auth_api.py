"""User story 2 through HTTP: register and log in (JSON and OAuth2 form)."""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.integration.conftest import TEST_JWT_SECRET, register
from tests.integration.http import assert_problem, serving
from tests.integration.test_tokens_api import craft_token, me
from todo_api.app import create_app

PASSWORD = "correct horse"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def field_names(body: dict) -> set[str]:
    return {e["field"] for e in body["errors"]}


# --- register -------------------------------------------------------------------------


async def test_register_returns_201_with_a_token_for_the_new_user(client, settings):
    response = await client.post(
        "/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.ACCESS_TOKEN_TTL
    assert set(body["user"]) >= {"id", "email", "created_at"}
    assert body["user"]["email"] == "ada@example.com"
    assert uuid.UUID(body["user"]["id"]).version == 4
    assert body["user"]["created_at"].endswith("Z")
    claims = jwt.decode(
        body["access_token"], TEST_JWT_SECRET, algorithms=["HS256"], audience="todo-api"
    )
    assert claims["sub"] == body["user"]["id"]
    assert claims["iss"] == "todo-api"
    assert claims["exp"] - claims["iat"] == settings.ACCESS_TOKEN_TTL
    assert claims["jti"]
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"


async def test_the_registered_token_opens_auth_me(client):
    body = await register(client, "ada@example.com")

    response = await me(client, body["access_token"])

    assert response.status_code == 200
    assert response.json() == body["user"]


async def test_email_is_stored_lower_cased(client):
    body = await register(client, "  Ada.Lovelace@Example.COM ")

    assert body["user"]["email"] == "ada.lovelace@example.com"
    assert (await me(client, body["access_token"])).json()["email"] == "ada.lovelace@example.com"


@pytest.mark.parametrize("again", ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@example.com"])
async def test_an_email_already_registered_in_any_case_is_a_400(client, again):
    await register(client, "ada@example.com")

    response = await client.post("/auth/register", json={"email": again, "password": PASSWORD})

    body = assert_problem(response, 400)
    assert "already registered" in body["detail"].lower()


@pytest.mark.parametrize(
    "password",
    [
        "é" * 36,  # 72 bytes in 36 characters
        "🔑" * 18,  # 72 bytes in 18 characters
        "a" * 72,
        "12345678",
    ],
)
async def test_passwords_of_8_to_72_bytes_are_accepted_and_work(client, password):
    await register(client, "ada@example.com", password)

    response = await client.post(
        "/auth/login", json={"email": "ada@example.com", "password": password}
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    "password",
    ["é" * 36 + "a", "a" * 73, "🔑" * 19, "1234567", "", "password\x00"],
)
async def test_a_password_outside_8_to_72_bytes_is_a_400_naming_password(client, password):
    response = await client.post(
        "/auth/register", json={"email": "ada@example.com", "password": password}
    )

    body = assert_problem(response, 400)
    assert field_names(body) == {"password"}
    assert "password" in body["detail"]


async def test_a_73_byte_password_is_refused_not_truncated(client):
    response = await client.post(
        "/auth/register", json={"email": "ada@example.com", "password": "é" * 36 + "a"}
    )

    body = assert_problem(response, 400)
    assert "72 bytes" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "email", ["not-an-email", "ada@", "@example.com", "ada@example", "a da@example.com", ""]
)
async def test_a_malformed_email_is_a_400_naming_email(client, email):
    response = await client.post("/auth/register", json={"email": email, "password": PASSWORD})

    body = assert_problem(response, 400)
    assert field_names(body) == {"email"}


async def test_register_ignores_a_stale_authorization_header(client):
    stale = craft_token(str(uuid.uuid4()), exp=datetime.now(UTC) - timedelta(days=1))

    for header in (f"Bearer {stale}", "Bearer garbage", "Basic Zm9vOmJhcg=="):
        email = f"{uuid.uuid4().hex[:8]}@example.com"
        response = await client.post(
            "/auth/register",
            json={"email": email, "password": PASSWORD},
            headers={"Authorization": header},
        )
        assert response.status_code == 201, (header, response.text)


# --- login ----------------------------------------------------------------------------


async def test_login_with_json_returns_a_token_for_that_user(client):
    registered = await register(client, "ada@example.com")

    response = await client.post(
        "/auth/login", json={"email": "ADA@example.com", "password": PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"] == registered["user"]
    assert (await me(client, body["access_token"])).json()["id"] == registered["user"]["id"]


@pytest.mark.parametrize("path", ["/auth/token", "/auth/login"])
async def test_login_with_the_oauth2_form_as_swagger_sends_it(client, path):
    """/auth/token is the form's operation; /auth/login still takes it from older clients."""
    registered = await register(client, "ada@example.com")

    response = await client.post(
        path,
        content="grant_type=password&username=ada%40example.com&password=correct+horse&scope=",
        headers=FORM,
    )

    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == registered["user"]["id"]
    assert response.headers["cache-control"] == "no-store"


async def test_the_token_call_takes_the_form_without_grant_type(client):
    await register(client, "ada@example.com")

    response = await client.post(
        "/auth/token", data={"username": "ada@example.com", "password": "correct horse"}
    )

    assert response.status_code == 200, response.text


async def test_the_token_call_refuses_another_grant_type(client):
    await register(client, "ada@example.com")

    response = await client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "username": "ada@example.com", "password": "x"},
    )

    assert field_names(assert_problem(response, 400)) == {"grant_type"}


async def test_the_token_call_takes_only_the_form(client):
    await register(client, "ada@example.com")

    response = await client.post(
        "/auth/token", json={"email": "ada@example.com", "password": "correct horse"}
    )

    assert_problem(response, 415)


async def test_a_token_call_with_a_wrong_password_is_a_401(client):
    await register(client, "ada@example.com")

    response = await client.post(
        "/auth/token", data={"username": "ada@example.com", "password": "wrong password"}
    )

    assert_problem(response, 401)


async def test_a_form_login_with_a_wrong_password_is_a_401(client):
    await register(client, "ada@example.com")

    response = await client.post(
        "/auth/login", data={"username": "ada@example.com", "password": "wrong password"}
    )

    assert_problem(response, 401)


async def test_a_form_login_without_password_is_a_400_naming_password(client):
    response = await client.post("/auth/login", data={"username": "ada@example.com"})

    assert field_names(assert_problem(response, 400)) == {"password"}


async def test_unknown_email_and_wrong_password_get_the_same_401(client):
    await register(client, "ada@example.com")

    unknown = await client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    wrong = await client.post(
        "/auth/login", json={"email": "ada@example.com", "password": "not the password"}
    )

    def comparable(response) -> dict:
        body = assert_problem(response, 401)
        return {k: v for k, v in body.items() if k not in {"request_id", "instance"}}

    assert comparable(unknown) == comparable(wrong)
    assert unknown.headers["www-authenticate"] == wrong.headers["www-authenticate"]
    assert unknown.headers["www-authenticate"].startswith("Bearer")
    assert "ada@example.com" not in wrong.text


async def test_unknown_email_and_wrong_password_take_about_the_same_time(settings):
    """With a real bcrypt cost, skipping the hash for unknown emails would be 10-100x faster."""
    app = create_app(settings.model_copy(update={"BCRYPT_ROUNDS": 10}))
    async with serving(app) as http:
        await register(http, "ada@example.com")

        async def median_login_time(email: str, password: str) -> float:
            durations = []
            for _ in range(5):
                began = time.perf_counter()
                response = await http.post(
                    "/auth/login", json={"email": email, "password": password}
                )
                durations.append(time.perf_counter() - began)
                assert response.status_code == 401
            return statistics.median(durations)

        unknown = await median_login_time("nobody@example.com", PASSWORD)
        wrong = await median_login_time("ada@example.com", "not the password")

    assert 0.5 < unknown / wrong < 2, (unknown, wrong)


@pytest.mark.parametrize("password", ["x" * 100, "é" * 40, "password\x00"])
async def test_a_login_with_a_password_bcrypt_cannot_take_is_a_plain_401(client, password):
    await register(client, "ada@example.com")

    response = await client.post(
        "/auth/login", json={"email": "ada@example.com", "password": password}
    )

    assert_problem(response, 401)


async def test_login_ignores_a_stale_authorization_header(client):
    await register(client, "ada@example.com")
    expired = craft_token(str(uuid.uuid4()), exp=datetime.now(UTC) - timedelta(hours=1))

    for header in (f"Bearer {expired}", "Bearer garbage"):
        response = await client.post(
            "/auth/login",
            json={"email": "ada@example.com", "password": PASSWORD},
            headers={"Authorization": header},
        )
        assert response.status_code == 200, (header, response.text)
