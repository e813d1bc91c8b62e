"""sessions, password resets and failed logins

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

A session is one login: the refresh tokens rotated from one registration, login or reset
(a token family, so far an id and nothing more). Each family that exists gets its session
row, alive until its newest token expires, and the family id becomes a foreign key to it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMESTAMPTZ = sa.DateTime(timezone=True)

# A family whose tokens are all revoked is a session that has ended.
_SESSIONS_OF_FAMILIES = """
INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ended_at)
SELECT family_id, (array_agg(user_id))[1], min(created_at), max(created_at), max(expires_at),
       NULL, CASE WHEN bool_and(revoked_at IS NOT NULL) THEN max(revoked_at) END
FROM refresh_tokens
GROUP BY family_id
"""


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("last_used_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("expires_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("user_agent", sa.String(255), nullable=True),
        sa.Column("ended_at", _TIMESTAMPTZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_sessions_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
    )
    op.create_index("ix_sessions_user_id_created_at", "sessions", ["user_id", "created_at"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.execute(_SESSIONS_OF_FAMILIES)
    op.create_foreign_key(
        "fk_refresh_tokens_family_id_sessions",
        "refresh_tokens",
        "sessions",
        ["family_id"],
        ["id"],
        ondelete="CASCADE",
    )

    op.create_table(
        "password_resets",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("email_key", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("expires_at", _TIMESTAMPTZ, nullable=False),
        # No foreign key: see tables.py.
        sa.PrimaryKeyConstraint("token_hash", name="pk_password_resets"),
    )
    op.create_index(
        "ix_password_resets_email_key_created_at", "password_resets", ["email_key", "created_at"]
    )
    op.create_index("ix_password_resets_user_id", "password_resets", ["user_id"])
    op.create_index("ix_password_resets_expires_at", "password_resets", ["expires_at"])

    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("email_key", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("failed_at", _TIMESTAMPTZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_failures"),
    )
    op.create_index(
        "ix_login_failures_email_key_failed_at", "login_failures", ["email_key", "failed_at"]
    )
    op.create_index(
        "ix_login_failures_address_failed_at", "login_failures", ["address", "failed_at"]
    )
    op.create_index("ix_login_failures_failed_at", "login_failures", ["failed_at"])


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("password_resets")
    op.drop_constraint("fk_refresh_tokens_family_id_sessions", "refresh_tokens", "foreignkey")
    op.drop_table("sessions")
