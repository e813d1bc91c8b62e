"""The account use cases on the in-memory fakes: throttling's arithmetic, the reset flow's
equal work for unknown emails, what ends which login, and deletion's cascade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import FakePasswordHasher, FixedClock, InMemoryUnitOfWorkFactory
from todo_adapters.security.jwt_issuer import JwtTokenIssuer
from todo_core.account_service import AccountService
from todo_core.auth_service import AuthService
from todo_core.credentials import Credentials
from todo_core.domain import Client
from todo_core.errors import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    InvalidResetTokenError,
    LoginThrottledError,
    MailUnavailableError,
    SessionNotFoundError,
    UnknownUserError,
    ValidationError,
)
from todo_core.login_throttle import ThrottlePolicy
from todo_core.password_reset import PasswordResetService, ResetPolicy
from todo_core.ports import MailMessage

EMAIL, PASSWORD, NEW = "ada@example.com", "correct horse", "battery staple"
PHONE, LAPTOP = Client("10.0.0.1", "Phone"), Client("10.0.0.2", "Laptop")


class Outbox:
    def __init__(self) -> None:
        self.posted: list[MailMessage] = []

    def post(self, message: MailMessage, requester: str = "") -> None:
        self.posted.append(message)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def parts(memory_uow: InMemoryUnitOfWorkFactory, hasher: FakePasswordHasher, clock: FixedClock):
    tokens = JwtTokenIssuer("s" * 32, 900, "todo-api", "todo-api", clock)
    throttle = ThrottlePolicy(3, 5, timedelta(seconds=900), max_failures_per_email=12)
    credentials = Credentials.of(hasher, tokens, clock, throttle=throttle)
    outbox = Outbox()
    return (
        AuthService(memory_uow, credentials),
        AccountService(memory_uow, credentials),
        PasswordResetService(memory_uow, credentials, outbox, ResetPolicy()),
        outbox,
    )


async def test_throttling_retries_after_the_oldest_failure_leaves_the_window(parts, clock):
    auth, *_ = parts
    await auth.register(EMAIL, PASSWORD)
    for _ in range(3):
        with pytest.raises(InvalidCredentialsError):
            await auth.login(EMAIL, "wrong", PHONE)
        clock.advance(minutes=1)
    with pytest.raises(LoginThrottledError) as refused:
        await auth.login(EMAIL, PASSWORD, PHONE)
    # The oldest failure was 3 minutes ago: 12 minutes to go.
    assert refused.value.retry_after_s == 12 * 60
    assert refused.value.scope == "email"
    clock.advance(minutes=12)
    assert (await auth.login(EMAIL, PASSWORD, PHONE)).user.email == EMAIL


async def test_the_address_limit_counts_every_email(parts):
    auth, *_ = parts
    for n in range(5):
        with pytest.raises(InvalidCredentialsError):
            await auth.login(f"guess{n}@example.com", "wrong", PHONE)
    with pytest.raises(LoginThrottledError) as refused:
        await auth.login("someone@example.com", "wrong", PHONE)
    assert refused.value.scope == "address"
    with pytest.raises(InvalidCredentialsError):
        await auth.login("someone@example.com", "wrong", LAPTOP)


async def test_a_password_change_ends_every_login_and_voids_reset_tokens(parts):
    auth, account, resets, outbox = parts
    phone = await auth.register(EMAIL, PASSWORD, PHONE)
    await resets.request(EMAIL)
    token = outbox.posted[0].text.split("token=")[1].split()[0]
    fresh = await account.change_password(phone.user.id, PASSWORD, NEW, LAPTOP)
    with pytest.raises(InvalidRefreshTokenError):
        await auth.refresh(phone.refresh_token)
    assert (await auth.refresh(fresh.refresh_token)).session_id == fresh.session_id
    with pytest.raises(InvalidResetTokenError):
        await resets.confirm(token, "yet another one", PHONE)
    live = await account.sessions(phone.user.id)
    assert [(s.id, s.user_agent) for s in live] == [(fresh.session_id, "Laptop")]


async def test_a_wrong_current_password_names_the_field(parts):
    auth, account, *_ = parts
    user = (await auth.register(EMAIL, PASSWORD)).user
    with pytest.raises(ValidationError) as wrong:
        await account.change_password(user.id, "not it", NEW, PHONE)
    assert [e.field for e in wrong.value.errors] == ["current_password"]


async def test_reset_does_the_same_work_for_an_unknown_email_and_posts_nothing(parts):
    auth, _, resets, outbox = parts
    await auth.register(EMAIL, PASSWORD)
    assert await resets.request("nobody@example.com") is None
    assert outbox.posted == []
    assert await resets.request(EMAIL) is not None
    assert [m.to for m in outbox.posted] == [EMAIL]


async def test_a_reset_token_works_once_and_clears_the_failures(parts):
    auth, _, resets, outbox = parts
    await auth.register(EMAIL, PASSWORD)
    for _ in range(3):
        with pytest.raises(InvalidCredentialsError):
            await auth.login(EMAIL, "wrong", PHONE)
    await resets.request(EMAIL)
    token = outbox.posted[0].text.split("token=")[1].split()[0]
    await resets.confirm(token, NEW, PHONE)
    with pytest.raises(InvalidResetTokenError):
        await resets.confirm(token, NEW, PHONE)
    assert (await auth.login(EMAIL, NEW, PHONE)).user.email == EMAIL


async def test_without_an_outbox_a_reset_is_unavailable(memory_uow, hasher, clock):
    tokens = JwtTokenIssuer("s" * 32, 900, "todo-api", "todo-api", clock)
    resets = PasswordResetService(memory_uow, Credentials.of(hasher, tokens, clock), None)
    with pytest.raises(MailUnavailableError):
        await resets.request(EMAIL)


async def test_deleting_an_account_takes_everything_of_it(parts, memory_uow):
    auth, account, resets, _ = parts
    user = (await auth.register(EMAIL, PASSWORD)).user
    await resets.request(EMAIL)
    with pytest.raises(ValidationError):
        await account.delete_account(user.id, "not it", PHONE)
    await account.delete_account(user.id, PASSWORD, PHONE)
    store = memory_uow.store
    assert (store.users, store.sessions, store.refresh_tokens, store.password_resets) == (
        {},
        {},
        {},
        {},
    )
    for call in (account.sessions(user.id), account.end_all_sessions(user.id)):
        with pytest.raises(UnknownUserError):
            await call


async def test_ending_a_session_of_another_user_is_not_found(parts):
    auth, account, *_ = parts
    ada = await auth.register(EMAIL, PASSWORD)
    bob = await auth.register("bob@example.com", PASSWORD)
    with pytest.raises(SessionNotFoundError):
        await account.end_session(ada.user.id, bob.session_id)
    await account.end_session(ada.user.id, ada.session_id)
    with pytest.raises(InvalidRefreshTokenError):
        await auth.refresh(ada.refresh_token)


async def test_a_reset_landing_during_a_password_change_wins(parts, memory_uow, hasher):
    auth, account, resets, outbox = parts
    user = (await auth.register(EMAIL, PASSWORD)).user
    await resets.request(EMAIL)
    token = outbox.posted[0].text.split("token=")[1].split()[0]
    real_hash = hasher.hash

    async def hash_while_a_reset_lands(password: str) -> str:
        hasher.hash = real_hash  # type: ignore[method-assign]
        await resets.confirm(token, "reset password", PHONE)
        return await real_hash(password)

    hasher.hash = hash_while_a_reset_lands  # type: ignore[method-assign]
    with pytest.raises(ValidationError) as lost:
        await account.change_password(user.id, PASSWORD, NEW, LAPTOP)
    assert [e.field for e in lost.value.errors] == ["current_password"]
    assert (await auth.login(EMAIL, "reset password", PHONE)).user.id == user.id


async def test_wrong_current_passwords_count_towards_the_login_throttle(parts):
    auth, account, *_ = parts
    user = (await auth.register(EMAIL, PASSWORD)).user
    for _ in range(3):
        with pytest.raises(ValidationError):
            await account.change_password(user.id, "not it", NEW, PHONE)
    with pytest.raises(LoginThrottledError):
        await account.delete_account(user.id, PASSWORD, PHONE)
    with pytest.raises(LoginThrottledError):
        await auth.login(EMAIL, PASSWORD, PHONE)
    # The limit of 3 counts per email and address: from the laptop the owner still gets in.
    assert (await auth.login(EMAIL, PASSWORD, LAPTOP)).user.id == user.id


async def test_the_owners_device_token_passes_the_email_limits(parts):
    """Issue 23: failures from elsewhere cannot keep the owner out of their device."""
    auth, *_ = parts
    device = (await auth.register(EMAIL, PASSWORD, LAPTOP)).device_token
    for n in range(4):  # 3 per email and address, 12 per email: the 4th address fills it
        attacker = Client(f"203.0.113.{n}", "Attacker")
        for _ in range(3):
            with pytest.raises(InvalidCredentialsError):
                await auth.login(EMAIL, "wrong guess", attacker)
    with pytest.raises(LoginThrottledError):
        await auth.login(EMAIL, PASSWORD, PHONE, "not a device token")
    assert (await auth.login(EMAIL, PASSWORD, PHONE, device)).user.email == EMAIL
