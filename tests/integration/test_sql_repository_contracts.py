"""The repository contracts against the SQL adapter on a real, freshly emptied PostgreSQL."""

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
from todo_adapters.sql.uow import SqlUnitOfWorkFactory


@pytest.fixture
def uow_factory(sql_uow: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    return sql_uow


class TestSqlUserRepository(UserRepositoryContract):
    pass


class TestSqlTaskRepository(TaskRepositoryContract):
    pass


class TestSqlIdempotencyRepository(IdempotencyRepositoryContract):
    pass


class TestSqlRefreshTokenRepository(RefreshTokenRepositoryContract):
    pass


class TestSqlSessionRepository(SessionRepositoryContract):
    pass


class TestSqlPasswordResetRepository(PasswordResetRepositoryContract):
    pass


class TestSqlLoginFailureRepository(LoginFailureRepositoryContract):
    pass


class TestSqlEventTicketRepository(EventTicketRepositoryContract):
    pass


class TestSqlChangeFeedRepository(ChangeFeedRepositoryContract):
    pass
