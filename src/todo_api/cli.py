"""The `todo-api` command: `serve` (what `make run` runs), `migrate`, `check`, `openapi`,
`send-test-mail`.
Without DATABASE_URL, `serve` starts the embedded PostgreSQL once, here, and hands its URL
to every worker, so that the workers share one server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NoReturn

import uvicorn
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_adapters.sql.embedded import EmbeddedPostgresMissingError
from todo_adapters.sql.engine import PoolSettings, build_engine
from todo_adapters.sql.migrate import (
    UnknownRevisionError,
    current_revision,
    downgrade_schema,
    head_revision,
    upgrade_schema,
)
from todo_api.composition.lifespan import database_url, smtp_mailer
from todo_api.composition.preflight import (
    StartupError,
    check_data_dir,
    check_urls,
    reason,
    wait_for_database,
)
from todo_api.composition.serving import run_server
from todo_api.http.server import HTTP_PROTOCOL
from todo_api.observability.logging import configure_logging
from todo_api.settings import Settings
from todo_core.ports import MailMessage


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        # A field's error names its variable; a rule across fields names them in its text.
        said = "; ".join(
            ".".join(map(str, e["loc"]))
            + ": " * bool(e["loc"])
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise StartupError("", said) from None


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


@contextmanager
def _database_url(settings: Settings) -> Iterator[str]:
    """The database the command works on (lifespan.database_url), or exit in one line."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(database_url(settings))
        except EmbeddedPostgresMissingError as exc:
            raise StartupError("", str(exc)) from None
        yield url


def serve(settings: Settings) -> None:
    # uvicorn re-raises SIGTERM after its graceful shutdown; as an exception (not the default
    # action, which kills the process at once) it lets the embedded PostgreSQL stop.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if settings.WORKERS > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Workers write their metrics here so that a scrape of any one sums them all.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="todo-api-metrics-")
    with _database_url(settings) as url:
        # Refused here, in one line, before any worker starts (and fails the same way).
        with _quiet("alembic", unless_debug=settings.LOG_LEVEL == "DEBUG"):
            _with_engine_at(url, settings, lambda engine: wait_for_database(engine, settings))
        os.environ["DATABASE_URL"] = url
        config = uvicorn.Config(
            "todo_api.app:create_served_app",
            factory=True,
            host=settings.HOST,
            port=settings.PORT,
            workers=settings.WORKERS,
            http=HTTP_PROTOCOL,
            # No proxy is trusted unless FORWARDED_ALLOW_IPS names one; uvicorn's own
            # default (127.0.0.1, or its reading of the variable) is never used.
            proxy_headers=bool(settings.forwarded_allow_ips),
            forwarded_allow_ips=",".join(settings.forwarded_allow_ips) or "",
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=10,
            # uvicorn kills a worker that has not answered its supervisor for this long;
            # its default (5 s) killed workers still importing the app on a busy machine,
            # and the start took minutes of kills and restarts.
            timeout_worker_healthcheck=30,
        )
        run_server(config)


@contextmanager
def _quiet(logger: str, *, unless_debug: bool) -> Iterator[None]:
    """The logger's INFO lines left out while the block runs."""
    target = logging.getLogger(logger)
    level = target.level
    if not unless_debug:
        target.setLevel(logging.WARNING)
    try:
        yield
    finally:
        target.setLevel(level)


def _with_engine_at(
    url: str, settings: Settings, work: Callable[[AsyncEngine], Awaitable[object]]
) -> None:
    async def run() -> None:
        pool = PoolSettings(size=1, max_overflow=0, pgbouncer=settings.DB_PGBOUNCER)
        engine = build_engine(url, pool)
        try:
            await work(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


def _with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[None]]) -> None:
    """`work` on the database, once it answers (or a StartupError naming the setting)."""

    async def when_ready(engine: AsyncEngine) -> None:
        await wait_for_database(engine, settings)
        await work(engine)

    with _database_url(settings) as url:
        _with_engine_at(url, settings, when_ready)


def migrate(settings: Settings, action: str, revision: str | None, *, yes: bool = False) -> None:
    if action == "downgrade" and not yes:
        _confirm_downgrade(revision or "-1")

    async def work(engine: AsyncEngine) -> None:
        if action == "upgrade":
            await upgrade_schema(engine, revision or "head")
        elif action == "downgrade":
            await downgrade_schema(engine, revision or "-1")
        print(f"database at revision {await current_revision(engine) or '(empty)'}")

    try:
        _with_engine(settings, work)
    except UnknownRevisionError as exc:  # say so in one line, no traceback
        print(f"todo-api migrate: {exc}", file=sys.stderr)
        sys.exit(2)


