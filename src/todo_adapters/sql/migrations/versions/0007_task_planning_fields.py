"""task planning: due date, priority, labels, manual order and search

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Four columns on tasks and the indexes that keep every filter and sort an index scan:
due_at in both directions (a task without a date last either way, via coalesce), priority,
the manual order (position, unique per user: no two tasks ever share one), and two GIN
indexes over keys prefixed with the owner's id, for labels and for search (PostgreSQL's
built-in text search, configuration 'simple': no extension needed, so it works on the
embedded server, plain PostgreSQL and Neon alike). Existing tasks get positions in the
order they were created.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# todo_core.ordering.end_position in SQL: the time in microseconds as 11 base-36 digits,
# the id's 32 hex digits, then "i".
_TIME_POSITION = r"""
CREATE FUNCTION task_time_position(at timestamptz, id uuid) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg(substr('0123456789abcdefghijklmnopqrstuvwxyz',
                             (div(floor(extract(epoch FROM at) * 1000000), 36::numeric ^ (10 - i))
                              % 36)::int + 1, 1), '' ORDER BY i)
           || replace(id::text, '-', '') || 'i'
    FROM generate_series(0, 10) AS i
$$
"""

# Each word of the title and description (as the 'simple' configuration splits and
# lower-cases it) behind the owner's id; words too long for a key are left out.
_SEARCH_VECTOR = r"""
CREATE FUNCTION task_search_vector(owner uuid, title text, description text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_to_tsvector(ARRAY(
        SELECT replace(owner::text, '-', '') || ':' || lexeme
        FROM unnest(to_tsvector('simple'::regconfig, title || ' ' || coalesce(description, '')))
        WHERE octet_length(lexeme) < 2000))
$$
"""

# The words of q, split as the tasks' are, each a prefix (word:*), all required (&).
_SEARCH_QUERY = r"""
CREATE FUNCTION task_search_query(owner uuid, q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg(
        '''' || replace(replace(replace(owner::text, '-', '') || ':' || lexeme, '\', '\\'),
                        '''', '''''') || ''':*', ' & ')::tsquery
    FROM unnest(to_tsvector('simple'::regconfig, q))
    WHERE octet_length(lexeme) < 2000
$$
"""

_LABEL_KEYS = r"""
CREATE FUNCTION task_label_keys(owner uuid, labels text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY(SELECT replace(owner::text, '-', '') || ':' || lower(l) FROM unnest(labels) AS l)
$$
"""

_FUNCTIONS = {
    "task_time_position(timestamptz, uuid)": _TIME_POSITION,
    "task_search_vector(uuid, text, text)": _SEARCH_VECTOR,
    "task_search_query(uuid, text)": _SEARCH_QUERY,
    "task_label_keys(uuid, text[])": _LABEL_KEYS,
}

_INDEXES = {
    "ix_tasks_user_due": "(user_id, coalesce(due_at, '9999-12-31T00:00:00+00:00'"
    "::timestamptz), id)",
    "ix_tasks_user_due_desc": "(user_id, coalesce(due_at, '0001-01-02T00:00:00+00:00'"
    "::timestamptz), id)",
    "ix_tasks_user_priority": "(user_id, priority, id)",
    "ix_tasks_search": "USING gin (task_search_vector(user_id, title, description))",
    "ix_tasks_labels": "USING gin (task_label_keys(user_id, labels))",
}


def upgrade() -> None:
    for definition in _FUNCTIONS.values():
        op.execute(definition)
    op.add_column("tasks", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "tasks", sa.Column("priority", sa.SmallInteger, nullable=False, server_default="0")
    )
    op.add_column(
        "tasks",
        sa.Column(
            "labels", postgresql.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")
        ),
    )
    op.add_column("tasks", sa.Column("position", sa.Text(collation="C"), nullable=True))
    op.execute("UPDATE tasks SET position = task_time_position(created_at, id)")
    op.alter_column(
        "tasks",
        "position",
        nullable=False,
        server_default=sa.text("task_time_position(clock_timestamp(), gen_random_uuid())"),
    )
    op.create_check_constraint("priority_range", "tasks", "priority BETWEEN 0 AND 3")
    # Deferrable (checked at the end of each statement, not row by row), so that the one
    # statement renumbering a user's order may pass through positions another task held.
    op.create_unique_constraint(
        "uq_tasks_user_position",
        "tasks",
        ["user_id", "position"],
        deferrable=True,
        initially="IMMEDIATE",
    )
    for name, columns in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON tasks {columns}")


def downgrade() -> None:
    for name in _INDEXES:
        op.execute(f"DROP INDEX {name}")
    op.drop_constraint("uq_tasks_user_position", "tasks")
    op.drop_constraint("ck_tasks_priority_range", "tasks")
    for column in ("position", "labels", "priority", "due_at"):
        op.drop_column("tasks", column)
    for signature in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
