"""`make ab`: the same scenarios against two versions of the service, in one run, alternating.

A is a git revision (default HEAD: what is committed), B the working tree. Both serve at
once from one PostgreSQL server with the same settings, each from a database of its own
that its own revision migrated and that is seeded alike: a base from before a migration
(4e8e7fa, before the change feed's triggers) must run without them, or the A/B would
compare the Python only. Each round runs every scenario on A then B (B then A in odd
rounds, so neither always goes first), and the report gives each side's rates and the
median of each, with B's change in percent, and the CPU per request of the workers and of
PostgreSQL (where triggers cost). This is the figure a commit that is meant to be faster
carries; it is also written to bench/results/ab-latest.md.

    .venv/bin/python bench/ab.py --base HEAD~1 --only get,list --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import pg
import profile_summary
import report
from procs import Server, service_command, serving
from run import (
    BENCH_DIR,
    SERVICE_DB,
    WORK_DIR,
    Bench,
    Scenario,
    machine_load,
    main_suite,
    prepare,
    run_scenario_once,
    seed_small,
    service_env,
)


def parse_args() -> argparse.Namespace:
    cores = os.cpu_count() or 1
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", default="HEAD", help="the git revision served as A")
    p.add_argument("--only", default="get,list,create", help="comma-separated scenarios")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", 8)))
    p.add_argument("--connections", type=int, default=100)
    p.add_argument("--threads", type=int, default=cores)
    p.add_argument("--workers", type=int, default=cores)
    p.add_argument("--bcrypt-rounds", type=int, default=12)
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--tasks-per-user", type=int, default=60)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--py-spy", default=None, help="py-spy binary: profile each side once")
    p.add_argument(
        "--profile", default="", help="the scenarios --py-spy profiles (default: every one)"
    )
    return p.parse_args()


def checkout(revision: str, into: Path) -> Path:
    """The revision's src/ as files (no worktree bookkeeping left behind)."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", revision, "src"], cwd=BENCH_DIR.parent, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def cpu_us_per_request(row: dict[str, Any]) -> float:
    """The workers' CPU per answered request: unlike the rate, it holds steady when other
    programs compete for the cores."""
    cpu_seconds = sum(row["cpu"]["workers_percent"]) / 100 * row["seconds"]
    return 1e6 * cpu_seconds / max(1, row["requests"])


def database_us_per_request(row: dict[str, Any]) -> float:
    """PostgreSQL's CPU per answered request (its server's processes only): what the
    statements, their triggers and the commits cost."""
    cpu_seconds = row["cpu"]["database_percent"] / 100 * row["seconds"]
    return 1e6 * cpu_seconds / max(1, row["requests"])


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [r["rps"] for r in rows]
    return {
        "rates": rates,
        "rps": statistics.median(rates),
        "p95": statistics.median(r["latency_ms"]["p95"] for r in rows),
        "cpu": statistics.median(cpu_us_per_request(r) for r in rows),
        "db": statistics.median(database_us_per_request(r) for r in rows),
    }


def _change(a: float, b: float) -> str:
    return f"{100 * (b / a - 1):+.1f}%" if a else "–"


