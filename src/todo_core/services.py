"""Use cases. Each public method is one use case in one unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NoReturn
from uuid import UUID

from todo_core.domain import (
    Task,
    TaskPage,
    TaskPatch,
    TaskQuery,
    User,
    check_new_task,
    check_page,
    check_patch,
    check_registration,
    normalize_email,
)
from todo_core.errors import (
    InvalidCredentialsError,
    TaskAccessDeniedError,
    TaskNotFoundError,
    UnknownUserError,
    ValidationError,
)
from todo_core.ports import (
    AccessToken,
    Clock,
    PasswordHasher,
    TaskRepository,
    TokenIssuer,
    UnitOfWorkFactory,
)


@dataclass(frozen=True, slots=True)
class Session:
    """What a successful registration or login hands back."""

    user: User
    access_token: AccessToken


class AuthService:
    """Registration, login and token checks. Unknown email and wrong password fail alike,
    in the same time, so a caller cannot learn which emails are registered."""

    def __init__(
        self, uow: UnitOfWorkFactory, hasher: PasswordHasher, tokens: TokenIssuer, clock: Clock
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock

    async def register(self, email: str, password: str) -> Session:
        normalized = check_registration(email, password)
        password_hash = await self._hasher.hash(password)
        user = User(uuid.uuid4(), normalized, password_hash, self._clock.now())
        async with self._uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return Session(user, self._tokens.issue(user.id))

    async def login(self, email: str, password: str) -> Session:
        try:
            normalized = normalize_email(email)
        except ValidationError:
            normalized = None
        async with self._uow() as uow:
            user = await uow.users.get_by_email(normalized) if normalized else None
            if user is None:
                await self._hasher.verify_dummy(password)
                raise InvalidCredentialsError(email)
            if not await self._hasher.verify(password, user.password_hash):
                raise InvalidCredentialsError(email)
            if self._hasher.needs_rehash(user.password_hash):
                await uow.users.update_password_hash(user.id, await self._hasher.hash(password))
                await uow.commit()
        return Session(user, self._tokens.issue(user.id))

    def authenticate(self, token: str) -> UUID:
        """The id of the user the access token was issued to; raises InvalidTokenError."""
        return self._tokens.verify(token)

    async def me(self, user_id: UUID) -> User:
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
        if user is None:
            raise UnknownUserError()
        return user


class TaskService:
    """Task use cases. A user only ever sees and changes their own tasks: another user's
    task is a TaskAccessDeniedError, a missing one a TaskNotFoundError."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def create(
        self, user_id: UUID, title: str, description: str | None = None, is_completed: bool = False
    ) -> Task:
        new = check_new_task(title, description, is_completed)
        now = self._clock.now()
        task = Task(
            uuid.uuid4(), user_id, new.title, new.description, new.is_completed, now, now, 1
        )
        async with self._uow() as uow:
            await uow.tasks.add(task)
            await uow.commit()
        return task

    async def list(self, user_id: UUID, query: TaskQuery) -> TaskPage:
        check_page(query.limit, query.offset)
        async with self._uow() as uow:
            return await uow.tasks.list(user_id, query)

    async def get(self, user_id: UUID, task_id: UUID) -> Task:
        async with self._uow() as uow:
            task = await uow.tasks.get(task_id)
        if task is None:
            raise TaskNotFoundError(task_id)
        if not task.is_owned_by(user_id):
            raise TaskAccessDeniedError(task_id, user_id)
        return task

    async def update(self, user_id: UUID, task_id: UUID, patch: TaskPatch) -> Task:
        patch = check_patch(patch)
        async with self._uow() as uow:
            task = await uow.tasks.update(task_id, user_id, patch, self._clock.now())
            if task is None:
                await _raise_missing_or_foreign(uow.tasks, task_id, user_id)
            await uow.commit()
        return task

    async def delete(self, user_id: UUID, task_id: UUID) -> None:
        async with self._uow() as uow:
            if not await uow.tasks.delete(task_id, user_id):
                await _raise_missing_or_foreign(uow.tasks, task_id, user_id)
            await uow.commit()


async def _raise_missing_or_foreign(
    tasks: TaskRepository, task_id: UUID, user_id: UUID
) -> NoReturn:
    """Called only after a write matched nothing, so the common path costs one statement."""
    if await tasks.owner_of(task_id) is None:
        raise TaskNotFoundError(task_id)
    raise TaskAccessDeniedError(task_id, user_id)
