"""Every error leaves as RFC 9457 problem+json. One table maps domain errors to statuses;
validation errors of any origin become a 400 naming each field; anything else is a 500
whose details stay in the log."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from todo_api.logging import get_logger
from todo_api.schemas import FieldErrorResponse, ProblemResponse
from todo_core import errors as domain

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = "5"

log = get_logger("todo_api.errors")

STATUS_OF: dict[type[domain.DomainError], HTTPStatus] = {
    domain.ValidationError: HTTPStatus.BAD_REQUEST,
    domain.EmailTakenError: HTTPStatus.BAD_REQUEST,
    domain.InvalidCredentialsError: HTTPStatus.UNAUTHORIZED,
    domain.InvalidTokenError: HTTPStatus.UNAUTHORIZED,
    domain.InvalidRefreshTokenError: HTTPStatus.UNAUTHORIZED,
    domain.UnknownUserError: HTTPStatus.UNAUTHORIZED,
    domain.TaskAccessDeniedError: HTTPStatus.FORBIDDEN,
    domain.TaskNotFoundError: HTTPStatus.NOT_FOUND,
    domain.SessionNotFoundError: HTTPStatus.NOT_FOUND,
    domain.LoginThrottledError: HTTPStatus.TOO_MANY_REQUESTS,
    domain.MailUnavailableError: HTTPStatus.SERVICE_UNAVAILABLE,
    domain.TaskVersionMismatchError: HTTPStatus.PRECONDITION_FAILED,
    domain.IdempotencyKeyInUseError: HTTPStatus.CONFLICT,
    domain.IdempotencyKeyReusedError: HTTPStatus.UNPROCESSABLE_ENTITY,
    domain.StorageUnavailableError: HTTPStatus.SERVICE_UNAVAILABLE,
}


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def problem(
    request: Request,
    status: HTTPStatus,
    detail: str,
    *,
    errors: list[FieldErrorResponse] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ProblemResponse(
        title=status.phrase,
        status=status.value,
        detail=detail,
        instance=request.url.path,
        request_id=request_id_of(request),
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status.value,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _challenge(error: domain.DomainError) -> str:
    if isinstance(error, domain.InvalidTokenError) and error.token_sent:
        return f'Bearer error="invalid_token", error_description="{error.reason}"'
    if isinstance(error, domain.UnknownUserError):
        return 'Bearer error="invalid_token", error_description="unknown user"'
    return "Bearer"


def _log_domain_error(request: Request, error: domain.DomainError) -> None:
    if isinstance(error, domain.InvalidCredentialsError):
        log.warning("auth.login_failed", email=error.email)
        request.app.state.metrics.login_failures.inc()
    elif isinstance(error, domain.TaskAccessDeniedError):
        log.warning("task.access_denied", user_id=str(error.user_id), task_id=str(error.task_id))
    elif isinstance(error, domain.RefreshTokenReuseError):
        log.warning(
            "security.refresh_token_reused",
            user_id=str(error.user_id),
            family_id=str(error.family_id),
        )
    elif isinstance(error, domain.InvalidTokenError):
        log.info("auth.token_rejected", reason=error.reason)
    elif isinstance(error, domain.LoginThrottledError):
        log.warning("auth.login_throttled", scope=error.scope, retry_after=error.retry_after_s)
        request.app.state.metrics.logins_throttled.labels(error.scope).inc()
    elif isinstance(error, domain.MailUnavailableError):
        log.error("auth.password_reset_unavailable", reason="SMTP_URL is not set")
    elif isinstance(error, domain.StorageUnavailableError):
        log.warning("storage.unavailable", cause=repr(error.__cause__))


async def handle_domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, domain.DomainError)
    _log_domain_error(request, error)
    status = next(s for kind, s in STATUS_OF.items() if isinstance(error, kind))
    headers: dict[str, str] = {}
    if status is HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = _challenge(error)
    if isinstance(error, domain.StorageUnavailableError):
        headers["Retry-After"] = RETRY_AFTER_SECONDS
    elif isinstance(error, domain.LoginThrottledError):
        headers["Retry-After"] = str(error.retry_after_s)
    field_errors = None
    if isinstance(error, domain.ValidationError):
        field_errors = [FieldErrorResponse(field=e.field, message=e.message) for e in error.errors]
    return problem(request, status, error.detail, errors=field_errors, headers=headers)


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "bool_type": "must be a boolean (true or false)",
    "bool_parsing": "must be true or false",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "uuid_parsing": "must be a UUID",
    "uuid_type": "must be a UUID",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
}


def _field_error(error: dict[str, Any]) -> FieldErrorResponse:
    location = [str(part) for part in error.get("loc", ())]
    if location and location[0] in {"body", "query", "path", "header", "cookie"}:
        location = location[1:]
    kind = error.get("type", "")
    if kind == "json_invalid":
        reason = error.get("ctx", {}).get("error", "invalid JSON")
        return FieldErrorResponse(field="body", message=f"is not valid JSON ({reason})")
    return FieldErrorResponse(field=".".join(location) or "body", message=_message(kind, error))


def _message(kind: str, error: dict[str, Any]) -> str:
    limits = error.get("ctx", {})
    if kind.endswith("_type") and "input" in error and error["input"] is None:
        return "must not be null"
    if kind == "greater_than_equal":
        return f"must be at least {limits.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {limits.get('le')}"
    if kind == "value_error":  # one of the domain's rules, its message as is
        return str(limits.get("error", "is invalid"))
    if kind == "literal_error":
        return f"must be one of {limits.get('expected')}"
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    message = str(error.get("msg") or "is invalid")
    return message[0].lower() + message[1:]


async def handle_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    field_errors = [_field_error(e) for e in error.errors()]
    if any(e.message.startswith("is not valid JSON") for e in field_errors):
        detail = "Malformed JSON in request body"
    else:
        detail = "Validation failed: " + "; ".join(f"{e.field} {e.message}" for e in field_errors)
    return problem(request, HTTPStatus.BAD_REQUEST, detail, errors=field_errors)


_UNPARSABLE: dict[type[BaseException], str] = {
    UnicodeDecodeError: "invalid UTF-8",
    RecursionError: "nested too deeply",
    ValueError: "a value out of range",
}

_HTTP_DETAILS = {
    HTTPStatus.NOT_FOUND: "No such resource",
    HTTPStatus.METHOD_NOT_ALLOWED: "Method not allowed on this resource",
}


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's);
    HEAD wherever GET is (the request envelope answers it)."""
    methods: set[str] = set()
    plain_routes = [r for r in request.app.routes if hasattr(r, "path_regex")]  # docs, openapi
    for route in [*getattr(request.app.state, "api_routes", ()), *plain_routes]:
        if route.path_regex.fullmatch(request.url.path):
            methods.update(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


async def handle_http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    status = HTTPStatus(error.status_code)
    detail = error.detail if isinstance(error.detail, str) else status.phrase
    detail = _HTTP_DETAILS.get(status, detail) if detail == status.phrase else detail
    headers = dict(error.headers or {})
    if status is HTTPStatus.BAD_REQUEST and error.__cause__ is not None:
        # FastAPI could not decode the body at all: invalid UTF-8, nesting too deep for the
        # parser, a number with more digits than Python converts.
        reason = _UNPARSABLE.get(type(error.__cause__), "cannot be parsed")
        invalid = FieldErrorResponse(field="body", message=f"is not valid JSON ({reason})")
        return problem(request, status, "Malformed JSON in request body", errors=[invalid])
    if status is HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = _allowed_methods(request)
    return problem(request, status, detail, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(domain.DomainError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
