"""Opaque keyset-paging cursors: URL-safe, signed so that a forged or mangled one is a
clean 400, and bound to the sort and filter they were made for."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from todo_api.http.signing import Signer, b64, unb64
from todo_core.errors import FieldError, ValidationError
from todo_core.listing import (
    NO_FILTER,
    SortValue,
    TaskFilter,
    TaskKey,
    TaskPage,
    TaskQuery,
    TaskSort,
)


@dataclass(frozen=True, slots=True)
class Cursor:
    key: TaskKey
    sort: TaskSort
    completed: bool | None
    filter: TaskFilter = NO_FILTER


def _filter_digest(found: TaskFilter) -> str | None:
    """What a cursor remembers of the filters beyond `completed`: enough to tell another."""
    if found.is_empty():
        return None  # cursors made before the filters existed stay valid
    return hashlib.sha256(repr(found).encode()).hexdigest()[:16]


def _wire(value: SortValue) -> str | int:
    return value.isoformat() if isinstance(value, datetime) else value


def _value_of(sort: TaskSort, raw: object) -> SortValue:
    if sort.column == "priority":
        if not isinstance(raw, int):
            raise TypeError(raw)
        return raw
    if not isinstance(raw, str):
        raise TypeError(raw)
    return raw if sort.column == "position" else datetime.fromisoformat(raw)


def _bad(message: str = "is not a valid cursor (use next_cursor as returned)") -> ValidationError:
    return ValidationError([FieldError("cursor", message)])


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, b"todo-api task cursor v1")

    def encode(self, cursor: Cursor) -> str:
        fields = {
            "s": cursor.sort.value,
            "c": cursor.completed,
            "v": _wire(cursor.key.value),
            "i": cursor.key.id.hex,
        }
        if (digest := _filter_digest(cursor.filter)) is not None:
            fields["f"] = digest
        payload = json.dumps(fields, separators=(",", ":")).encode()
        return f"{b64(payload)}.{b64(self._signer.mac(payload))}"

    def decode(self, text: str) -> tuple[Cursor, str | None]:
        """The cursor and the digest of the filters it was made for."""
        encoded_payload, dot, encoded_mac = text.partition(".")
        payload, mac = unb64(encoded_payload), unb64(encoded_mac)
        if not dot or "." in encoded_mac or payload is None or mac is None:
            raise _bad()
        if not self._signer.verifies(payload, mac):
            raise _bad()
        try:
            fields = json.loads(payload)
            sort = TaskSort(fields["s"])
            key = TaskKey(_value_of(sort, fields["v"]), UUID(hex=fields["i"]))
            return Cursor(key, sort, fields["c"]), fields.get("f")
        except (ValueError, KeyError, TypeError):
            raise _bad() from None

    def next_cursor(self, page: TaskPage, query: TaskQuery) -> str | None:
        if page.next_key is None:
            return None
        return self.encode(Cursor(page.next_key, query.sort, query.completed, query.filter))

    def decode_for(
        self, text: str, sort: TaskSort, completed: bool | None, found: TaskFilter = NO_FILTER
    ) -> TaskKey:
        """The key to continue after, provided the cursor was made for this same query."""
        cursor, digest = self.decode(text)
        if (
            cursor.sort is not sort
            or cursor.completed != completed
            or digest != _filter_digest(found)
        ):
            raise _bad("was made for another sort or filter; repeat those parameters")
        return cursor.key
