"""Idempotency keys in PostgreSQL (see statements.py for how statements are run).

A key is claimed by inserting its row, reply included, in the transaction that then does
the work: the row and the work commit together or not at all. A second request with the
same key must neither wait for the first nor do the work again, so the insert goes ahead
only under a transaction-scoped advisory lock on a hash of (user, key), taken without
waiting: while the first transaction runs, the second gets no lock, inserts nothing and
finds no committed row (in progress); once it has committed, the second finds its row."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from asyncpg import Connection, ForeignKeyViolationError
from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.dialects.postgresql import insert

from todo_adapters.sql.statements import Statement, param, purge_expired
from todo_adapters.sql.tables import IDEMPOTENCY_KEY_USER_FOREIGN_KEY, idempotency_keys
from todo_core.errors import IdempotencyKeyInUseError, UnknownUserError
from todo_core.idempotency import IdempotencyKey, Reply, StoredReply
from todo_core.ports import IdempotencyRepository

_key = idempotency_keys.c
_COLUMNS = ("user_id", "key", "fingerprint", "status", "body", "created_at", "expires_at")
# Different (user, key) pairs may share a lock hash: at worst one of them sees a 409 and
# retries. The stored rows themselves are keyed by (user_id, key) and never collide.
_LOCK = func.pg_try_advisory_xact_lock(
    func.hashtextextended(cast(param(_key.user_id), String) + literal(":") + param(_key.key), 0)
)
_claim = insert(idempotency_keys).from_select(
    _COLUMNS, select(*(param(_key[name]) for name in _COLUMNS)).where(_LOCK)
)
# An expired key that the purge has not reached yet is free again.
_CLAIM = Statement(
    _claim.on_conflict_do_update(
        index_elements=[_key.user_id, _key.key],
        set_={name: _claim.excluded[name] for name in _COLUMNS[2:]},
        where=_key.expires_at <= _claim.excluded.created_at,
    )
)
_STORED = Statement(
    select(_key.fingerprint, _key.status, _key.body).where(
        _key.user_id == param(_key.user_id),
        _key.key == param(_key.key),
        _key.expires_at > param(_key.expires_at, "now"),
    )
)
_PURGE_EXPIRED = purge_expired(idempotency_keys, [_key.user_id, _key.key], _key.expires_at)


class SqlIdempotencyRepository(IdempotencyRepository):
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def claim(
        self, user_id: UUID, key: IdempotencyKey, reply: Reply, now: datetime, expires_at: datetime
    ) -> StoredReply | None:
        try:
            claimed = await _CLAIM.rowcount(
                self._db,
                user_id=user_id,
                key=key.key,
                fingerprint=key.fingerprint,
                status=reply.status,
                body=reply.body,
                created_at=now,
                expires_at=expires_at,
            )
        except ForeignKeyViolationError as exc:
            if exc.constraint_name == IDEMPOTENCY_KEY_USER_FOREIGN_KEY:
                raise UnknownUserError() from exc
            raise
        if claimed:
            return None
        row = await _STORED.fetchrow(self._db, user_id=user_id, key=key.key, now=now)
        if row is None:
            raise IdempotencyKeyInUseError()
        fingerprint, status, body = row
        return StoredReply(fingerprint, Reply(status, bytes(body)))

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        return await _PURGE_EXPIRED.rowcount(self._db, now=now, batch_size=batch_size)
