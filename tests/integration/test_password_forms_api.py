"""Passwords are one password in any Unicode normal form (issue 23, item 9): hashed and
checked in NFKC, over HTTP on real PostgreSQL with the real bcrypt; a hash made before the
rule from the password as typed keeps working and is replaced by the NFKC form's."""

from __future__ import annotations

import bcrypt
from sqlalchemy import text

from tests.integration.conftest import register

EMAIL = "nina@example.com"
NFC, NFD = "pa\u00dfw\u00f6rt \u00e9t\u00e9", "pa\u00dfwo\u0308rt e\u0301te\u0301"


async def _login(client, password: str):
    return await client.post("/auth/login", json={"email": EMAIL, "password": password})


async def _stored_hash(engine) -> str:
    async with engine.connect() as connection:
        stored = await connection.scalar(
            text("SELECT password_hash FROM users WHERE email = :email"), {"email": EMAIL}
        )
    assert isinstance(stored, str)
    return stored


async def test_registered_composed_then_typed_decomposed_logs_in(client):
    await register(client, EMAIL, NFC)
    assert (await _login(client, NFD)).status_code == 200
    assert (await _login(client, "\uff50" + NFC[1:])).status_code == 200  # full-width p
    assert (await _login(client, NFD + "x")).status_code == 401


async def test_a_new_password_set_decomposed_is_typed_composed(client):
    headers = {"Authorization": f"Bearer {(await register(client, EMAIL, NFC))['access_token']}"}
    changed = await client.post(
        "/auth/password",
        json={"current_password": NFD, "new_password": NFD + "!"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert (await _login(client, NFC + "!")).status_code == 200


async def test_a_hash_of_the_password_as_typed_keeps_working_and_is_rehashed(client, engine):
    await register(client, EMAIL, "placeholder password")
    legacy = bcrypt.hashpw(NFD.encode(), bcrypt.gensalt(4)).decode()
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE users SET password_hash = :hash WHERE email = :email"),
            {"hash": legacy, "email": EMAIL},
        )
    # The legacy hash matches only what was typed then.
    assert (await _login(client, NFC)).status_code == 401

    assert (await _login(client, NFD)).status_code == 200

    rehashed = await _stored_hash(engine)
    assert rehashed != legacy
    assert bcrypt.checkpw(NFC.encode(), rehashed.encode())
    assert (await _login(client, NFC)).status_code == 200
