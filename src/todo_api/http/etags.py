"""Entity tags of tasks (RFC 9110): one per id and version, so any change makes a new one."""

from __future__ import annotations

import re
from typing import Protocol
from uuid import UUID

from starlette.requests import Request

from todo_core.domain import Versions


class _Versioned(Protocol):
    @property
    def id(self) -> UUID: ...

    @property
    def version(self) -> int: ...


class RequestHeader:
    """A header read straight from the request: the first value sent, or None."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name.lower().encode("latin-1")

    def of(self, request: Request) -> str | None:
        for name, value in request.scope["headers"]:
            if name == self._name:
                text: str = value.decode("latin-1")
                return text
        return None


IF_MATCH = RequestHeader("If-Match")
IF_NONE_MATCH = RequestHeader("If-None-Match")
IDEMPOTENCY_KEY_HEADER = RequestHeader("Idempotency-Key")

_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')


def etag_of(task: _Versioned) -> str:
    return f'"{task.id.hex}-{task.version}"'


def _tags(header: str) -> list[tuple[bool, str]]:
    """(weak, opaque value) of each entity tag in a list header; malformed parts are skipped."""
    return [(bool(m.group(1)), m.group(2)) for m in _TAG.finditer(header)]


def if_match_versions(header: str | None, task_id: UUID) -> Versions:
    """The versions of this task an If-Match header accepts; None for no condition.
    Weak tags never match (If-Match uses strong comparison), nor do other tasks' tags."""
    if header is None or header.strip() == "*":
        return None
    versions = set()
    for weak, value in _tags(header):
        task_hex, _, version = value.rpartition("-")
        if not weak and task_hex == task_id.hex and version.isdigit():
            versions.add(int(version))
    return frozenset(versions)


def if_none_match_hits(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this representation (weak comparison)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return any(f'"{value}"' == etag for _, value in _tags(header))
