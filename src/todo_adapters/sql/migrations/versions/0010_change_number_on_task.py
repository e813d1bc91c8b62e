"""each task carries the number of its latest change; the feed's own table keeps deletions only

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

0008 kept a second row per task (task_changes) and rewrote it at every write: a new heap
tuple and three index entries beside the task's own. Here the number goes on the task row,
which a write rewrites anyway (tasks' sort indexes make every update non-HOT): one more
index entry, nothing else. A deleted task leaves a row in task_deletions (two index
entries). Measured against 0008 (bench/ab.py): deletes 23% faster, creates and updates
unchanged.

The guarantee is 0008's: a writer holds the user's counter row from the moment it numbers
a task until it commits, so one user's numbers are in commit order and a reader sees them
as a prefix. The number is taken before the row is written (a BEFORE trigger locks the
counter and reads it; the statement's AFTER trigger then counts and advances it, one write
per statement as in 0008), so locks are taken in the order every writer already used: the
task first (an UPDATE locks its row before its BEFORE trigger runs), then the counter. An
insert has no row to lock; it locks its user as the foreign key check would, but first, so
that a concurrent account deletion (which locks the user, then the counter) cannot hold the
user while it waits for our counter.

A statement updating several tasks must hold them all before its first row is numbered
(the bulk calls lock in id order first, renumbering locks every task of the user): holding
the counter while it waits for a task another writer holds would deadlock with that writer.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NUMBER_TASK = """
CREATE FUNCTION number_task_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    latest bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM FROM users WHERE id = NEW.user_id FOR KEY SHARE;
    END IF;
    SELECT change_seq INTO latest FROM task_counters WHERE user_id = NEW.user_id FOR UPDATE;
    IF NOT FOUND THEN
        -- The user's first task: the counter row starts here. No user, no row: the
        -- task's foreign key refuses it at the end of the statement.
        INSERT INTO task_counters (user_id) SELECT NEW.user_id
        WHERE EXISTS (SELECT FROM users WHERE id = NEW.user_id)
        ON CONFLICT (user_id) DO NOTHING;
        SELECT change_seq INTO latest FROM task_counters WHERE user_id = NEW.user_id FOR UPDATE;
    END IF;
    NEW.change_seq := coalesce(latest, 0) + 1;
    RETURN NEW;
END $$
"""

# What the BEFORE trigger numbered, counted and advanced once per user and statement: the
# counter row then holds the number its tasks were given.
_COUNT_INSERTS = """
CREATE FUNCTION count_task_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE task_counters AS c
    SET total = c.total + n.total, completed = c.completed + n.completed,
        change_seq = c.change_seq + 1
    FROM (SELECT user_id, count(*) AS total, count(*) FILTER (WHERE is_completed) AS completed
          FROM new_tasks GROUP BY user_id) AS n
    WHERE c.user_id = n.user_id;
    RETURN NULL;
END $$
"""

_COUNT_UPDATES = """
CREATE FUNCTION count_task_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE task_counters AS c
    SET total = c.total + d.total, completed = c.completed + d.completed,
        change_seq = c.change_seq + 1
    FROM (SELECT user_id, sum(total) AS total, sum(completed) AS completed FROM (
            SELECT user_id, 1 AS total, is_completed::int AS completed FROM new_tasks
            UNION ALL
            SELECT user_id, -1, -is_completed::int FROM old_tasks
          ) AS changed GROUP BY user_id) AS d
    WHERE c.user_id = d.user_id;
    RETURN NULL;
END $$
"""

# As 0008's: when the user itself is being deleted the cascade may have removed the counter
# row already, and then nothing is recorded (the user's deletions go with the user).
_RECORD_DELETES = """
CREATE FUNCTION record_task_deletions() RETURNS trigger LANGUAGE plpgsql AS $$
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
    INSERT INTO task_deletions (task_id, user_id, seq, deleted_at)
    SELECT o.id, o.user_id, numbered.change_seq, now()
    FROM old_tasks AS o JOIN numbered USING (user_id);
    RETURN NULL;
END $$
"""

_FORGET_DELETIONS = """
CREATE FUNCTION forget_task_deletions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM task_deletions WHERE user_id = OLD.id;
    RETURN NULL;
