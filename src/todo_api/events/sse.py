"""The text/event-stream wire format (WHATWG HTML, "Server-sent events"): fields of one
line each, an event ended by a blank line, comment lines starting with a colon. The data
is one line of JSON (JSON escapes every line break inside its strings)."""

from __future__ import annotations

from typing import Final

MEDIA_TYPE: Final = "text/event-stream"
# How long a browser's EventSource waits before reconnecting, in ms.
RETRY: Final = b"retry: 2000\n\n"
PING: Final = b": ping\n\n"
CHANGED: Final = b"task.changed"
DELETED: Final = b"task.deleted"


def event(event_id: str, name: bytes, data: bytes) -> bytes:
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (event_id.encode("ascii"), name, data)
