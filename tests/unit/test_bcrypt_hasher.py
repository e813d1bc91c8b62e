"""BcryptPasswordHasher at the cheapest cost bcrypt allows."""

from __future__ import annotations

import pytest

from todo_adapters.security.bcrypt_hasher import BcryptPasswordHasher

PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def bcrypt_hasher() -> BcryptPasswordHasher:
    return BcryptPasswordHasher(rounds=4)


async def test_hash_then_verify(bcrypt_hasher: BcryptPasswordHasher) -> None:
    password_hash = await bcrypt_hasher.hash(PASSWORD)
    assert password_hash.startswith("$2b$04$")
    assert PASSWORD not in password_hash
    assert await bcrypt_hasher.verify(PASSWORD, password_hash) is True


async def test_hashes_are_salted(bcrypt_hasher: BcryptPasswordHasher) -> None:
    first, second = await bcrypt_hasher.hash(PASSWORD), await bcrypt_hasher.hash(PASSWORD)
    assert first != second
    assert await bcrypt_hasher.verify(PASSWORD, second)


@pytest.mark.parametrize("attempt", ["correct horsE", "correct hors", "", "correct horse "])
async def test_wrong_password(bcrypt_hasher: BcryptPasswordHasher, attempt: str) -> None:
    assert await bcrypt_hasher.verify(attempt, await bcrypt_hasher.hash(PASSWORD)) is False


async def test_multibyte_password_of_72_bytes(bcrypt_hasher: BcryptPasswordHasher) -> None:
    password = "é" * 36
    password_hash = await bcrypt_hasher.hash(password)
    assert await bcrypt_hasher.verify(password, password_hash) is True
    assert await bcrypt_hasher.verify("é" * 35 + "e", password_hash) is False


@pytest.mark.parametrize("attempt", ["x" * 73, "x" * 1000, "é" * 37])
async def test_over_72_bytes_is_false_without_raising(
    bcrypt_hasher: BcryptPasswordHasher, attempt: str
) -> None:
    assert await bcrypt_hasher.verify(attempt, await bcrypt_hasher.hash("x" * 72)) is False


async def test_over_72_bytes_never_matches_its_72_byte_prefix(
    bcrypt_hasher: BcryptPasswordHasher,
) -> None:
    # bcrypt itself only reads 72 bytes: a longer password must not log in as its prefix.
    prefix = "p" * 72
    assert await bcrypt_hasher.verify(prefix + "suffix", await bcrypt_hasher.hash(prefix)) is False


async def test_nul_byte_is_false_without_raising(bcrypt_hasher: BcryptPasswordHasher) -> None:
    assert await bcrypt_hasher.verify("pass\x00word", await bcrypt_hasher.hash("password")) is False


@pytest.mark.parametrize("stored", ["", "not a hash", "$2b$04$short", "$argon2id$v=19$x"])
async def test_malformed_stored_hash_is_false(
    bcrypt_hasher: BcryptPasswordHasher, stored: str
) -> None:
    assert await bcrypt_hasher.verify(PASSWORD, stored) is False


@pytest.mark.parametrize("password", [PASSWORD, "x" * 100, "a\x00b"])
async def test_verify_dummy_never_raises(
    bcrypt_hasher: BcryptPasswordHasher, password: str
) -> None:
    await bcrypt_hasher.verify_dummy(password)


async def test_needs_rehash_for_a_lower_cost(bcrypt_hasher: BcryptPasswordHasher) -> None:
    cheap = await bcrypt_hasher.hash(PASSWORD)
    assert bcrypt_hasher.needs_rehash(cheap) is False
    assert BcryptPasswordHasher(rounds=5).needs_rehash(cheap) is True


async def test_no_rehash_for_a_higher_cost(bcrypt_hasher: BcryptPasswordHasher) -> None:
    dearer = await BcryptPasswordHasher(rounds=5).hash(PASSWORD)
    assert bcrypt_hasher.needs_rehash(dearer) is False
    assert await bcrypt_hasher.verify(PASSWORD, dearer) is True


@pytest.mark.parametrize("stored", ["", "garbage", "$2b$xx$abc"])
def test_needs_rehash_for_an_unreadable_hash(
    bcrypt_hasher: BcryptPasswordHasher, stored: str
) -> None:
    assert bcrypt_hasher.needs_rehash(stored) is True