END $$
"""

_TRIGGERS = {
    "tasks_number_change": "BEFORE INSERT OR UPDATE ON tasks FOR EACH ROW"
    " EXECUTE FUNCTION number_task_change()",
    "tasks_count_inserts": "AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_tasks"
    " FOR EACH STATEMENT EXECUTE FUNCTION count_task_inserts()",
    "tasks_count_updates": "AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_tasks"
    " NEW TABLE AS new_tasks FOR EACH STATEMENT EXECUTE FUNCTION count_task_updates()",
    "tasks_record_deletions": "AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_tasks"
    " FOR EACH STATEMENT EXECUTE FUNCTION record_task_deletions()",
}
_USERS_TRIGGER = "users_forget_task_deletions"
_FUNCTIONS = (
    "number_task_change",
    "count_task_inserts",
    "count_task_updates",
    "record_task_deletions",
    "forget_task_deletions",
)
# What this replaces (0003's insert counting, 0008's numbering), recreated by the downgrade.
_OLD_TRIGGERS = {
    "tasks_count_insert": "AFTER INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION count_tasks()",
    "tasks_record_inserts": "AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_tasks"
    " FOR EACH STATEMENT EXECUTE FUNCTION record_task_inserts()",
    "tasks_record_updates": "AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_tasks"
    " NEW TABLE AS new_tasks FOR EACH STATEMENT EXECUTE FUNCTION record_task_updates()",
    "tasks_record_deletes": "AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_tasks"
    " FOR EACH STATEMENT EXECUTE FUNCTION record_task_deletes()",
}
_OLD_USERS_TRIGGER = (
    "users_forget_task_changes",
    "AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION forget_task_changes()",
)


def upgrade() -> None:
    # Writers wait from here to the commit: no write falls between the old triggers and
    # the new ones, and the numbers copied below are final.
    op.execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")
    for name in _OLD_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON tasks")
    op.execute(f"DROP TRIGGER {_OLD_USERS_TRIGGER[0]} ON users")
    op.add_column(
        "tasks",
        sa.Column("change_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.execute(
        "UPDATE tasks SET change_seq = e.seq FROM task_changes AS e"
        " WHERE e.task_id = tasks.id AND e.seq <> 0"
    )
    op.create_index("ix_tasks_user_change", "tasks", ["user_id", "change_seq", "id"])
    op.create_table(
        "task_deletions",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_task_deletions_user_id_seq_task_id", "task_deletions", ["user_id", "seq", "task_id"]
    )
    op.create_index("ix_task_deletions_deleted_at", "task_deletions", ["deleted_at"])
    op.execute(
        "INSERT INTO task_deletions (task_id, user_id, seq, deleted_at)"
        " SELECT task_id, user_id, seq, deleted_at FROM task_changes"
        " WHERE deleted_at IS NOT NULL"
    )
    op.drop_table("task_changes")
    for definition in (
        _NUMBER_TASK,
        _COUNT_INSERTS,
        _COUNT_UPDATES,
        _RECORD_DELETES,
        _FORGET_DELETIONS,
    ):
        op.execute(definition)
    for name, definition in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")
    op.execute(
        f"CREATE TRIGGER {_USERS_TRIGGER} AFTER DELETE ON users FOR EACH ROW"
        " EXECUTE FUNCTION forget_task_deletions()"
    )


def downgrade() -> None:
    op.execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")
    op.execute(f"DROP TRIGGER {_USERS_TRIGGER} ON users")
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON tasks")
    for function in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}()")
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
    op.execute(
        "INSERT INTO task_changes (task_id, user_id, seq, deleted_at)"
        " SELECT id, user_id, change_seq, NULL FROM tasks"
        " UNION ALL SELECT task_id, user_id, seq, deleted_at FROM task_deletions"
        " ON CONFLICT (task_id) DO NOTHING"
    )
    op.drop_table("task_deletions")
    op.drop_index("ix_tasks_user_change", "tasks")
    op.drop_column("tasks", "change_seq")
    for name, definition in _OLD_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")
    op.execute(f"CREATE TRIGGER {_OLD_USERS_TRIGGER[0]} {_OLD_USERS_TRIGGER[1]}")
