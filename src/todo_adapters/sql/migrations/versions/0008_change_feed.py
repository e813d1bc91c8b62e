"""the change feed: a numbered entry per task, deletions included, and a notification

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Every statement that writes a user's tasks takes the next number of that user's change
counter (task_counters.change_seq) and writes it on an entry per task it touched
(task_changes: the task's latest change, or its deletion). The counter row stays locked
until the transaction ends, so a second writer of the same user waits for the first to
commit before it takes its number: one user's numbers are in commit order, and a reader
sees them as a prefix, never a later number without an earlier one. Reading "after (n, id)"
therefore never skips a change that commits late. Triggers do it, so every write is in the
feed, whatever statement made it (bulk calls, renumbering, a migration).

The trigger also sends NOTIFY task_changes with the user's id, delivered at commit to
every listening instance: only the id, since a notification is small and unauthenticated;
listeners read the feed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The counter row is written once per statement (counting and numbering together): a
# second write of a row this transaction wrote makes PostgreSQL check its foreign key,
# which waits on a user being deleted, and that waits on this statement's task locks.
# Inserts keep 0003's row trigger, which creates the counter row; their numbering is a
# second write, but the insert's own foreign key check holds that lock on the user already.
_RECORD_INSERTS = """
CREATE FUNCTION record_task_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH numbered AS (
        UPDATE task_counters AS c SET change_seq = c.change_seq + 1
        WHERE c.user_id IN (SELECT user_id FROM new_tasks)
        RETURNING c.user_id, c.change_seq
    )
    INSERT INTO task_changes AS e (task_id, user_id, seq, deleted_at)
    SELECT n.id, n.user_id, numbered.change_seq, NULL
    FROM new_tasks AS n JOIN numbered USING (user_id)
    ON CONFLICT (task_id) DO UPDATE SET user_id = excluded.user_id, seq = excluded.seq;
    PERFORM pg_notify('task_changes', u.user_id::text)
    FROM (SELECT DISTINCT user_id FROM new_tasks) AS u;
    RETURN NULL;
END $$
"""

# 0005's count_updated_tasks, numbering too: old rows subtract and new rows add, per user.
_RECORD_UPDATES = """
CREATE FUNCTION record_task_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH numbered AS (
        INSERT INTO task_counters AS c (user_id, total, completed, change_seq)
        SELECT user_id, sum(total), sum(completed), 1 FROM (
            SELECT user_id, 1 AS total, is_completed::int AS completed FROM new_tasks
            UNION ALL
            SELECT user_id, -1, -is_completed::int FROM old_tasks
        ) AS d
        GROUP BY user_id
        ON CONFLICT (user_id) DO UPDATE
        SET total = c.total + excluded.total, completed = c.completed + excluded.completed,
            change_seq = c.change_seq + 1
        RETURNING c.user_id, c.change_seq
    )
    INSERT INTO task_changes AS e (task_id, user_id, seq, deleted_at)
    SELECT n.id, n.user_id, numbered.change_seq, NULL
    FROM new_tasks AS n JOIN numbered USING (user_id)
    ON CONFLICT (task_id) DO UPDATE SET user_id = excluded.user_id, seq = excluded.seq;
    PERFORM pg_notify('task_changes', u.user_id::text)
    FROM (SELECT DISTINCT user_id FROM new_tasks) AS u;
    RETURN NULL;
END $$
"""

# 0005's count_deleted_tasks, numbering too. It only ever updates (as there): when the
# user itself is being deleted the cascade may have removed the counter row already, and
# then nothing is numbered; the user's entries go with the user (below).
_RECORD_DELETES = """
CREATE FUNCTION record_task_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH numbered AS (
        UPDATE task_counters AS c
        SET total = c.total - d.total, completed = c.completed - d.completed,
            change_seq = c.change_seq + 1
        FROM (SELECT user_id, count(*) AS total, count(*) FILTER (WHERE is_completed) AS completed
              FROM old_tasks GROUP BY user_id) AS d
        WHERE c.user_id = d.user_id
        RETURNING c.user_id, c.change_seq
    )
    UPDATE task_changes AS e SET seq = numbered.change_seq, deleted_at = now()
    FROM old_tasks AS o JOIN numbered USING (user_id)
    WHERE e.task_id = o.id;
    PERFORM pg_notify('task_changes', u.user_id::text)
    FROM (SELECT DISTINCT user_id FROM old_tasks) AS u;
    RETURN NULL;
END $$
"""

# The entries have no foreign key (a deletion's entry outlives its task, and the cascade
# that deletes a user's tasks would record deletions for a user that is going): they go
# after the cascade, which fires first (RI_ConstraintTrigger_… sorts before this name).
_FORGET_CHANGES = """
CREATE FUNCTION forget_task_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM task_changes WHERE user_id = OLD.id;
    RETURN NULL;
END $$
"""

_TASK_TRIGGERS = {
    "tasks_record_inserts": "AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_tasks"
    " FOR EACH STATEMENT EXECUTE FUNCTION record_task_inserts()",
    "tasks_record_updates": "AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_tasks"
    " NEW TABLE AS new_tasks FOR EACH STATEMENT EXECUTE FUNCTION record_task_updates()",
    "tasks_record_deletes": "AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_tasks"
    " FOR EACH STATEMENT EXECUTE FUNCTION record_task_deletes()",
}
# Replaced by the two above, which count as they did; kept for the downgrade.
_COUNTING_TRIGGERS = {
    "tasks_count_deleted": "AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_tasks"
    " FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_tasks()",
    "tasks_count_updated": "AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_tasks"
    " NEW TABLE AS new_tasks FOR EACH STATEMENT EXECUTE FUNCTION count_updated_tasks()",
}
_USERS_TRIGGER = "users_forget_task_changes"
_FUNCTIONS = (
    "forget_task_changes",
    "record_task_deletes",
    "record_task_updates",
    "record_task_inserts",
)


def upgrade() -> None:
    op.add_column(
        "task_counters",
        sa.Column("change_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_table(
        "task_changes",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("task_id", name="pk_task_changes"),
    )
    op.create_index(
        "ix_task_changes_user_id_seq_task_id", "task_changes", ["user_id", "seq", "task_id"]
    )
    op.create_index(
        "ix_task_changes_deleted_at",
        "task_changes",
        ["deleted_at"],
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    for definition in (_RECORD_INSERTS, _RECORD_UPDATES, _RECORD_DELETES, _FORGET_CHANGES):
        op.execute(definition)
    # One transaction: writers wait on the table lock DROP TRIGGER takes, then find the
    # new triggers; no write is counted twice or missed.
    for name in _COUNTING_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON tasks")
    for name, definition in _TASK_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")
    op.execute(
        f"CREATE TRIGGER {_USERS_TRIGGER} AFTER DELETE ON users FOR EACH ROW"
        " EXECUTE FUNCTION forget_task_changes()"
    )
    # As in 0003: writers wait from here to the commit, so each existing task gets its
    # entry once, from this backfill or, if its write waited, from a trigger.
    op.execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        "INSERT INTO task_changes (task_id, user_id, seq, deleted_at)"
        " SELECT id, user_id, 0, NULL FROM tasks"
    )


def downgrade() -> None:
    op.execute(f"DROP TRIGGER {_USERS_TRIGGER} ON users")
    for name in _TASK_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON tasks")
    for name, definition in _COUNTING_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")
    for function in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}()")
    op.drop_table("task_changes")
    op.drop_column("task_counters", "change_seq")
