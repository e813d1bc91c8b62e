"""A purge is planned for its values every time, never generically, although the engine's
connections take each statement's generic plan: that plan cannot tell how much of the
table `expires_at < $1` and `LIMIT $2` take, and reads the whole of it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from todo_adapters.sql.sessions import SqlSessionRepository

_PLANS = (
    "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)"
    " FROM pg_prepared_statements WHERE statement LIKE 'DELETE FROM sessions %'"
)


async def test_a_purge_is_planned_for_its_values(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        db = (await connection.get_raw_connection()).driver_connection
        generic, custom = await db.fetchrow(_PLANS)  # the pooled connection's before
        sessions = SqlSessionRepository(db)
        for _ in range(8):
            assert await sessions.purge_expired(datetime.now(UTC), 100) == 0
        assert await db.fetchrow(_PLANS) == (generic, custom + 8)
        # The setting ended with the purge's transaction.
        assert await db.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
