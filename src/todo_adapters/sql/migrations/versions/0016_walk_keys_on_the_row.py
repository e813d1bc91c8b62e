"""each task keeps on its row what a large user's search and label filter match it on

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

A large user's search or label page is not read from the GIN indexes: their tasks are read
in the page's order and each is matched on its own columns until the page is full
(walk_statement in task_listing.py). Each match worked from the text and labels as
written, on every task read (PostgreSQL 15, over the bench's user of 100,000 tasks):

- the search split title and description with to_tsvector: 1.7 us a task;
- the label filter lower-cased the task's labels into an array: 1.3 us a task.

Kept on the row, the split words cost 0.3 us a task to match, the lowered labels 0.2 us.
A page of 50 reads about 100 tasks for a search of the bench's and about 150 for its label
filter.

A trigger keeps each when a write changes what it comes from; a move or a completion
leaves both. It fires before the change-feed trigger (triggers fire in the order of their
names), so a one-task write does not do it while holding the user's counter row (a
statement writing several tasks holds the row from its first). An update renaming a task
costs PostgreSQL 10 us more (pgbench, PostgreSQL 15; 18 us when the labels were lowered
again on every such write). Not stored generated columns: PostgreSQL prepares a generated
column's expression at every statement, 29 us more per insert of a task where a trigger
keeping the words measured nothing; and adding one rewrites the table (36 s for the
bench's 1,000,000 tasks, beyond the service's statement timeout).

The words are NULL for a text of 1,000 bytes or more, which the search matches on the GIN
keys' own functions as before. Tasks written before this revision keep NULL in each column
until a write changes its source (by any release: the trigger is the database's), and are
matched from their text and labels as before. The words cost each task row 79 bytes on
average over the bench's 1,000,000 tasks, whose rows averaged 217; near the 1,000 bytes, a
text of distinct words can take its row past 2 kB, and the words then go to TOAST.

Adding the columns changes the catalog only, but waits for every transaction using tasks,
and every query of tasks queues behind it meanwhile: lock_timeout makes it give up after
2 s instead (the start then fails, and can be tried again), where the statement timeout
would have let it hold every reader back for 5.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The 1,000 bytes are tables.PLAIN_SEARCH_BYTES as of this revision; the lowered labels
# are task_listing's _lowered.
_KEEP = """
CREATE FUNCTION keep_task_walk_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.title IS DISTINCT FROM OLD.title
       OR NEW.description IS DISTINCT FROM OLD.description THEN
        IF octet_length(NEW.title) + coalesce(octet_length(NEW.description), 0) < 1000 THEN
            NEW.search_words := to_tsvector(
                'simple'::regconfig, NEW.title || ' ' || coalesce(NEW.description, ''));
        ELSE
            NEW.search_words := NULL;
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.labels IS DISTINCT FROM OLD.labels THEN
        NEW.lowered_labels := ARRAY(SELECT lower(label) FROM unnest(NEW.labels) AS label);
    END IF;
    RETURN NEW;
END $$
"""
_TRIGGER = "tasks_keep_walk_keys"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '2s'")
    op.execute(
        "ALTER TABLE tasks ADD COLUMN search_words tsvector, ADD COLUMN lowered_labels text[]"
    )
    op.execute("SET LOCAL lock_timeout TO DEFAULT")
    op.execute(_KEEP)
    op.execute(
        f"CREATE TRIGGER {_TRIGGER} BEFORE INSERT OR UPDATE OF title, description, labels"
        " ON tasks FOR EACH ROW EXECUTE FUNCTION keep_task_walk_keys()"
    )


def downgrade() -> None:
    op.execute(f"DROP TRIGGER {_TRIGGER} ON tasks")
    op.execute("DROP FUNCTION keep_task_walk_keys()")
    op.execute("ALTER TABLE tasks DROP COLUMN search_words, DROP COLUMN lowered_labels")
