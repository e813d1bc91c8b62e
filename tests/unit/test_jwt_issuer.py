"""JwtTokenIssuer. Foreign tokens are built with PyJWT directly, as an attacker would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from tests.fakes import FixedClock
from todo_adapters.security.jwt_issuer import JwtTokenIssuer
from todo_core.errors import InvalidTokenError
from todo_core.ports import Principal

SECRET = "unit-test-secret-" * 4  # 68 bytes: long enough for HS512 too, no key warning
TTL = 900
USER = uuid.UUID("0b6a1f0e-5f1e-4c6f-9a59-0f6f4f2b7d11")
SESSION = uuid.UUID("5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d")


def wall_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def issuer_at(moment: datetime, secret: str = SECRET) -> JwtTokenIssuer:
    return JwtTokenIssuer(secret, TTL, "todo-api", "todo-api", FixedClock(moment))


def who(principal: Principal) -> tuple[uuid.UUID, uuid.UUID | None]:
    return principal.user_id, principal.session_id


def claims(**overrides: Any) -> dict[str, Any]:
    now = wall_now()
    values: dict[str, Any] = {
        "sub": str(USER),
        "iat": now,
        "exp": now + timedelta(seconds=TTL),
        "jti": uuid.uuid4().hex,
        "iss": "todo-api",
        "aud": "todo-api",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def foreign(*, key: str = SECRET, algorithm: str = "HS256", **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), key, algorithm=algorithm)


def reason_for(token: str) -> str:
    with pytest.raises(InvalidTokenError) as exc:
        issuer_at(wall_now()).verify(token)
    return exc.value.reason


def test_round_trip() -> None:
    now = wall_now()
    issuer = issuer_at(now)
    token = issuer.issue(USER, SESSION)
    assert token.expires_in == TTL
    # With its `exp`: what an event stream opened with the token lives until.
    expires_at = now + timedelta(seconds=TTL)
    assert issuer.verify(token.token) == Principal(USER, SESSION, expires_at)


def test_issued_claims() -> None:
    now = wall_now()
    token = issuer_at(now).issue(USER, SESSION).token
    decoded = jwt.decode(token, SECRET, algorithms=["HS256"], audience="todo-api")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert decoded["sub"] == str(USER)
    assert (decoded["iss"], decoded["aud"]) == ("todo-api", "todo-api")
    assert decoded["iat"] == int(now.timestamp())
    assert decoded["exp"] == int(now.timestamp()) + TTL
    assert decoded["jti"]


def test_every_token_has_its_own_jti() -> None:
    issuer = issuer_at(wall_now())
    first, second = (issuer.issue(USER, SESSION).token for _ in range(2))
    assert (
        jwt.decode(first, options={"verify_signature": False})["jti"]
        != jwt.decode(second, options={"verify_signature": False})["jti"]
    )


def test_expired_beyond_the_30_second_leeway() -> None:
    token = issuer_at(wall_now() - timedelta(seconds=TTL + 45)).issue(USER, SESSION).token
    assert reason_for(token) == "token expired"


def test_expired_within_the_leeway_is_accepted() -> None:
    token = issuer_at(wall_now() - timedelta(seconds=TTL + 15)).issue(USER, SESSION).token
    assert who(issuer_at(wall_now()).verify(token)) == (USER, SESSION)


def test_issued_in_the_future_beyond_the_leeway() -> None:
    token = issuer_at(wall_now() + timedelta(minutes=5)).issue(USER, SESSION).token
    assert reason_for(token) == "token not yet valid"


def test_wrong_secret() -> None:
    token = issuer_at(wall_now(), secret="another-secret-of-at-least-32-bytes").issue(USER, SESSION)
    assert reason_for(token.token) == "invalid signature"


@pytest.mark.parametrize(
    ("claim", "value", "reason"),
    [("iss", "someone-else", "invalid issuer"), ("aud", "another-api", "invalid audience")],
)
def test_wrong_issuer_or_audience(claim: str, value: str, reason: str) -> None:
    assert reason_for(foreign(**{claim: value})) == reason


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "iss", "aud"])
def test_missing_required_claim(claim: str) -> None:
    assert reason_for(foreign(**{claim: None})) == "missing required claim"


def test_alg_none_is_rejected() -> None:
    unsigned = jwt.encode(claims(), None, algorithm="none")
    assert reason_for(unsigned) == "algorithm not allowed"


def test_hs512_with_the_right_secret_is_rejected() -> None:
    assert reason_for(foreign(algorithm="HS512")) == "algorithm not allowed"


@pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "Bearer x", "\x00\xff"])
def test_garbage_is_a_malformed_token(garbage: str) -> None:
    assert reason_for(garbage) == "malformed token"


def test_subject_that_is_not_a_user_id() -> None:
    assert reason_for(foreign(sub="admin")) == "invalid subject"


def test_verification_uses_the_same_clock_as_issuing() -> None:
    issuer = issuer_at(datetime(2026, 1, 1, tzinfo=UTC))
    assert who(issuer.verify(issuer.issue(USER, SESSION).token)) == (USER, SESSION)


def test_a_remembered_token_still_expires() -> None:
    clock = FixedClock(wall_now())
    issuer = JwtTokenIssuer(SECRET, TTL, "todo-api", "todo-api", clock)
    token = issuer.issue(USER, SESSION).token
    assert who(issuer.verify(token)) == (USER, SESSION)
    clock.advance(seconds=TTL + 31)
    with pytest.raises(InvalidTokenError) as exc:
        issuer.verify(token)
    assert exc.value.reason == "token expired"


def test_a_rejected_token_stays_rejected() -> None:
    issuer = issuer_at(wall_now())
    forged = foreign(key="another-secret-" * 4)
    for _ in range(2):
        with pytest.raises(InvalidTokenError) as exc:
            issuer.verify(forged)
        assert exc.value.reason == "invalid signature"


# Device tokens (issue 23): a signed email key, valid 180 days, of a kind of its own.
KEY = "a" * 64


def test_a_device_token_names_its_email_for_180_days() -> None:
    issued_at = wall_now()
    token = issuer_at(issued_at).device_token(KEY)
    assert issuer_at(issued_at + timedelta(days=179)).device_email_key(token) == KEY
    assert issuer_at(issued_at + timedelta(days=181)).device_email_key(token) is None


def test_a_device_token_is_no_access_token_nor_the_reverse() -> None:
    issuer = issuer_at(wall_now())
    device = issuer.device_token(KEY)
    with pytest.raises(InvalidTokenError):
        issuer.verify(device)
    assert issuer.device_email_key(issuer.issue(USER, SESSION).token) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not a token",
        jwt.encode(claims(sub=KEY, aud="todo-api:device"), "another-secret-" * 4, "HS256"),
        jwt.encode(claims(sub=KEY, aud="todo-api:device"), SECRET, "HS512"),
        jwt.encode(claims(sub=12, aud="todo-api:device"), SECRET, "HS256"),
    ],
    ids=["empty", "garbage", "forged", "other-algorithm", "not-a-key"],
)
def test_anything_else_names_no_device(token: str) -> None:
    assert issuer_at(wall_now()).device_email_key(token) is None
