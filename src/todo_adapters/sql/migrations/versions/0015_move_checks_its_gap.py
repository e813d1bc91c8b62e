"""a move checks, in its own UPDATE, that the gap it read is still the gap

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

A move of a task computes its position between two neighbours in Python (todo_core's
ordering), so it read them first, holding the user's order (their counter row) from that
read to its commit: three round trips (the read, the UPDATE, the COMMIT) under a lock
that every write of the user's tasks needs. 100 connections moving one user's tasks made
about 430 moves a second, however idle the machine.

task_order_unchanged lets the UPDATE take the order itself: called in the UPDATE's WHERE,
it takes the moving task, then the counter row (every write's order, 0010), then reads
the neighbours again, in a snapshot taken after both locks (a VOLATILE PL/pgSQL function
reads each statement in a snapshot of its own), and lets the UPDATE go on only when they
are those the position was computed from. Otherwise it fails the statement with
serialization_failure, and the service moves the task the way it did before. Run on its
own (no transaction), such a move holds the order only inside the server, for the
UPDATE and its commit.

The neighbours are read as task_order.py's NEIGHBOURS reads them: the anchor's position
(NULL when it is not the owner's task), then the first position after it, leaving out the
moving task (with no anchor, the first of the order).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNATURE = "task_order_unchanged(uuid, uuid, uuid, text, text)"
_FUNCTION = """
CREATE FUNCTION task_order_unchanged(
    owner_id uuid, moving_id uuid, anchor_id uuid, low text, high text
) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    anchored text;
    following text;
BEGIN
    PERFORM FROM tasks WHERE id = moving_id AND user_id = owner_id FOR UPDATE;
    PERFORM FROM task_counters WHERE user_id = owner_id FOR UPDATE;
    -- Two queries, not one with "anchored IS NULL OR": PL/pgSQL plans each once for all
    -- calls, and such a plan would walk the owner's positions from the first.
    IF anchor_id IS NULL THEN
        SELECT min(position) INTO following FROM tasks
        WHERE user_id = owner_id AND id <> moving_id;
    ELSE
        SELECT position INTO anchored FROM tasks WHERE id = anchor_id AND user_id = owner_id;
        SELECT min(position) INTO following FROM tasks
        WHERE user_id = owner_id AND id <> moving_id AND position > anchored COLLATE "C";
    END IF;
    IF anchored IS NOT DISTINCT FROM low AND following IS NOT DISTINCT FROM high THEN
        RETURN true;
    END IF;
    RAISE EXCEPTION 'the tasks around the gap changed since it was read'
        USING ERRCODE = 'serialization_failure';
END $$
"""


def upgrade() -> None:
    op.execute(_FUNCTION)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {_SIGNATURE}")
