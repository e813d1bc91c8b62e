"""Test data, written straight into the database with set-based SQL (never through the API),
and the files the wrk scripts read: one line per user (email, access token, a deep-page
cursor, task ids) and one line per task of the delete pool (user line number, task id)."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import bcrypt
from todo_adapters.clock import SystemClock
from todo_adapters.security.jwt_issuer import JwtTokenIssuer
from todo_api.http.sync_tokens import SyncTokens
from todo_core.feed import LAST_ID, SyncPoint

from pg import execute

PASSWORD = "bench password 1"  # every seeded user's; login sends it
TOKEN_TTL_S = 6 * 3600  # minted here, so they outlive any run (the server keeps its own TTL)
ISSUER = AUDIENCE = "todo-api"

_INSERT_USERS = """
INSERT INTO users (id, email, password_hash, created_at)
SELECT gen_random_uuid(), format('{prefix}-%s@example.com', lpad(g::text, 5, '0')),
       '{password_hash}', now() - interval '30 days'
FROM generate_series(1, {count}) AS g
"""

# Tasks of each matching user, n per user, one a minute apart; every second one has a
# description, every fourth one is completed.
_INSERT_TASKS = """
WITH added AS (
INSERT INTO tasks (id, user_id, title, description, is_completed, created_at, updated_at, version,
                   due_at, priority, labels, position)
SELECT gen_random_uuid(), u.id, 'Task number ' || g,
       CASE WHEN g % 2 = 0 THEN 'Notes for task ' || g || ': call, buy, write.' END,
       g % 4 = 0, t, t, 1, {planning}, task_time_position(t, gen_random_uuid())
FROM users u CROSS JOIN generate_series(1, {per_user}) AS g,
     LATERAL (SELECT u.created_at + g * interval '1 minute' AS t) AS times
WHERE u.email LIKE '{prefix}-%'
RETURNING id, user_id
){feed_entries}
"""

# Issue 20's fields: two tasks in three due (days after creation), priorities 0-3, a third
# labelled work, a third home (with errand on some), a third none.
_PLANNING = """CASE WHEN g % 3 > 0 THEN t + (g % 30) * interval '1 day' END, g % 4,
       CASE g % 3 WHEN 0 THEN ARRAY['work'] WHEN 1 THEN ARRAY['home', 'errand']
                  ELSE ARRAY[]::text[] END"""

# The rest of the large scale: `count` tasks dealt round-robin over the users of a prefix.
_DEAL_TASKS = """
WITH owners AS (
    SELECT id, created_at, row_number() OVER (ORDER BY email) - 1 AS n
    FROM users WHERE email LIKE '{prefix}-%'
), added AS (
INSERT INTO tasks (id, user_id, title, description, is_completed, created_at, updated_at, version,
                   due_at, priority, labels, position)
SELECT gen_random_uuid(), o.id, 'Task number ' || g,
       CASE WHEN g % 2 = 0 THEN 'Notes for task ' || g || ': call, buy, write.' END,
       g % 4 = 0, t, t, 1, {planning}, task_time_position(t, gen_random_uuid())
FROM generate_series(0, {count} - 1) AS g
JOIN owners o ON o.n = g % (SELECT count(*) FROM owners),
     LATERAL (SELECT o.created_at + g * interval '1 second' AS t) AS times
RETURNING id, user_id
){feed_entries}
"""

# With the triggers off, the change feed learns nothing of a bulk insert. From migration
# 0010 a task carries its number itself (0 by default: a full sync sees it). Under 0008's
# schema (task_changes, an entry per task) each statement gives its tasks their entries,
# at number 0 as that migration's backfill does. A revision from before the feed (an A/B's
# base) has neither: nothing to add there.
_FEED_ENTRIES = """
INSERT INTO task_changes (task_id, user_id, seq, deleted_at)
SELECT id, user_id, 0, NULL FROM added"""
_NO_FEED_ENTRIES = "\nSELECT count(*) FROM added"


@cache
def feed_table(db_url: str) -> str | None:
    """The change feed's own table: task_deletions (migration 0010 on), task_changes
    (0008, 0009), or None before the feed."""
    found = execute(
        db_url,
        "SELECT coalesce(to_regclass('task_deletions'), to_regclass('task_changes'))::text",
    )[0][0][0]
    return str(found) if found else None


def has_feed(db_url: str) -> bool:
    return feed_table(db_url) is not None


def _feed_entries(db_url: str) -> str:
    return _FEED_ENTRIES if feed_table(db_url) == "task_changes" else _NO_FEED_ENTRIES


# Triggers count each task as it is written (task_counters, one row per user); a bulk
# insert would update one user's row once per task within one transaction, every update
# slower than the last (100,000 tasks for one user: 48 s instead of under 1 s). So bulk
# inserts run with the triggers off and the users are recounted in the same transaction,
# under the table lock that ALTER TABLE holds to the commit. The recount keeps each user's
# change number (change_seq): starting it again at 0 would number new changes below
# entries the feed holds already, and a client's token would skip them.
_RECOUNT = (
    "UPDATE task_counters SET total = 0, completed = 0",  # users left with no task
    """INSERT INTO task_counters (user_id, total, completed)
       SELECT user_id, count(*), count(*) FILTER (WHERE is_completed) FROM tasks
       GROUP BY user_id
       ON CONFLICT (user_id) DO UPDATE SET total = excluded.total,
                                           completed = excluded.completed""",
)
DELETE_POOL_TITLE = "Delete me "


# Not a counting trigger: it keeps what a large user's search and label filter match on
# each task's row (migration 0016), as the service's writes do. Older revisions (an A/B's
# base) have none.
_KEEP_WALK_KEYS = """DO $$ BEGIN
    IF EXISTS (SELECT FROM pg_trigger
               WHERE tgrelid = 'tasks'::regclass AND tgname = 'tasks_keep_walk_keys') THEN
        ALTER TABLE tasks ENABLE TRIGGER tasks_keep_walk_keys;
    END IF;