def render(base: str, results: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    lines = [
        f"A = {base}, B = working tree; req/s per round and median, p95 median (ms), "
        "CPU per request (median, µs) of the workers and of PostgreSQL",
        "| scenario | A runs | B runs | A median | B median | B vs A | A p95 | B p95 "
        "| A workers CPU/req | B workers CPU/req | B vs A "
        "| A PostgreSQL CPU/req | B PostgreSQL CPU/req | B vs A "
        "| A both | B both | B vs A |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, sides in results.items():
        a, b = summary(sides["A"]), summary(sides["B"])
        a_both, b_both = a["cpu"] + a["db"], b["cpu"] + b["db"]
        lines.append(
            f"| {name} | {' / '.join(f'{r:,.0f}' for r in a['rates'])} "
            f"| {' / '.join(f'{r:,.0f}' for r in b['rates'])} | {a['rps']:,.0f} "
            f"| {b['rps']:,.0f} | {_change(a['rps'], b['rps'])} | {a['p95']:.1f} "
            f"| {b['p95']:.1f} | {a['cpu']:,.0f} | {b['cpu']:,.0f} "
            f"| {_change(a['cpu'], b['cpu'])} | {a['db']:,.0f} | {b['db']:,.0f} "
            f"| {_change(a['db'], b['db'])} | {a_both:,.0f} | {b_both:,.0f} "
            f"| {_change(a_both, b_both)} |"
        )
    return "\n".join(lines)


def write_report(args: argparse.Namespace, table: str, before: str) -> Path:
    """The table with what produced it, as bench/results/ab-latest.md (and a dated copy)."""
    report.RESULTS_DIR.mkdir(exist_ok=True)
    text = (
        f"# A/B ({datetime.now().astimezone().isoformat(timespec='seconds')})\n\n"
        f"`bench/ab.py --base {args.base} --only {args.only} --rounds {args.rounds} "
        f"--duration {args.duration}`; machine before the run: {before}\n\n{table}\n"
    )
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for stem in (f"ab-{stamp}", "ab-latest"):
        (report.RESULTS_DIR / f"{stem}.md").write_text(text)
    return report.RESULTS_DIR / "ab-latest.md"


def seed_side(bench: Bench, side: str, server: Server, url: str) -> None:
    """One side's data, through its own server (the cursors are asked of the API)."""
    bench.server, bench.db_url, bench.users_name = server, url, f"users-{side}.txt"
    seed_small(bench)


def profile_side(bench: Any, scenario: Scenario, side: str) -> str:
    """One extra, uncounted run of the scenario with py-spy on the side's first worker
    (py-spy slows what it samples): the per-kind and per-function tables, priced with
    that run's own CPU per request. The profile is kept as results/profile-NAME-SIDE.txt."""
    row = run_scenario_once(bench, scenario, profile=True)
    recorded = report.RESULTS_DIR / f"profile-{scenario.name}.txt"
    kept = recorded.with_name(f"profile-{scenario.name}-{side}.txt")
    recorded.replace(kept)
    per_request_ms = cpu_us_per_request(row) / 1000
    return (
        f"### {scenario.name}, {side}: {per_request_ms * 1000:,.0f} µs of workers' CPU per "
        f"request in the profiled run ({kept.name})\n\n"
        f"{profile_summary.markdown(kept, per_request_ms)}\n\n"
        f"{profile_summary.functions_markdown(kept, 30, per_request_ms)}\n"
    )


def main() -> None:
    args = parse_args()
    bench = prepare(args)
    base_src = checkout(args.base, WORK_DIR / "base")
    names = args.only.split(",")
    scenarios = [s for s in main_suite(args.connections, 10) if s.name in names]
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        s.name: {"A": [], "B": []} for s in scenarios
    }
    before = machine_load()
    with pg.postgres_server() as server_url, ExitStack() as stack:
        urls = {
            side: stack.enter_context(pg.fresh_database(server_url, f"{SERVICE_DB}_{side}"))
            for side in ("a", "b")
        }
        bench.database_pid = pg.postmaster_pid(urls["b"])
        envs = {}
        for side, url in urls.items():
            bench.db_url = url
            envs[side] = service_env(bench) | {"DATA_DIR": str(WORK_DIR / f"data-{side}")}
        envs["a"]["PYTHONPATH"] = str(base_src)
        servers = {
            side: stack.enter_context(
                serving(service_command(), env, "/health/ready", WORK_DIR / f"{side}.log")
            )
            for side, env in envs.items()
        }
        users = {}
        for side in ("a", "b"):
            seed_side(bench, side, servers[side], urls[side])
            users[side] = bench.users  # each side's own ids (the delete pool is per side)
            run_scenario_once(bench, Scenario("warmup", "warm-up", "mix.lua", 100))
        for round_ in range(args.rounds):
            order = ["a", "b"] if round_ % 2 == 0 else ["b", "a"]
            for scenario in scenarios:
                for side in order:
                    bench.server, bench.db_url = servers[side], urls[side]
                    bench.users, bench.users_name = users[side], f"users-{side}.txt"
                    print(f"round {round_ + 1}, {side.upper()}:", end="", flush=True)
                    row = run_scenario_once(bench, scenario)
                    results[scenario.name][side.upper()].append(row)
        profiles = []
        if args.py_spy:
            profiled = set(args.profile.split(",")) if args.profile else set(names)
            for scenario in (s for s in scenarios if s.name in profiled):
                for side in ("a", "b"):
                    bench.server, bench.db_url = servers[side], urls[side]
                    bench.users, bench.users_name = users[side], f"users-{side}.txt"
                    profiles.append(profile_side(bench, scenario, side.upper()))
    if args.rounds:
        table = render(args.base, results)
        path = write_report(args, table, before)
        print("\n" + table + f"\n\nwritten to {path.relative_to(BENCH_DIR.parent)}")
    for text in profiles:
        print("\n" + text)


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH_DIR))
    main()
