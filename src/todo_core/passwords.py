"""Passwords as the rules want them hashed and checked: in their NFKC form (domain.py), so
that one password typed on any keyboard or system is one password. Hashes made before that
rule, from the password as typed, keep working: when the NFKC form does not match, the
form as typed is checked once, and a match is re-hashed in its NFKC form."""

from __future__ import annotations

from dataclasses import dataclass

from todo_core.domain import normalized_password
from todo_core.ports import PasswordHasher


@dataclass(frozen=True, slots=True)
class Verification:
    """Whether a password matched, and the hash to store in place of the one checked, when
    that one is of an older kind (made from the password as typed, or at a lower cost)."""

    matched: bool
    new_hash: str | None = None


NO_MATCH = Verification(False)


class Passwords:
    def __init__(self, hasher: PasswordHasher) -> None:
        self._hasher = hasher

    async def hash(self, raw: str) -> str:
        return await self._hasher.hash(normalized_password(raw))

    async def verify(self, raw: str, password_hash: str) -> Verification:
        normal = normalized_password(raw)
        if await self._hasher.verify(normal, password_hash):
            stale = self._hasher.needs_rehash(password_hash)
        elif normal != raw and await self._hasher.verify(raw, password_hash):
            stale = True  # hashed before passwords were normalised
        else:
            return NO_MATCH
        return Verification(True, await self._hasher.hash(normal) if stale else None)

    async def verify_dummy(self, raw: str) -> None:
        """As long as verify() takes for a password that matches nothing: an unknown email
        costs what a wrong password costs."""
        await self._hasher.verify_dummy(raw)
        if normalized_password(raw) != raw:
            await self._hasher.verify_dummy(raw)
