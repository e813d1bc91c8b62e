"""A pg_auto_failover formation on loopback ports, for the failover tests: one monitor, a
primary and a synchronous secondary, each a `pg_autoctl run` process of its own, run as
the `postgres` system user (PostgreSQL refuses to run as root). The monitor's health
checks are tuned so that a lost primary is replaced within seconds; deploy/ha/README.md
gives the production values."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from tests.postgres import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_AUTOCTL = shutil.which("pg_autoctl") or "/usr/bin/pg_autoctl"
SYSTEM_USER = "postgres"
# How fast the monitor gives up on a primary, for a test (production: deploy/ha/README.md).
TEST_MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "2000",
    "pgautofailover.primary_demote_timeout": "3000",
}


def available() -> bool:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        return False
    return Path(PG_AUTOCTL).exists() and (PG_BIN / "postgres").exists()


def _as_postgres(*command: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SYSTEM_USER, "--", *command]
    return list(command)


def _environment(directory: Path) -> dict[str, str]:
    # pg_autoctl keeps each node's configuration and state under the XDG directories,
    # keyed by PGDATA: inside the formation's directory, so no run sees another's.
    return {
        **os.environ,
        "PATH": f"{PG_BIN}:{os.environ['PATH']}",
        "XDG_CONFIG_HOME": str(directory / "config"),
        "XDG_DATA_HOME": str(directory / "data"),
    }


@dataclass
class Node:
    name: str
    port: int
    pgdata: Path
    keeper: subprocess.Popen[bytes] | None = None


class Event(NamedTuple):
    after: float  # seconds after the time asked from
    node: str
    reported: str
    goal: str

    def __str__(self) -> str:
        return f"{self.after:.2f} {self.node} {self.reported} -> {self.goal}"


# What a keeper reports once it has stopped its PostgreSQL (fsm_stop_postgres in pg_autoctl's
# fsm.c); until then an old primary takes read-write connections whose commits wait for a
# standby that left. And what a promoted node reports.
_STOPPED = ("draining", "demote_timeout", "demoted")
_PROMOTED = ("wait_primary", "primary")


def primary_moved(events: list[Event], old: Node, new: Node) -> float | None:
    """When, by the keepers' own reports, `old` had stopped its PostgreSQL and `new` was
    promoted; None if either is not reported."""
    stopped, promoted = _first_report(events, old, _STOPPED), _first_report(events, new, _PROMOTED)
    return None if stopped is None or promoted is None else max(stopped, promoted)


def _first_report(events: list[Event], node: Node, states: tuple[str, ...]) -> float | None:
    return next((e.after for e in events if e.node == node.name and e.reported in states), None)


@dataclass
class Formation:
    directory: Path
    monitor_port: int = field(default_factory=free_port)
    nodes: dict[str, Node] = field(default_factory=dict)
    _monitor: subprocess.Popen[bytes] | None = None

    @property
    def monitor_uri(self) -> str:
        return f"postgres://autoctl_node@127.0.0.1:{self.monitor_port}/pg_auto_failover?sslmode=disable"

    def database_url(self, database: str = "todo") -> str:
        """The libpq multi-host URL that finds whichever node is primary."""
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in self.nodes.values())
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write"

    def _run(self, *command: str, timeout: float = 120) -> str:
        done = subprocess.run(
            _as_postgres(PG_AUTOCTL, *command),
            env=_environment(self.directory),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.directory,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_autoctl {command[0]} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def _keeper(self, pgdata: Path, name: str) -> subprocess.Popen[bytes]:
        with (self.directory / f"{name}.log").open("ab") as log:
            return subprocess.Popen(
                _as_postgres(PG_AUTOCTL, "run", "--pgdata", str(pgdata)),
                env=_environment(self.directory),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
            )

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.directory, user=SYSTEM_USER)
        monitor = self.directory / "monitor"
        self._run(
            "create", "monitor", "--pgdata", str(monitor), "--pgport", str(self.monitor_port),
            "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl",
        )  # fmt: skip
        self._monitor = self._keeper(monitor, "monitor")
        self._wait(lambda: self._monitor_answers(), "the monitor to answer")
        self._tune_monitor()
        for name in ("node1", "node2"):
            self.add_node(name)
        self.wait_for({"node1": "primary", "node2": "secondary"})

    def add_node(self, name: str) -> None:
        node = Node(name, free_port(), self.directory / name)
        self.nodes[name] = node
        self._run(
            "create", "postgres", "--pgdata", str(node.pgdata), "--pgport", str(node.port),
            "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl", "--name", name,
            "--dbname", "todo", "--monitor", self.monitor_uri,
        )  # fmt: skip
        node.keeper = self._keeper(node.pgdata, name)

    def _monitor_answers(self) -> bool:
        try:
            self._sql(self.monitor_port, "pg_auto_failover", "SELECT 1")
        except RuntimeError:
            return False
        return True

    def _sql(self, port: int, database: str, statement: str) -> str:
        done = subprocess.run(
            _as_postgres(str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port),
                         "-d", database, "-Atc", statement),
            env=_environment(self.directory), capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        return done.stdout.strip()

    def _tune_monitor(self) -> None:
        for name, value in TEST_MONITOR_SETTINGS.items():
            self._sql(self.monitor_port, "pg_auto_failover", f"ALTER SYSTEM SET {name} = {value}")
        self._sql(self.monitor_port, "pg_auto_failover", "SELECT pg_reload_conf()")

    def states(self) -> dict[str, str]:
        """Each node's state as the monitor reports it."""
        out = self._run("show", "state", "--pgdata", str(self.directory / "monitor"), "--json")
        return {n["nodename"]: n["current_group_state"] for n in json.loads(out)}

    def wait_for(self, wanted: dict[str, str], within: float = 120) -> None:
        self._wait(lambda: _contains(self._safe_states(), wanted), f"states {wanted}", within)

    def _safe_states(self) -> dict[str, str]:
        try:
            return self.states()
        except (RuntimeError, ValueError, KeyError):
            return {}

    def primary(self) -> Node:
        states = self.states()
        return next(n for name, n in self.nodes.items() if states.get(name) == "primary")

    def lose(self, node: Node) -> None:
        """The node's machine is gone: its keeper (which would restart PostgreSQL) and its
        postmaster are killed with SIGKILL."""
        assert node.keeper is not None
        postmaster = int((node.pgdata / "postmaster.pid").read_text().split()[0])
        _signal_tree(node.keeper.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(postmaster, signal.SIGKILL)
        node.keeper.wait()

    def rejoin(self, node: Node) -> None:
        """Start the lost node's keeper again: it rejoins as a secondary (pg_rewind)."""
        node.keeper = self._keeper(node.pgdata, node.name)

    def events_since(self, epoch: float) -> list[Event]:
        """The monitor's state changes from the given wall-clock time on, in order."""
        rows = self._sql(
            self.monitor_port, "pg_auto_failover",
            f"SELECT extract(epoch FROM eventtime) - {epoch:.3f}, nodename, reportedstate,"
            f" goalstate FROM pgautofailover.event WHERE eventtime >= to_timestamp({epoch:.3f})"
            " ORDER BY eventid",
        )  # fmt: skip
        return [
            Event(float(after), node, reported, goal)
            for after, node, reported, goal in (row.split("|") for row in rows.splitlines())
        ]

    def switchover(self) -> None:
        self._run("perform", "switchover", "--pgdata", str(self.directory / "monitor"))

    def stop(self) -> None:
        keepers = [n.keeper for n in self.nodes.values()] + [self._monitor]
        for keeper in keepers:
            if keeper is not None and keeper.poll() is None:
                _signal_tree(keeper.pid, signal.SIGTERM)
        for keeper in keepers:
            if keeper is None:
                continue
            try:
                keeper.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _signal_tree(keeper.pid, signal.SIGKILL)
                keeper.wait()
        _kill_strays(self.directory)
        for pgdata in [self.directory / "monitor", *(n.pgdata for n in self.nodes.values())]:
            subprocess.run(
                _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(pgdata), "-m", "immediate",
                             "stop"),
                env=_environment(self.directory), capture_output=True, timeout=60,
            )  # fmt: skip

    @staticmethod
    def _wait(condition: object, what: str, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while not condition():  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {within} s for {what}")
            time.sleep(0.25)


def _contains(states: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(states.get(name) == state for name, state in wanted.items())


def _children(pid: int) -> list[int]:
    done = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in done.stdout.split()]


def _tree(pid: int) -> list[int]:
    """The process and its descendants, each parent before its children."""
    return [pid, *(p for child in _children(pid) for p in _tree(child))]


def _signal_tree(pid: int, sig: signal.Signals) -> None:
    """`runuser` runs the keeper as a child, and the keeper runs its services as children:
    signal all of them (PostgreSQL's own processes are not in that tree). Parents first:
    the keeper restarts a service it sees die, and a service started after the tree was
    read would outlive it (seen once: a "start/stop postgres" left running under init,
    which kept restarting its PostgreSQL while the teardown waited for it to stop)."""
    for process in _tree(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process, sig)


def _kill_strays(directory: Path) -> None:
    """Kill what still runs with this formation's configuration (pg_autoctl's services
    whatever their parent now is): only then can its PostgreSQL servers stay stopped."""
    marker = f"XDG_CONFIG_HOME={directory / 'config'}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
