"""What the opaque values the API hands out (paging cursors, sync tokens) are made of:
URL-safe base64 without padding, and a truncated HMAC-SHA256 under a key of their own,
derived from the service's secret, so that one kind can never pass for another (nor for a
JWT)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

MAC_BYTES = 16


class Signer:
    def __init__(self, secret: str, purpose: bytes) -> None:
        self._key = hmac.new(secret.encode(), purpose, hashlib.sha256).digest()

    def mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:MAC_BYTES]

    def verifies(self, payload: bytes, mac: bytes) -> bool:
        return hmac.compare_digest(mac, self.mac(payload))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes | None:
    """The bytes `text` encodes; None when it is no URL-safe base64."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        return None
