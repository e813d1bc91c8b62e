"""the search and label functions of the tasks' indexes in PL/pgSQL, each its 0007 query

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

Every write of a task computes its search and label index keys through these functions.
Before PostgreSQL 18, a SQL-language function that cannot be inlined (these have
sub-SELECTs) is parsed, analysed and planned again in every statement that calls it, and
an index expression is such a call: on PostgreSQL 15 that was a third of an update's
instructions. PL/pgSQL keeps each session's plan of the query, so the same query costs
its execution only. PostgreSQL 18 caches SQL functions' plans too (the embedded server is
18; Neon and most servers in service are older).

The results are the same (the body of each is 0007's query, returned as is), so the
indexes built on them stay valid without a rebuild; IMMUTABLE and PARALLEL SAFE stay too.

Measured by instructions on PostgreSQL 15 (callgrind on a single-user backend, one-row
statements each committed alone, difference of a 300 and a 1,300 statement run), per
statement: update 1,583k before, 1,057k after; create 2,151k, 1,627k.
"""

import runpy
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The functions of 0007 that indexes and listings call; not task_time_position, a column
# default that the service never leaves to the server.
_SIGNATURES = (
    "task_search_vector(uuid, text, text)",
    "task_search_query(uuid, text)",
    "task_label_keys(uuid, text[])",
)


def _in_0007() -> dict[str, str]:
    """0007's definitions of these functions: `CREATE FUNCTION … LANGUAGE sql … AS $$ query $$`."""
    path = Path(__file__).with_name("0007_task_planning_fields.py")
    functions: dict[str, str] = runpy.run_path(str(path))["_FUNCTIONS"]
    return {signature: functions[signature] for signature in _SIGNATURES}


def _replacing(definition: str) -> str:
    return definition.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def _in_plpgsql(definition: str) -> str:
    """The same function returning its query's one value from PL/pgSQL."""
    head, query, tail = definition.split("$$")
    head = head.replace("LANGUAGE sql", "LANGUAGE plpgsql")
    return f"{_replacing(head)}$$\nBEGIN\n    RETURN ({query.strip()});\nEND $${tail}"


def upgrade() -> None:
    for definition in _in_0007().values():
        op.execute(_in_plpgsql(definition))


def downgrade() -> None:
    for definition in _in_0007().values():
        op.execute(_replacing(definition))
