"""the search and label indexes keep a short pending list: 64 kB, not 4 MB

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

A GIN index appends the keys of new rows to a pending list, merged into the index tree by
VACUUM or once the list reaches gin_pending_list_limit (4 MB by default). Until then every
scan of the index reads the whole list, whoever's keys it holds: after a burst of writes
of any users (an import, a bulk create, a day's churn), every search and every label
filter of every user read up to 4 MB more. The benchmark met it after its delete scenario,
whose task pool is inserted and removed in bulk: 185 and 165 pending pages, and the search
of 60-task users fell to 219 requests a second (PostgreSQL 4 ms of CPU a search, 10 times
its usual).

At 64 kB (the least PostgreSQL allows) a scan reads at most 8 pending pages, and a write
that fills the list merges it, 8 pages at a time. Without a list (fastupdate off) every
write would put its keys into the tree one by one: creates 15.8% slower in an A/B.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = ("ix_tasks_search", "ix_tasks_labels")
PENDING_LIST_KB = 64


def upgrade() -> None:
    for index in _INDEXES:
        op.execute(f"ALTER INDEX {index} SET (gin_pending_list_limit = {PENDING_LIST_KB})")
        op.execute(f"SELECT gin_clean_pending_list('{index}')")


def downgrade() -> None:
    for index in _INDEXES:
        op.execute(f"ALTER INDEX {index} RESET (gin_pending_list_limit)")
