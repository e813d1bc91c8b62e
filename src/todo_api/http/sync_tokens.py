"""Sync tokens: a point in one user's change feed, opaque and URL-safe, signed together
with the user's id, so that a forged token, a mangled one or another user's is a clean 400."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from uuid import UUID

from todo_api.http.signing import MAC_BYTES, Signer, b64, unb64
from todo_core.errors import FieldError, ValidationError
from todo_core.feed import SyncPoint

_PAYLOAD = struct.Struct(">BQQ16s")  # version, change number, issued (epoch s), task id
_VERSION = 1


class SyncTokens:
    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, b"todo-api sync token v1")

    def encode(self, user_id: UUID, point: SyncPoint) -> str:
        issued = int(point.issued_at.timestamp())
        payload = _PAYLOAD.pack(_VERSION, point.seq, issued, point.task_id.bytes)
        return b64(payload + self._signer.mac(user_id.bytes + payload))

    def decode(self, user_id: UUID, token: str, field: str = "since") -> SyncPoint:
        """The point the token names; a ValidationError on `field` unless the token is one
        of ours, made for this user."""
        bad = ValidationError([FieldError(field, "is not a sync token of yours (use next)")])
        raw = unb64(token)
        if raw is None or len(raw) != _PAYLOAD.size + MAC_BYTES:
            raise bad
        payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
        if not self._signer.verifies(user_id.bytes + payload, mac):
            raise bad
        version, seq, issued, task_id = _PAYLOAD.unpack(payload)
        if version != _VERSION:
            raise bad
        return SyncPoint(seq, UUID(bytes=task_id), datetime.fromtimestamp(issued, UTC))
