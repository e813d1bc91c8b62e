"""Where the tests get PostgreSQL, in this order: TEST_DATABASE_URL; a testcontainers
server when TEST_DOCKER=1 and a Docker engine answers; else an embedded server in a
temporary directory. Each test session then works in a database of its own."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a URL of a PostgreSQL server the tests may create databases on."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    if os.environ.get("TEST_DOCKER") == "1" and _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    from todo_adapters.sql.embedded import start_embedded_postgres

    data_dir = Path(tempfile.mkdtemp(prefix="todo-test-pg-"))
    server = start_embedded_postgres(data_dir, delete_on_stop=True)
    try:
        yield server.url()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def fresh_database_name() -> str:
    return f"todo_test_{uuid.uuid4().hex[:12]}"
