"""Live updates under load (issue 21): many open GET /events streams, read by an asyncio
client of raw sockets in the harness's own process (its memory is not the server's: the
figures are the worker processes' RSS), and writes over HTTP beside them.

- hold: one instance with the default workers holds N streams (users times streams each);
  the workers' RSS before and after, divided by the streams: the memory per stream, idle
  and after each stream was woken once and sent an event.
- latency: streams spread over several instances on one database, writes at a fixed rate
  spread over the instances too (each user's stream is mostly on another instance than
  the write): the time from a write's response to its event at the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from itertools import cycle
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import uvloop

from procs import Server, Watch

KB = 1024
OPEN_TIMEOUT_S = 30.0
EVENT_WAIT_S = 10.0  # after the last write, how long its event may take before it is missed


@dataclass(frozen=True)
class StreamUser:
    token: str
    task_ids: list[str]


@dataclass
class Stream:
    """One open GET /events: what it received, and when."""

    user: int  # index into the users
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    status: int = 0
    events: int = 0
    ended: bool = False
    task: asyncio.Task[None] | None = None


@dataclass
class Client:
    """The streams of one run, and what arrived on them: for each (task id, version), the
    monotonic time its first event arrived."""

    streams: list[Stream] = field(default_factory=list)
    arrivals: dict[tuple[str, int], float] = field(default_factory=dict)
    woken: asyncio.Event = field(default_factory=asyncio.Event)

    def on_event(self, block: bytes) -> None:
        name = data = None
        for line in block.split(b"\n"):
            if line.startswith(b"event: "):
                name = line[7:]
            elif line.startswith(b"data: "):
                data = line[6:]
        if name == b"task.changed" and data is not None:
            task = json.loads(data)
            self.arrivals.setdefault((task["id"], task["version"]), time.monotonic())
        self.woken.set()


async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """The body of a chunked response, chunk by chunk (StreamingResponse over HTTP/1.1)."""
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        if size == 0:
            return
        chunk = await reader.readexactly(size + 2)
        yield chunk[:-2]


async def _open(base: str, user: StreamUser, stream: Stream, client: Client) -> None:
    """Open the stream, read its head and its first chunk (`retry`), then read it on in a
    task of its own until it ends or is closed."""
    url = urlsplit(base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port, limit=1 << 20)
    stream.reader, stream.writer = reader, writer
    writer.write(
        f"GET /events HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {user.token}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    stream.status = int(head.split(b" ", 2)[1])
    if stream.status != 200 or b"chunked" not in head.lower():
        stream.ended = True
        writer.close()
        return
    chunks = _chunks(reader)
    await anext(chunks)  # retry: 2000
    stream.task = asyncio.create_task(_follow(chunks, stream, client))


async def _follow(chunks: AsyncIterator[bytes], stream: Stream, client: Client) -> None:
    pending = b""
    try:
        async for chunk in chunks:
            pending += chunk
            *blocks, pending = pending.split(b"\n\n")
            for block in blocks:
                if block and not block.startswith(b":"):
                    stream.events += 1
                    client.on_event(block)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        pass
    stream.ended = True


async def open_streams(
    bases: list[str], users: list[StreamUser], per_user: int, concurrency: int = 100
) -> tuple[Client, float]:
    """per_user streams for each user, user i on bases[i % len(bases)]; the client and the
    seconds it took to open them all."""
    client = Client()
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        stream = Stream(index % len(users))
        client.streams.append(stream)
        async with gate:
            base = bases[stream.user % len(bases)]
            try:
                await asyncio.wait_for(
                    _open(base, users[stream.user], stream, client), OPEN_TIMEOUT_S
                )
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                stream.ended = True

    began = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(len(users) * per_user)))
    return client, time.monotonic() - began


async def close_streams(client: Client) -> None:
    for stream in client.streams:
        if stream.task is not None:
            stream.task.cancel()
        if stream.writer is not None:
            stream.writer.close()
    await asyncio.sleep(0.5)  # the workers see the disconnects and leave the hub


def _open_count(client: Client) -> int:
    return sum(1 for s in client.streams if s.status == 200 and not s.ended)


def _statuses(client: Client) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in client.streams:
        key = str(s.status or "no answer")
        counts[key] = counts.get(key, 0) + 1
    return counts


async def _write(http: httpx.AsyncClient, user: StreamUser, n: int) -> tuple[str, int, float]:
    """A title edit of one of the user's tasks: (task id, new version, when it answered)."""
    task_id = user.task_ids[n % len(user.task_ids)]
    response = await http.patch(
        f"/tasks/{task_id}",
        json={"title": f"Edited live {n}"},
        headers={"Authorization": f"Bearer {user.token}"},
    )
    answered = time.monotonic()
    response.raise_for_status()
    return task_id, int(response.json()["version"]), answered


