"""The engine: a bounded pool whose connections are checked when they come back from idle."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    create_async_engine,
)
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import await_

from todo_adapters.sql import standby_confirmation
from todo_adapters.sql.database_url import parse_database_url


@dataclass(frozen=True, slots=True)
class PoolSettings:
    size: int = 10
    max_overflow: int = 5
    timeout_s: float = 5.0
    max_waiting: int = 1000  # units of work waiting for a connection; beyond, 503 at once
    statement_timeout_ms: int = 5_000
    connect_timeout_s: float = 5.0
    pgbouncer: bool = False  # also detected from a Neon "-pooler" host


def behind_pooler(database_url: str, pool: PoolSettings) -> bool:
    """PgBouncer in transaction mode (said so, or a Neon pooled endpoint)."""
    return pool.pgbouncer or "-pooler." in parse_database_url(database_url).host


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4()}__"


def build_engine(database_url: str, pool: PoolSettings) -> AsyncEngine:
    target = parse_database_url(database_url)
    connect_args = dict(target.connect_args)
    server_settings = dict(connect_args.pop("server_settings", {}))
    server_settings.setdefault("application_name", "todo-api")
    server_settings["statement_timeout"] = str(pool.statement_timeout_ms)
    # Each statement is prepared once per connection and planned once for any values:
    # PostgreSQL's own choice re-planned the search and label pages of every call, their
    # estimates for one user's values always looking cheaper (planning cost a small
    # user's page more than running it). A large user's pages ask for a plan of their
    # own (Statement.fetch_planned).
    server_settings["plan_cache_mode"] = "force_generic_plan"
    connect_args.setdefault("timeout", pool.connect_timeout_s)
    # A server that stops answering mid-query (network loss) must not hang a request past
    # the statement timeout; PostgreSQL's own timeout covers the server side.
    connect_args["command_timeout"] = pool.statement_timeout_ms / 1000 + 2
    url = target.url
    if behind_pooler(database_url, pool):
        # Transaction pooling hands each transaction to any server connection: no prepared
        # statement may outlive its transaction or reuse a name another client used. Nor
        # does a pooler pass session settings through, so the client-side command timeout
        # bounds statements there (set statement_timeout on the role for the server side).
        server_settings.pop("statement_timeout")
        server_settings.pop("plan_cache_mode")  # unnamed statements: planned every call
        connect_args["statement_cache_size"] = 0
        connect_args["prepared_statement_name_func"] = _unique_statement_name
        url = url.update_query_dict({"prepared_statement_cache_size": "0"})
    engine = create_async_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout_s,
        # Not pool_pre_ping: it costs three round trips on every checkout (BEGIN, ping,
        # ROLLBACK) where _ping_when_idle below costs one, and only after an idle spell.
        # Statement parameters (password hashes, task text) stay out of error messages/logs.
        hide_parameters=True,
        pool_recycle=1800,
        connect_args={**connect_args, "server_settings": server_settings},
    )
    _ping_when_idle(engine)
    standby_confirmation.watch_pool(engine)
    return engine


PING_AFTER_IDLE_S = 5.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Check a pooled connection before use only when it sat idle long enough for the
    server, a pooler or the network to have dropped it (a restart, Neon suspending, an
    idle timeout). A dead one is replaced transparently instead of failing the request;
    a connection in steady use is never pinged."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _stamp(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            # One simple-protocol round trip, valid outside a transaction and through
            # PgBouncer in transaction mode.
            await_(dbapi_connection.driver_connection.execute(";"))
        except Exception as exc:
            raise DisconnectionError("pooled connection is gone") from exc


def pool_status(engine: AsyncEngine) -> tuple[int, int]:
    """(connections held, connections in use) of the engine's pool."""
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool):
        return 0, 0
    return pool.checkedin() + pool.checkedout(), pool.checkedout()
