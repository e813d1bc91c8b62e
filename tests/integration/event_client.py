"""A Server-Sent Events client as a browser's EventSource reads a stream (WHATWG HTML,
"Server-sent events"), over a real HTTP connection: events, comments, and the end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Event:
    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        assert self.data is not None
        return json.loads(self.data)


class EventStream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.last_id: str | None = None

    async def block(self, within: float = 5.0) -> Event | None:
        """The next block of lines up to a blank one (an event, a comment, a retry);
        None when the stream ends."""
        block = Event()
        while True:
            try:
                line = await asyncio.wait_for(anext(self._lines), within)
            except StopAsyncIteration:
                return None
            if line == "":
                if block.id is not None:
                    self.last_id = block.id
                return block
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                block.comments.append(value)
            elif name == "retry":
                block.retry = int(value)
            else:
                setattr(block, name, value)

    async def event(self, within: float = 5.0) -> Event:
        """The next event (comments and retry skipped)."""
        while True:
            block = await self.block(within)
            assert block is not None, "the stream ended"
            if block.event is not None:
                return block

    async def events(self, count: int, within: float = 5.0) -> list[Event]:
        return [await self.event(within) for _ in range(count)]

    async def ends(self, within: float) -> None:
        """The stream ends within `within` seconds (heartbeats may come until then)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, "the stream did not end"
            try:
                block = await self.block(left)
            except TimeoutError:
                raise AssertionError("the stream did not end") from None
            if block is None:
                return
            assert block.event is None, f"an event instead of the end: {block}"


@asynccontextmanager
async def opened(
    client: httpx.AsyncClient,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    status: int = 200,
) -> AsyncIterator[EventStream]:
    """GET /events; asserts the status, and for a 200 that `retry` comes first."""
    async with client.stream("GET", "/events", headers=headers, params=params) as response:
        if status != 200 or response.status_code != 200:
            await response.aread()
            assert response.status_code == status, response.text
            yield EventStream(response)
            return
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = EventStream(response)
        first = await stream.block()
        assert first is not None
        assert first.retry == 2000, first
        yield stream
