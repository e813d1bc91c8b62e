"""Three instances of the service on one PostgreSQL through PgBouncer in transaction mode,
behind HAProxy with deploy/haproxy.cfg checking /health/ready: the picture of the README's
"Beyond one machine", with the real parts.

- Started at the same moment on an empty database, they migrate exactly once.
- A refresh token rotated on one instance and replayed on another revokes the family.
- Optimistic concurrency (If-Match) holds across instances.
- A rolling restart of each instance in turn, under write load through HAProxy, gives
  the clients 0 errors and loses 0 acknowledged writes.
- An event stream on one instance receives the writes made through another; a stream
  through HAProxy whose instance stops is reopened with Last-Event-ID on another instance,
  and nothing written meanwhile is lost."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from tests.integration.event_client import opened
from tests.integration.processes import TEST_JWT_SECRET, Service, served
from tests.postgres import free_port, pgbouncer_in_front

DEPLOY = Path(__file__).parents[2] / "deploy"
# The shared configuration, and the instances named one by one (API1..API3).
HAPROXY_CONFIG = [DEPLOY / "haproxy.cfg", DEPLOY / "haproxy-servers.cfg"]
DRAIN_SECONDS = "2"


def _environment(database_url: str, directory: Path, direct_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DB_PGBOUNCER": "1",
        "LISTEN_DATABASE_URL": direct_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "INFO",
        "WORKERS": "1",
        "DATA_DIR": str(directory),
        "SHUTDOWN_DRAIN_SECONDS": DRAIN_SECONDS,
    }


def haproxy_binary() -> str:
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(binary).exists():
        raise RuntimeError("haproxy is not installed (apt install haproxy; .ci/run does)")
    return binary


@contextmanager
def haproxy(
    backends: list[int],
    directory: Path,
    configs: list[Path] = HAPROXY_CONFIG,
    **extra: str,
) -> Iterator[str]:
    """HAProxy with these configuration files, API1..APIn the backends' local ports."""
    port = free_port()
    env = {
        **os.environ,
        "HAPROXY_BIND": f"127.0.0.1:{port}",
        **{f"API{n}": f"127.0.0.1:{p}" for n, p in enumerate(backends, start=1)},
        **extra,
    }
    log = (directory / "haproxy.log").open("w")
    files = [argument for config in configs for argument in ("-f", str(config))]
    process = subprocess.Popen([haproxy_binary(), "-db", *files], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: _status(f"{base}/health/ready") == 200, 15)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.TransportError:
        return None


