"""AuthService on the in-memory fakes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.fakes import FakePasswordHasher, FixedClock, InMemoryUnitOfWorkFactory
from todo_adapters.security.jwt_issuer import JwtTokenIssuer
from todo_core.auth_service import AuthService
from todo_core.credentials import Credentials
from todo_core.domain import User
from todo_core.errors import (
    EmailTakenError,
    InvalidCredentialsError,
    UnknownUserError,
    ValidationError,
)

PASSWORD = "correct horse"


@pytest.fixture
def now_clock() -> FixedClock:
    # PyJWT checks exp against the wall clock (see test_jwt_issuer), so tokens are issued now.
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


def issuer(clock: FixedClock) -> JwtTokenIssuer:
    return JwtTokenIssuer("s" * 32, 900, "todo-api", "todo-api", clock)


def auth_service(
    uow: InMemoryUnitOfWorkFactory, hasher: FakePasswordHasher, clock: FixedClock
) -> AuthService:
    return AuthService(uow, Credentials.of(hasher, issuer(clock), clock))


@pytest.fixture
def auth(
    memory_uow: InMemoryUnitOfWorkFactory, hasher: FakePasswordHasher, now_clock: FixedClock
) -> AuthService:
    return auth_service(memory_uow, hasher, now_clock)


async def stored_user(uow: InMemoryUnitOfWorkFactory, email: str) -> User | None:
    async with uow() as unit:
        return await unit.users.get_by_email(email)


async def test_register_stores_the_user_and_issues_a_token(
    auth: AuthService, memory_uow: InMemoryUnitOfWorkFactory, now_clock: FixedClock
) -> None:
    session = await auth.register("ada@example.com", PASSWORD)
    assert session.user.email == "ada@example.com"
    assert session.user.created_at == now_clock.now()
    assert session.user.password_hash != PASSWORD
    assert await stored_user(memory_uow, "ada@example.com") == session.user
    assert issuer(now_clock).verify(session.access_token.token).user_id == session.user.id
    assert session.access_token.expires_in == 900


async def test_register_lower_cases_and_trims_the_email(
    auth: AuthService, memory_uow: InMemoryUnitOfWorkFactory
) -> None:
    session = await auth.register("  Ada@Example.COM\t", PASSWORD)
    assert session.user.email == "ada@example.com"
    assert await stored_user(memory_uow, "ada@example.com") == session.user


@pytest.mark.parametrize("email", ["ada", "ada@example", "", "ada@exa mple.com"])
async def test_register_rejects_an_invalid_email(
    auth: AuthService, memory_uow: InMemoryUnitOfWorkFactory, email: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        await auth.register(email, PASSWORD)
    assert [e.field for e in exc.value.errors] == ["email"]
    assert memory_uow.store.users == {}


async def test_a_72_byte_multibyte_password_is_accepted(auth: AuthService) -> None:
    password = "ü" * 36  # 72 bytes, 36 characters
    await auth.register("ada@example.com", password)
    assert (await auth.login("ada@example.com", password)).user.email == "ada@example.com"


@pytest.mark.parametrize("password", ["ü" * 36 + "!", "x" * 73, "seven77"])
async def test_register_rejects_a_password_out_of_8_to_72_bytes(
    auth: AuthService, memory_uow: InMemoryUnitOfWorkFactory, password: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        await auth.register("ada@example.com", password)
    assert [e.field for e in exc.value.errors] == ["password"]
    assert "password" in exc.value.detail
    assert memory_uow.store.users == {}


async def test_register_reports_every_broken_field(auth: AuthService) -> None:
    with pytest.raises(ValidationError) as exc:
        await auth.register("not an email", "x" * 73)
    assert [e.field for e in exc.value.errors] == ["email", "password"]


async def test_register_refuses_a_taken_email_whatever_its_case(
    auth: AuthService, memory_uow: InMemoryUnitOfWorkFactory
) -> None:
    first = await auth.register("ada@example.com", PASSWORD)
    with pytest.raises(EmailTakenError):
        await auth.register(" ADA@example.com", "another password")
    assert list(memory_uow.store.users.values()) == [first.user]


async def test_login_with_the_right_password(auth: AuthService, now_clock: FixedClock) -> None:
    registered = await auth.register("ada@example.com", PASSWORD)
    session = await auth.login("  ADA@Example.com ", PASSWORD)
    assert session.user == registered.user
    assert issuer(now_clock).verify(session.access_token.token).user_id == registered.user.id


async def test_unknown_email_and_wrong_password_fail_alike(
    auth: AuthService, hasher: FakePasswordHasher
) -> None:
    await auth.register("ada@example.com", PASSWORD)
    with pytest.raises(InvalidCredentialsError) as wrong_password:
        await auth.login("ada@example.com", "wrong password")
    assert hasher.dummy_checks == 0
    with pytest.raises(InvalidCredentialsError) as unknown_email:
        await auth.login("bob@example.com", PASSWORD)
    # the unknown email still spends a hash verification, so timing does not tell them apart
    assert hasher.dummy_checks == 1
    assert str(unknown_email.value) == str(wrong_password.value)


@pytest.mark.parametrize("email", ["not an email", ""])
async def test_login_with_a_malformed_email_is_invalid_credentials(
    auth: AuthService, hasher: FakePasswordHasher, email: str
) -> None:
    with pytest.raises(InvalidCredentialsError):
        await auth.login(email, PASSWORD)
    assert hasher.dummy_checks == 1


async def test_login_rehashes_when_the_cost_went_up(
    memory_uow: InMemoryUnitOfWorkFactory, now_clock: FixedClock
) -> None:
    await auth_service(memory_uow, FakePasswordHasher(cost=10), now_clock).register(
        "ada@example.com", PASSWORD
    )
    stronger = auth_service(memory_uow, FakePasswordHasher(cost=12), now_clock)
    await stronger.login("ada@example.com", PASSWORD)
    user = await stored_user(memory_uow, "ada@example.com")
    assert user is not None
    assert user.password_hash.startswith("fake$12$")
    await stronger.login("ada@example.com", PASSWORD)


async def test_login_never_lowers_the_cost(
    memory_uow: InMemoryUnitOfWorkFactory, now_clock: FixedClock
) -> None:
    await auth_service(memory_uow, FakePasswordHasher(cost=12), now_clock).register(
        "ada@example.com", PASSWORD
    )
    await auth_service(memory_uow, FakePasswordHasher(cost=10), now_clock).login(
        "ada@example.com", PASSWORD
    )
    user = await stored_user(memory_uow, "ada@example.com")
    assert user is not None
    assert user.password_hash.startswith("fake$12$")


async def test_a_failed_login_does_not_rehash(
    memory_uow: InMemoryUnitOfWorkFactory, now_clock: FixedClock
) -> None:
    await auth_service(memory_uow, FakePasswordHasher(cost=10), now_clock).register(
        "ada@example.com", PASSWORD
    )
    with pytest.raises(InvalidCredentialsError):
        await auth_service(memory_uow, FakePasswordHasher(cost=12), now_clock).login(
            "ada@example.com", "wrong password"
        )
    user = await stored_user(memory_uow, "ada@example.com")
    assert user is not None
    assert user.password_hash.startswith("fake$10$")


async def test_me_returns_the_user(auth: AuthService) -> None:
    session = await auth.register("ada@example.com", PASSWORD)
    assert await auth.me(session.user.id) == session.user


async def test_me_of_a_vanished_user_is_unknown_user(auth: AuthService) -> None:
    with pytest.raises(UnknownUserError):
        await auth.me(uuid.uuid4())


# Issue 23, item 9: passwords are hashed and checked in their NFKC form.
NFC, NFD = "pa\u00dfw\u00f6rt \u00e9t\u00e9", "pa\u00dfwo\u0308rt e\u0301te\u0301"


async def test_a_password_typed_in_another_normal_form_is_the_same_password(
    auth: AuthService,
) -> None:
    await auth.register("ada@example.com", NFC)
    assert (await auth.login("ada@example.com", NFD)).user.email == "ada@example.com"
    assert (await auth.login("ada@example.com", "\uff50" + NFC[1:])).user  # full-width p


async def test_a_hash_of_the_password_as_typed_still_verifies_and_is_replaced(
    auth: AuthService, memory_uow: InMemoryUnitOfWorkFactory, hasher: FakePasswordHasher
) -> None:
    """Hashes made before the rule, from the decomposed form as typed."""
    user = (await auth.register("ada@example.com", NFC)).user
    legacy = await hasher.hash(NFD)
    async with memory_uow() as uow:
        await uow.users.update_password_hash(user.id, legacy)
        await uow.commit()

    await auth.login("ada@example.com", NFD)

    stored = await stored_user(memory_uow, "ada@example.com")
    assert stored is not None
    assert stored.password_hash == await hasher.hash(NFC)  # the NFKC form now
    assert (await auth.login("ada@example.com", NFC)).user.id == user.id


async def test_a_wrong_password_in_another_form_checks_both_and_fails(
    auth: AuthService, hasher: FakePasswordHasher
) -> None:
    await auth.register("ada@example.com", NFC)
    with pytest.raises(InvalidCredentialsError):
        await auth.login("ada@example.com", NFD + "x")
    # An unknown email spends as many checks as that wrong password did.
    with pytest.raises(InvalidCredentialsError):
        await auth.login("nobody@example.com", NFD + "x")
    assert hasher.dummy_checks == 2


async def test_the_length_rule_counts_the_normal_form(auth: AuthService) -> None:
    # U+FDFA is one character, 3 bytes; its NFKC form is 18 characters, 33 bytes.
    with pytest.raises(ValidationError):
        await auth.register("ada@example.com", "\ufdfa" * 3)
