"""The schema as SQLAlchemy Core tables; alembic migrations are written to match it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ColumnElement,
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
    UniqueConstraint,
    Uuid,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR

from todo_core.domain import (
    ADDRESS_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    PRIORITY_MIN,
    USER_AGENT_MAX_LENGTH,
)
from todo_core.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH
from todo_core.listing import NO_DUE_ASC, NO_DUE_DESC
from todo_core.task_rules import (
    DESCRIPTION_MAX_LENGTH,
    PRIORITY_MAX,
    TITLE_MAX_LENGTH,
)

# SQL functions of migration 0007, immutable so that indexes can be built on them. Their keys
# carry the owner's id (hex) before each word or label: a user's search reads only that
# user's entries of the GIN index, whoever else has tasks.
SEARCH_VECTOR = "task_search_vector"  # (user_id, title, description) -> tsvector
SEARCH_QUERY = "task_search_query"  # (user_id, q) -> tsquery: every word a prefix
LABEL_KEYS = "task_label_keys"  # (user_id, labels) -> text[], lower-cased

# Below this many bytes of title and description, no word of a task can reach the 2,000
# bytes beyond which the search keys leave it out (lower-casing lengthens a character by
# half at most), and the plain text search agrees with them.
PLAIN_SEARCH_BYTES = 1_000


def _timestamptz(value: object) -> ColumnElement[Any]:
    return literal_column(f"'{value}'::timestamptz", DateTime(timezone=True))


# Tasks without a due date sort last either way: as these values, in expression indexes.
DUE_ASC_KEY = _timestamptz(NO_DUE_ASC.isoformat())
DUE_DESC_KEY = _timestamptz(NO_DUE_DESC.isoformat())

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
    Column("due_at", DateTime(timezone=True), nullable=True),
    Column("priority", SmallInteger, nullable=False, server_default=text("0")),
    Column("labels", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    # The app writes every position (todo_core.ordering); the default serves other writers.
    Column(
        "position",
        Text(collation="C"),
        nullable=False,
        server_default=text("task_time_position(clock_timestamp(), gen_random_uuid())"),
    ),
    # The number of the task's latest change, from its user's counter (migration 0010 says
    # how it orders the change feed). Not a field of the Task: see TASK_COLUMNS.
    Column("change_seq", BigInteger, nullable=False, server_default=text("0")),
    # What a large user's search and label filter match a task on (task_listing.row_matches),
    # kept by a trigger (migration 0016): its words as the plain text search splits them
    # (NULL from PLAIN_SEARCH_BYTES on), its labels lower-cased. NULL where no write has
    # changed the source since that migration. Not fields of the Task.
    Column("search_words", TSVECTOR, nullable=True),
    Column("lowered_labels", ARRAY(Text), nullable=True),
    CheckConstraint(
        f"char_length(description) <= {DESCRIPTION_MAX_LENGTH}", name="description_length"
    ),
    CheckConstraint(f"priority BETWEEN {PRIORITY_MIN} AND {PRIORITY_MAX}", name="priority_range"),
    # Each index leads with user_id so every per-user query, in every sort order and with the
    # completed filter, is an index range scan; id breaks ties between equal timestamps.
    Index("ix_tasks_user_created", "user_id", "created_at", "id"),
    Index("ix_tasks_user_updated", "user_id", "updated_at", "id"),
    Index("ix_tasks_user_completed_created", "user_id", "is_completed", "created_at", "id"),
    # No two tasks of a user share a position; checked per statement (deferrable), so that
    # respacing the tasks around a worn gap is one statement.
    UniqueConstraint(
        "user_id",
        "position",
        name="uq_tasks_user_position",
        deferrable=True,
        initially="IMMEDIATE",
    ),
    Index("ix_tasks_user_priority", "user_id", "priority", "id"),
    Index("ix_tasks_user_change", "user_id", "change_seq", "id"),
)
_task = tasks.c
# The columns a Task is built from, in its fields' order.
_NOT_FIELDS = {"change_seq", "search_words", "lowered_labels"}
TASK_COLUMNS = tuple(c for c in tasks.columns if c.name not in _NOT_FIELDS)
# The sort keys of due_at (no date last either way) and the search and label keys.
DUE_ASC = func.coalesce(_task.due_at, DUE_ASC_KEY)
DUE_DESC = func.coalesce(_task.due_at, DUE_DESC_KEY)
Index("ix_tasks_user_due", _task.user_id, DUE_ASC, _task.id)
Index("ix_tasks_user_due_desc", _task.user_id, DUE_DESC, _task.id)
# A short pending list: every scan of a GIN index reads all of it (migration 0014).
_SHORT_LIST = {"gin_pending_list_limit": "64"}
SEARCH_KEYS = getattr(func, SEARCH_VECTOR)(_task.user_id, _task.title, _task.description)
Index("ix_tasks_search", SEARCH_KEYS, postgresql_using="gin", postgresql_with=_SHORT_LIST)
TASK_LABEL_KEYS = getattr(func, LABEL_KEYS)(_task.user_id, _task.labels, type_=ARRAY(Text))
Index("ix_tasks_labels", TASK_LABEL_KEYS, postgresql_using="gin", postgresql_with=_SHORT_LIST)

# How many tasks each user has, kept exact by triggers on tasks (migrations 0003, 0005), so that a
# list's total costs one row read however many tasks match.
task_counters = Table(
    "task_counters",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("total", BigInteger, nullable=False, server_default=text("0")),
    Column("completed", BigInteger, nullable=False, server_default=text("0")),
    # The number of the user's latest change (migration 0010 says how it orders the feed).
    Column("change_seq", BigInteger, nullable=False, server_default=text("0")),
    postgresql_with={"fillfactor": 50},
)

# The change feed's deletions, numbered as the tasks' changes are, until SYNC_RETENTION
# has passed. Kept by triggers (migration 0010).
task_deletions = Table(
    "task_deletions",
    metadata,
    Column("task_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("deleted_at", DateTime(timezone=True), nullable=False),
    Index(None, "user_id", "seq", "task_id"),
    Index(None, "deleted_at"),
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

# One row per ticket for an event stream (POST /events/ticket): single use, short-lived,
# kept in the database so that a ticket asked for at one instance opens a stream at any.
event_tickets = Table(
    "event_tickets",
    metadata,
    # SHA-256 of the ticket, hex: the ticket itself is never stored.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", Uuid, nullable=True),
    Column("access_expires_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_event_tickets_expires_at", "expires_at"),
    Index("ix_event_tickets_user_id", "user_id"),
)

EMAIL_UNIQUE_CONSTRAINT = "uq_users_email"
TASK_OWNER_FOREIGN_KEY = "fk_tasks_user_id_users"
TASK_POSITION_UNIQUE = "uq_tasks_user_position"
IDEMPOTENCY_KEY_USER_FOREIGN_KEY = "fk_idempotency_keys_user_id_users"
SESSION_USER_FOREIGN_KEY = "fk_sessions_user_id_users"
EVENT_TICKET_USER_FOREIGN_KEY = "fk_event_tickets_user_id_users"