def _confirm_downgrade(target: str) -> None:
    """A downgrade drops the later revisions' tables and columns with their data: it goes
    on only with --yes, or with "yes" typed at a terminal."""
    warning = (
        f"downgrading to {target} drops the tables and columns of later revisions, data and all"
    )
    if not sys.stdin.isatty():
        print(f"todo-api migrate: {warning}; refused without --yes", file=sys.stderr)
        sys.exit(2)
    if input(f"todo-api migrate: {warning}. Type yes to go on: ").strip() != "yes":
        print("todo-api migrate: nothing changed", file=sys.stderr)
        sys.exit(2)


def check(settings: Settings) -> None:
    """What `serve` refuses, refused alike: the settings, then the database answering
    within DB_CONNECT_TIMEOUT at a schema revision this release knows."""
    source = "DATABASE_URL" if settings.DATABASE_URL else f"embedded under {settings.DATA_DIR}"

    async def work(engine: AsyncEngine) -> None:
        current = await current_revision(engine)
        head = head_revision()
        state = "up to date" if current == head else f"will migrate to {head} at startup"
        print(f"todo-api check: ok ({settings.APP_ENV}); database {source} answers;")
        print(f"  schema revision {current or '(empty)'}, {state}")

    _with_engine(settings, work)


def send_test_mail(settings: Settings, to: str) -> None:
    """One message through SMTP_URL, now: exit 0 when the server took it, 1 when not,
    2 when SMTP_URL is not set."""
    if settings.SMTP_URL is None or not settings.SMTP_URL.get_secret_value():
        print("todo-api send-test-mail: SMTP_URL is not set", file=sys.stderr)
        sys.exit(2)
    message = MailMessage(
        to=to,
        subject="Todo API test mail",
        text="This is a test message from todo-api send-test-mail: mail delivery works.\n",
        html="<p>This is a test message from <code>todo-api send-test-mail</code>: "
        "mail delivery works.</p>\n",
    )
    try:
        mailer = smtp_mailer(settings)
        assert mailer is not None
        asyncio.run(mailer.send(message))
    except Exception as exc:  # whatever went wrong, one line (never the URL: it has a password)
        detail = " ".join(str(exc).split()) or "(no detail)"
        print(f"todo-api send-test-mail: {type(exc).__name__}: {detail}", file=sys.stderr)
        sys.exit(1)
    print(f"sent to {to}")


def write_openapi(output: Path | None) -> None:
    from todo_api.app import openapi_document

    document = openapi_document()
    if output is None:
        sys.stdout.write(document)
    else:
        output.write_text(document)
        print(f"wrote {output}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="todo-api", description="The Todo API service.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the API (HOST, PORT, WORKERS from the environment)")
    migration = commands.add_parser("migrate", help="change or show the schema revision")
    migration.add_argument("action", choices=["upgrade", "downgrade", "current"])
    migration.add_argument("revision", nargs="?", help="target (upgrade: head, downgrade: -1)")
    migration.add_argument(
        "--yes", action="store_true", help="downgrade without asking (it drops data)"
    )
    commands.add_parser("check", help="validate the configuration and reach the database")
    test_mail = commands.add_parser("send-test-mail", help="send one message through SMTP_URL")
    test_mail.add_argument("--to", required=True, metavar="ADDRESS", help="recipient")
    document = commands.add_parser("openapi", help="write the OpenAPI document")
    document.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Run a command; whatever stops it is one line on stderr naming the setting and the
    reason, and a non-zero exit (the trace too at LOG_LEVEL=DEBUG)."""
    args = _parser().parse_args(argv)
    try:
        _run(args)
    except StartupError as exc:
        _fail(args.command, str(exc), exc)
    except Exception as exc:
        _fail(args.command, f"{type(exc).__name__}: {reason(exc)}", exc)


def _fail(command: str, said: str, error: BaseException) -> NoReturn:
    logging.getLogger("todo_api.cli").debug("the trace of what follows", exc_info=error)
    print(f"todo-api {command}: {said}", file=sys.stderr)
    sys.exit(1)


def _run(args: argparse.Namespace) -> None:
    if args.command == "openapi":
        write_openapi(args.output)
        return
    settings = _load_settings()
    configure_logging(settings.LOG_LEVEL, settings.json_logs)
    if args.command != "serve" and settings.LOG_LEVEL != "DEBUG":
        # A command says what it did in its own lines; alembic's steps would bury them.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # Nor the database's retries: a failure is one line, said once.
        logging.getLogger("todo_api.database.retries").setLevel(logging.ERROR)
    check_urls(settings)
    if args.command in ("serve", "check"):
        # The development secret made now, before several workers race to make it.
        check_data_dir(settings)
    if args.command == "serve":
        serve(settings)
    elif args.command == "migrate":
        migrate(settings, args.action, args.revision, yes=args.yes)
    elif args.command == "check":
        check(settings)
    elif args.command == "send-test-mail":
        send_test_mail(settings, args.to)


if __name__ == "__main__":
    main()