END $$"""


def write_uncounted(db_url: str, sql: str) -> list[Any]:
    """Run one bulk insert into (or delete from) tasks, then recount; returns its rows."""
    return execute(
        db_url,
        "ALTER TABLE tasks DISABLE TRIGGER USER",
        _KEEP_WALK_KEYS,
        sql,
        *_RECOUNT,
        "ALTER TABLE tasks ENABLE TRIGGER USER",
    )[2]


@dataclass
class BenchUser:
    email: str
    user_id: str
    ids: list[str]
    token: str = ""
    cursor: str = "-"
    since: str = "-"  # a sync token that many changes follow (mark_changes)


def password_hash(rounds: int) -> str:
    return bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds)).decode()


def insert_users(db_url: str, prefix: str, count: int, hashed: str) -> None:
    sql = _INSERT_USERS.format(prefix=prefix, password_hash=hashed, count=count)
    execute(db_url, sql)


def insert_tasks(db_url: str, prefix: str, per_user: int) -> None:
    sql = _INSERT_TASKS.format(
        prefix=prefix, per_user=per_user, planning=_PLANNING, feed_entries=_feed_entries(db_url)
    )
    write_uncounted(db_url, sql)


def deal_tasks(db_url: str, prefix: str, count: int) -> None:
    if count > 0:
        sql = _DEAL_TASKS.format(
            prefix=prefix, count=count, planning=_PLANNING, feed_entries=_feed_entries(db_url)
        )
        write_uncounted(db_url, sql)


def vacuum_analyze(db_url: str) -> None:
    feed = feed_table(db_url)
    tables = ("users", "tasks", "task_counters", *((feed,) if feed else ()))
    execute(db_url, *(f"VACUUM (ANALYZE) {table}" for table in tables), autocommit=True)


def load_users(db_url: str, prefix: str, ids_per_user: int) -> list[BenchUser]:
    """The users of a prefix with up to `ids_per_user` random ids of their tasks each."""
    rows = execute(
        db_url,
        f"""SELECT u.email, u.id, array(SELECT t.id::text FROM tasks t WHERE t.user_id = u.id
                                        ORDER BY random() LIMIT {int(ids_per_user)})
            FROM users u WHERE u.email LIKE '{prefix}-%' ORDER BY u.email""",
    )[0]
    return [BenchUser(email, str(user_id), list(ids)) for email, user_id, ids in rows]


def mint_tokens(db_url: str, users: list[BenchUser], secret: str) -> None:
    """Access tokens as the service would issue them at login (same key, claims, issuer),
    each in a live session of its user, as a login leaves it: task writes check that the
    token's session has not ended."""
    issuer = JwtTokenIssuer(secret, TOKEN_TTL_S, ISSUER, AUDIENCE, SystemClock())
    sessions = [(user, uuid4()) for user in users]
    rows = ",".join(f"('{sid}', '{user.user_id}')" for user, sid in sessions)
    execute(
        db_url,
        f"""INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at)
            SELECT s.id::uuid, s.user_id::uuid, now(), now(), now() + interval '1 day'
            FROM (VALUES {rows}) AS s (id, user_id)""",
    )
    for user, sid in sessions:
        user.token = issuer.issue(UUID(user.user_id), sid).token


