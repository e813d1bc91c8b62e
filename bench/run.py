"""`make bench`: the service under load, as in production, on this machine.

Sets up its own PostgreSQL (embedded, or the server of BENCH_DATABASE_URL), starts
`todo-api serve` with APP_ENV=production and one worker per core, seeds users and tasks
with SQL, measures three ceilings (a bare FastAPI app, `pgbench -S`, raw bcrypt), drives
every scenario with wrk over loopback for a fixed time, and writes bench/results/latest.md
and latest.json. `--scale 1m` instead runs the same scenarios at two sizes of data, like for
like: 100 users of 250 tasks, then 1,000,000 tasks (reads as a user holding 100,000 of them,
writes as 100 users holding 595,000); see scale_suite.

Environment: BENCH_DURATION (s per scenario, default 10), BENCH_DATABASE_URL, and any of
the service's own variables (DB_POOL_SIZE, ...) to try another setting.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from todo_api.settings import Settings

import pg
import profile_summary
import report
import report_md
import seed
import streams
from loadgen import Load, require_wrk, run_wrk, wrk_version
from procs import Server, Watch, ceiling_command, service_command, serving, wait_until_idle

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work"  # scratch of the last run: data files, logs, wrk output
MB = 1024 * 1024
SERVICE_DB = "todo_bench"
PGBENCH_DB = "todo_bench_pgbench"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    script: str
    connections: int = 100
    env: dict[str, str] = field(default_factory=dict)
    delete_pool: bool = False
    # Another load at the same time, measured on its own: get one beside the logins.
    beside: str | None = None
    # The users that drive it, by name (Bench.crowds); None: the suite's.
    crowd: str | None = None


def main_suite(n: int, auth_n: int) -> list[Scenario]:
    """The issue's scenarios: n connections for the task calls, auth_n for bcrypt's."""
    return [
        Scenario("list", "list my tasks (page of 50)", "list.lua", n),
        Scenario("get", "get one task", "get.lua", n),
        Scenario("create", "create a task", "create.lua", n),
        Scenario("update", "partial update (PATCH)", "update.lua", n),
        Scenario("delete", "delete a task", "delete.lua", n, delete_pool=True),
        Scenario("mix", "70% get / 20% update / 10% create", "mix.lua", n),
        Scenario("register", "register (bcrypt hash)", "register.lua", auth_n),
        Scenario("login", "login (bcrypt verify)", "login.lua", auth_n),
        Scenario(
            "login+get", "login, and get one beside it", "login.lua", auth_n, beside="get.lua"
        ),
        *planning_suite(n),
        *sync_suite(n),
    ]


def sync_suite(n: int) -> list[Scenario]:
    """Issue 21's change feed, at both scales: a page after a token that many changes
    follow (seed.mark_changes), and the first page of a full sync. At a tenth of the
    connections (10 of 100): a page of 100 tasks costs the workers about 4 times a get, so
    in wrk's closed loop 100 connections would measure the queue (mean latency =
    connections / rate), not the page, against the issue's p95 < 50 ms."""
    feed = max(1, n // 10)
    return [
        Scenario("changes", "change feed, a page after a token (limit=100)", "changes.lua", feed),
        Scenario(
            "changes-full",
            "change feed, full sync's first page (limit=100)",
            "changes.lua",
            feed,
            {"BENCH_FULL_SYNC": "1"},
        ),
    ]


def planning_suite(n: int, writers: str | None = None) -> list[Scenario]:
    """Issue 20's calls, at both scales: search, a filtered list, a sort by due date, a move
    (by the `writers` crowd)."""
    return [
        Scenario("search-1", "search, q of 1 word", "list.lua", n, {"BENCH_QUERY": "q=call"}),
        Scenario(
            "search-2", "search, q of 2 words", "list.lua", n, {"BENCH_QUERY": "q=notes%20wri"}
        ),
        Scenario(
            "list-label",
            "list, label=work&completed=false",
            "list.lua",
            n,
            {"BENCH_QUERY": "limit=50&label=work&completed=false"},
        ),
        Scenario(
            "list-due", "list, sort=due_at", "list.lua", n, {"BENCH_QUERY": "limit=50&sort=due_at"}
        ),
        Scenario("move", "move a task (POST /tasks/{id}/move)", "move.lua", n, crowd=writers),
    ]


def scale_suite(n: int) -> list[Scenario]:
    """The same calls at both scales, like for like, so that only the data's size differs:
    the small users hold enough tasks (SMALL_SCALE_TASKS) that every page is as full as the
    big user's, and the writes go to users in turn at both scales (at the large one, 100
    users of 5,000 to 100,000 tasks), as in `make bench`. One user's writes commit one at a
    time (their counter row numbers their changes), so 100 connections writing one user's
    tasks measure that queue, at any size of data (bench/results/issue20.md): the large
    scale's `move-one-list` keeps that figure in view."""
    return [
        Scenario("list-first", "list, first page of 50", "list.lua", n),
        Scenario("list-deep", "list, a cursor page deep", "list.lua", n, {"BENCH_CURSOR": "1"}),
        Scenario(
            "list-completed",
            "list, completed=true",
            "list.lua",
            n,
            {"BENCH_QUERY": "limit=50&completed=true"},
        ),
        Scenario("get", "get one task", "get.lua", n),
        Scenario("update", "partial update (PATCH)", "update.lua", n, crowd=WRITERS),
        Scenario("delete", "delete a task", "delete.lua", n, delete_pool=True, crowd=WRITERS),
        *planning_suite(n, writers=WRITERS),
        *sync_suite(n),
    ]


def one_list_move(n: int) -> Scenario:
    return Scenario(
        "move-one-list", "move, every connection in the big user's list", "move.lua", n,
        crowd=ONE_LIST,
    )  # fmt: skip


# The 1M comparison's crowds (Bench.crowds): the users its writes go to in turn, and the
# big user alone.
WRITERS, ONE_LIST = "writers", "one-list"


# Tasks of each small user in the 1M comparison: a quarter of them match list-label's
# filter, so its page holds 50, as the big user's does.
SMALL_SCALE_TASKS = 250


@dataclass
class Bench:
    """What one run shares: its arguments, scratch directory, database, service, data."""

    args: argparse.Namespace
    work: Path
    secret: str = field(default_factory=lambda: secrets.token_hex(32))
    db_url: str = ""
    server: Server | None = None
    database_pid: int | None = None  # the postmaster, whose processes are PostgreSQL's CPU
    users: list[seed.BenchUser] = field(default_factory=list)
    # Other users that drive the scenarios naming them (Scenario.crowd), each with a file.
    crowds: dict[str, list[seed.BenchUser]] = field(default_factory=dict)
    # Tasks to seed for delete, per second of the run: above what a quiet machine deletes
    # (3,600/s seen), or the run's end is cheap 404s that inflate its rate.
    pool_rate: float = 6000.0
    users_name: str = "users.txt"

    @property
    def users_file(self) -> Path:
        return self.work / self.users_name

    def crowd_users(self, scenario: Scenario) -> list[seed.BenchUser]:
        return self.users if scenario.crowd is None else self.crowds[scenario.crowd]

    def crowd_file(self, scenario: Scenario) -> Path:
        return self.users_file if scenario.crowd is None else self._crowd_file(scenario.crowd)

    def add_crowd(self, name: str, users: list[seed.BenchUser]) -> None:
        self.crowds[name] = users
        seed.write_users_file(self._crowd_file(name), users)

    def _crowd_file(self, name: str) -> Path:
        return self.work / f"{name}.txt"


def parse_args() -> argparse.Namespace:
    cores = os.cpu_count() or 1
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=["small", "1m"], default="small")
    p.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", 10)))
    p.add_argument("--connections", type=int, default=100)
    p.add_argument("--auth-connections", type=int, default=10)
    p.add_argument("--threads", type=int, default=cores, help="wrk threads")
    p.add_argument("--workers", type=int, default=cores, help="server processes")
    p.add_argument("--bcrypt-rounds", type=int, default=12)
    p.add_argument("--users", type=int, default=100)
    p.add_argument(
        "--tasks-per-user", type=int, help=f"default 60, at --scale 1m {SMALL_SCALE_TASKS}"
    )
    p.add_argument(
        "--runs",
        type=int,
        default=int(os.environ.get("BENCH_RUNS", 3)),
        help="runs of each scenario and ceiling; the report gives the median run",
    )
    p.add_argument("--warmup", type=int, default=3, help="seconds of load before measuring")
    p.add_argument("--burst-connections", type=int, default=1000)
    p.add_argument("--burst-duration", type=int, default=10)
    p.add_argument("--burst-timeout", type=int, default=10, help="wrk's per-request timeout")
    p.add_argument("--only", help="comma-separated scenario names (default: all)")
    p.add_argument("--streams", type=int, default=5000, help="open streams on one instance")
    p.add_argument("--stream-users", type=int, default=1000, help="users of the stream runs")
    p.add_argument("--stream-instances", type=int, default=3)
    p.add_argument("--stream-write-rate", type=float, default=200.0, help="writes/s")
    p.add_argument("--py-spy", help="py-spy binary: profile one worker during one scenario")
    p.add_argument(
        "--profile", default="get,list", help="the scenarios --py-spy profiles (comma-separated)"
    )
    args = p.parse_args()
    if args.tasks_per_user is None:
        args.tasks_per_user = SMALL_SCALE_TASKS if args.scale == "1m" else 60
    return args


