"""The login body comes as JSON or as the OAuth2 password-flow form that /docs' Authorize
button sends; both become the same CredentialsRequest, validated the same way."""

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

# The form, as a component beside the JSON body, so that generated clients and /docs offer both.
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
        "password": {"type": "string", "minLength": 1, "format": "password"},
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
            "application/json": {"schema": {"$ref": "#/components/schemas/CredentialsRequest"}},
            FORM: {"schema": {"$ref": "#/components/schemas/LoginForm"}},
        },
    }
}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_credentials(request: Request) -> CredentialsRequest:
    raw = await request.body()
    media_type = _media_type(request)
    try:
        if media_type == FORM:
            fields = dict(parse_qsl(raw.decode("utf-8", errors="strict"), keep_blank_values=True))
            fields.setdefault("username", fields.pop("email", ""))
            wanted = {
                "email": fields.get("username"),
                "password": fields.get("password"),
                "device_token": fields.get("device_token"),
            }
            return CredentialsRequest.model_validate({k: v for k, v in wanted.items() if v})
        if media_type in ("application/json", "") or media_type.endswith("+json"):
            return CredentialsRequest.model_validate_json(raw)
    except UnicodeDecodeError:
        invalid = {"type": "json_invalid", "loc": ("body",), "ctx": {"error": "invalid UTF-8"}}
        raise RequestValidationError([invalid]) from None
    except pydantic.ValidationError as exc:
        raise RequestValidationError(_in_body(exc.errors())) from None
    raise HTTPException(415, f"Send the credentials as application/json or {FORM}")


def _in_body(errors: list[Any]) -> list[Any]:
    return [{**e, "loc": ("body", *e["loc"])} for e in errors]
