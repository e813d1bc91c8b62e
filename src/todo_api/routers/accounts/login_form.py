"""The two sign-in bodies: JSON on /auth/login, and the OAuth2 password-flow form on
/auth/token (what /docs' Authorize button sends). Each operation documents one media type,
so that every client generator sees one request type per operation; /auth/login still
accepts the form from clients written before /auth/token. Both become the same
CredentialsRequest, validated the same way."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pydantic
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from todo_api.routers.accounts.schemas import CredentialsRequest
from todo_api.routers.openapi import model_schemas

FORM = "application/x-www-form-urlencoded"

# The form, a component of its own: the body is read by hand, so FastAPI cannot describe it.
LOGIN_FORM_SCHEMA: dict[str, Any] = {
    "title": "LoginForm",
    "description": "The OAuth2 password flow's form, which /docs' Authorize button sends.",
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        "username": {
            "type": "string",
            "minLength": 1,
            "description": "the email",
            "examples": ["ada@example.com"],
        },
        "password": {
            "type": "string",
            "minLength": 1,
            "format": "password",
            "examples": ["correct horse battery"],
        },
        "grant_type": {"type": "string", "enum": ["password"]},
        "device_token": {"type": "string", "description": "as in the JSON body"},
    },
}
# What the document needs beside what FastAPI finds in the routes: the body is read by hand.
LOGIN_COMPONENTS = {**model_schemas(CredentialsRequest), "LoginForm": LOGIN_FORM_SCHEMA}
LOGIN_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CredentialsRequest"}}
        },
    }
}
TOKEN_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {FORM: {"schema": {"$ref": "#/components/schemas/LoginForm"}}},
    }
}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_credentials(request: Request) -> CredentialsRequest:
    """/auth/login: JSON, or the form for clients written before /auth/token."""
    media_type = _media_type(request)
    if media_type == FORM:
        return _from_form(await request.body())
    if media_type in ("application/json", "") or media_type.endswith("+json"):
        raw = await request.body()
        try:
            return CredentialsRequest.model_validate_json(raw)
        except pydantic.ValidationError as exc:
            raise RequestValidationError(_in_body(exc.errors())) from None
    raise HTTPException(415, "Send the credentials as application/json")


async def read_form_credentials(request: Request) -> CredentialsRequest:
    """/auth/token: the OAuth2 password flow's form only."""
    if _media_type(request) != FORM:
        raise HTTPException(415, f"Send the credentials as {FORM}")
    return _from_form(await request.body())


def _from_form(raw: bytes) -> CredentialsRequest:
    try:
        fields = dict(parse_qsl(raw.decode("utf-8", errors="strict"), keep_blank_values=True))
    except UnicodeDecodeError:
        invalid = {"type": "json_invalid", "loc": ("body",), "ctx": {"error": "invalid UTF-8"}}
        raise RequestValidationError([invalid]) from None
    if fields.get("grant_type", "password") != "password":
        raise RequestValidationError(
            [
                {
                    "type": "literal_error",
                    "loc": ("body", "grant_type"),
                    "msg": "grant_type must be password",
                    "input": fields["grant_type"],
                    "ctx": {"expected": "'password'"},
                }
            ]
        )
    fields.setdefault("username", fields.pop("email", ""))
    wanted = {
        "email": fields.get("username"),
        "password": fields.get("password"),
        "device_token": fields.get("device_token"),
    }
    try:
        return CredentialsRequest.model_validate({k: v for k, v in wanted.items() if v})
    except pydantic.ValidationError as exc:
        raise RequestValidationError(_in_body(exc.errors())) from None


def _in_body(errors: list[Any]) -> list[Any]:
    return [{**e, "loc": ("body", *e["loc"])} for e in errors]
