"""The session repository (see statements.py for how statements are run)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from asyncpg import Connection, ForeignKeyViolationError
from sqlalchemy import ColumnElement, Uuid, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from todo_adapters.sql.statements import Statement, attributes, param, purge_expired, same_order
from todo_adapters.sql.tables import (
    SESSION_USER_FOREIGN_KEY,
    refresh_tokens,
    sessions,
)
from todo_core.domain import LoginSession
from todo_core.errors import UnknownUserError
from todo_core.ports import SessionRepository

same_order(sessions.columns, LoginSession)
_session = sessions.c


def session_live(user_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """The caller's login (the access token's `sid`) has not ended: a primary-key probe,
    folded into the statement the call sends anyway, so that ending a login ends what its
    access token can write at once, for no extra round trip."""
    return (
        select(sessions.c.id)
        .where(
            sessions.c.id == bindparam("session_id", type_=sessions.c.id.type),
            sessions.c.user_id == user_id,
            sessions.c.ended_at.is_(None),
        )
        .exists()
    )


_ADD = Statement(insert(sessions))
# Locks the session's row: a refresh and an ending of the same session take turns.
_TOUCH = Statement(
    update(sessions)
    .where(
        _session.id == param(_session.id),
        _session.ended_at.is_(None),
        _session.expires_at > param(_session.last_used_at, "now"),
    )
    .values(last_used_at=param(_session.last_used_at, "now"), expires_at=param(_session.expires_at))
    .returning(_session.id)
)
_IS_LIVE = Statement(
    select(_session.id).where(_session.id == param(_session.id), _session.ended_at.is_(None))
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
    """End live sessions of a user (one, or all); the ids of those ended."""
    which = [_session.id == param(_session.id)] if one else []
    return Statement(
        update(sessions)
        .where(
            _session.user_id == param(_session.user_id),
            _session.ended_at.is_(None),
            _session.expires_at > param(_session.expires_at, "now"),
            *which,
        )
        .values(ended_at=param(_session.ended_at, "now"))
        .returning(_session.id)
    )


_END_ONE = _end_statement(one=True)
_END_ALL = _end_statement(one=False)
_token = refresh_tokens.c
# A statement of its own, after the sessions': it sees the tokens that a refresh holding a
# session's lock committed meanwhile (a statement in the same WITH would not).
_REVOKE_TOKENS = Statement(
    update(refresh_tokens)
    .where(
        _token.family_id == any_(bindparam("ids", type_=ARRAY(Uuid()))),
        _token.revoked_at.is_(None),
    )
    .values(revoked_at=param(_token.revoked_at, "now"))
)
_PURGE_EXPIRED = purge_expired(sessions, [_session.id], _session.expires_at)
# The ids given that name no live session: one primary-key probe each, in one statement.
_ids = bindparam("ids", type_=ARRAY(Uuid()))
_asked = func.unnest(_ids).table_valued("id").render_derived(name="asked")
_ENDED_AMONG = Statement(
    select(_asked.c.id).where(
        ~select(_session.id).where(_session.id == _asked.c.id, _session.ended_at.is_(None)).exists()
    )
)


class SqlSessionRepository(SessionRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add(self, session: LoginSession) -> None:
        try:
            await _ADD.rowcount(self._db, **attributes(session, sessions.columns))
        except ForeignKeyViolationError as exc:
            if exc.constraint_name == SESSION_USER_FOREIGN_KEY:
                raise UnknownUserError() from exc
            raise

    async def touch(self, session_id: UUID, now: datetime, expires_at: datetime) -> bool:
        return (
            await _TOUCH.value(self._db, id=session_id, now=now, expires_at=expires_at) is not None
        )

    async def is_live(self, session_id: UUID) -> bool:
        return await _IS_LIVE.value(self._db, id=session_id) is not None

    async def live(self, user_id: UUID, now: datetime) -> list[LoginSession]:
        return [LoginSession(*row) for row in await _LIVE.fetch(self._db, user_id=user_id, now=now)]

    async def end(self, user_id: UUID, now: datetime, session_id: UUID | None = None) -> int:
        if session_id is None:
            rows = await _END_ALL.fetch(self._db, user_id=user_id, now=now)
        else:
            rows = await _END_ONE.fetch(self._db, user_id=user_id, now=now, id=session_id)
        ids = [row[0] for row in rows]
        if ids:
            await _REVOKE_TOKENS.rowcount(self._db, ids=ids, now=now)
        return len(ids)

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        return await _PURGE_EXPIRED.rowcount(self._db, now=now, batch_size=batch_size)

    async def ended_among(self, session_ids: Collection[UUID]) -> set[UUID]:
        return {row[0] for row in await _ENDED_AMONG.fetch(self._db, ids=list(session_ids))}
