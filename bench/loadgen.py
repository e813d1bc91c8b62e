"""wrk, driven: one bounded run of a Lua script in bench/lua over loopback, read back from
the JSON the script's done() writes, summarized as requests/s, latency percentiles in
milliseconds, status counts and errors (non-2xx responses and socket errors)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LUA_DIR = Path(__file__).resolve().parent / "lua"
INSTALL_HINT = "wrk is missing: apt-get install -y wrk (Debian/Ubuntu) or brew install wrk (macOS)"


@dataclass(frozen=True)
class Load:
    script: str  # a file of bench/lua
    connections: int
    duration: int  # seconds
    threads: int
    env: dict[str, str] = field(default_factory=dict)
    timeout: int = 5  # seconds before wrk counts a request as timed out


def require_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit(INSTALL_HINT)
    return found


def wrk_version() -> str:
    done = subprocess.run([require_wrk(), "-v"], capture_output=True, text=True, timeout=10)
    return (done.stdout or done.stderr).split("Copyright")[0].strip()


def _command(base: str, load: Load, threads: int) -> list[str]:
    return [
        require_wrk(), f"-t{threads}", f"-c{load.connections}", f"-d{load.duration}s",
        f"--timeout={load.timeout}s", "-s", str(LUA_DIR / load.script), base,
    ]  # fmt: skip


def run_wrk(base: str, load: Load, out: Path) -> dict[str, Any]:
    """Run wrk against `base` (127.0.0.1 only) and return the summary of the run."""
    if not base.startswith("http://127.0.0.1:"):
        raise ValueError(f"load goes to loopback only, not {base}")
    threads = max(1, min(load.threads, load.connections))
    env = {
        **os.environ, "BENCH_LUA_DIR": str(LUA_DIR), "BENCH_THREADS": str(threads),
        "BENCH_OUT": str(out), **load.env,
    }  # fmt: skip
    out.unlink(missing_ok=True)
    done = subprocess.run(
        _command(base, load, threads), env=env, capture_output=True, text=True,
        timeout=load.duration + load.timeout + 60,
    )  # fmt: skip
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return summarize(json.loads(out.read_text()))


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    seconds = raw["duration_us"] / 1e6
    statuses = {int(k): v for k, v in sorted(raw["statuses"].items(), key=lambda kv: int(kv[0]))}
    socket_errors = {k: v for k, v in raw["errors"].items() if k != "status"}
    non_2xx = sum(count for status, count in statuses.items() if not 200 <= status < 300)
    latency = {k: round(v / 1000, 2) for k, v in raw["latency_us"].items()}
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "rps": raw["requests"] / seconds if seconds else 0.0,
        "steady_rps": raw["steady_rps"],
        "latency_ms": latency,
        "statuses": statuses,
        "errors": {
            "non_2xx": non_2xx,
            "socket": sum(socket_errors.values()),
            "socket_detail": socket_errors,
            "total": non_2xx + sum(socket_errors.values()),
        },
    }
