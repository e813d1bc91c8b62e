"""cheaper counter writes: a created task counts and numbers itself in one write, and the
statement triggers find each user's counter row by its key

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

Under 0010 a create touched the counter row twice: its BEFORE trigger locked and read it,
then the statement's AFTER trigger gathered the new rows from a transition table and wrote
the counts and the next number. Tasks are created one at a time, so here the BEFORE
trigger does both in one UPDATE … RETURNING, as 0003's row trigger counted before the feed,
and the insert's statement trigger goes. Updates keep 0010's numbering, counted once per
statement: one statement may change every task of a user ("mark all complete"), and a row
trigger would write the counter once per task, at a cost that grows with the square of
their number (bench/counter_triggers.py). Deletions too.

Those two statement triggers joined the per-user sums to task_counters in one UPDATE … FROM,
which PostgreSQL planned, with the transition tables' small estimates, as a hash join over
a sequential scan of every user's counter row. They now update each user's row by its key,
in a loop over the sums (one turn per user, one in practice).

The guarantee is 0010's: the number is taken under the counter row's lock, held until the
commit, so one user's numbers are in commit order. The locks come in 0010's order too: the
user (as the task's foreign key check would, but first), then the counter row. A statement
inserting several tasks writes the counter once per row: the second write of a row in one
transaction makes PostgreSQL check the counter's foreign key, a lock on the user that this
trigger took already, so it never waits.

Measured on PostgreSQL 15 by instructions (valgrind's callgrind on a single-user backend,
1,000 one-row statements each committed alone, the difference between runs of 300 and
1,300 so that start-up cancels), per statement: create 1,998k before the feed (0007),
2,275k under 0010, 2,092k here; update 1,366k, 1,556k, 1,522k; delete (300 statements)
0010's trigger 53k more than this one's.
"""

import runpy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NUMBER_TASK = """
CREATE OR REPLACE FUNCTION number_task_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    latest bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM FROM users WHERE id = NEW.user_id FOR KEY SHARE;
        UPDATE task_counters
        SET total = total + 1, completed = completed + NEW.is_completed::int,
            change_seq = change_seq + 1
        WHERE user_id = NEW.user_id
        RETURNING change_seq INTO latest;
        IF NOT FOUND THEN
            -- The user's first task: the counter row starts here. No user, no row: the
            -- task's foreign key refuses it at the end of the statement.
            INSERT INTO task_counters AS c (user_id, total, completed, change_seq)
            SELECT NEW.user_id, 1, NEW.is_completed::int, 1
            WHERE EXISTS (SELECT FROM users WHERE id = NEW.user_id)
            ON CONFLICT (user_id) DO UPDATE
            SET total = c.total + 1, completed = c.completed + excluded.completed,
                change_seq = c.change_seq + 1
            RETURNING c.change_seq INTO latest;
        END IF;
        NEW.change_seq := coalesce(latest, 0);
        RETURN NEW;
    END IF;
    SELECT change_seq INTO latest FROM task_counters WHERE user_id = NEW.user_id FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO task_counters (user_id) SELECT NEW.user_id
        WHERE EXISTS (SELECT FROM users WHERE id = NEW.user_id)
        ON CONFLICT (user_id) DO NOTHING;
        SELECT change_seq INTO latest FROM task_counters WHERE user_id = NEW.user_id FOR UPDATE;
    END IF;
    NEW.change_seq := coalesce(latest, 0) + 1;
    RETURN NEW;
END $$
"""

# Each user's sums, then their counter row by its key.
_COUNT_UPDATES = """
CREATE OR REPLACE FUNCTION count_task_updates() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner uuid;
    added bigint;
    done bigint;
BEGIN
    FOR owner, added, done IN
        SELECT user_id, sum(total), sum(completed) FROM (
            SELECT user_id, 1 AS total, is_completed::int AS completed FROM new_tasks
            UNION ALL
            SELECT user_id, -1, -is_completed::int FROM old_tasks
        ) AS changed GROUP BY user_id
    LOOP
        UPDATE task_counters
        SET total = total + added, completed = completed + done, change_seq = change_seq + 1
        WHERE user_id = owner;
    END LOOP;
    RETURN NULL;
END $$
"""

# As 0010's: when the user itself is being deleted the cascade may have removed the counter
# row already, and then nothing is recorded (the user's deletions go with the user).
_RECORD_DELETES = """
CREATE OR REPLACE FUNCTION record_task_deletions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner uuid;
    gone bigint;
    done bigint;
    latest bigint;
BEGIN
    FOR owner, gone, done IN
        SELECT user_id, count(*), count(*) FILTER (WHERE is_completed) FROM old_tasks
        GROUP BY user_id
    LOOP
        UPDATE task_counters
        SET total = total - gone, completed = completed - done, change_seq = change_seq + 1
        WHERE user_id = owner
        RETURNING change_seq INTO latest;
        IF FOUND THEN
            INSERT INTO task_deletions (task_id, user_id, seq, deleted_at)
            SELECT id, owner, latest, now() FROM old_tasks WHERE user_id = owner;
        END IF;
    END LOOP;
    RETURN NULL;
END $$
"""

_STATEMENT_TRIGGER = "tasks_count_inserts"


def _revision_0010() -> dict[str, Any]:
    """0010's definitions, which the downgrade puts back."""
    return runpy.run_path(str(Path(__file__).with_name("0010_change_number_on_task.py")))


def upgrade() -> None:
    # Writers wait from here to the commit: none is counted by both ways, or by neither.
    op.execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")
    op.execute(f"DROP TRIGGER {_STATEMENT_TRIGGER} ON tasks")
    op.execute("DROP FUNCTION count_task_inserts()")
    for definition in (_NUMBER_TASK, _COUNT_UPDATES, _RECORD_DELETES):
        op.execute(definition)


def downgrade() -> None:
    before = _revision_0010()
    op.execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")
    for name in ("_NUMBER_TASK", "_COUNT_UPDATES", "_RECORD_DELETES"):
        op.execute(before[name].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute(before["_COUNT_INSERTS"])
    op.execute(f"CREATE TRIGGER {_STATEMENT_TRIGGER} {before['_TRIGGERS'][_STATEMENT_TRIGGER]}")