def add_delete_pool(db_url: str, users: list[BenchUser], total: int) -> list[tuple[int, str]]:
    """`total` fresh tasks spread over the users, to be deleted: (user line, task id), the
    users taking turns, as in the other scenarios (not one user's tasks in a row)."""
    per_user = max(1, -(-total // len(users)))
    ids = ",".join(f"'{u.user_id}'" for u in users)
    rows = write_uncounted(
        db_url,
        f"""WITH added AS (
            INSERT INTO tasks (id, user_id, title, created_at, updated_at)
            SELECT gen_random_uuid(), u, '{DELETE_POOL_TITLE}' || g, now(), now()
            FROM unnest(ARRAY[{ids}]::uuid[]) AS u, generate_series(1, {per_user}) AS g
            ORDER BY g, u
            RETURNING id, user_id
            ), entries AS ({_feed_entries(db_url)})
            SELECT user_id, id FROM added""",
    )
    line_of = {u.user_id: i for i, u in enumerate(users)}
    return [(line_of[str(user_id)], str(task_id)) for user_id, task_id in rows]


def remove_delete_pool(db_url: str) -> None:
    """The delete pool's tasks that the run did not reach, and their feed entries (as if
    they had never been: no client was told of them)."""
    forget = (
        "DELETE FROM task_changes WHERE task_id IN (SELECT id FROM gone)"
        if feed_table(db_url) == "task_changes"
        else "SELECT count(*) FROM gone"
    )
    write_uncounted(
        db_url,
        f"""WITH gone AS (DELETE FROM tasks WHERE title LIKE '{DELETE_POOL_TITLE}%' RETURNING id)
            {forget}""",
    )


def mark_changes(
    db_url: str, users: list[BenchUser], per_user: int, statements: int, secret: str
) -> None:
    """Give each user a sync token (`since`) that `per_user` changes follow: the user's point
    in the feed now, then that many of their tasks changed in `statements` statements with
    the triggers on, so that the changes carry that many distinct numbers, as a day of
    edits would, not one number for all. Nothing before the feed existed."""
    if not has_feed(db_url):
        return
    ids = ",".join(f"'{u.user_id}'" for u in users)
    rows = execute(
        db_url,
        f"""SELECT u::text, coalesce((SELECT change_seq FROM task_counters WHERE user_id = u), 0)
            FROM unnest(ARRAY[{ids}]::uuid[]) AS u""",
    )[0]
    points = dict(rows)
    step = -(-per_user // statements)
    updates = [
        f"""UPDATE tasks t SET title = 'Changed ' || p.n, version = t.version + 1,
                                updated_at = now()
            FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS n
                  FROM tasks WHERE user_id = ANY(ARRAY[{ids}]::uuid[])) AS p
            WHERE t.id = p.id AND p.n > {i * step} AND p.n <= {min(per_user, (i + 1) * step)}"""
        for i in range(statements)
    ]
    execute(db_url, *updates)
    tokens, now = SyncTokens(secret), SystemClock().now()
    for user in users:
        point = SyncPoint(points[user.user_id], LAST_ID, now)
        user.since = tokens.encode(UUID(user.user_id), point)


def fetch_cursors(base: str, users: list[BenchUser], depth: int) -> None:
    """Each user's next_cursor after its `depth`-th task, asked of the API itself."""
    for user in users:
        request = urllib.request.Request(
            f"{base}/tasks?limit=1&offset={depth - 1}",
            headers={"Authorization": f"Bearer {user.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            user.cursor = json.load(response)["next_cursor"] or "-"


def write_users_file(path: Path, users: list[BenchUser]) -> None:
    lines = [f"{u.email} {u.token} {u.cursor} {','.join(u.ids) or '-'} {u.since}" for u in users]
    path.write_text("\n".join(lines) + "\n")


def write_pool_file(path: Path, pool: list[tuple[int, str]]) -> None:
    path.write_text("".join(f"{line + 1} {task_id}\n" for line, task_id in pool))