def service_env(bench: Bench) -> dict[str, str]:
    """Production settings: what `APP_ENV=production todo-api serve` would run with."""
    return {
        "APP_ENV": "production",
        "JWT_SECRET": bench.secret,
        "JWT_ISSUER": seed.ISSUER,
        "JWT_AUDIENCE": seed.AUDIENCE,
        "WORKERS": str(bench.args.workers),
        "LOG_LEVEL": "WARNING",
        "SHUTDOWN_DRAIN_SECONDS": "0",  # no load balancer to tell: stop at once
        "BCRYPT_ROUNDS": str(bench.args.bcrypt_rounds),
        "DATABASE_URL": bench.db_url,
        "DATA_DIR": str(bench.work / "data"),
        "HOST": "127.0.0.1",
        "PORT": "{port}",
    }


def load(bench: Bench, scenario: Scenario, duration: int, **extra: str) -> Load:
    env = {
        "BENCH_USERS": str(bench.crowd_file(scenario)),
        "BENCH_PASSWORD": seed.PASSWORD,
        # Per wrk run: registration emails must not repeat across the runs of a scenario.
        "BENCH_RUN_ID": secrets.token_hex(4),
        **scenario.env,
        **extra,
    }
    return Load(scenario.script, scenario.connections, duration, bench.args.threads, env)


