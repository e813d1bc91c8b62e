"""A start that cannot go on says why in one line naming the setting, and exits non-zero:
every command, every bad setting a newcomer is likely to try (issue 22)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.integration.processes import CLI, TEST_JWT_SECRET
from tests.postgres import free_port
from todo_adapters.sql.engine import PoolSettings, build_engine

# Each bad setting, and what its line must say. The unreachable hosts give up after
# DB_CONNECT_TIMEOUT=1 (a refused port, a name that does not resolve).
BAD_SETTINGS = {
    "garbage-url": ({"DATABASE_URL": "garbage"}, "DATABASE_URL: not a URL"),
    "mysql-url": (
        {"DATABASE_URL": "mysql://todo:secretpw@db/todo"},
        "DATABASE_URL must be a PostgreSQL URL, not mysql://",
    ),
    "refused-port": (
        {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/todo", "DB_CONNECT_TIMEOUT": "1"},
        "DATABASE_URL: host 127.0.0.1 unreachable for 1 s (DB_CONNECT_TIMEOUT)",
    ),
    "unknown-host": (
        {"DATABASE_URL": "postgresql://postgres@no-such-host.invalid/x", "DB_CONNECT_TIMEOUT": "1"},
        "DATABASE_URL: host no-such-host.invalid unreachable for 1 s",
    ),
    "smtp-garbage": ({"SMTP_URL": "garbage"}, "SMTP_URL scheme must be smtp or smtps"),
    "cors-not-an-origin": (
        {"CORS_ORIGINS": "notaurl"},
        "CORS_ORIGINS: 'notaurl' is not an origin",
    ),
    "cors-with-a-path": (
        {"CORS_ORIGINS": "http://localhost:3000,https://app.example.com/app"},
        "CORS_ORIGINS: 'https://app.example.com/app' is not an origin",
    ),
    "forwarded-bogus": (
        {"FORWARDED_ALLOW_IPS": "127.0.0.1,bogus"},
        "FORWARDED_ALLOW_IPS: 'bogus' is not an IP address or network",
    ),
}


def _environment(direct_database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in {"APP_ENV", "LOG_LEVEL"}}
    return {
        **inherited,
        "DATABASE_URL": direct_database_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "DATA_DIR": str(tmp_path),
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "WORKERS": "1",
        **extra,
    }


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _wrong_role(database_url: str) -> str:
    return (
        make_url(database_url)
        .set(username="no_such_role", password=None)
        .render_as_string(hide_password=False)
    )


# Sending a test mail needs no database: it refuses what does not parse.
UNREACHABLE = {"refused-port", "unknown-host"}
COMMANDS = {
    "check": ["check"],
    "migrate": ["migrate", "current"],
    "send-test-mail": ["send-test-mail", "--to", "a@example.com"],
}


@pytest.mark.parametrize(
    ("name", "case"),
    [
        (name, case)
        for name in COMMANDS
        for case in BAD_SETTINGS
        if not (name == "send-test-mail" and case in UNREACHABLE)
    ],
)
def test_a_command_refuses_a_bad_setting_in_one_line(
    direct_database_url: str, tmp_path: Path, name: str, case: str
):
    command = COMMANDS[name]
    settings, said = BAD_SETTINGS[case]
    result = _run(command, _environment(direct_database_url, tmp_path, **settings))
    assert result.returncode != 0
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(f"todo-api {command[0]}: ")
    assert said in result.stderr
    assert "secretpw" not in result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("case", BAD_SETTINGS)
def test_serve_refuses_a_bad_setting_before_any_worker_starts(
    direct_database_url: str, tmp_path: Path, case: str, workers: str
):
    settings, said = BAD_SETTINGS[case]
    result = _run(
        ["serve"], _environment(direct_database_url, tmp_path, WORKERS=workers, **settings)
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    # The only line naming the setting is the last one; before it, at most the retries of
    # an unreachable database.
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"todo-api serve: {said}"), result.stderr
    assert all("database.retrying" in line for line in lines[:-1]), result.stderr
    assert "app.listening" not in result.stderr


@pytest.mark.parametrize("command", [["check"], ["serve"], ["migrate", "upgrade"]])
def test_a_role_the_database_refuses_is_one_line_without_sqlalchemy_noise(
    direct_database_url: str, tmp_path: Path, command: list[str]
):
    result = _run(command, _environment(_wrong_role(direct_database_url), tmp_path))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f'todo-api {command[0]}: DATABASE_URL: role "no_such_role" does not exist'
    ]


def test_at_debug_the_trace_follows_the_line(direct_database_url: str, tmp_path: Path):
    env = _environment(direct_database_url, tmp_path, LOG_LEVEL="DEBUG")
    result = _run(["check"], {**env, "DATABASE_URL": _wrong_role(direct_database_url)})
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("todo-api check: DATABASE_URL: ")


def test_check_refuses_a_schema_from_a_newer_release_as_serve_does(
    empty_database: str, tmp_path: Path
):
    env = _environment(empty_database, tmp_path)
    assert _run(["migrate", "upgrade"], env).returncode == 0
    _psql(empty_database, "UPDATE alembic_version SET version_num = '9999'")
    for command in (["check"], ["serve"]):
        result = _run(command, env)
        assert result.returncode != 0
        assert result.stderr.strip().splitlines()[-1] == (
            f"todo-api {command[0]}: DATABASE_URL: the database is at schema revision 9999, "
            "which this release does not know (migrated by a newer release?)"
        )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_when_a_worker_cannot_start_serve_exits_non_zero(
    empty_database: str, tmp_path: Path, workers: str
):
    """The database answers (so the parent goes on), but migrating it fails in the
    workers: uvicorn's supervisor stops, and the exit status says so."""
    env = _environment(empty_database, tmp_path, WORKERS=workers)
    assert _run(["migrate", "upgrade", "0005"], env).returncode == 0
    _psql(empty_database, "CREATE TABLE sessions (in_the_way integer)")
    result = _run(["serve"], env)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    failures = [line for line in result.stderr.splitlines() if "app.start_failed" in line]
    assert failures, result.stderr
    assert all('relation "sessions" already exists' in line for line in failures)
    assert all("setting=DATABASE_URL" in line for line in failures)
    if workers == "2":
        assert result.stderr.strip().splitlines()[-1] == (
            "todo-api serve: a worker could not start (its reason is logged above)"
        )


def _psql(database_url: str, statement: str) -> None:
    """One statement on the database, by the same driver the service uses: the embedded
    test server is reached through a socket directory (`?host=`) that psql would not read
    from the URL."""

    async def run() -> None:
        engine = build_engine(database_url, PoolSettings(size=1, max_overflow=0))
        try:
            async with engine.begin() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_one_line_naming_it(
    direct_database_url: str, tmp_path: Path, workers: str
):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = _environment(direct_database_url, tmp_path, PORT=str(port), WORKERS=workers)
        result = _run(["serve"], env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"todo-api serve: PORT: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


@pytest.mark.parametrize("command", ["check", "serve"])
def test_a_data_dir_that_cannot_hold_the_development_secret_is_one_line(
    direct_database_url: str, tmp_path: Path, command: str
):
    not_a_directory = tmp_path / "a-file"
    not_a_directory.write_text("")
    env = _environment(direct_database_url, tmp_path, DATA_DIR=str(not_a_directory / "data"))
    del env["JWT_SECRET"]
    result = _run([command], env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"todo-api {command}: DATA_DIR: cannot keep the development JWT secret in "
        f"{not_a_directory / 'data'}: Not a directory (set JWT_SECRET, or a DATA_DIR this "
        "user can write)"
    ]
