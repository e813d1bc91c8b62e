"""The PostgreSQL user repository (tasks.py has the tasks'): statements built once
(statements.py) and sent on the unit of work's asyncpg connection; rows become core
dataclasses positionally. Repositories never commit; constraint violations become domain
errors."""

from __future__ import annotations

from uuid import UUID

from asyncpg import Connection, UniqueViolationError
from sqlalchemy import delete, insert, select, update

from todo_adapters.sql.sessions import session_live
from todo_adapters.sql.statements import Statement, attributes, param, same_order
from todo_adapters.sql.tables import EMAIL_UNIQUE_CONSTRAINT, users
from todo_core.domain import User
from todo_core.errors import EmailTakenError, SessionEndedError
from todo_core.ports import UserRepository

same_order(users.columns, User)


_ADD_USER = Statement(insert(users))
_USER_BY_EMAIL = Statement(select(users).where(users.c.email == param(users.c.email)))
_USER_BY_ID = Statement(select(users).where(users.c.id == param(users.c.id)))
_USER_IN_SESSION = Statement(
    select(users, session_live(users.c.id)).where(users.c.id == param(users.c.id))
)
_SET_PASSWORD_HASH = Statement(
    update(users)
    .where(users.c.id == param(users.c.id))
    .values(password_hash=param(users.c.password_hash))
)
_REPLACE_PASSWORD_HASH = Statement(
    update(users)
    .where(
        users.c.id == param(users.c.id),
        users.c.password_hash == param(users.c.password_hash, "replacing"),
    )
    .values(password_hash=param(users.c.password_hash))
)
# Tasks, counters, sessions, tokens and stored replies follow by ON DELETE CASCADE.
_DELETE_USER = Statement(delete(users).where(users.c.id == param(users.c.id)))


class SqlUserRepository(UserRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add(self, user: User) -> None:
        try:
            await _ADD_USER.rowcount(self._db, **attributes(user, users.columns))
        except UniqueViolationError as exc:
            if exc.constraint_name == EMAIL_UNIQUE_CONSTRAINT:
                raise EmailTakenError() from exc
            raise

    async def get_by_email(self, email: str) -> User | None:
        return await _USER_BY_EMAIL.first(self._db, User, email=email)

    async def get(self, user_id: UUID) -> User | None:
        return await _USER_BY_ID.first(self._db, User, id=user_id)

    async def get_in_session(self, user_id: UUID, session_id: UUID | None) -> User | None:
        if session_id is None:
            return await self.get(user_id)
        row = await _USER_IN_SESSION.fetchrow(self._db, id=user_id, session_id=session_id)
        if row is None:
            return None
        if not row[-1]:
            raise SessionEndedError()
        return User(*row[:-1])

    async def update_password_hash(
        self, user_id: UUID, password_hash: str, replacing: str | None = None
    ) -> bool:
        if replacing is None:
            changed = await _SET_PASSWORD_HASH.rowcount(
                self._db, id=user_id, password_hash=password_hash
            )
        else:
            changed = await _REPLACE_PASSWORD_HASH.rowcount(
                self._db, id=user_id, password_hash=password_hash, replacing=replacing
            )
        return changed > 0

    async def delete(self, user_id: UUID) -> bool:
        return await _DELETE_USER.rowcount(self._db, id=user_id) > 0
