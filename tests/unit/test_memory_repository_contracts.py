"""The repository contracts against the in-memory fakes the unit tests rely on."""

from __future__ import annotations

import pytest

from tests.contracts.change_feed_repository import ChangeFeedRepositoryContract
from tests.contracts.event_ticket_repository import EventTicketRepositoryContract
from tests.contracts.idempotency_repository import IdempotencyRepositoryContract
from tests.contracts.login_failure_repository import LoginFailureRepositoryContract
from tests.contracts.password_reset_repository import PasswordResetRepositoryContract
from tests.contracts.refresh_token_repository import RefreshTokenRepositoryContract
from tests.contracts.session_repository import SessionRepositoryContract
from tests.contracts.task_repository import TaskRepositoryContract
from tests.contracts.user_repository import UserRepositoryContract
from tests.fakes import InMemoryUnitOfWorkFactory


@pytest.fixture
def uow_factory() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()


class TestInMemoryUserRepository(UserRepositoryContract):
    pass


class TestInMemoryTaskRepository(TaskRepositoryContract):
    pass


class TestInMemoryIdempotencyRepository(IdempotencyRepositoryContract):
    pass


class TestInMemoryRefreshTokenRepository(RefreshTokenRepositoryContract):
    pass


class TestInMemorySessionRepository(SessionRepositoryContract):
    pass


class TestInMemoryPasswordResetRepository(PasswordResetRepositoryContract):
    pass


class TestInMemoryLoginFailureRepository(LoginFailureRepositoryContract):
    pass


class TestInMemoryEventTicketRepository(EventTicketRepositoryContract):
    pass


class TestInMemoryChangeFeedRepository(ChangeFeedRepositoryContract):
    pass
