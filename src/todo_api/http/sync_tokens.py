"""Sync tokens: a point in one user's change feed, opaque and URL-safe, signed together
with the user's id, so that a forged token, a mangled one or another user's is a clean 400."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from datetime import UTC, datetime
from uuid import UUID

from todo_core.errors import FieldError, ValidationError
from todo_core.feed import SyncPoint

_PAYLOAD = struct.Struct(">BQQ16s")  # version, change number, issued (epoch s), task id
_VERSION = 1
_MAC_BYTES = 16


class SyncTokens:
    def __init__(self, secret: str) -> None:
        # A key of its own, so that a sync token never passes for a cursor or a JWT.
        self._key = hmac.new(secret.encode(), b"todo-api sync token v1", hashlib.sha256).digest()

    def _mac(self, user_id: UUID, payload: bytes) -> bytes:
        return hmac.new(self._key, user_id.bytes + payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, user_id: UUID, point: SyncPoint) -> str:
        issued = int(point.issued_at.timestamp())
        payload = _PAYLOAD.pack(_VERSION, point.seq, issued, point.task_id.bytes)
        token = payload + self._mac(user_id, payload)
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode()

    def decode(self, user_id: UUID, token: str, field: str = "since") -> SyncPoint:
        """The point the token names; a ValidationError on `field` unless the token is one
        of ours, made for this user."""
        bad = ValidationError([FieldError(field, "is not a sync token of yours (use next)")])
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, binascii.Error):
            raise bad from None
        payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
        if len(raw) != _PAYLOAD.size + _MAC_BYTES or not hmac.compare_digest(
            mac, self._mac(user_id, payload)
        ):
            raise bad
        version, seq, issued, task_id = _PAYLOAD.unpack(payload)
        if version != _VERSION:
            raise bad
        return SyncPoint(seq, UUID(bytes=task_id), datetime.fromtimestamp(issued, UTC))
