"""Where the tests get PostgreSQL, in this order: TEST_DATABASE_URL; a testcontainers
server when TEST_DOCKER=1 and a Docker engine answers; else an embedded server in a
temporary directory. Each test session then works in a database of its own."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
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
    from todo_adapters.sql.embedded import EmbeddedPostgres

    data_dir = Path(tempfile.mkdtemp(prefix="todo-test-pg-"))
    server = EmbeddedPostgres(data_dir, delete_on_stop=True)
    try:
        yield server.url()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def fresh_database_name() -> str:
    return f"todo_test_{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def pgbouncer_in_front(server_url: str) -> Iterator[str]:
    """Run Debian's pgbouncer in transaction mode on loopback in front of the server, as
    Neon's pooler would be, and yield a URL that goes through it."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        raise RuntimeError(
            "TEST_PGBOUNCER=1 but pgbouncer is not installed (apt install pgbouncer)"
        )
    url = make_url(server_url)
    host = url.host or str(url.query.get("host", ""))
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="todo-test-pgbouncer-"))
    workdir.chmod(0o777)
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={host} port={url.port or 5432} user={url.username or 'postgres'}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\n"
        "max_client_conn = 1000\ndefault_pool_size = 20\n"
        f"logfile = {workdir}/pgbouncer.log\npidfile = {workdir}/pgbouncer.pid\n"
    )
    command = [binary, str(workdir / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        command[1:1] = ["-u", _unprivileged_user()]
    # Its log goes to the logfile; an unread pipe would fill up and stall it.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process, workdir / "pgbouncer.log")
        yield url.set(host="127.0.0.1", port=port, query={}).render_as_string(hide_password=False)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _unprivileged_user() -> str:
    import pwd

    for name in ("embedded_postgres", "postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    raise RuntimeError("no unprivileged user to run pgbouncer as")


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log.read_text()[-2000:] if log.exists() else "(no log)"
            raise RuntimeError(f"pgbouncer exited: {said}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("pgbouncer did not start listening within 10 s")
