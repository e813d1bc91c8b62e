"""event stream tickets

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08

Tickets for GET /events (POST /events/ticket): a browser's EventSource cannot send an
Authorization header, so it opens its stream with a single-use ticket that lives 60 s.
Only a hash of each is stored; a ticket asked for at one instance opens a stream at any.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMESTAMPTZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "event_tickets",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("access_expires_at", _TIMESTAMPTZ, nullable=True),
        sa.Column("expires_at", _TIMESTAMPTZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_event_tickets_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_event_tickets"),
    )
    op.create_index("ix_event_tickets_expires_at", "event_tickets", ["expires_at"])
    op.create_index("ix_event_tickets_user_id", "event_tickets", ["user_id"])


def downgrade() -> None:
    op.drop_table("event_tickets")
