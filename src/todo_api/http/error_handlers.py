"""The exception handlers: domain errors by the error table, validation errors of any
origin as a 400 naming each field, and the framework's own HTTP errors, all as
problem+json. Anything else is the request envelope's logged 500."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, NoReturn

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from todo_api.http.error_table import rule_for
from todo_api.http.problems import FieldErrorResponse, problem
from todo_api.observability.logging import get_logger
from todo_core import errors as domain

log = get_logger("todo_api.errors")


async def handle_domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, domain.DomainError)
    rule = rule_for(type(error))
    if rule.event is not None:
        getattr(log, rule.event.level)(rule.event.name, **rule.event.fields(error))
    if rule.count is not None:
        rule.count(request.app.state.metrics, error)
    headers: dict[str, str] = {}
    if rule.status is HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = rule.challenge(error) if rule.challenge else "Bearer"
    if rule.retry_after is not None:
        headers["Retry-After"] = rule.retry_after(error)
    field_errors = None
    if isinstance(error, domain.ValidationError):
        field_errors = [FieldErrorResponse(field=e.field, message=e.message) for e in error.errors]
    return problem(request, rule.status, error.detail, errors=field_errors, headers=headers)


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


# The name of a route that only refuses methods (405) at a path that a route with a path
# parameter would otherwise take: PUT /tasks/changes is no update of the task "changes".
REFUSING_ROUTE = "method_not_allowed"


async def _method_not_allowed() -> NoReturn:
    raise StarletteHTTPException(HTTPStatus.METHOD_NOT_ALLOWED)


def claim_literal_paths(router: APIRouter, every_route: list[BaseRoute]) -> None:
    """A path that one of the router's routes names literally is that route's own: a
    method it does not take is a 405 there, never a match of a route with a parameter in
    the same place (among `every_route`). Routing takes the first route whose path and
    method both match, so a refusing route goes right after each literal one, which comes
    before the routes with parameters. Called before the router is included; a router is
    a module's, shared by every app made in the process: its refusing routes are made anew."""
    router.routes[:] = [r for r in router.routes if getattr(r, "name", None) != REFUSING_ROUTE]
    api = [r for r in every_route if isinstance(r, APIRoute)]
    for literal in [r for r in router.routes if isinstance(r, APIRoute) and "{" not in r.path]:
        shadowing = {
            method
            for route in api
            if "{" in route.path and route.path_regex.fullmatch(literal.path)
            for method in route.methods or ()
        }
        if refused := shadowing - (literal.methods or set()):
            refusing = APIRoute(
                literal.path,
                _method_not_allowed,
                methods=sorted(refused),
                response_model=None,
                include_in_schema=False,
                name=REFUSING_ROUTE,
            )
            router.routes.insert(router.routes.index(literal) + 1, refusing)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's);
    HEAD wherever GET is (the request envelope answers it). A path a route names literally
    is that route's alone, whatever a route with a parameter would match."""
    methods: set[str] = set()
    plain_routes = [r for r in request.app.routes if hasattr(r, "path_regex")]  # docs, openapi
    matching = [
        route
        for route in [*getattr(request.app.state, "api_routes", ()), *plain_routes]
        if route.path_regex.fullmatch(request.url.path)
    ]
    literal = [r for r in matching if "{" not in r.path]
    for route in literal or matching:
        if getattr(route, "name", None) != REFUSING_ROUTE:
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
