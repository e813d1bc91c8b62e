"""Idempotency keys: a client's key for one request, the fingerprint that tells a retry
from another request under the same key, and the reply kept for retries."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Final

from todo_core.errors import FieldError, ValidationError

IDEMPOTENCY_KEY_MAX_LENGTH: Final = 255
# For documents: printable ASCII, and no space at either end (HTTP trims those away).
IDEMPOTENCY_KEY_PATTERN: Final = r"^[!-~]([ -~]*[!-~])?$"
_PRINTABLE_ASCII = re.compile(r"[ -~]+")


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer a request got, exactly as sent, kept to be sent again: opaque to the core
    (the HTTP layer renders it and reads it back)."""

    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client's key for one request, and the fingerprint of that request: the same key
    with another fingerprint is a different request reusing the key."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class StoredReply:
    """What was kept for a key: the first request's fingerprint and the reply it got."""

    fingerprint: str
    reply: Reply


def idempotency_key_problem(key: str) -> str | None:
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        return f"must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters"
    if not _PRINTABLE_ASCII.fullmatch(key):
        return "must be printable ASCII"
    return None


def idempotency_key(key: str, **request: object) -> IdempotencyKey:
    """The key, checked, with the fingerprint of the request's fields: SHA-256 of their
    canonical JSON, so key order and white space in the body do not matter."""
    if (problem := idempotency_key_problem(key)) is not None:
        raise ValidationError([FieldError("Idempotency-Key", problem)])
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    fingerprint = hashlib.sha256(canonical.encode("ascii")).hexdigest()
    return IdempotencyKey(key, fingerprint)
