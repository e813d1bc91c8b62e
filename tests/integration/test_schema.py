"""User story 1 and SC-009: the migrated schema (tables, keys, constraints, indexes), that
the app creates it on startup, and that the task queries use the indexes."""

from __future__ import annotations

import re
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, text
from sqlalchemy.exc import IntegrityError

from tests.integration.conftest import add_user
from tests.integration.http import serving
from todo_adapters.sql.tables import metadata
from todo_api.app import create_app

TIMESTAMPTZ = "timestamp with time zone"
COLUMNS = {
    "users": {
        "id": ("uuid", "NO"),
        "email": ("character varying", "NO"),
        "password_hash": ("text", "NO"),
        "created_at": (TIMESTAMPTZ, "NO"),
    },
    "tasks": {
        "id": ("uuid", "NO"),
        "user_id": ("uuid", "NO"),
        "title": ("character varying", "NO"),
        "description": ("text", "YES"),
        "is_completed": ("boolean", "NO"),
        "created_at": (TIMESTAMPTZ, "NO"),
        "updated_at": (TIMESTAMPTZ, "NO"),
        "version": ("integer", "NO"),
        "due_at": (TIMESTAMPTZ, "YES"),
        "priority": ("smallint", "NO"),
        "labels": ("ARRAY", "NO"),
        "position": ("text", "NO"),
        "change_seq": ("bigint", "NO"),
        "search_words": ("tsvector", "YES"),
        "lowered_labels": ("ARRAY", "YES"),
    },
    "task_counters": {
        "user_id": ("uuid", "NO"),
        "total": ("bigint", "NO"),
        "completed": ("bigint", "NO"),
        "change_seq": ("bigint", "NO"),
    },
    "task_deletions": {
        "task_id": ("uuid", "NO"),
        "user_id": ("uuid", "NO"),
        "seq": ("bigint", "NO"),
        "deleted_at": ("timestamp with time zone", "NO"),
    },
}


async def rows(engine, sql: str, **params) -> list[tuple]:
    async with engine.connect() as connection:
        return [tuple(r) for r in await connection.execute(text(sql), params)]


async def add_task(connection, user_id: uuid.UUID) -> None:
    await connection.execute(
        text(
            "INSERT INTO tasks (id, user_id, title, created_at, updated_at)"
            " VALUES (:id, :user_id, 't', now(), now())"
        ),
        {"id": uuid.uuid4(), "user_id": user_id},
    )


# --- tables, keys and constraints -------------------------------------------------------


@pytest.mark.parametrize("table", sorted(COLUMNS))
async def test_columns_have_the_right_types(engine, table):
    found = await rows(
        engine,
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = :table",
        table=table,
    )

    assert {name: (kind, nullable) for name, kind, nullable in found} == COLUMNS[table]


async def test_text_columns_have_the_domain_limits(engine):
    found = await rows(
        engine,
        "SELECT table_name, column_name, character_maximum_length FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name IN ('email', 'title')",
    )

    assert set(found) == {("users", "email", 254), ("tasks", "title", 255)}


async def test_keys_and_constraints(engine):
    found = await rows(
        engine,
        "SELECT conrelid::regclass::text, contype::text, pg_get_constraintdef(oid)"
        " FROM pg_constraint"
        " WHERE conrelid IN ('users'::regclass, 'tasks'::regclass, 'task_counters'::regclass)",
    )

    assert ("users", "p", "PRIMARY KEY (id)") in found
    assert ("tasks", "p", "PRIMARY KEY (id)") in found
    assert ("users", "u", "UNIQUE (email)") in found
    assert ("tasks", "f", "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE") in found
    assert ("task_counters", "p", "PRIMARY KEY (user_id)") in found
    assert (
        "task_counters",
        "f",
        "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE",
    ) in found


async def test_emails_are_unique_and_lower_case_in_the_table_itself(engine):
    async with engine.connect() as connection:
        await add_user(connection, "ada@example.com")
        with pytest.raises(IntegrityError, match="uq_users_email"):
            await add_user(connection, "ada@example.com")
    async with engine.connect() as connection:
        with pytest.raises(IntegrityError, match="lower"):
            await add_user(connection, "Ada@Example.com")


