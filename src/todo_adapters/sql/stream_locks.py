"""The advisory locks through which event streams and writers meet, whatever the worker
or instance: a user's stream slots (held exclusively, one per open stream, so that
MAX_STREAMS_PER_USER holds everywhere) and the user's watch (held shared by each listener
connection with a stream of the user open, so that writers notify only users someone
follows). Session locks on the listener's connection: PostgreSQL releases them with it."""

from __future__ import annotations

import hashlib
from uuid import UUID


def _key(user_id: UUID, tag: bytes) -> int:
    # 64 bits, so that users never share a lock (32 would, among a few tens of thousands).
    digest = hashlib.blake2b(user_id.bytes + tag, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def slot_key(user_id: UUID, slot: int) -> int:
    """The lock of one of a user's stream slots (0 .. limit-1)."""
    return _key(user_id, slot.to_bytes(4, "big"))


def watch_key(user_id: UUID) -> int:
    """The lock a listener holds shared while it has a stream of this user open."""
    return _key(user_id, b"watch")
