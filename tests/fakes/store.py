"""The fake database: the committed rows (InMemoryStore), and a table as one unit of work
sees it (TableView)."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any, TypeVar
from uuid import UUID

from tests.fakes.idempotency import StoredKey
from tests.fakes.login_failures import Failure
from tests.fakes.password_resets import StoredReset
from todo_core.domain import LoginSession, RefreshToken, Task, User
from todo_core.ports import EventTicket

K = TypeVar("K")
V = TypeVar("V")


class InMemoryStore:
    """The committed state shared by every unit of work of one fake database."""

    def __init__(self) -> None:
        self.users: dict[UUID, User] = {}
        self.tasks: dict[UUID, Task] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.idempotency: dict[tuple[UUID, str], StoredKey] = {}
        self.claims_in_flight: set[tuple[UUID, str]] = set()
        self.sessions: dict[UUID, LoginSession] = {}
        self.password_resets: dict[str, StoredReset] = {}
        self.login_failures: dict[int, Failure] = {}
        # The change feed (tests/fakes/changes.py): entries by task id, numbers by user.
        self.changes: dict[UUID, Any] = {}
        self.change_seq: dict[UUID, int] = {}
        self.event_tickets: dict[str, EventTicket] = {}


class TableView(MutableMapping[K, V]):
    """One table as a unit of work sees it: its own writes over the committed rows, which
    are read afresh at every access. So, as under PostgreSQL's READ COMMITTED, a statement
    sees what other units of work committed before it (a token they spent, a session they
    ended, a failure they counted) and what its own unit of work wrote. publish() applies
    the writes alone: rows that others committed meanwhile stay.

    Unlike PostgreSQL it takes no row locks: two units of work that both write one row
    before either commits both succeed, and the last to commit wins."""

    def __init__(self, committed: dict[K, V]) -> None:
        self._committed = committed
        self._written: dict[K, V] = {}
        self._deleted: set[K] = set()

    def __getitem__(self, key: K) -> V:
        if key in self._written:
            return self._written[key]
        if key in self._deleted:
            raise KeyError(key)
        return self._committed[key]

    def __setitem__(self, key: K, value: V) -> None:
        self._written[key] = value
        self._deleted.discard(key)

    def __delitem__(self, key: K) -> None:
        if key not in self:
            raise KeyError(key)
        self._written.pop(key, None)
        self._deleted.add(key)

    def __iter__(self) -> Iterator[K]:
        mine = list(self._written)
        hidden = self._deleted | self._written.keys()
        return iter(mine + [key for key in self._committed if key not in hidden])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def pending(self) -> tuple[dict[K, V], set[K]]:
        """What publish() would apply: the rows written, and the keys deleted."""
        return dict(self._written), set(self._deleted)

    def publish(self) -> None:
        for key in self._deleted:
            self._committed.pop(key, None)
        self._committed.update(self._written)
        self._written.clear()
        self._deleted.clear()
