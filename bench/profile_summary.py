"""Where a worker's CPU goes per request, from a py-spy profile in raw (collapsed) form:
each sample is put in one bucket (thread-pool hops, pool pre-ping, BEGIN/ROLLBACK, the
driver, SQLAlchemy, JWT, pydantic, middleware, ...), by a few rules that look at the whole
stack first and then at the innermost frame that names a known place. Record with
--native (the harness does): without it, the garbage collector's and system calls' time
lands on whichever Python line happened to trigger them.

    python bench/profile_summary.py bench/results/profile-get.txt [--cpu-ms-per-request 1.8]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# Anywhere in the stack: the sample belongs to this, whatever runs at the leaf.
WHOLE_STACK = [
    ("garbage collector (gc, seen with --native)", ("gc_collect",)),
    ("thread-pool hops (sync dependencies run via run_in_threadpool)",
     ("run_in_threadpool", "WorkerThread.run", "anyio/to_thread")),
    ("pool checkout + pre-ping round trip", ("_async_ping", "sqlalchemy/pool/")),
    ("BEGIN / ROLLBACK round trips, session close", ("asyncpg/transaction.py", "Session.close")),
    ("JWT verification (PyJWT)", ("JwtTokenIssuer.verify",)),
]  # fmt: skip

# Else the innermost frame that matches one of these.
INNERMOST = [
    ("system calls: socket writes and reads, epoll (seen with --native)",
     ("write (libc", "writev (libc", "send (libc", "sendto (libc", "recv (libc", "read (libc",
      "epoll_wait")),
    ("query: asyncpg driver", ("asyncpg/",)),
    ("query: SQLAlchemy (compile, cache, result rows, session)", ("sqlalchemy/",)),
    ("pydantic (path/param validation, response serialization)", ("pydantic", "_serialize")),
    ("metrics middleware (prometheus_client)", ("prometheus_client", "todo_api/metrics.py")),
    ("logging (structlog)", ("structlog", "todo_api/logging.py")),
    ("DI: dependency-injector wiring", ("dependency_injector",)),
    ("FastAPI: dependencies, routing, request handling", ("fastapi/", "starlette/routing")),
    ("own middleware (request id, body guard, CORS, errors)",
     ("todo_api/middleware.py", "todo_api/body_guard.py", "todo_api/cors.py",
      "starlette/middleware", "starlette/datastructures", "starlette/responses")),
    ("endpoint + core (routers, services, domain, etags)",
     ("todo_api/routers", "todo_core/", "todo_api/etags.py", "todo_adapters/")),
    ("uvicorn + httptools (HTTP parsing and writing)",
     ("uvicorn/protocols", "uvicorn/middleware", "httptools")),
]  # fmt: skip
OTHER = "event loop (uvloop), native code, other"


def read_samples(path: Path) -> list[tuple[list[str], int]]:
    samples = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples.append((stack.split(";"), int(count)))
    return samples


def bucket(frames: list[str]) -> str:
    for name, needles in WHOLE_STACK:
        if any(needle in frame for frame in frames for needle in needles):
            return name
    for frame in reversed(frames):
        for name, needles in INNERMOST:
            if any(needle in frame for needle in needles):
                return name
    return OTHER


def summarize(path: Path) -> list[tuple[str, float]]:
    """(bucket, share of samples) largest first."""
    counts: Counter[str] = Counter()
    for frames, count in read_samples(path):
        counts[bucket(frames)] += count
    total = sum(counts.values()) or 1
    return [(name, count / total) for name, count in counts.most_common()]


def markdown(path: Path, cpu_ms_per_request: float | None) -> str:
    rows = summarize(path)
    lines = ["| where | share of samples | ≈ CPU µs per request |", "|---|---|---|"]
    for name, share in rows:
        cost = f"{share * cpu_ms_per_request * 1000:,.0f}" if cpu_ms_per_request else ""
        lines.append(f"| {name} | {100 * share:.1f}% | {cost} |")
    return "\n".join(lines)


def _function(frame: str) -> str:
    """'name (path/to/module.py:123)' -> 'module.py:name': one row per function, not per line."""
    name, _, where = frame.partition(" (")
    place = where.rsplit(":", 1)[0].rsplit("/", 1)[-1].rstrip(")")
    return f"{place}:{name}"


def functions(path: Path, top: int) -> list[tuple[str, float, float]]:
    """(function, self share, inclusive share): the per-function table, largest self first."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for frames, count in read_samples(path):
        total += count
        names = [_function(f) for f in frames]
        own[names[-1]] += count
        for name in set(names):
            inclusive[name] += count
    total = total or 1
    return [(n, c / total, inclusive[n] / total) for n, c in own.most_common(top)]


def functions_markdown(path: Path, top: int, cpu_ms_per_request: float | None) -> str:
    lines = ["| function | self | inclusive | self µs per request |", "|---|---|---|---|"]
    for name, own, inclusive in functions(path, top):
        cost = f"{own * cpu_ms_per_request * 1000:,.1f}" if cpu_ms_per_request else ""
        lines.append(f"| `{name}` | {100 * own:.1f}% | {100 * inclusive:.1f}% | {cost} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--cpu-ms-per-request", type=float)
    parser.add_argument("--functions", type=int, default=0, help="also the top N functions")
    args = parser.parse_args()
    print(markdown(args.profile, args.cpu_ms_per_request))
    if args.functions:
        print()
        print(functions_markdown(args.profile, args.functions, args.cpu_ms_per_request))


if __name__ == "__main__":
    main()
