"""What a newcomer meets in the first hour (issue 22): `make help`, the log line saying
where to open the API, `GET /` pointing at everything, a `.env` file read, one version."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.integration.processes import CLI, TEST_JWT_SECRET, served_for_tests

ROOT = Path(__file__).parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


async def test_the_root_links_to_the_docs_the_document_and_the_health_checks(client):
    home = await client.get("/")
    assert home.status_code == 200
    body = home.json()
    assert body["name"] == "Todo API"
    assert body["version"] == VERSION
    assert set(body["links"]) == {
        "docs", "redoc", "openapi", "health_live", "health_ready", "metrics"
    }  # fmt: skip
    for name, path in body["links"].items():
        followed = await client.get(path)
        assert followed.status_code == 200, (name, path)
    document = (await client.get(body["links"]["openapi"])).json()
    assert document["info"]["version"] == VERSION
    assert document["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]


def test_the_start_logs_one_line_with_the_urls_to_open(database_url: str, tmp_path: Path):
    """Once, from the parent, however many workers there are."""
    with served_for_tests(database_url, tmp_path, LOG_LEVEL="INFO", WORKERS="2") as service:
        log = (tmp_path / "service.log").read_text()
    lines = [line for line in log.splitlines() if "app.listening" in line]
    assert len(lines) == 1, log
    for url in ("/", "/docs", "/redoc", "/health/ready"):
        assert f"{service.base}{url} " in f"{lines[0]} "


def test_the_urls_logged_answer(database_url: str, tmp_path: Path):
    with served_for_tests(database_url, tmp_path, LOG_LEVEL="INFO"):
        log = (tmp_path / "service.log").read_text()
        (line,) = [line for line in log.splitlines() if "app.listening" in line]
        urls = re.findall(r"(?:api|docs|redoc|health)=(\S+)", line)
        assert len(urls) == 4, line
        for url in urls:
            assert httpx.get(url).status_code == 200, url


def _check(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SMTP_URL"}}
    return subprocess.run(
        [CLI, "check"],
        cwd=cwd,
        env={**inherited, "JWT_SECRET": TEST_JWT_SECRET, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_dot_env_file_in_the_working_directory_is_read(direct_database_url: str, tmp_path: Path):
    (tmp_path / ".env").write_text(
        f"DATABASE_URL={direct_database_url}\n# a comment\nSMTP_URL=garbage\n"
    )
    refused = _check(tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.startswith("todo-api check: SMTP_URL ")
    # The environment wins over the file.
    fixed = _check(tmp_path, SMTP_URL="smtp://localhost:25")
    assert fixed.returncode == 0, fixed.stderr
    assert "database DATABASE_URL answers" in fixed.stdout


@pytest.mark.parametrize("arguments", [["help"], []])
def test_make_help_lists_every_documented_target(arguments: list[str]):
    listed = subprocess.run(
        ["make", "-s", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert listed.returncode == 0, listed.stderr
    documented = re.findall(r"^([a-z-]+):.*## (.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert {"run", "test", "lint", "help"} <= {target for target, _ in documented}
    for target, said in documented:
        assert re.search(rf"^{target}\s+{re.escape(said)}$", listed.stdout, re.M), target


def test_make_run_exits_non_zero_with_the_reason(tmp_path: Path):
    """`make run` is `todo-api serve` (its install steps skipped here: the tests' own
    environment stands in for .venv); make passes the failure on."""
    env = {**os.environ, "DATABASE_URL": "mysql://todo@db/todo", "DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        ["make", "-s", "-o", ".venv/.embedded", "run", f"BIN={Path(CLI).parent}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (
        "todo-api serve: DATABASE_URL must be a PostgreSQL URL, not mysql:// "
        "(expected postgresql://user:password@host:5432/database)"
    )
    # Then only make's own words (make[1] when the tests themselves run under make).
    assert lines[1:] == [line for line in lines[1:] if re.match(r"make(\[\d+\])?: \*\*\*", line)]
