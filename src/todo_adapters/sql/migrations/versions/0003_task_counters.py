"""task counters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A delete only ever updates: when the user itself is being deleted the cascade may already
# have removed the counter row, and an upsert would then fail the foreign key.
_COUNT_TASKS = """
CREATE FUNCTION count_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.user_id = NEW.user_id THEN
        UPDATE task_counters
        SET completed = completed + NEW.is_completed::int - OLD.is_completed::int
        WHERE user_id = NEW.user_id;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE task_counters
        SET total = total - 1, completed = completed - OLD.is_completed::int
        WHERE user_id = OLD.user_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO task_counters AS c (user_id, total, completed)
        VALUES (NEW.user_id, 1, NEW.is_completed::int)
        ON CONFLICT (user_id) DO UPDATE
        SET total = c.total + 1, completed = c.completed + excluded.completed;
    END IF;
    RETURN NULL;
END $$
"""

# A task write locks the task, then the counter. Deleting a user cascades to both in the
# order of the cascade triggers' names, which follow OIDs as text: the counter can come
# first, and a concurrent task update would deadlock with it. Locking the user's tasks
# before the user row goes makes the order tasks, then counter, whatever the cascade does.
_LOCK_TASKS_OF_USER = """
CREATE FUNCTION lock_tasks_of_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM FROM tasks WHERE user_id = OLD.id FOR UPDATE;
    RETURN OLD;
END $$
"""

# Lower-case names: AFTER triggers fire in name order, so the foreign key check on tasks
# ("RI_ConstraintTrigger_...") takes its lock on the user before the counter row is locked.
_TRIGGERS = {
    "tasks_count_insert": "AFTER INSERT ON tasks FOR EACH ROW",
    "tasks_count_delete": "AFTER DELETE ON tasks FOR EACH ROW",
    "tasks_count_update": "AFTER UPDATE OF is_completed, user_id ON tasks FOR EACH ROW"
    " WHEN (OLD.is_completed IS DISTINCT FROM NEW.is_completed"
    " OR OLD.user_id IS DISTINCT FROM NEW.user_id)",
}
_USERS_TRIGGER = "users_lock_tasks"


def upgrade() -> None:
    op.create_table(
        "task_counters",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("total", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("completed", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_task_counters_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_task_counters"),
        # Room on each page for the next version of a row: counter updates stay HOT.
        postgresql_with={"fillfactor": 50},
    )
    op.execute(_COUNT_TASKS)
    for name, when in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION count_tasks()")
    op.execute(_LOCK_TASKS_OF_USER)
    op.execute(
        f"CREATE TRIGGER {_USERS_TRIGGER} BEFORE DELETE ON users FOR EACH ROW"
        " EXECUTE FUNCTION lock_tasks_of_user()"
    )
    # Writers wait until the commit (CREATE TRIGGER took this lock already; it is what the
    # backfill relies on) and the count sees every write committed before: each task is
    # counted once, by the backfill or, if its write waited, by a trigger.
    op.execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        "INSERT INTO task_counters (user_id, total, completed)"
        " SELECT user_id, count(*), count(*) FILTER (WHERE is_completed) FROM tasks"
        " GROUP BY user_id"
    )


def downgrade() -> None:
    op.execute(f"DROP TRIGGER {_USERS_TRIGGER} ON users")
    op.execute("DROP FUNCTION lock_tasks_of_user()")
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON tasks")
    op.execute("DROP FUNCTION count_tasks()")
    op.drop_table("task_counters")