def _wait_until(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def pooled_url(empty_database: str) -> Iterator[str]:
    with pgbouncer_in_front(empty_database) as url:
        yield url


@pytest.fixture
def three(
    pooled_url: str, empty_database: str, tmp_path: Path
) -> Iterator[tuple[list[Service], list[Path]]]:
    """Three instances started at the same moment on the empty database."""
    ports = [free_port() for _ in range(3)]
    logs = [tmp_path / f"api{n}.log" for n in range(3)]
    with ExitStack() as stack, ThreadPoolExecutor(3) as pool:
        starting = [
            pool.submit(
                stack.enter_context,
                served(_environment(pooled_url, tmp_path, empty_database), log, port=port),
            )
            for port, log in zip(ports, logs, strict=True)
        ]
        yield [s.result() for s in starting], logs


def _upgrades(logs: list[Path]) -> list[str]:
    text = "".join(log.read_text() for log in logs)
    return re.findall(r"Running upgrade (\S*) -> (\S+)", text)


def _register(base: str, email: str) -> dict:
    answer = httpx.post(f"{base}/auth/register", json={"email": email, "password": "long enough"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_instances_migrate_once_share_sessions_and_versions(three):
    (first, second, third), logs = three
    upgrades = _upgrades(logs)
    targets = [target for _, target in upgrades]
    assert targets, "no instance migrated"
    assert len(targets) == len(set(targets)), f"migrated more than once: {upgrades}"

    session = _register(first.base, "ada@example.com")
    spent = session["refresh_token"]
    rotated = httpx.post(f"{first.base}/auth/refresh", json={"refresh_token": spent})
    assert rotated.status_code == 200
    replayed = httpx.post(f"{second.base}/auth/refresh", json={"refresh_token": spent})
    assert replayed.status_code == 401
    fresh = rotated.json()["refresh_token"]
    after = httpx.post(f"{third.base}/auth/refresh", json={"refresh_token": fresh})
    assert after.status_code == 401, "the replay on another instance revoked the whole login"

    # That login ended with the replay, and its access token with it (issue 23): a new one.
    signed_in = httpx.post(
        f"{second.base}/auth/login", json={"email": "ada@example.com", "password": "long enough"}
    )
    auth = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    task = httpx.post(f"{first.base}/tasks", json={"title": "shared"}, headers=auth)
    etag = httpx.get(f"{second.base}/tasks/{task.json()['id']}", headers=auth).headers["ETag"]
    url = f"/tasks/{task.json()['id']}"
    changed = httpx.patch(
        third.base + url, json={"title": "one"}, headers={**auth, "If-Match": etag}
    )
    assert changed.status_code == 200
    stale = httpx.patch(first.base + url, json={"title": "two"}, headers={**auth, "If-Match": etag})
    assert stale.status_code == 412
    assert httpx.get(second.base + url, headers=auth).json()["title"] == "one"


class Writers:
    """Clients creating tasks through the balancer until told to stop; every answer kept."""

    def __init__(self, base: str, auth: dict[str, str]) -> None:
        self.base, self.auth = base, auth
        self.acknowledged: list[str] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self, writer: int) -> None:
        with httpx.Client(base_url=self.base, headers=self.auth, timeout=10) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                try:
                    answer = client.post("/tasks", json={"title": f"w{writer}-{n}"})
                except httpx.TransportError as exc:
                    self.failures.append(repr(exc))
                    continue
                if answer.status_code == 201:
                    self.acknowledged.append(answer.json()["id"])
                else:
                    self.failures.append(f"{answer.status_code} {answer.text[:200]}")


def test_a_rolling_restart_under_write_load_loses_nothing(
    three, pooled_url, empty_database, tmp_path
):
    instances, _ = three
    ports = [int(s.base.rsplit(":", 1)[1]) for s in instances]
    with haproxy(ports, tmp_path) as balancer, ExitStack() as restarts:
        token = _register(balancer, "load@example.com")["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        writers = Writers(balancer, auth)
        with ThreadPoolExecutor(4) as pool:
            for n in range(4):
                pool.submit(writers.run, n)
            time.sleep(1)
            for n, (instance, port) in enumerate(zip(instances, ports, strict=True)):
                instance.process.send_signal(signal.SIGTERM)  # drains, then stops
                assert instance.process.wait(timeout=30) == 0
                env = _environment(pooled_url, tmp_path, empty_database)
                restarts.enter_context(served(env, tmp_path / f"api{n}-again.log", port=port))
                time.sleep(1.5)  # two passed checks put it back in rotation
            time.sleep(1)
            writers.stop.set()
        assert writers.failures == []
        assert len(writers.acknowledged) > 50
        assert set(writers.acknowledged) <= _listed(balancer, auth), "a write was lost"


def _listed(base: str, auth: dict[str, str]) -> set[str]:
    found: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{base}/tasks", params=params, headers=auth).json()
        found |= {t["id"] for t in page["tasks"]}
        if not (cursor := page["next_cursor"]):
            return found


def _holder(instances: list[Service], ports: list[int]) -> int:
    """Which instance holds the one connection HAProxy keeps open (the stream's; every
    other request's server connection closes after it: http-server-close)."""
    for _ in range(20):
        holding = [
            n
            for n, (instance, port) in enumerate(zip(instances, ports, strict=True))
            if any(
                c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
                for c in psutil.Process(instance.process.pid).net_connections("tcp")
            )
        ]
        if len(holding) == 1:
            return holding[0]
        time.sleep(0.1)
    raise AssertionError(f"no single instance holds the stream: {holding}")


async def test_a_stream_follows_every_instance_and_survives_its_own(three, tmp_path):
    instances, _ = three
    ports = [int(s.base.rsplit(":", 1)[1]) for s in instances]
    first, second, _ = instances
    auth = {"Authorization": f"Bearer {_register(first.base, 'live@example.com')['access_token']}"}
    async with (
        httpx.AsyncClient(base_url=first.base, timeout=10) as at_first,
        httpx.AsyncClient(base_url=second.base, timeout=10) as at_second,
        opened(at_first, auth) as stream,
    ):
        task = await at_second.post("/tasks", json={"title": "written elsewhere"}, headers=auth)
        assert (await stream.event()).json["id"] == task.json()["id"]

    with haproxy(ports, tmp_path) as balancer:
        async with httpx.AsyncClient(base_url=balancer, timeout=10) as http:
            async with opened(http, auth) as stream:
                seen = await http.post("/tasks", json={"title": "seen"}, headers=auth)
                assert (await stream.event()).json["id"] == seen.json()["id"]
                stopped = instances[_holder(instances, ports)]
                stopped.process.send_signal(signal.SIGTERM)
                await stream.ends(within=1)
                missed = [
                    (await http.post("/tasks", json={"title": f"m{n}"}, headers=auth)).json()
                    for n in range(3)
                ]
            resumed = {**auth, "Last-Event-ID": stream.last_id or ""}
            async with opened(http, resumed) as again:
                replayed = await again.events(3)
                assert [e.json["id"] for e in replayed] == [t["id"] for t in missed]
                await asyncio.to_thread(stopped.process.wait, 30)
                assert stopped.process.returncode == 0
                live = await http.post("/tasks", json={"title": "live"}, headers=auth)
                assert (await again.event()).json["id"] == live.json()["id"]