async def test_a_task_must_belong_to_an_existing_user(engine):
    async with engine.connect() as connection:
        with pytest.raises(IntegrityError, match="fk_tasks_user_id_users"):
            await add_task(connection, uuid.uuid4())


async def test_deleting_a_user_deletes_their_tasks(engine):
    async with engine.begin() as connection:
        ada, bob = await add_user(connection), await add_user(connection, "bob@example.com")
        for owner in (ada, ada, bob):
            await add_task(connection, owner)

    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": ada})

    assert await rows(engine, "SELECT user_id FROM tasks") == [(bob,)]


async def test_the_task_indexes_lead_with_user_id(engine):
    definitions = await rows(engine, "SELECT indexdef FROM pg_indexes WHERE tablename = 'tasks'")
    columns = {re.search(r"\((.*)\)", d).group(1) for (d,) in definitions}

    assert {
        "id",
        "user_id, created_at, id",
        "user_id, updated_at, id",
        "user_id, is_completed, created_at, id",
    } <= columns


async def test_writes_leave_little_pending_for_searches_to_read(engine):
    # A GIN index's pending list is read by every scan of it, whoever's keys it holds:
    # it is merged into the tree at 64 kB, 8 pages (migration 0014), not 4 MB.
    async with engine.begin() as connection:
        owner = await add_user(connection)
        await connection.execute(
            text(
                "INSERT INTO tasks (id, user_id, title, description, labels, created_at,"
                " updated_at) SELECT gen_random_uuid(), :owner, 'Call ' || g,"
                " 'landing page draft ' || g, ARRAY['work', 'w' || g], now(), now()"
                " FROM generate_series(1, 200) AS g"
            ),
            {"owner": owner},
        )
        await connection.execute(text("UPDATE tasks SET title = title || ' again'"))
        await connection.execute(text("DELETE FROM tasks WHERE title LIKE 'Call 1%'"))

    pending = await rows(
        engine,
        "SELECT gin_clean_pending_list('ix_tasks_search'),"
        " gin_clean_pending_list('ix_tasks_labels')",
    )
    assert all(pages <= 8 for pages in pending[0])


# alembic reads an expression index back in PostgreSQL's own spelling, never equal to the
# declaration's text (or not at all): these are compared by their definitions instead.
EXPRESSION_INDEXES = {
    "ix_tasks_user_due": "btree (user_id, COALESCE(due_at, '9999-12-31 00:00:00+00'::timestamp"
    " with time zone), id)",
    "ix_tasks_user_due_desc": "btree (user_id, COALESCE(due_at, '0001-01-02 00:00:00+00'"
    "::timestamp with time zone), id)",
    "ix_tasks_search": "gin (task_search_vector(user_id, (title)::text, description))"
    " WITH (gin_pending_list_limit='64')",
    "ix_tasks_labels": "gin (task_label_keys(user_id, labels)) WITH (gin_pending_list_limit='64')",
}


def _compared(item, name, kind, reflected, compare_to) -> bool:
    return not (kind == "index" and name in EXPRESSION_INDEXES)


async def test_the_migrations_build_what_the_tables_module_declares(engine):
    async with engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(
                    sync, opts={"compare_type": True, "include_object": _compared}
                ),
                metadata,
            )
        )

    assert differences == []
    declared = {
        ix.name
        for ix in metadata.tables["tasks"].indexes
        if any(not isinstance(e, Column) for e in ix.expressions)
    }
    assert declared == set(EXPRESSION_INDEXES)
    found = await rows(
        engine,
        "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(:names)",
        names=list(EXPRESSION_INDEXES),
    )
    assert {name: d.split(" USING ", 1)[1] for name, d in found} == EXPRESSION_INDEXES


# --- the app migrates on startup --------------------------------------------------------


async def test_the_app_creates_the_tables_on_startup(settings, empty_database):
    app = create_app(settings.model_copy(update={"DATABASE_URL": empty_database}))
    async with serving(app) as http:
        ready = await http.get("/health/ready")
        body = {"email": "ada@example.com", "password": "correct horse"}
        registered = await http.post("/auth/register", json=body)
        token = registered.json()["access_token"]
        created = await http.post(
            "/tasks", json={"title": "t"}, headers={"Authorization": f"Bearer {token}"}
        )

    assert (ready.status_code, registered.status_code, created.status_code) == (200, 201, 201)
