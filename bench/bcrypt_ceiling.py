"""The login ceiling: raw bcrypt verifications per second on this machine's cores at the
service's cost, one process per core, nothing else. A login is one verification plus a
little work, so the service's logins/s is compared to this.

    python bench/bcrypt_ceiling.py --rounds 12 --processes 2 --duration 10
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time

import bcrypt

PASSWORD = b"bench password 1"


def _verify_until(deadline: float, hashed: bytes) -> int:
    done = 0
    while time.monotonic() < deadline:
        if not bcrypt.checkpw(PASSWORD, hashed):
            raise AssertionError("bcrypt verification failed")
        done += 1
    return done


def measure(rounds: int, processes: int, duration: float) -> dict[str, float]:
    hashed = bcrypt.hashpw(PASSWORD, bcrypt.gensalt(rounds))
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        began = time.monotonic()
        deadline = began + duration
        counts = pool.starmap(_verify_until, [(deadline, hashed)] * processes)
        elapsed = time.monotonic() - began
    return {
        "rounds": rounds,
        "processes": processes,
        "verifications": sum(counts),
        "seconds": round(elapsed, 3),
        "per_second": sum(counts) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    print(json.dumps(measure(args.rounds, args.processes, args.duration)))


if __name__ == "__main__":
    main()
