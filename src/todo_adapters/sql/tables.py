"""The schema as SQLAlchemy Core tables; alembic migrations are written to match it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    text,
)

from todo_core.domain import (
    ADDRESS_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    USER_AGENT_MAX_LENGTH,
)
from todo_core.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(EMAIL_MAX_LENGTH), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("email = lower(email)", name="email_lower_case"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(TITLE_MAX_LENGTH), nullable=False),
    Column("description", Text, nullable=True),
    Column("is_completed", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
    CheckConstraint(
        f"char_length(description) <= {DESCRIPTION_MAX_LENGTH}", name="description_length"
    ),
    # Each index leads with user_id so every per-user query, in every sort order and with the
    # completed filter, is an index range scan; id breaks ties between equal timestamps.
    Index("ix_tasks_user_created", "user_id", "created_at", "id"),
    Index("ix_tasks_user_updated", "user_id", "updated_at", "id"),
    Index("ix_tasks_user_completed_created", "user_id", "is_completed", "created_at", "id"),
)

# How many tasks each user has, kept exact by triggers on tasks (migrations 0003, 0005), so that a
# list's total costs one row read however many tasks match.
task_counters = Table(
    "task_counters",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("total", BigInteger, nullable=False, server_default=text("0")),
    Column("completed", BigInteger, nullable=False, server_default=text("0")),
    postgresql_with={"fillfactor": 50},
)

# One row per login (register, login or reset); its refresh tokens are its family.
sessions = Table(
    "sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("user_agent", String(USER_AGENT_MAX_LENGTH), nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Index("ix_sessions_user_id_created_at", "user_id", "created_at"),
    Index("ix_sessions_expires_at", "expires_at"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    # SHA-256 of the secret, hex: the secret itself is never stored.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("family_id", Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("spent_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_refresh_tokens_family_id", "family_id"),
    Index("ix_refresh_tokens_expires_at", "expires_at"),
    Index("ix_refresh_tokens_user_id", "user_id"),
)

# The reply each (user, Idempotency-Key) got, written in the transaction that did the work.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(IDEMPOTENCY_KEY_MAX_LENGTH), primary_key=True),
    # SHA-256 of the request's canonical JSON, hex.
    Column("fingerprint", String(64), nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)

# One row per reset request, registered email or not (so that both write the same row):
# the token's hash, the email's key (a hash, as for failed logins), and the user when the
# email is registered and under its cap of messages. Only rows with a user can be spent.
# No foreign key on user_id: its check (a lookup and a lock of the user's row) would run
# for registered emails only, and show in their time. Deleting an account deletes its rows
# by email_key; a token whose user is gone is refused like any unknown one.
password_resets = Table(
    "password_resets",
    metadata,
    # SHA-256 of the token mailed, hex.
    Column("token_hash", String(64), primary_key=True),
    Column("email_key", String(64), nullable=False),
    Column("user_id", Uuid, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_password_resets_email_key_created_at", "email_key", "created_at"),
    Index("ix_password_resets_user_id", "user_id"),
    Index("ix_password_resets_expires_at", "expires_at"),
)

# One row per failed login, for throttling. Keyed by a hash of the email, registered or
# not (so no foreign key), and by the client address.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("email_key", String(64), nullable=False),
    Column("address", String(ADDRESS_MAX_LENGTH), nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
    Index("ix_login_failures_email_key_failed_at", "email_key", "failed_at"),
    Index("ix_login_failures_address_failed_at", "address", "failed_at"),
    Index("ix_login_failures_failed_at", "failed_at"),
)

EMAIL_UNIQUE_CONSTRAINT = "uq_users_email"
TASK_OWNER_FOREIGN_KEY = "fk_tasks_user_id_users"
IDEMPOTENCY_KEY_USER_FOREIGN_KEY = "fk_idempotency_keys_user_id_users"
SESSION_USER_FOREIGN_KEY = "fk_sessions_user_id_users"
