"""Rows for the contract suites, built directly as core dataclasses (no services)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from todo_core.domain import LoginSession, RefreshToken, Task, User, email_key
from todo_core.ordering import end_position
from todo_core.ports import ResetRequest, UnitOfWorkFactory

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def make_user(email: str | None = None, password_hash: str = "hash-1") -> User:
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    return User(uuid.uuid4(), email, password_hash, T0)


def make_task(user: User, *, minutes: int = 0, **fields: Any) -> Task:
    """A task of `user` created `minutes` after T0; any field can be overridden."""
    at = T0 + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": user.id,
        "title": "a task",
        "description": None,
        "is_completed": False,
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }
    values.update(fields)
    values.setdefault("position", end_position(values["created_at"], values["id"]))
    return Task(**values)


def make_session(user: User, *, minutes: int = 0, **fields: Any) -> LoginSession:
    """A session of `user` opened `minutes` after T0, alive for a day from then; any field
    can be overridden."""
    at = T0 + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": user.id,
        "created_at": at,
        "last_used_at": at,
        "expires_at": at + DAY,
        "user_agent": "contract-test/1.0",
        "ended_at": None,
    }
    values.update(fields)
    return LoginSession(**values)


def make_token(session: LoginSession, *, minutes: int = 0, **fields: Any) -> RefreshToken:
    """A live refresh token of `session` (its user, its family) issued `minutes` after T0,
    alive for a day from then; any field can be overridden."""
    at = T0 + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "token_hash": secrets.token_hex(32),
        "user_id": session.user_id,
        "family_id": session.id,
        "created_at": at,
        "expires_at": at + DAY,
        "spent_at": None,
        "revoked_at": None,
    }
    values.update(fields)
    return RefreshToken(**values)


def make_reset_request(
    email: str, *, minutes: float = 0, limit: int = 3, ttl: timedelta = HOUR
) -> ResetRequest:
    """A reset request for `email` made `minutes` after T0 with a fresh token alive for
    `ttl`; the cap is `limit` messages within the last `ttl` (as PasswordResetService asks)."""
    now = T0 + timedelta(minutes=minutes)
    return ResetRequest(
        email=email,
        email_key=email_key(email),
        token_hash=secrets.token_hex(32),
        now=now,
        expires_at=now + ttl,
        since=now - ttl,
        limit=limit,
    )


async def store_user(uow_factory: UnitOfWorkFactory, user: User | None = None) -> User:
    user = user or make_user()
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user


async def store_tasks(uow_factory: UnitOfWorkFactory, *tasks: Task) -> None:
    async with uow_factory() as uow:
        for task in tasks:
            await uow.tasks.add(task)
        await uow.commit()


async def store_sessions(uow_factory: UnitOfWorkFactory, *sessions: LoginSession) -> None:
    async with uow_factory() as uow:
        for session in sessions:
            await uow.sessions.add(session)
        await uow.commit()


async def store_tokens(uow_factory: UnitOfWorkFactory, *tokens: RefreshToken) -> None:
    async with uow_factory() as uow:
        for token in tokens:
            await uow.refresh_tokens.add(token)
        await uow.commit()
