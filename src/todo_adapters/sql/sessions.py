"""The session repository (see statements.py for how statements are run)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from asyncpg import Connection, ForeignKeyViolationError
from sqlalchemy import func, insert, select, update

from todo_adapters.sql.statements import Statement, attributes, param, purge_expired, same_order
from todo_adapters.sql.tables import (
    SESSION_USER_FOREIGN_KEY,
    refresh_tokens,
    sessions,
)
from todo_core.domain import LoginSession
from todo_core.errors import UnknownUserError
from todo_core.ports import SessionRepository

same_order(sessions, LoginSession)
_session = sessions.c
_ADD = Statement(insert(sessions))
_TOUCH = Statement(
    update(sessions)
    .where(_session.id == param(_session.id))
    .values(last_used_at=param(_session.last_used_at, "now"), expires_at=param(_session.expires_at))
)
_LIVE = Statement(
    select(sessions)
    .where(
        _session.user_id == param(_session.user_id),
        _session.ended_at.is_(None),
        _session.expires_at > param(_session.expires_at, "now"),
    )
    .order_by(_session.created_at.desc(), _session.id.desc())
)


def _end_statement(one: bool) -> Statement:
    """End live sessions of a user (one, or all) and revoke their refresh tokens, in one
    statement; the count of sessions ended."""
    which = [_session.id == param(_session.id)] if one else []
    ended = (
        update(sessions)
        .where(
            _session.user_id == param(_session.user_id),
            _session.ended_at.is_(None),
            _session.expires_at > param(_session.expires_at, "now"),
            *which,
        )
        .values(ended_at=param(_session.ended_at, "now"))
        .returning(_session.id)
        .cte("ended")
    )
    token = refresh_tokens.c
    revoked = (
        update(refresh_tokens)
        .where(token.family_id.in_(select(ended.c.id)), token.revoked_at.is_(None))
        .values(revoked_at=param(token.revoked_at, "now"))
        .returning(token.token_hash)
        .cte("revoked")
    )
    return Statement(select(func.count()).select_from(ended).add_cte(revoked))


_END_ONE = _end_statement(one=True)
_END_ALL = _end_statement(one=False)
_PURGE_EXPIRED = purge_expired(sessions, [_session.id], _session.expires_at)


class SqlSessionRepository(SessionRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add(self, session: LoginSession) -> None:
        try:
            await _ADD.rowcount(self._db, **attributes(session, sessions))
        except ForeignKeyViolationError as exc:
            if exc.constraint_name == SESSION_USER_FOREIGN_KEY:
                raise UnknownUserError() from exc
            raise

    async def touch(self, session_id: UUID, now: datetime, expires_at: datetime) -> None:
        await _TOUCH.rowcount(self._db, id=session_id, now=now, expires_at=expires_at)

    async def live(self, user_id: UUID, now: datetime) -> list[LoginSession]:
        return [LoginSession(*row) for row in await _LIVE.fetch(self._db, user_id=user_id, now=now)]

    async def end(self, user_id: UUID, now: datetime, session_id: UUID | None = None) -> int:
        if session_id is None:
            ended: int = await _END_ALL.value(self._db, user_id=user_id, now=now)
        else:
            ended = await _END_ONE.value(self._db, user_id=user_id, now=now, id=session_id)
        return ended

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        return await _PURGE_EXPIRED.rowcount(self._db, now=now, batch_size=batch_size)
