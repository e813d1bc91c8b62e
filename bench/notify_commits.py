"""What NOTIFY's commit lock costs: PostgreSQL serializes every commit that has notified
(one lock for the whole cluster, held from before the commit record until after it is
flushed), so notifying commits cannot share a WAL flush the way plain ones do. This runs
pgbench with two one-row write transactions, one also calling pg_notify as the feed's
triggers do, at several client counts, and prints their rates: if the notifying one's
ceiling is far above the service's write rate, the lock does not matter at that rate.

    .venv/bin/python bench/notify_commits.py [--duration 5] [--clients 1,10,50]

Uses the embedded server, or BENCH_DATABASE_URL's, like `make bench`.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile

import pg

SCRIPTS = {
    "insert": "INSERT INTO notify_bench (v) VALUES (1);\n",
    "insert + pg_notify": (
        "BEGIN;\nINSERT INTO notify_bench (v) VALUES (1);\n"
        "SELECT pg_notify('task_changes', 'bench');\nEND;\n"
    ),
}


def run(url: str, script: str, clients: int, duration: int) -> tuple[float, float]:
    """tps and average latency (ms) of the script with this many clients."""
    target, env = pg._pgbench_target(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as file:
        file.write(script)
        file.flush()
        command = [
            pg._pgbench_binary(), "-n", "-f", file.name, "-c", str(clients),
            "-j", str(min(clients, 2)), "-T", str(duration), *target,
        ]  # fmt: skip
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, check=True, timeout=duration + 60
        )
    tps = re.search(r"tps = ([\d.]+)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    return float(tps.group(1)) if tps else 0.0, float(latency.group(1)) if latency else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--clients", default="1,10,50")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    with pg.postgres_server() as server, pg.fresh_database(server, "todo_bench_notify") as url:
        pg.execute(url, "CREATE TABLE notify_bench (id bigserial PRIMARY KEY, v int)")
        settings = pg.execute(url, "SHOW synchronous_commit", "SHOW fsync")
        print(f"synchronous_commit={settings[0][0][0]}, fsync={settings[1][0][0]}")
        print("| transaction | clients | tx/s | latency avg ms |\n|---|---|---|---|")
        for n in clients:
            for name, script in SCRIPTS.items():
                tps, latency = run(url, script, n, args.duration)
                print(f"| {name} | {n} | {tps:,.0f} | {latency:.2f} |", flush=True)


if __name__ == "__main__":
    main()