def seed_small(bench: Bench) -> None:
    args, db = bench.args, bench.db_url
    hashed = seed.password_hash(args.bcrypt_rounds)
    seed.insert_users(db, "bench-user", args.users, hashed)
    seed.insert_tasks(db, "bench-user", args.tasks_per_user)
    seed.vacuum_analyze(db)
    users = seed.load_users(db, "bench-user", args.tasks_per_user)
    # Every task of each user changed after their token, in 10 statements.
    changes = (args.tasks_per_user, 10)
    use_users(bench, users, cursor_depth=min(50, args.tasks_per_user), changes=changes)
    print(f"seeded {args.users} users × {args.tasks_per_user} tasks", flush=True)


def use_users(
    bench: Bench, users: list[seed.BenchUser], cursor_depth: int, changes: tuple[int, int]
) -> None:
    """These users (tokens minted, deep-page cursors asked of the API, a sync token that
    `changes` = (changes, statements) follow) drive the load."""
    assert bench.server is not None
    seed.mint_tokens(bench.db_url, users, bench.secret)
    seed.fetch_cursors(bench.server.base, users, cursor_depth)
    seed.mark_changes(bench.db_url, users, *changes, bench.secret)
    seed.write_users_file(bench.users_file, users)
    bench.users = users


def seed_large(bench: Bench) -> None:
    """Up to 10,000 users and 1,000,000 tasks: one user ('bench-big') holding 100,000, 99
    ('bench-large') 5,000 each, the rest dealt over the others."""
    db, hashed = bench.db_url, seed.password_hash(bench.args.bcrypt_rounds)
    seed.insert_users(db, "bench-big", 1, hashed)
    seed.insert_tasks(db, "bench-big", 100_000)
    seed.insert_users(db, "bench-large", 99, hashed)
    seed.insert_tasks(db, "bench-large", 5_000)
    users_now, tasks_now = pg.execute(
        db, "SELECT count(*) FROM users", "SELECT count(*) FROM tasks"
    )
    seed.insert_users(db, "bench-more", 10_000 - users_now[0][0], hashed)
    seed.deal_tasks(db, "bench-more", 1_000_000 - tasks_now[0][0])
    seed.vacuum_analyze(db)
    # Issue 21: 10,000 changes follow the big user's token, 100 statements of 100 tasks.
    big = seed.load_users(db, "bench-big", 20_000)
    use_users(bench, big, cursor_depth=90_000, changes=(10_000, 100))
    large = seed.load_users(db, "bench-large", 1_000)
    seed.mint_tokens(db, large, bench.secret)
    bench.add_crowd(WRITERS, big + large)
    bench.add_crowd(ONE_LIST, big)
    counts = pg.execute(db, "SELECT count(*) FROM users", "SELECT count(*) FROM tasks")
    print(f"seeded the large scale: {counts[0][0][0]:,} users, {counts[1][0][0]:,} tasks")


