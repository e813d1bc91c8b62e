"""`todo-api serve`, the command behind `make run`, as a user meets it: no DATABASE_URL, so
an embedded PostgreSQL under DATA_DIR; data and the generated JWT secret survive a restart;
SIGTERM stops the service and its database."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from tests.integration.processes import CLI, served


def _environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "JWT_SECRET"}}
    return {**env, "DATA_DIR": str(data_dir), "BCRYPT_ROUNDS": "4"}


def _postmasters(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and str(data_dir / "pgdata") in cmdline:
            found.append(process)
    return found


@contextmanager
def serving(data_dir: Path) -> Iterator[str]:
    """As `make run` does: no DATABASE_URL, no JWT_SECRET."""
    with served(_environment(data_dir), data_dir / "service.log") as service:
        yield service.base


def test_serve_embeds_postgres_and_keeps_data_and_secret(tmp_path: Path):
    credentials = {"email": "persist@example.com", "password": "long enough"}
    with serving(tmp_path) as base:
        registered = httpx.post(f"{base}/auth/register", json=credentials)
        assert registered.status_code == 201, registered.text
        token = registered.json()["access_token"]
        created = httpx.post(
            f"{base}/tasks",
            json={"title": "survive a restart"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201
        assert _postmasters(tmp_path), "the embedded server should be running"
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o077 == 0, "secret readable by others"
    assert not _postmasters(tmp_path), "SIGTERM should stop the embedded server too"

    with serving(tmp_path) as base:
        # The token from before the restart is still valid: the secret was kept.
        listed = httpx.get(f"{base}/tasks", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200
        assert [t["title"] for t in listed.json()["tasks"]] == ["survive a restart"]
        assert httpx.post(f"{base}/auth/login", json=credentials).status_code == 200


def test_production_without_a_strong_secret_refuses_to_start(tmp_path: Path):
    for secret in (None, "too-short"):
        extra = {"APP_ENV": "production", **({"JWT_SECRET": secret} if secret else {})}
        env = {**_environment(tmp_path), **extra}
        result = subprocess.run([CLI, "serve"], env=env, capture_output=True, timeout=60)
        assert result.returncode != 0
        assert b"JWT_SECRET must be set to at least 32 bytes" in result.stderr
        assert not (tmp_path / "pgdata").exists(), "nothing should start before the check"


def _slow_register(base: str, pool: ThreadPoolExecutor) -> Future[httpx.Response]:
    """A registration still hashing (BCRYPT_ROUNDS=14: about a second) when this returns."""
    in_flight = pool.submit(
        httpx.post,
        f"{base}/auth/register",
        json={"email": "slow@example.com", "password": "long enough"},
        timeout=30,
    )
    time.sleep(0.3)
    return in_flight


def test_sigterm_finishes_the_request_in_flight_then_stops(tmp_path: Path):
    env = {**_environment(tmp_path), "BCRYPT_ROUNDS": "14"}  # about a second per hash
    with served(env, tmp_path / "service.log") as service, ThreadPoolExecutor(1) as pool:
        in_flight = _slow_register(service.base, pool)
        assert not in_flight.done()
        service.process.send_signal(signal.SIGTERM)
        assert in_flight.result().status_code == 201
        assert service.process.wait(timeout=30) == 0
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{service.base}/health/live", timeout=2)
    assert not _postmasters(tmp_path)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_drains_readiness_first_then_finishes_in_flight_and_exits(
    tmp_path: Path, workers: str
):
    env = {
        **_environment(tmp_path),
        "BCRYPT_ROUNDS": "14",  # about a second per hash
        "SHUTDOWN_DRAIN_SECONDS": "3",
        "WORKERS": workers,
    }
    with served(env, tmp_path / "service.log") as service, ThreadPoolExecutor(1) as pool:
        in_flight = _slow_register(service.base, pool)
        began = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        # A load balancer's check sees the instance leaving; new connections are still
        # accepted and served meanwhile.
        for _ in range(4):
            assert httpx.get(f"{service.base}/health/ready", timeout=5).status_code == 503
            assert httpx.get(f"{service.base}/health/live", timeout=5).status_code == 200
        assert in_flight.result().status_code == 201
        assert service.process.wait(timeout=30) == 0
        assert time.monotonic() - began >= 3, "stopped before the drain time"
    assert not _postmasters(tmp_path)