def _http(base: str, connections: int) -> httpx.AsyncClient:
    # The service closes a keep-alive connection idle for 5 s; a client keeping it longer
    # may send on a connection the server is closing (a ReadError, not the server's fault).
    limits = httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=2
    )
    return httpx.AsyncClient(base_url=base, limits=limits, timeout=30)


async def _until(condition: Callable[[], bool], client: Client, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while not condition():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        client.woken.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(client.woken.wait(), min(left, 0.5))
    return True


def _rss(server: Server) -> dict[int, int]:
    sizes = {}
    for worker in server.worker_processes():
        try:
            sizes[worker.pid] = worker.memory_info().rss
        except psutil.Error:
            continue
    return sizes


def _connections_per_worker(server: Server) -> list[int]:
    """Established TCP connections of each worker (its streams, and its database pool)."""
    counts = []
    for worker in server.worker_processes():
        try:
            found = worker.net_connections(kind="tcp")
        except psutil.Error:
            continue
        counts.append(sum(1 for c in found if c.status == psutil.CONN_ESTABLISHED))
    return counts


async def _hold(
    server: Server, users: list[StreamUser], per_user: int, hold_s: float
) -> dict[str, Any]:
    # Warm-up: the first streams and writes of each worker allocate what any later one
    # reuses (imports, caches, the pool's connections); they are not a stream's cost.
    warm, _ = await open_streams([server.base], users[:100], 1)
    async with _http(server.base, 20) as http:
        await asyncio.gather(*(_write(http, user, 0) for user in users[:100]))
    await _until(lambda: len(warm.arrivals) >= 100, warm, EVENT_WAIT_S)
    await close_streams(warm)
    await asyncio.sleep(1.0)
    before = _rss(server)

    client, open_s = await open_streams([server.base], users, per_user)
    await asyncio.sleep(2.0)
    idle = _rss(server)
    per_worker_connections = _connections_per_worker(server)
    # One write per user: every stream is woken, reads the feed and sends one event.
    async with _http(server.base, 50) as http:
        writes = await asyncio.gather(*(_write(http, user, 1) for user in users))
    wanted = len(client.streams)
    got_all = await _until(
        lambda: sum(1 for s in client.streams if s.events >= 1) >= wanted, client, 30
    )
    woken = _rss(server)
    watch = Watch(server)
    with watch.watching():
        await asyncio.sleep(hold_s)
    still_open = _open_count(client)
    await close_streams(client)
    streams = max(1, wanted)

    def per_stream(after: dict[int, int]) -> float:
        return (sum(after.values()) - sum(before.values())) / streams / KB

    return {
        "streams": wanted,
        "users": len(users),
        "per_user": per_user,
        "opened": sum(1 for s in client.streams if s.status == 200),
        "statuses": _statuses(client),
        "open_seconds": round(open_s, 1),
        "writes": len(writes),
        "streams_with_event": sum(1 for s in client.streams if s.events >= 1),
        "all_events_in_30s": got_all,
        "still_open_after_hold": still_open,
        "hold_seconds": hold_s,
        "rss_before_mb": round(sum(before.values()) / KB / KB, 1),
        "rss_idle_mb": round(sum(idle.values()) / KB / KB, 1),
        "rss_woken_mb": round(sum(woken.values()) / KB / KB, 1),
        "rss_per_worker_mb": [round(v / KB / KB, 1) for v in woken.values()],
        "connections_per_worker": per_worker_connections,
        "kb_per_stream_idle": round(per_stream(idle), 1),
        "kb_per_stream_woken": round(per_stream(woken), 1),
        "workers_cpu_percent_holding": [round(p, 1) for p in watch.worker_cpu_percent()],
    }


def hold(server: Server, users: list[StreamUser], per_user: int, hold_s: float) -> dict[str, Any]:
    """users times per_user streams on one instance; memory per stream."""
    return uvloop.run(_hold(server, users, per_user, hold_s))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0


class _Connection:
    """One keep-alive HTTP/1.1 connection of the writer, raw: httpx's own CPU per request
    would delay the responses it reads, and so inflate the figure measured from them."""

    def __init__(self, base: str) -> None:
        self.url = urlsplit(base)
        self._io: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def patch(self, path: str, token: str, body: bytes) -> tuple[int, bytes]:
        if self._io is None:
            self._io = await asyncio.open_connection(self.url.hostname, self.url.port)
        reader, writer = self._io
        writer.write(
            f"PATCH {path} HTTP/1.1\r\nHost: {self.url.netloc}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return int(head.split(b" ", 2)[1]), await reader.readexactly(length)


async def _writer(
    bases: list[str], users: list[StreamUser], rate: float, seconds: float, per_instance: int
) -> list[tuple[str, int, float, float]]:
    """Open loop: the n-th write starts at n / rate s whatever the earlier ones are doing
    (waiting for a free connection if all of its instance's are busy), user after user
    (each user's writes far apart: no two in flight on one task), on the instances in
    turn. Each write: (task id, new version or 0 if it failed, when it answered, how long
    it took)."""
    free = [asyncio.Queue[_Connection]() for _ in bases]
    for queue, base in zip(free, bases, strict=True):
        for _ in range(per_instance):
            queue.put_nowait(_Connection(base))
    done: list[tuple[str, int, float, float]] = []

    async def one(n: int, queue: asyncio.Queue[_Connection], user: StreamUser) -> None:
        task_id = user.task_ids[n % len(user.task_ids)]
        began = time.monotonic()
        connection = await queue.get()
        try:
            body = json.dumps({"title": f"Edited live {n}"}).encode()
            status, reply = await connection.patch(f"/tasks/{task_id}", user.token, body)
            version = int(json.loads(reply)["version"]) if status == 200 else 0
        except (OSError, asyncio.IncompleteReadError, ValueError):
            connection = _Connection(connection.url.geturl())
            version = 0
        answered = time.monotonic()
        queue.put_nowait(connection)
        done.append((task_id, version, answered, answered - began))

    total, began, running = int(rate * seconds), time.monotonic(), []
    instances, order = cycle(range(len(bases))), cycle(range(len(users)))
    for n in range(total):
        delay = began + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        running.append(asyncio.create_task(one(n, free[next(instances)], users[next(order)])))
    await asyncio.gather(*running)
    return done


def _writer_process(
    bases: list[str],
    users: list[StreamUser],
    rate: float,
    seconds: float,
    out: multiprocessing.Queue[Any],
) -> None:
    # A process of its own: the streams' reading must not delay the writes' responses.
    out.put(uvloop.run(_writer(bases, users, rate, seconds, per_instance=32)))


async def _latency(
    servers: list[Server], users: list[StreamUser], rate: float, seconds: float
) -> dict[str, Any]:
    bases = [s.base for s in servers]
    client, open_s = await open_streams(bases, users, 1)
    opened = _open_count(client)
    # fork: the child needs nothing but its arguments; the monotonic clock is the
    # machine's, so its times and the streams' compare.
    context = multiprocessing.get_context("fork")
    results: multiprocessing.Queue[Any] = context.Queue()
    writer = context.Process(
        target=_writer_process, args=(bases, users, rate, seconds, results), daemon=True
    )
    began = time.monotonic()
    writer.start()
    # The streams go on being read meanwhile: the queue is waited on in a thread.
    writes: list[tuple[str, int, float, float]] = await asyncio.to_thread(results.get)
    elapsed = time.monotonic() - began
    writer.join(timeout=10)
    written = [(t, v, answered) for t, v, answered, _ in writes if v]
    wanted = {(task_id, version) for task_id, version, _ in written}
    await _until(lambda: wanted <= client.arrivals.keys(), client, EVENT_WAIT_S)
    delays = [
        1000 * (client.arrivals[(task_id, version)] - answered)
        for task_id, version, answered in written
        if (task_id, version) in client.arrivals
    ]
    took = [1000 * w[3] for w in writes if w[1]]
    still_open = _open_count(client)
    await close_streams(client)
    return {
        "instances": len(servers),
        "streams": len(client.streams),
        "opened": opened,
        "statuses": _statuses(client),
        "open_seconds": round(open_s, 1),
        "still_open_at_end": still_open,
        "rate_wanted": rate,
        "writes": len(written),
        "writes_failed": len(writes) - len(written),
        "write_rate": round(len(writes) / elapsed, 1),
        "write_ms": {q: round(_percentile(took, float(q[1:])), 1) for q in ("p50", "p99")},
        "events_missed": len(wanted) - len(delays),
        "events_before_response": sum(1 for d in delays if d < 0),
        "delay_ms": {
            q: round(_percentile(delays, float(q[1:])), 1)
            for q in ("p50", "p90", "p95", "p99", "p99.9")
        }
        | {"max": round(max(delays, default=0.0), 1)},
    }


def latency(
    servers: list[Server], users: list[StreamUser], rate: float, seconds: float
) -> dict[str, Any]:
    """One stream per user over the instances, `rate` writes/s for `seconds`."""
    return uvloop.run(_latency(servers, users, rate, seconds))
