"""docker-compose.yml and the container commands of docs/deployment.md, checked without a
Docker engine: the file against the Compose specification's JSON schema (check-jsonschema
ships it), and what the schema cannot say: healthchecks, start order, restart policies,
JWT_SECRET."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from todo_api.settings import Settings

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
    deployment = (REPOSITORY / "docs" / "deployment.md").read_text()
    # Each command line (continuations joined) of the file's comments and the docs' blocks.
    commands = [
        line
        for text in (COMPOSE.read_text(), deployment)
        for line in text.replace("\\\n", " ").splitlines()
        if re.search(r"\bdocker compose\b.*\bup\b", line)
    ]
    assert len(commands) >= 6, commands
    for command in commands:
        assert re.search(r"\bJWT_SECRET=\$\(openssl rand -hex 32\)", command), command


def test_every_setting_reaches_the_api_container():
    """Through the .env file (env_file), and the few compose sets itself, each a setting."""
    api = SERVICES["api"]
    assert api["env_file"] == [{"path": ".env", "required": False}]
    settings = set(Settings.model_fields)
    assert set(api["environment"]) <= settings, set(api["environment"]) - settings


def test_the_example_env_file_lists_every_setting_with_its_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    example = (REPOSITORY / ".env.example").read_text()
    listed = dict(re.findall(r"^# ([A-Z_]+)=(.*)$", example, re.M))
    assert set(listed) == set(Settings.model_fields)
    # Uncommented, the file loads, and says what the defaults are.
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    given = {name: value for name, value in listed.items() if value}
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in given.items()))
    monkeypatch.chdir(tmp_path)
    assert Settings() == Settings(_env_file=None)


def test_the_balancer_finds_the_instances_through_docker_dns():
    haproxy = SERVICES["haproxy"]
    mounted = {
        volume.split(":")[1]: REPOSITORY / volume.split(":")[0] for volume in haproxy["volumes"]
    }
    files = [haproxy["command"][i + 1] for i, arg in enumerate(haproxy["command"]) if arg == "-f"]
    assert [mounted[f].name for f in files] == ["haproxy.cfg", "haproxy-dns.cfg"]
    assert all(mounted[f].exists() for f in files)
    assert haproxy["environment"]["API_INSTANCES"] == "api:8000"
    assert "server-template" in (REPOSITORY / "deploy" / "haproxy-dns.cfg").read_text()
