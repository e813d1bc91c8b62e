"""task counters kept by statement-level triggers for updates and deletes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

A row trigger costs one call and one counter update per row: clearing 10,000 completed
tasks updated the user's counter row 10,000 times. These triggers see every row a
statement changed at once (transition tables) and update each user's counter once. Inserts
keep the row trigger of 0003: a task is created one at a time, and there it is cheaper.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A delete only ever updates (as in 0003): when the user itself is being deleted the
# cascade may already have removed the counter row, and an upsert would fail the foreign key.
_COUNT_DELETED = """
CREATE FUNCTION count_deleted_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE task_counters c
    SET total = c.total - d.total, completed = c.completed - d.completed
    FROM (SELECT user_id, count(*) AS total, count(*) FILTER (WHERE is_completed) AS completed
          FROM old_tasks GROUP BY user_id) d
    WHERE c.user_id = d.user_id;
    RETURN NULL;
END $$
"""

# Old rows subtract and new rows add, per user: a changed owner moves the task between
# counters (an upsert: the new owner may have none yet), a toggle moves it within one.
_COUNT_UPDATED = """
CREATE FUNCTION count_updated_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO task_counters AS c (user_id, total, completed)
    SELECT user_id, sum(total), sum(completed) FROM (
        SELECT user_id, 1 AS total, is_completed::int AS completed FROM new_tasks
        UNION ALL
        SELECT user_id, -1, -is_completed::int FROM old_tasks
    ) d
    GROUP BY user_id
    HAVING sum(total) <> 0 OR sum(completed) <> 0
    ON CONFLICT (user_id) DO UPDATE
    SET total = c.total + excluded.total, completed = c.completed + excluded.completed;
    RETURN NULL;
END $$
"""

_STATEMENT_TRIGGERS = {
    "tasks_count_deleted": "AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_tasks"
    " FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_tasks()",
    # A trigger with transition tables cannot name columns (UPDATE OF), so it runs after
    # every UPDATE statement on tasks; statements that change no count add nothing.
    "tasks_count_updated": "AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_tasks"
    " NEW TABLE AS new_tasks FOR EACH STATEMENT EXECUTE FUNCTION count_updated_tasks()",
}
_ROW_TRIGGERS = {
    "tasks_count_delete": "AFTER DELETE ON tasks FOR EACH ROW",
    "tasks_count_update": "AFTER UPDATE OF is_completed, user_id ON tasks FOR EACH ROW"
    " WHEN (OLD.is_completed IS DISTINCT FROM NEW.is_completed"
    " OR OLD.user_id IS DISTINCT FROM NEW.user_id)",
}


def upgrade() -> None:
    # One transaction: writers wait on the table lock that DROP TRIGGER takes, and then
    # find the new triggers; no write is counted twice or missed.
    for name in _ROW_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON tasks")
    op.execute(_COUNT_DELETED)
    op.execute(_COUNT_UPDATED)
    for name, definition in _STATEMENT_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")


def downgrade() -> None:
    for name in _STATEMENT_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON tasks")
    op.execute("DROP FUNCTION count_updated_tasks()")
    op.execute("DROP FUNCTION count_deleted_tasks()")
    for name, when in _ROW_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION count_tasks()")