def delete_pool_file(bench: Bench, scenario: Scenario) -> Path:
    """Fresh tasks for the delete scenario: enough for the ceiling's rate for the run."""
    total = int(bench.pool_rate * bench.args.duration)
    pool = seed.add_delete_pool(bench.db_url, bench.crowd_users(scenario), total)
    path = bench.work / "delete_pool.txt"
    seed.write_pool_file(path, pool)
    return path


def watched(watch: Watch) -> dict[str, Any]:
    per_worker = sorted(watch.per_worker.values(), reverse=True)
    return {
        "rss": {
            "peak_total_mb": round(watch.total / MB, 1),
            "peak_worker_mb": round(max(per_worker, default=0) / MB, 1),
            "per_worker_mb": [round(v / MB, 1) for v in per_worker],
        },
        "cpu": {
            "workers_percent": [round(p) for p in watch.worker_cpu_percent()],
            "machine_percent": round(watch.machine_cpu_percent),
            "database_percent": round(watch.database_cpu_percent()),
        },
    }


def median_run(runs: list[dict[str, Any]], rate: str = "rps") -> dict[str, Any]:
    """The run with the median rate, the others' rates beside it; with two, the slower."""
    ordered = sorted(runs, key=lambda run: run[rate])
    return ordered[(len(ordered) - 1) // 2] | {"runs": [round(run[rate], 2) for run in runs]}


def run_scenario(bench: Bench, scenario: Scenario) -> dict[str, Any]:
    # py-spy slows the worker it samples: the profiled run is one more, and not counted.
    profiled = bench.args.py_spy and scenario.name in bench.args.profile.split(",")
    profiled_run = run_scenario_once(bench, scenario, profile=True) if profiled else None
    rows = [run_scenario_once(bench, scenario) for _ in range(bench.args.runs)]
    row = median_run(rows)
    # Limits hold for every run, not for a typical one: peaks and the worst latency beside.
    row["rss"] = {
        "peak_total_mb": max(r["rss"]["peak_total_mb"] for r in rows),
        "peak_worker_mb": max(r["rss"]["peak_worker_mb"] for r in rows),
    }
    if "beside" in row:
        row["beside"] = max((r["beside"] for r in rows), key=lambda b: b["latency_ms"]["p95"])
    if profiled_run is not None:
        row["profiled_run"] = {k: profiled_run[k] for k in ("cpu", "seconds", "requests")}
    return row


def run_scenario_once(bench: Bench, scenario: Scenario, profile: bool = False) -> dict[str, Any]:
    assert bench.server is not None
    extra = {"BENCH_POOL": str(delete_pool_file(bench, scenario))} if scenario.delete_pool else {}
    spec = load(bench, scenario, bench.args.duration, **extra)
    wait_until_idle(bench.server)
    profiler = start_profiler(bench, scenario) if profile else None
    beside = None
    if scenario.beside:
        reads = Scenario("beside", "beside", scenario.beside, scenario.connections)
        beside = load(bench, reads, bench.args.duration)
    watch = Watch(bench.server, bench.database_pid)
    with watch.watching(), ThreadPoolExecutor(2) as threads:
        out = bench.work / f"{scenario.name}.wrk.json"
        running = [threads.submit(run_wrk, bench.server.base, spec, out)]
        if beside is not None:
            out = bench.work / f"{scenario.name}-beside.wrk.json"
            running.append(threads.submit(run_wrk, bench.server.base, beside, out))
        result, *besides = [r.result() for r in running]
    stop_profiler(profiler)
    bench.server.check_alive()
    if scenario.delete_pool:
        # The pool is sized for the fastest rate: what is left must not grow the data the
        # next runs and scenarios see.
        seed.remove_delete_pool(bench.db_url)
    row = {"name": scenario.name, "title": scenario.title, "connections": scenario.connections}
    row |= result | watched(watch)
    if besides:
        row["beside"] = {"script": scenario.beside, "connections": scenario.connections}
        row["beside"] |= besides[0]
    print(progress_line(row), flush=True)
    return row


def progress_line(row: dict[str, Any]) -> str:
    lat = row["latency_ms"]
    return (
        f"  {row['name']:<15} {row['rps']:>9,.1f} req/s  p50 {lat['p50']:>7.1f}  "
        f"p95 {lat['p95']:>7.1f}  p99 {lat['p99']:>7.1f} ms  errors {row['errors']['total']:,}"
        f"  statuses {row['statuses']}  peak RSS/worker {row['rss']['peak_worker_mb']} MB"
        f"  CPU workers {row['cpu']['workers_percent']}% PostgreSQL "
        f"{row['cpu'].get('database_percent', 0)}% machine {row['cpu']['machine_percent']}%"
    )


def start_profiler(bench: Bench, scenario: Scenario) -> subprocess.Popen[bytes]:
    """Record the first worker during one scenario into
    results/profile-<scenario>.txt: samples of the thread holding the GIL only (the
    Python work, not threads waiting for it), --native so that the garbage collector and
    system calls show as such (py-spy pauses the worker briefly at each sample)."""
    assert bench.server is not None
    worker = bench.server.worker_processes()[0]
    out = report.RESULTS_DIR / f"profile-{scenario.name}.txt"
    command = [
        bench.args.py_spy, "record", "--pid", str(worker.pid), "--rate", "150", "--gil",
        "--native", "--duration", str(max(1, bench.args.duration - 2)), "--format", "raw",
        "--output", str(out),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is not None:
        profiler.wait(timeout=60)


def profile_section(results: dict[str, Any], name: str) -> dict[str, Any] | None:
    """With --py-spy: the profile of one scenario in buckets and per function, priced in
    CPU per request."""
    scenario = next((s for s in results.get("scenarios", []) if s["name"] == name), None)
    out = report.RESULTS_DIR / f"profile-{name}.txt"
    if scenario is None or "profiled_run" not in scenario or not out.exists():
        return None
    row = scenario["profiled_run"]  # the profile's own run: its CPU, its requests
    cpu_seconds = sum(row["cpu"]["workers_percent"]) / 100 * row["seconds"]
    per_request_ms = 1000 * cpu_seconds / max(1, row["requests"])
    return {
        "scenario": name,
        "file": str(out.relative_to(BENCH_DIR.parent)),
        "cpu_ms_per_request": round(per_request_ms, 3),
        "table": profile_summary.markdown(out, per_request_ms),
        "functions": profile_summary.functions_markdown(out, 40, per_request_ms),
    }


def selected(bench: Bench, scenarios: list[Scenario]) -> list[Scenario]:
    if not bench.args.only:
        return scenarios
    names = set(bench.args.only.split(","))
    return [s for s in scenarios if s.name in names]


def warm_up(bench: Bench) -> None:
    """Load the service unmeasured first: connections, caches, prepared statements."""
    if bench.args.warmup > 0 and bench.server is not None:
        mix = Scenario("warmup", "warm-up", "mix.lua", bench.args.connections)
        spec = load(bench, mix, bench.args.warmup)
        run_wrk(bench.server.base, spec, bench.work / "warmup.wrk.json")


def run_suite(bench: Bench, scenarios: list[Scenario]) -> list[dict[str, Any]]:
    warm_up(bench)
    return [run_scenario(bench, scenario) for scenario in selected(bench, scenarios)]


def run_burst(bench: Bench) -> dict[str, Any]:
    """get one at 1,000 connections: every request must be answered (503 when the pool is
    exhausted is an answer); wrk's timeout is longer than the service's pool timeout."""
    assert bench.server is not None
    args = bench.args
    get = Scenario("burst", "get one", "get.lua", args.burst_connections)
    spec = load(bench, get, args.burst_duration)
    spec = Load(**{**spec.__dict__, "timeout": args.burst_timeout})
    wait_until_idle(bench.server)
    with Watch(bench.server, bench.database_pid).watching() as watch:
        result = run_wrk(bench.server.base, spec, bench.work / "burst.wrk.json")
    row = {"name": "burst", "title": get.title, "connections": get.connections}
    row |= result | watched(watch) | {"timeout_s": args.burst_timeout}
    print(progress_line(row), flush=True)
    return row


STREAM_SCENARIOS = ("streams", "stream-latency")


def stream_users(bench: Bench) -> list[streams.StreamUser]:
    """Users of their own for the stream runs, two tasks each (what the writes edit)."""
    db, count = bench.db_url, bench.args.stream_users
    seed.insert_users(db, "bench-stream", count, seed.password_hash(bench.args.bcrypt_rounds))
    seed.insert_tasks(db, "bench-stream", 2)
    users = seed.load_users(db, "bench-stream", 2)
    seed.mint_tokens(db, users, bench.secret)
    return [streams.StreamUser(u.token, u.ids) for u in users]


def stream_env(bench: Bench, name: str, **extra: str) -> dict[str, str]:
    return service_env(bench) | {"DATA_DIR": str(bench.work / f"data-{name}"), **extra}


def run_streams(bench: Bench, results: dict[str, Any]) -> None:
    """Issue 21's live updates: an instance holding many streams (memory per stream), and
    the delay from a write's response to its event across instances."""
    wanted = set(bench.args.only.split(",")) if bench.args.only else set(STREAM_SCENARIOS)
    if not wanted & set(STREAM_SCENARIOS):
        return
    args, users = bench.args, stream_users(bench)
    out: dict[str, Any] = {}
    if "streams" in wanted:
        per_user = -(-args.streams // len(users))
        print(f"{len(users) * per_user:,} open streams on one instance:", flush=True)
        # Every stream is a connection of its worker: room for all of them in either one,
        # since nothing makes the kernel share them out evenly.
        env = stream_env(bench, "streams", MAX_CONNECTIONS=str(len(users) * per_user + 1000))
        with serving(service_command(), env, "/health/ready", bench.work / "streams.log") as one:
            out["hold"] = streams.hold(one, users, per_user, hold_s=args.duration)
        print(f"  {stream_line(out['hold'])}", flush=True)
    if "stream-latency" in wanted:
        n = args.stream_instances
        print(f"{len(users):,} streams on {n} instances, {args.stream_write_rate:g} writes/s:")
        with ExitStack() as stack:
            servers = [
                stack.enter_context(
                    serving(
                        service_command(),
                        stream_env(bench, f"instance-{i}"),
                        "/health/ready",
                        bench.work / f"instance-{i}.log",
                    )
                )
                for i in range(n)
            ]
            watch = Watch(servers[0], bench.database_pid)
            with watch.watching():
                out["latency"] = streams.latency(
                    servers, users, args.stream_write_rate, args.duration
                )
            out["latency"]["database_cpu_percent"] = round(watch.database_cpu_percent())
            out["latency"]["machine_cpu_percent"] = round(watch.machine_cpu_percent)
        print(f"  {latency_line(out['latency'])}", flush=True)
    results["streams"] = out


def stream_line(hold: dict[str, Any]) -> str:
    return (
        f"{hold['opened']:,} of {hold['streams']:,} opened in {hold['open_seconds']} s, "
        f"{hold['streams_with_event']:,} got their event, {hold['still_open_after_hold']:,} "
        f"open after {hold['hold_seconds']} s; RSS {hold['rss_before_mb']} -> "
        f"{hold['rss_idle_mb']} (idle) -> {hold['rss_woken_mb']} MB (woken): "
        f"{hold['kb_per_stream_idle']} / {hold['kb_per_stream_woken']} KB per stream"
    )


def latency_line(lat: dict[str, Any]) -> str:
    delay = lat["delay_ms"]
    return (
        f"{lat['opened']:,} of {lat['streams']:,} streams; {lat['writes']:,} writes "
        f"({lat['write_rate']}/s, {lat['writes_failed']} failed); write to event p50 "
        f"{delay['p50']} ms, p99 {delay['p99']} ms, max {delay['max']} ms; "
        f"{lat['events_missed']} missed"
    )


def bcrypt_ceiling(bench: Bench) -> dict[str, Any]:
    command = [
        sys.executable, str(BENCH_DIR / "bcrypt_ceiling.py"), "--rounds",
        str(bench.args.bcrypt_rounds), "--processes", str(bench.args.workers),
        "--duration", str(bench.args.duration),
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=bench.args.duration + 120
    )
    return dict(json.loads(done.stdout))


def framework_ceiling(bench: Bench) -> dict[str, Any]:
    command = ceiling_command(bench.args.workers)
    log = bench.work / "ceiling.log"
    probe = f"/tasks/{bench.users[0].ids[0]}"
    with serving(command, {}, probe, log) as server:
        get = Scenario("ceiling", "framework ceiling", "get.lua", bench.args.connections)
        if bench.args.warmup > 0:
            run_wrk(server.base, load(bench, get, bench.args.warmup), bench.work / "w.json")
        spec, out = load(bench, get, bench.args.duration), bench.work / "c.json"
        runs = [run_wrk(server.base, spec, out) for _ in range(bench.args.runs)]
    return median_run(runs) | {"connections": bench.args.connections}


def database_ceiling(bench: Bench, server_url: str) -> dict[str, Any]:
    with pg.fresh_database(server_url, PGBENCH_DB) as url:
        args = bench.args
        pg.pgbench_init(url)
        runs = [
            pg.pgbench_select_only(url, args.connections, args.threads, args.duration)
            for _ in range(args.runs)
        ]
        return median_run(runs, rate="tps")


def measure_ceilings(bench: Bench, server_url: str) -> dict[str, Any]:
    print("measuring the ceilings: bcrypt, pgbench -S, bare FastAPI", flush=True)
    ceilings = {
        "bcrypt": bcrypt_ceiling(bench),
        "database": database_ceiling(bench, server_url),
        "framework": framework_ceiling(bench),
    }
    # Nothing deletes faster than half the bare framework answers a constant GET.
    bench.pool_rate = max(bench.pool_rate, ceilings["framework"]["rps"] / 2)
    print(
        f"  framework {ceilings['framework']['rps']:,.0f} req/s, database "
        f"{ceilings['database']['tps']:,.0f} tx/s, bcrypt "
        f"{ceilings['bcrypt']['per_second']:.2f}/s",
        flush=True,
    )
    return ceilings


def run_defaults(bench: Bench) -> dict[str, Any]:
    """SC-002 and SC-003 as a new user meets them: `make run` with no settings but where
    the database is and the secret the seeded tokens are signed with (development mode,
    INFO logs, WORKERS by its default), 100 clients creating and listing."""
    env = {
        "DATABASE_URL": bench.db_url,
        "DATA_DIR": str(bench.work / "data-defaults"),
        "JWT_SECRET": bench.secret,
        "HOST": "127.0.0.1",
        "PORT": "{port}",
    }
    scenario = Scenario("defaults", DEFAULTS_TITLE, "sc002.lua", bench.args.connections)
    production, log = bench.server, bench.work / "defaults.log"
    try:
        with serving(service_command(), env, "/health/ready", log) as bench.server:
            return run_scenario(bench, scenario)
    finally:
        bench.server = production


DEFAULTS_TITLE = "SC-002: create, then list 20 three times; make run's defaults"


def run_small(bench: Bench, server_url: str, results: dict[str, Any]) -> None:
    args = bench.args
    seed_small(bench)
    results["ceilings"] = measure_ceilings(bench, server_url)
    print(f"scenarios, {args.duration} s each:", flush=True)
    results["scenarios"] = run_suite(bench, main_suite(args.connections, args.auth_connections))
    if not args.only or "defaults" in args.only.split(","):
        print("the default configuration (make run):", flush=True)
        results["scenarios"].append(run_defaults(bench))
    if not args.only or "burst" in args.only.split(","):
        print(f"{args.burst_connections:,} connections:", flush=True)
        results["burst"] = run_burst(bench)
    run_streams(bench, results)
    results["targets"] = report.evaluate(results)
    if args.py_spy:
        profiles = [profile_section(results, name) for name in args.profile.split(",")]
        results["profiles"] = [p for p in profiles if p is not None]


def run_large(bench: Bench, server_url: str, results: dict[str, Any]) -> None:
    seed_small(bench)
    bench.add_crowd(WRITERS, bench.users)  # At the small scale, the users in turn as ever.
    print(f"small scale, {bench.args.duration} s each:", flush=True)
    results["small"] = run_suite(bench, scale_suite(bench.args.connections))
    seed_large(bench)
    print(f"large scale, {bench.args.duration} s each:", flush=True)
    scenarios = [*scale_suite(bench.args.connections), one_list_move(bench.args.connections)]
    results["large"] = run_suite(bench, scenarios)
    results["targets"] = report.large_targets(results)


def package_versions() -> str:
    from importlib.metadata import version

    names = ["fastapi", "starlette", "uvicorn", "uvloop", "httptools", "pydantic", "sqlalchemy",
             "asyncpg", "bcrypt", "pyjwt", "dependency-injector", "structlog"]  # fmt: skip
    return ", ".join(f"{n} {version(n)}" for n in names)


def git_commit() -> str:
    def git(*a: str) -> str:
        done = subprocess.run(["git", *a], cwd=BENCH_DIR, capture_output=True, text=True)
        return done.stdout.strip()

    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--", "src") else ""
    return git("rev-parse", "--short", "HEAD") + dirty


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_load() -> str:
    """Other work on the machine skews every figure: say how busy it was before we began."""
    busy = psutil.cpu_percent(interval=2)
    load1, load5, _ = os.getloadavg()
    return f"{busy:.0f}% CPU busy over 2 s, load average {load1:.2f} (1 min), {load5:.2f} (5 min)"


def describe(bench: Bench, server_url: str) -> tuple[dict[str, str], dict[str, str]]:
    a = bench.args
    meta = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": f"{os.cpu_count()} cores, {cpu_model()}, {platform.platform()}",
        "python": platform.python_version(),
        "packages": package_versions(),
        "postgresql": pg.server_version(server_url)
        + (" (BENCH_DATABASE_URL)" if os.environ.get("BENCH_DATABASE_URL") else " (embedded)"),
        "wrk": wrk_version(),
        "machine before the run": machine_load(),
    }
    names = ("DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_POOL_TIMEOUT", "DB_POOL_MAX_WAITING")
    pool = {n: os.environ.get(n, str(Settings.model_fields[n].default)) for n in names}
    config = {
        "service": f"todo-api serve, APP_ENV=production, WORKERS={a.workers}, LOG_LEVEL=WARNING, "
        f"access log off, BCRYPT_ROUNDS={a.bcrypt_rounds}, "
        + ", ".join(f"{k}={v}" for k, v in pool.items()),
        "load": f"wrk -t{a.threads}, {a.connections} connections (auth: "
        f"{a.auth_connections}), {a.duration} s per run after {a.warmup} s of warm-up; "
        f"{a.runs} runs of each scenario and of the framework and database ceilings, the "
        "median run reported (the bcrypt ceiling and the 1,000-connection run: one run)",
        "data": f"{a.users} users × {a.tasks_per_user} tasks, tokens of different users in turn"
        + (
            "; then 10,000 users and 1,000,000 tasks: reads as one user holding 100,000, "
            "writes as 100 users holding 595,000 in turn (that user and 99 of 5,000)"
            if a.scale == "1m"
            else ""
        ),
    }
    return meta, config


def notes(scale: str) -> list[str]:
    common = [
        "Server, PostgreSQL and wrk share the same cores, for the ceilings too.",
        "Latency is wrk's (no coordinated-omission correction); errors are non-2xx "
        "responses plus socket errors (connect, read, write, timeout).",
        "Peak RSS: psutil samples every 0.2 s of uvicorn's worker processes (the "
        "supervisor excluded), the peak over every run; 'all workers' is the peak of "
        "their sum.",
        "wrk keeps every connection busy (a closed loop): mean latency = connections / "
        "req/s, so p95 < 50 ms at 100 connections takes well over 2,000 req/s.",
    ]
    if scale == "small":
        return [
            *common,
            "delete works through a pool of tasks seeded just before each run (ids written "
            "by the seeder); what a run leaves of it is removed after it. list runs first, "
            "after only the warm-up (the mix) has added tasks.",
            "The mix's calls are those of get, update and create (lua/common.lua).",
            "login+get: logins and get one at the same time, each at the auth connection "
            "count; its row shows the logins, the targets the reads' latency beside them "
            "(the worst of the runs).",
            "defaults: a second service started as `make run` starts it (development, INFO "
            "logs to a file, WORKERS by default one per core), with only the database and "
            "the seeded tokens' secret set; per wrk thread the clients create a task, then "
            "list 20 three times.",
        ]
    return [
        *common,
        "The big user's cursor is the API's own next_cursor after its 90,000th task "
        "(asked with offset=89999&limit=1); the small users' after their 50th.",
        "changes: 10,000 changes (100 statements of 100 tasks) follow the big user's sync "
        "token; the small users' token, all their tasks in 10 statements. The feed's "
        "scenarios run at a tenth of the connections (see run.sync_suite).",
    ]


def raise_open_files_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def prepare(args: argparse.Namespace) -> Bench:
    """wrk at hand, room for many sockets, an empty scratch directory."""
    require_wrk()
    raise_open_files_limit()
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    WORK_DIR.mkdir()
    return Bench(args, WORK_DIR)


def main() -> None:
    args = parse_args()
    bench = prepare(args)
    results: dict[str, Any] = {"scale": args.scale}
    with pg.postgres_server() as server_url:
        results["meta"], results["config"] = describe(bench, server_url)
        results["notes"] = notes(args.scale)
        with pg.fresh_database(server_url, SERVICE_DB) as bench.db_url:
            bench.database_pid = pg.postmaster_pid(bench.db_url)
            env, log = service_env(bench), bench.work / "service.log"
            with serving(service_command(), env, "/health/ready", log) as bench.server:
                runner = run_small if args.scale == "small" else run_large
                runner(bench, server_url, results)
    render = report_md.render_small if args.scale == "small" else report_md.render_large
    text = render(results)
    for path in report.write(results, text, latest=not args.only):
        print(f"wrote {path.relative_to(BENCH_DIR.parent)}")
    print("\n" + text)


if __name__ == "__main__":
    main()
