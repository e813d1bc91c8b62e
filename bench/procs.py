"""Server processes: the service as in production (`todo-api serve`) and the ceiling app,
each started in a session of its own with its log in a file, waited for, and stopped with
SIGTERM (then SIGKILL) on the way out; and the peak memory of their worker processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise SystemExit(f"the server exited ({self.process.returncode}):\n{_tail(self.log)}")

    def worker_processes(self) -> list[psutil.Process]:
        """The processes that answer requests: the children of uvicorn's supervisor
        (multiprocessing's helper processes aside), or the process itself with one worker."""
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        workers = [c for c in children if "resource_tracker" not in " ".join(_cmdline(c))]
        return workers or [psutil.Process(self.process.pid)]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return list(process.cmdline())
    except psutil.Error:
        return []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def serving(command: list[str], env: dict[str, str], probe: str, log: Path) -> Iterator[Server]:
    """Start a server on a free loopback port ({port} in command/env), wait until `probe`
    answers 200 (at most 120 s), yield it, stop it."""
    port = str(free_port())
    command = [c.replace("{port}", port) for c in command]
    environment = {**os.environ, **{k: v.replace("{port}", port) for k, v in env.items()}}
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command, env=environment, stdout=sink, stderr=sink, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 120
        while not _answers(server.base + probe):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{command[0]} did not come up; its log:\n{_tail(log)}")
            time.sleep(0.2)
        yield server
    finally:
        _stop(process)


def _tail(log: Path, size: int = 5000) -> str:
    return log.read_text(errors="replace")[-size:]


def service_command() -> list[str]:
    cli = Path(sys.executable).with_name("todo-api")
    return [str(cli), "serve"] if cli.exists() else [sys.executable, "-m", "todo_api.cli", "serve"]


def ceiling_command(workers: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "ceiling_app:app", "--app-dir", str(BENCH_DIR),
        "--host", "127.0.0.1", "--port", "{port}", "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


@dataclass
class Watch:
    """Samples the workers every `interval` s in a background thread while load runs:
    resident memory (the peak of their sum, each one's own peak, in bytes), and CPU used
    by each worker and by the whole machine (to see a saturated or a busy machine)."""

    server: Server
    # The postmaster of the service's database server: only its processes count as
    # PostgreSQL's CPU (other servers on the machine, such as other people's test runs,
    # do not). None: every process named postgres.
    database_pid: int | None = None
    interval: float = 0.2
    total: int = 0
    per_worker: dict[int, int] = field(default_factory=dict)
    cpu_start: dict[int, float] = field(default_factory=dict)
    cpu_end: dict[int, float] = field(default_factory=dict)
    db_start: float = 0.0
    db_end: float = 0.0
    _done: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        sizes = {}
        for worker in self.server.worker_processes():
            try:
                sizes[worker.pid] = worker.memory_info().rss
                times = worker.cpu_times()
            except psutil.Error:
                continue
            self.cpu_start.setdefault(worker.pid, times.user + times.system)
            self.cpu_end[worker.pid] = times.user + times.system
        self.total = max(self.total, sum(sizes.values()))
        for pid, rss in sizes.items():
            self.per_worker[pid] = max(self.per_worker.get(pid, 0), rss)

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            self._sample()

    def _database_cpu(self) -> float:
        """CPU seconds used so far by PostgreSQL: its live processes, and the backends that
        have ended (their time is the postmaster's children's), so that connections opened
        and closed during a run count too."""
        return database_cpu_seconds(self.database_pid)

    @contextmanager
    def watching(self) -> Iterator[Watch]:
        self.db_start = self._database_cpu()
        self._sample()
        psutil.cpu_percent()  # starts the machine-wide measurement
        began = time.monotonic()
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._done.set()
            thread.join()
            self._sample()
            self.db_end = self._database_cpu()
            self.seconds = time.monotonic() - began
            self.machine_cpu_percent = psutil.cpu_percent()

    def database_cpu_percent(self) -> float:
        """PostgreSQL's CPU over the run, in % of one core."""
        return 100 * (self.db_end - self.db_start) / self.seconds if self.seconds else 0.0

    def worker_cpu_percent(self) -> list[float]:
        """Each worker's CPU use over the run, in % of one core, busiest first."""
        used = [self.cpu_end[pid] - self.cpu_start[pid] for pid in self.cpu_end]
        return sorted((100 * u / self.seconds for u in used), reverse=True)


def database_cpu_seconds(postmaster: int | None = None) -> float:
    """CPU seconds used so far by one PostgreSQL server (the postmaster and its children,
    ended ones included), or by every process named postgres."""
    if postmaster is None:
        processes = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
    else:
        try:
            root = psutil.Process(postmaster)
            processes = [root, *root.children()]
        except psutil.NoSuchProcess:
            return 0.0
    used = 0.0
    for process in processes:
        try:
            cpu = process.cpu_times()
        except psutil.Error:
            continue  # a backend that ended meanwhile: its time is the postmaster's now
        used += cpu.user + cpu.system + cpu.children_user + cpu.children_system
    return used


def wait_until_idle(server: Server, limit_s: float = 20.0, busy_percent: float = 5.0) -> float:
    """Between scenarios: until the workers are done with what the last one left them
    (wrk drops its connections, not the work they started). Returns the seconds waited."""
    began = time.monotonic()
    workers = server.worker_processes()
    for worker in workers:
        worker.cpu_percent()
    while time.monotonic() - began < limit_s:
        time.sleep(0.5)
        try:
            busy = sum(w.cpu_percent() for w in workers)
        except psutil.Error:
            break
        if busy < busy_percent:
            break
    return time.monotonic() - began
