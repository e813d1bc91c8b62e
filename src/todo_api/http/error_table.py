"""What each domain error becomes over HTTP, in one declaration per error class: its status,
the headers it carries (the bearer challenge, Retry-After), the event it logs and the metric
it counts. An error class without a row of its own takes its nearest ancestor's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final

from todo_api.http.problems import RETRY_AFTER_SECONDS
from todo_api.observability.metrics import Metrics
from todo_core import errors as domain
from todo_core.domain import email_if_valid

# Each takes the error; typed loosely because each row knows its own error class.
Fields = Callable[[Any], dict[str, str | int]]
Header = Callable[[Any], str]
Count = Callable[[Metrics, Any], None]

UNKNOWN_USER_CHALLENGE: Final = 'Bearer error="invalid_token", error_description="unknown user"'


@dataclass(frozen=True, slots=True)
class Event:
    """A log line: its level, its dotted name, and the fields taken from the error (never a
    secret)."""

    level: str
    name: str
    fields: Fields = field(default=lambda _error: {})


@dataclass(frozen=True, slots=True)
class ErrorRule:
    status: HTTPStatus
    # WWW-Authenticate of a 401; without one a 401 carries the plain "Bearer" challenge.
    challenge: Header | None = None
    retry_after: Header | None = None
    event: Event | None = None
    count: Count | None = None


def _token_challenge(error: domain.InvalidTokenError) -> str:
    if not error.token_sent:
        return "Bearer"
    return f'Bearer error="invalid_token", error_description="{error.reason}"'


def _login_failed_fields(error: domain.InvalidCredentialsError) -> dict[str, str | int]:
    """The email as typed only when it is one: people type passwords into the email field,
    and a log line must never carry a password. Otherwise only its shape."""
    if email_if_valid(error.email) is not None:
        return {"email": error.email}
    return {"email_valid": False, "email_length": len(error.email)}


def _count_login_failure(metrics: Metrics, _error: domain.InvalidCredentialsError) -> None:
    metrics.login_failures.inc()


def _count_throttled(metrics: Metrics, error: domain.LoginThrottledError) -> None:
    metrics.logins_throttled.labels(error.scope).inc()


RULES: Final[dict[type[domain.DomainError], ErrorRule]] = {
    domain.ValidationError: ErrorRule(HTTPStatus.BAD_REQUEST),
    domain.EmailTakenError: ErrorRule(HTTPStatus.BAD_REQUEST),
    domain.InvalidCredentialsError: ErrorRule(
        HTTPStatus.UNAUTHORIZED,
        event=Event("warning", "auth.login_failed", _login_failed_fields),
        count=_count_login_failure,
    ),
    domain.InvalidTokenError: ErrorRule(
        HTTPStatus.UNAUTHORIZED,
        challenge=_token_challenge,
        event=Event("info", "auth.token_rejected", lambda e: {"reason": e.reason}),
    ),
    domain.InvalidRefreshTokenError: ErrorRule(HTTPStatus.UNAUTHORIZED),
    domain.RefreshTokenReuseError: ErrorRule(
        HTTPStatus.UNAUTHORIZED,
        event=Event(
            "warning",
            "security.refresh_token_reused",
            lambda e: {"user_id": str(e.user_id), "family_id": str(e.family_id)},
        ),
    ),
    domain.UnknownUserError: ErrorRule(
        HTTPStatus.UNAUTHORIZED, challenge=lambda _e: UNKNOWN_USER_CHALLENGE
    ),
    domain.TaskAccessDeniedError: ErrorRule(
        HTTPStatus.FORBIDDEN,
        event=Event(
            "warning",
            "task.access_denied",
            lambda e: {"user_id": str(e.user_id), "task_id": str(e.task_id)},
        ),
    ),
    domain.TaskNotFoundError: ErrorRule(HTTPStatus.NOT_FOUND),
    domain.SessionNotFoundError: ErrorRule(HTTPStatus.NOT_FOUND),
    domain.TaskVersionMismatchError: ErrorRule(HTTPStatus.PRECONDITION_FAILED),
    domain.IdempotencyKeyInUseError: ErrorRule(HTTPStatus.CONFLICT),
    # Only after the move was tried again several times while the order kept changing.
    domain.PositionTakenError: ErrorRule(
        HTTPStatus.SERVICE_UNAVAILABLE, retry_after=lambda _e: RETRY_AFTER_SECONDS
    ),
    domain.IdempotencyKeyReusedError: ErrorRule(HTTPStatus.UNPROCESSABLE_ENTITY),
    domain.SyncTokenExpiredError: ErrorRule(HTTPStatus.GONE),
    domain.TooManyStreamsError: ErrorRule(
        HTTPStatus.TOO_MANY_REQUESTS,
        retry_after=lambda _e: RETRY_AFTER_SECONDS,
        event=Event("info", "events.too_many_streams", lambda e: {"limit": e.limit}),
    ),
    domain.StreamsClosedError: ErrorRule(
        HTTPStatus.SERVICE_UNAVAILABLE,
        retry_after=lambda _e: RETRY_AFTER_SECONDS,
        event=Event("info", "events.streams_closed"),
    ),
    domain.LoginThrottledError: ErrorRule(
        HTTPStatus.TOO_MANY_REQUESTS,
        retry_after=lambda e: str(e.retry_after_s),
        event=Event(
            "warning",
            "auth.login_throttled",
            lambda e: {"scope": e.scope, "retry_after": e.retry_after_s},
        ),
        count=_count_throttled,
    ),
    domain.MailUnavailableError: ErrorRule(
        HTTPStatus.SERVICE_UNAVAILABLE,
        event=Event(
            "error", "auth.password_reset_unavailable", lambda _e: {"reason": "SMTP_URL is not set"}
        ),
    ),
    domain.StorageUnavailableError: ErrorRule(
        HTTPStatus.SERVICE_UNAVAILABLE,
        retry_after=lambda _e: RETRY_AFTER_SECONDS,
        event=Event("warning", "storage.unavailable", lambda e: {"cause": repr(e.__cause__)}),
    ),
}


def rule_for(kind: type[domain.DomainError]) -> ErrorRule:
    """The row of the error class, or of its nearest ancestor that has one (every error the
    core defines has one: tests/unit/test_error_table.py). LookupError for a class outside
    the table, which the request envelope then answers as a logged 500."""
    for ancestor in kind.__mro__:
        if (rule := RULES.get(ancestor)) is not None:
            return rule
    raise LookupError(f"no HTTP rule for {kind.__name__}")
