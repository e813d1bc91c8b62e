"""`todo-api serve`: what `make run` runs. Without DATABASE_URL it starts the embedded
PostgreSQL once, here, and hands its URL to every worker, so workers share one server."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile

import uvicorn
from pydantic import ValidationError

from todo_api.settings import Settings


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        sys.exit(f"todo-api: invalid configuration: {problems}")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(settings: Settings) -> None:
    from todo_adapters.sql.embedded import start_embedded_postgres

    server = None
    if not settings.DATABASE_URL:
        print(f"todo-api: starting embedded PostgreSQL under {settings.DATA_DIR}", file=sys.stderr)
        server = start_embedded_postgres(settings.DATA_DIR)
        os.environ["DATABASE_URL"] = server.url()
    # uvicorn re-raises SIGTERM after its graceful shutdown; as an exception (not the default
    # action, which kills the process at once) it lets the `finally` below stop PostgreSQL.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if settings.WORKERS > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Workers write their metrics here so that a scrape of any one sums them all.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="todo-api-metrics-")
    if settings.JWT_SECRET is None:
        settings.jwt_secret()  # create the persisted development secret before workers race for it
    try:
        uvicorn.run(
            "todo_api.app:create_app",
            factory=True,
            host=settings.HOST,
            port=settings.PORT,
            workers=settings.WORKERS,
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=10,
        )
    finally:
        if server is not None:
            server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="todo-api", description="The Todo API service.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the API (HOST, PORT, WORKERS from the environment)")
    args = parser.parse_args(argv)
    settings = _load_settings()
    if args.command == "serve":
        serve(settings)


if __name__ == "__main__":
    main()
