"""docker-compose.yml and the README's container commands, checked without a Docker engine:
the file against the Compose specification's JSON schema (check-jsonschema ships it), and
what the schema cannot say: healthchecks, start order, restart policies, JWT_SECRET."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPOSITORY = Path(__file__).parents[2]
COMPOSE = REPOSITORY / "docker-compose.yml"
SERVICES = yaml.safe_load(COMPOSE.read_text())["services"]


def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    checker = Path(sys.executable).with_name("check-jsonschema")
    return subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_compose_file_follows_the_compose_specification():
    result = check_compose(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout, result.stdout


def test_the_checker_refuses_what_the_specification_does_not_allow(tmp_path: Path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("service_healthy", "service_happy"))
    result = check_compose(broken)
    assert result.returncode == 1, result.stdout + result.stderr


def test_every_service_has_a_healthcheck_and_a_restart_policy():
    for name, service in SERVICES.items():
        assert service.get("restart") == "unless-stopped", name
    for name in ("postgres", "pgbouncer"):
        assert SERVICES[name]["healthcheck"]["test"], name
    # The API container's own healthcheck is the Dockerfile's HEALTHCHECK.
    assert "HEALTHCHECK" in (REPOSITORY / "Dockerfile").read_text()


def test_the_api_waits_for_its_database_and_pgbouncer_to_be_healthy():
    waits = SERVICES["api"]["depends_on"]
    assert waits["postgres"]["condition"] == "service_healthy"
    assert waits["pgbouncer"]["condition"] == "service_healthy"
    # PgBouncer runs only with --profile pgbouncer: without it the API must still start.
    assert SERVICES["pgbouncer"]["profiles"] == ["pgbouncer"]
    assert waits["pgbouncer"]["required"] is False


def test_jwt_secret_is_required_and_every_example_command_sets_it():
    assert SERVICES["api"]["environment"]["JWT_SECRET"].startswith("${JWT_SECRET:?")
    readme = (REPOSITORY / "README.md").read_text()
    # Each command line (continuations joined) of the file's comments and the README's blocks.
    commands = [
        line
        for text in (COMPOSE.read_text(), readme)
        for line in text.replace("\\\n", " ").splitlines()
        if re.search(r"\bdocker compose\b.*\bup\b", line)
    ]
    assert len(commands) >= 6, commands
    for command in commands:
        assert re.search(r"\bJWT_SECRET=\$\(openssl rand -hex 32\)", command), command
