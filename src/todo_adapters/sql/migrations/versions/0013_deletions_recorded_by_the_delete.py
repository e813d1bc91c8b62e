"""a delete records itself: the service's delete statements count, number and record the
tasks they delete, and the statement trigger that did goes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

Since 0010 every DELETE on tasks fired a statement trigger that kept the user's counts,
took the next number of the user's feed and wrote a row in task_deletions per task. The
service deletes tasks with two statements only (one task; a user's completed or active
tasks), and each now does the same work in its own data-modifying CTEs: the delete, then
the counter row updated from what it deleted, then the deletion rows numbered by it. A
statement trigger with a transition table costs a tuple store of the deleted rows, a
PL/pgSQL call and its own statements, about as much as the writes themselves.

The guarantee is 0010's, unchanged: the number is taken by the UPDATE of the user's counter
row, whose lock is held until the commit, so one user's numbers are in commit order. The
locks come in 0010's order too: the tasks first (the delete locks them; the bulk delete in
id order, before its first row), then the counter row, which the UPDATE reaches only
after the delete has given it every row it counts.

What no longer keeps the counts and the feed: a DELETE on tasks written by hand. Deleting
a user still takes their tasks, counter row and deletion rows with it (the cascade and
0010's users trigger). Instances older than this revision leave deletions to the trigger:
stop them before it runs (docs/deployment.md).

Measured by instructions on PostgreSQL 15 (callgrind on a single-user backend, the
service's one-task delete prepared as the service runs it, each committed alone, the
difference of a 300 and a 1,300 statement run), per delete: 228.0k before the feed (0007),
280.7k under 0012's trigger, 241.4k here; the delete alone, nothing kept, 111.4k.
"""

import runpy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGER = "tasks_record_deletions"


def _revision(file: str) -> dict[str, Any]:
    return runpy.run_path(str(Path(__file__).with_name(file)))


def upgrade() -> None:
    # Deletes wait from here to the commit: none is recorded twice, or not at all.
    op.execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")
    op.execute(f"DROP TRIGGER {_TRIGGER} ON tasks")
    op.execute("DROP FUNCTION record_task_deletions()")


def downgrade() -> None:
    op.execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")
    function = _revision("0011_cheaper_counter_writes.py")["_RECORD_DELETES"]
    op.execute(function.replace("CREATE OR REPLACE FUNCTION", "CREATE FUNCTION", 1))
    trigger = _revision("0010_change_number_on_task.py")["_TRIGGERS"][_TRIGGER]
    op.execute(f"CREATE TRIGGER {_TRIGGER} {trigger}")
