"""`make ab`: the same scenarios against two versions of the service, in one run, alternating.

A is a git revision (default HEAD: what is committed), B the working tree. Both serve at
once from one database with the same seeded data and settings; each round runs every
scenario on A then B (B then A in odd rounds, so neither always goes first), and the
report gives each side's rates and the median of each, with B's change in percent. This is
the figure a commit that is meant to be faster carries.

    .venv/bin/python bench/ab.py --base HEAD~1 --only get,list --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pg
import profile_summary
import report
from procs import service_command, serving
from run import (
    BENCH_DIR,
    SERVICE_DB,
    WORK_DIR,
    Scenario,
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


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [r["rps"] for r in rows]
    return {
        "rates": rates,
        "rps": statistics.median(rates),
        "p95": statistics.median(r["latency_ms"]["p95"] for r in rows),
        "cpu": statistics.median(cpu_us_per_request(r) for r in rows),
    }


def render(base: str, results: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    lines = [
        f"A = {base}, B = working tree; req/s per round and median, p95 median (ms), "
        "workers' CPU per request (median, µs)",
        "| scenario | A runs | B runs | A median | B median | B vs A | A p95 | B p95 "
        "| A CPU/req | B CPU/req | B vs A |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, sides in results.items():
        a, b = summary(sides["A"]), summary(sides["B"])
        change = 100 * (b["rps"] / a["rps"] - 1) if a["rps"] else 0.0
        lines.append(
            f"| {name} | {' / '.join(f'{r:,.0f}' for r in a['rates'])} "
            f"| {' / '.join(f'{r:,.0f}' for r in b['rates'])} | {a['rps']:,.0f} "
            f"| {b['rps']:,.0f} | {change:+.1f}% | {a['p95']:.1f} | {b['p95']:.1f} "
            f"| {a['cpu']:,.0f} | {b['cpu']:,.0f} | {100 * (b['cpu'] / a['cpu'] - 1):+.1f}% |"
        )
    return "\n".join(lines)


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
    with pg.postgres_server() as server_url, pg.fresh_database(server_url, SERVICE_DB) as url:
        bench.db_url = url
        env = service_env(bench)
        a_env = {**env, "PYTHONPATH": str(base_src), "DATA_DIR": str(WORK_DIR / "data-a")}
        with (
            serving(service_command(), a_env, "/health/ready", WORK_DIR / "a.log") as side_a,
            serving(service_command(), env, "/health/ready", WORK_DIR / "b.log") as side_b,
        ):
            bench.server = side_b
            seed_small(bench)
            for server in (side_a, side_b):
                bench.server = server
                run_scenario_once(bench, Scenario("warmup", "warm-up", "mix.lua", 100))
            for round_ in range(args.rounds):
                order = [("A", side_a), ("B", side_b)]
                for scenario in scenarios:
                    for side, server in order if round_ % 2 == 0 else order[::-1]:
                        bench.server = server
                        print(f"round {round_ + 1}, {side}:", end="", flush=True)
                        results[scenario.name][side].append(run_scenario_once(bench, scenario))
            profiles = []
            if args.py_spy:
                profiled = set(args.profile.split(",")) if args.profile else set(names)
                for scenario in (s for s in scenarios if s.name in profiled):
                    for side, server in (("A", side_a), ("B", side_b)):
                        bench.server = server
                        profiles.append(profile_side(bench, scenario, side))
    if args.rounds:
        print("\n" + render(args.base, results))
    for text in profiles:
        print("\n" + text)


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH_DIR))
    main()
