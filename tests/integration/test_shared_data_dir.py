"""Several processes on one DATA_DIR (a second `make run` on another port, `todo-api
check`): they share the embedded PostgreSQL, none stops it while another still uses it,
and the last one out stops it. A postmaster.pid left by a crash does not keep it from
starting again."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import psutil

from tests.integration.processes import CLI, served


def _environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "JWT_SECRET"}}
    return {**env, "DATA_DIR": str(data_dir), "BCRYPT_ROUNDS": "4", "WORKERS": "1"}


def _postmasters(data_dir: Path) -> list[psutil.Process]:
    pgdata = str(data_dir / "pgdata")
    return [
        p
        for p in psutil.process_iter(["name", "cmdline"])
        if p.info["name"] == "postgres" and pgdata in (p.info["cmdline"] or [])
    ]


def _registers(base: str, email: str) -> None:
    answer = httpx.post(f"{base}/auth/register", json={"email": email, "password": "long enough"})
    assert answer.status_code == 201, answer.text


def test_a_second_instance_and_a_check_never_stop_the_first_one_s_database(tmp_path: Path):
    env = _environment(tmp_path)
    with served(env, tmp_path / "first.log") as first:
        (postmaster,) = _postmasters(tmp_path)
        with served(env, tmp_path / "second.log") as second:
            _registers(second.base, "second@example.com")
            assert _postmasters(tmp_path) == [postmaster], "one server, shared"
        checked = subprocess.run(
            [CLI, "check"], env=env, capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, checked.stderr
        assert "left running for the others" in checked.stderr
        # Both left; the first still has its database, and sees the second's writes.
        _registers(first.base, "first@example.com")
        login = {"email": "second@example.com", "password": "long enough"}
        assert httpx.post(f"{first.base}/auth/login", json=login).status_code == 200
    assert not _postmasters(tmp_path), "the last one out stops the server"


def test_the_first_leaving_leaves_the_database_to_the_second(tmp_path: Path):
    env = _environment(tmp_path)
    with served(env, tmp_path / "second.log") as second:
        with served(env, tmp_path / "first.log"):
            pass  # the first instance stops while the second still serves
        assert _postmasters(tmp_path), "still in use: not stopped"
        _registers(second.base, "after@example.com")
    assert not _postmasters(tmp_path)


def test_a_crash_s_leftovers_do_not_keep_the_database_from_starting(tmp_path: Path):
    env = _environment(tmp_path)
    with served(env, tmp_path / "before.log") as before:
        _registers(before.base, "kept@example.com")
        # PostgreSQL dies without cleaning up (kill -9), as in a power cut.
        crashed = _postmasters(tmp_path)
        for process in crashed:
            process.send_signal(signal.SIGKILL)
        psutil.wait_procs(crashed, timeout=10)
        assert (tmp_path / "pgdata" / "postmaster.pid").exists(), "the crash left its pid file"

    with served(env, tmp_path / "after.log") as after:
        login = {"email": "kept@example.com", "password": "long enough"}
        assert httpx.post(f"{after.base}/auth/login", json=login).status_code == 200
    assert not _postmasters(tmp_path)
