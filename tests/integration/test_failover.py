"""Losing the database server loses nothing: two instances of the service on a multi-host
DATABASE_URL in front of a pg_auto_failover formation (monitor, primary, synchronous
secondary), writers creating tasks with Idempotency-Keys (retried with the same key on a
503 or a lost connection) and readers, while the primary's machine is lost (its keeper and
postmaster killed with SIGKILL), the old primary rejoins, and a planned switchover follows.

Afterwards every create that was acknowledged exists exactly once, clients saw only 2xx
and 503 with Retry-After, writes came back within 30 s of the loss with no restart of the
service, and the switchover cost at most 5 s of 503s. Unless pg_auto_failover itself took
longer to move the primary (a keeper late on a loaded host): then the 5 s are not held,
only that the move took at most 10 s and the 503s ended within 1 s of it. The figures are
printed, and the monitor's timeline of the switchover."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.integration import ha_formation
from tests.integration.ha_formation import Formation
from tests.integration.processes import TEST_JWT_SECRET, Service, served

if not ha_formation.available():
    # On CI a missing install is a failure, not a skip: .ci/run installs the packages.
    if os.environ.get("CI") == "true":
        pytest.fail("pg_auto_failover is not installed", pytrace=False)
    pytest.skip(
        "pg_auto_failover is not installed (apt install postgresql-15-auto-failover "
        "pg-auto-failover-cli; .ci/run does)",
        allow_module_level=True,
    )

WRITERS = 6
READERS = 2
REQUEST_TIMEOUT_S = 15.0
RECOVERY_LIMIT_S = 30.0
SWITCHOVER_503_LIMIT_S = 5.0
# How long after pg_auto_failover has moved the primary the service may go on answering
# 503, and how long pg_auto_failover may take at most (its keeper late, on a loaded host).
SERVICE_SHARE_S = 1.0
PRIMARY_MOVE_LIMIT_S = 10.0


@dataclass
class Call:
    started: float
    ended: float
    kind: str
    status: int | None  # None: no answer (connection refused, reset or timed out)
    retry_after: str | None = None


@dataclass
class Load:
    bases: list[str]
    token_of: dict[str, str]
    calls: list[Call] = field(default_factory=list)
    acknowledged: dict[str, str] = field(default_factory=dict)  # key -> title
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def _send(self, client: httpx.Client, kind: str, method: str, url: str, **kw: object) -> Call:
        started = time.monotonic()
        try:
            response = client.request(method, url, timeout=REQUEST_TIMEOUT_S, **kw)  # type: ignore[arg-type]
        except httpx.TransportError:
            call = Call(started, time.monotonic(), kind, None)
        else:
            call = Call(
                started, time.monotonic(), kind, response.status_code,
                response.headers.get("retry-after"),
            )  # fmt: skip
        self._record(call)
        return call

    def writer(self, number: int) -> None:
        base = self.bases[number % len(self.bases)]
        headers = {"Authorization": f"Bearer {self.token_of[base]}"}
        with httpx.Client(headers=headers) as client:
            while not self.stop.is_set():
                key, title = str(uuid.uuid4()), f"w{number}-{uuid.uuid4().hex[:12]}"
                # Retried with the same key until it is acknowledged, as a careful client does.
                while True:
                    call = self._send(
                        client, "create", "POST", f"{base}/tasks",
                        json={"title": title}, headers={"Idempotency-Key": key},
                    )  # fmt: skip
                    if call.status is not None and 200 <= call.status < 300:
                        with self.lock:
                            self.acknowledged[key] = title
                        break
                    time.sleep(0.2)

    def reader(self, number: int) -> None:
        base = self.bases[number % len(self.bases)]
        headers = {"Authorization": f"Bearer {self.token_of[base]}"}
        with httpx.Client(headers=headers) as client:
            while not self.stop.is_set():
                self._send(client, "list", "GET", f"{base}/tasks?limit=5")
                time.sleep(0.05)

    def between(self, start: float, end: float) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if start <= c.started < end]


def _signed_in(base: str) -> str:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    answer = httpx.post(
        f"{base}/auth/register", json={"email": email, "password": "long enough"}, timeout=30
    )
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["access_token"]
    return token


def _instances(formation: Formation, directory: Path, stack: ExitStack) -> list[Service]:
    env = {
        "DATABASE_URL": formation.database_url(),
        "JWT_SECRET": TEST_JWT_SECRET,
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "INFO",
        "WORKERS": "1",
        "DATA_DIR": str(directory),
        "DB_CONNECT_TIMEOUT": "60",
    }
    return [
        stack.enter_context(served(env, directory / f"api{n}.log", ready_within=120))
        for n in (1, 2)
    ]


def _first_success_after(load: Load, moment: float) -> float | None:
    ends = [
        c.ended
        for c in load.between(moment, float("inf"))
        if c.kind == "create" and c.status is not None and 200 <= c.status < 300
    ]
    return min(ends) - moment if ends else None


def _wait_for_writes(load: Load, moment: float, within: float) -> float:
    deadline = moment + within
    while (recovered := _first_success_after(load, moment)) is None:
        assert time.monotonic() < deadline, "writes did not come back"
        time.sleep(0.1)
    return recovered


def _p99(calls: list[Call]) -> float:
    latencies = sorted(c.ended - c.started for c in calls)
    if len(latencies) < 2:
        return latencies[0] * 1000 if latencies else 0.0
    return statistics.quantiles(latencies, n=100)[98] * 1000


def _unavailable_span(calls: list[Call]) -> float:
    """From the first 503 to the end of the last one, in seconds (0 without any)."""
    refused = [c for c in calls if c.status == 503]
    return max(c.ended for c in refused) - min(c.started for c in refused) if refused else 0.0


def _refusals(calls: list[Call], since: float) -> str:
    """When each 503 started and ended, in seconds after `since`, and on what."""
    return "503s: " + ", ".join(
        f"{c.kind} {c.started - since:.2f}-{c.ended - since:.2f}" for c in calls if c.status == 503
    )


@pytest.fixture
def formation() -> Iterator[Formation]:
    # Not under tmp_path: the postgres system user must reach it, and pytest's base
    # directory is its owner's alone.
    directory = Path(tempfile.mkdtemp(prefix="todo-ha-"))
    formation = Formation(directory)
    try:
        formation.start()
        yield formation
    finally:
        formation.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_losing_the_primary_loses_no_acknowledged_write(
    formation: Formation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ExitStack() as stack:
        services = _instances(formation, tmp_path, stack)
        bases = [s.base for s in services]
        load = Load(bases, {base: _signed_in(base) for base in bases})
        threads = [threading.Thread(target=load.writer, args=(n,)) for n in range(WRITERS)]
        threads += [threading.Thread(target=load.reader, args=(n,)) for n in range(READERS)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(3)
            old_primary = formation.primary()
            formation.lose(old_primary)
            lost_at = time.monotonic()
            recovery = _wait_for_writes(load, lost_at, RECOVERY_LIMIT_S)
            time.sleep(3)
            after_failover = time.monotonic()

            formation.rejoin(old_primary)
            formation.wait_for({old_primary.name: "secondary"}, within=120)
            time.sleep(2)
            took_over = formation.primary()  # the switchover moves the primary back from it
            switch_at, switch_epoch = time.monotonic(), time.time()
            formation.switchover()
            formation.wait_for({old_primary.name: "primary"}, within=60)
            switch_recovery = _wait_for_writes(load, switch_at, RECOVERY_LIMIT_S)
            time.sleep(3)
            ended = time.monotonic()
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(timeout=60)

        failover = load.between(lost_at, after_failover)
        switchover = load.between(switch_at, ended)
        events = formation.events_since(switch_epoch)
        moved = ha_formation.primary_moved(events, took_over, old_primary)
        statuses = Counter(c.status for c in load.calls)
        # Every acknowledged create must exist exactly once, on the current primary. Counted
        # before any assertion, so that a failing run reports all of what went wrong.
        titles = _all_titles(bases[0], load.token_of[bases[0]]) + _all_titles(
            bases[1], load.token_of[bases[1]]
        )
        counted = Counter(titles)
        missing = [t for t in load.acknowledged.values() if counted[t] == 0]
        doubled = [t for t, n in counted.items() if n > 1]
        figures = {
            "writes back after (s)": round(recovery, 1),
            "503s during the failover": sum(c.status == 503 for c in failover),
            "503s during the switchover": sum(c.status == 503 for c in switchover),
            "switchover 503 span (s)": round(_unavailable_span(switchover), 1),
            "old primary stopped and new one promoted after (s)": moved and round(moved, 1),
            "p99 during the failover (ms)": round(_p99(failover)),
            "p99 after it (ms)": round(_p99(load.between(after_failover, switch_at))),
            "creates acknowledged": len(load.acknowledged),
            "lost": len(missing),
            "stored twice": len(doubled),
            "statuses": dict(statuses),
        }
        with capsys.disabled():
            print("\nfailover figures:", figures)
            # Seconds after the switchover began, as are the 503s a failure lists.
            print("the switchover as the monitor saw it:", *events, sep="\n  ")

        # Only successes and 503 with Retry-After: never a 500, never a hang or a reset.
        assert set(statuses) <= {200, 201, 503}, statuses
        assert all(c.retry_after for c in load.calls if c.status == 503)
        assert not missing, f"{len(missing)} acknowledged creates lost"
        assert not doubled, f"{len(doubled)} creates stored twice"
        assert len(titles) == len(load.acknowledged)
        assert recovery < RECOVERY_LIMIT_S
        assert switch_recovery < RECOVERY_LIMIT_S
        # A switchover's 503s last until pg_auto_failover has moved the primary: the old one
        # stopped (until then its commits wait for a standby that left) and the new one
        # promoted. A keeper late on a loaded host stretches that past 5 s
        # (deploy/ha/README.md); the service's share is then what is held: 1 s after it.
        assert moved is not None, "the monitor recorded no stop of the old primary or promotion"
        assert moved <= PRIMARY_MOVE_LIMIT_S
        refused = [c.ended - switch_at for c in switchover if c.status == 503]
        assert (
            _unavailable_span(switchover) <= SWITCHOVER_503_LIMIT_S
            or max(refused) <= moved + SERVICE_SHARE_S
        ), _refusals(switchover, switch_at)


def _all_titles(base: str, token: str) -> list[str]:
    titles: list[str] = []
    cursor: str | None = None
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        while True:
            query = f"?limit=200{'&cursor=' + cursor if cursor else ''}"
            page = client.get(f"{base}/tasks{query}")
            assert page.status_code == 200, page.text
            body = page.json()
            titles += [t["title"] for t in body["tasks"]]
            cursor = body["next_cursor"]
            if cursor is None:
                return titles
