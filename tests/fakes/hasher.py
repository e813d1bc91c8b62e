"""A password hasher for tests."""

from __future__ import annotations

import hashlib

from todo_core.ports import PasswordHasher


class FakePasswordHasher(PasswordHasher):
    """Cheap and deterministic; the cost is part of the hash so re-hashing can be tested."""

    def __init__(self, cost: int = 12) -> None:
        self.cost = cost
        self.dummy_checks = 0

    async def hash(self, password: str) -> str:
        digest = hashlib.sha256(password.encode()).hexdigest()
        return f"fake${self.cost}${digest}"

    async def verify(self, password: str, password_hash: str) -> bool:
        digest = hashlib.sha256(password.encode()).hexdigest()
        return password_hash.endswith(f"${digest}")

    async def verify_dummy(self, password: str) -> None:
        self.dummy_checks += 1

    def needs_rehash(self, password_hash: str) -> bool:
        return int(password_hash.split("$")[1]) < self.cost
