"""`todo-api migrate`, `check` and `openapi`, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.processes import CLI

VERSIONS = Path(__file__).parents[2] / "src/todo_adapters/sql/migrations/versions"
# The newest revision: the highest number among the migration files.
HEAD = max(p.name.split("_")[0] for p in VERSIONS.glob("[0-9]*_*.py"))


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "APP_ENV"}}
    return subprocess.run(
        [CLI, *args],
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,  # not a terminal: nothing can be asked
    )


def test_migrate_walks_the_revisions_and_check_reports_them(empty_database: str):
    url = {"DATABASE_URL": empty_database}
    assert "revision (empty)" in _run("migrate", "current", **url).stdout
    checked = _run("check", **url)
    assert checked.returncode == 0, checked.stderr
    assert f"will migrate to {HEAD} at startup" in checked.stdout
    assert f"revision {HEAD}" in _run("migrate", "upgrade", **url).stdout
    assert "revision 0001" in _run("migrate", "downgrade", "0001", "--yes", **url).stdout
    assert "revision (empty)" in _run("migrate", "downgrade", "base", "--yes", **url).stdout
    assert f"revision {HEAD}" in _run("migrate", "upgrade", **url).stdout
    assert "up to date" in _run("check", **url).stdout


def test_a_downgrade_without_yes_is_refused_and_changes_nothing(empty_database: str):
    url = {"DATABASE_URL": empty_database}
    head = _run("migrate", "upgrade", **url).stdout
    refused = _run("migrate", "downgrade", "base", **url)
    assert refused.returncode == 2
    assert "refused without --yes" in refused.stderr
    assert "drops the tables" in refused.stderr
    assert _run("migrate", "current", **url).stdout == head


@pytest.mark.parametrize("arguments", [["upgrade", "nope"], ["downgrade", "0002x", "--yes"]])
def test_an_unknown_revision_is_one_line_and_exit_code_2(empty_database: str, arguments):
    result = _run("migrate", *arguments, DATABASE_URL=empty_database)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"todo-api migrate: Can't locate revision identified by '{arguments[1]}'"
    ]


def test_check_fails_clearly_on_an_unreachable_database():
    result = _run(
        "check", DATABASE_URL="postgresql://postgres@127.0.0.1:1/none", DB_CONNECT_TIMEOUT="1"
    )
    assert result.returncode == 1
    assert "unreachable" in result.stderr
    assert "127.0.0.1" in result.stderr


def test_check_fails_on_a_weak_production_secret():
    result = _run("check", APP_ENV="production", JWT_SECRET="short")
    assert result.returncode == 1
    assert "JWT_SECRET must be set to at least 32 bytes" in result.stderr


def test_openapi_writes_the_committed_document(tmp_path: Path):
    target = tmp_path / "openapi.json"
    assert _run("openapi", "--output", str(target)).returncode == 0
    document = json.loads(target.read_text())
    assert "/tasks/{task_id}" in document["paths"]
    committed = Path(__file__).parents[2] / "openapi.json"
    assert target.read_text() == committed.read_text()
