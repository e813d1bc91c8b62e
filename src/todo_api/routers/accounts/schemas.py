"""The wire models of the account calls: sign-up, login, tokens, sessions, password reset."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from todo_api.routers.schemas import View, WireRequest, documented, rule
from todo_core.domain import (
    EMAIL_MAX_LENGTH,
    EMAIL_PATTERN,
    PASSWORD_MAX_BYTES,
    PASSWORD_MIN_BYTES,
    LoginSession,
    email_problem,
    password_problem,
)
from todo_core.logins import SignIn


class CredentialsRequest(WireRequest):
    """Login: any strings; wrong ones are a 401 like any other bad credentials."""

    email: str = documented(examples=["ada@example.com"])
    password: str = documented(format="password", examples=["correct horse battery"])
    device_token: str | None = Field(
        default=None,
        description="the `device_token` of an earlier successful login of this email on "
        "this device: this login is then exempt from the email's failed-login limits",
    )


Email = Annotated[str, rule(email_problem)]
Password = Annotated[str, rule(password_problem)]
EMAIL_SCHEMA: JsonDict = {
    "maxLength": EMAIL_MAX_LENGTH,
    "pattern": EMAIL_PATTERN,
    "examples": ["ada@example.com"],
}
# JSON Schema counts characters, the rule counts UTF-8 bytes (bcrypt's unit): 8 bytes take
# at least 2 characters, and 72 bytes at most 72.
PASSWORD_SCHEMA: JsonDict = {
    "format": "password",
    "minLength": 2,
    "maxLength": PASSWORD_MAX_BYTES,
    "description": f"{PASSWORD_MIN_BYTES} to {PASSWORD_MAX_BYTES} bytes of UTF-8",
    "examples": ["correct horse battery"],
}


class RegisterRequest(WireRequest):
    email: Email = documented(**EMAIL_SCHEMA)
    password: Password = documented(**PASSWORD_SCHEMA)


class PasswordChangeRequest(WireRequest):
    current_password: str = documented(format="password")
    new_password: Password = documented(**PASSWORD_SCHEMA)


class AccountDeleteRequest(WireRequest):
    password: str = documented(format="password")


class PasswordResetRequest(WireRequest):
    # Checked by the service: an account stored under the rule before today's still asks.
    email: str = documented(**EMAIL_SCHEMA)


class PasswordResetConfirmRequest(WireRequest):
    token: str = Field(description="the `token` of the reset link")
    new_password: Password = documented(**PASSWORD_SCHEMA)


class RefreshRequest(WireRequest):
    refresh_token: str = Field(description="the refresh_token of the last AuthResponse")


class UserResponse(View):
    id: UUID
    email: str
    created_at: datetime


class AuthResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_token: str = Field(description="opaque; spend it at POST /auth/refresh")
    device_token: str = Field(
        description="keep it on this device (valid 180 days) and send it with later logins "
        "of this email: they are then exempt from the email's failed-login limits, so "
        "nobody can lock you out of a device you have used"
    )
    user: UserResponse

    @classmethod
    def of(cls, sign_in: SignIn) -> AuthResponse:
        return cls(
            access_token=sign_in.access_token.token,
            expires_in=sign_in.access_token.expires_in,
            refresh_token=sign_in.refresh_token,
            device_token=sign_in.device_token,
            user=UserResponse.of(sign_in.user),
        )


class SessionResponse(BaseModel):
    """One login: the refresh tokens rotated from one registration, login or reset."""

    id: UUID
    created_at: datetime
    last_used_at: datetime = Field(description="when it was last refreshed (or created)")
    expires_at: datetime = Field(description="when it ends unless refreshed before")
    user_agent: str | None = Field(description="the User-Agent of the login request")
    current: bool = Field(description="whether the calling access token belongs to it")

    @classmethod
    def of(cls, session: LoginSession, current: UUID | None) -> SessionResponse:
        return cls(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            user_agent=session.user_agent,
            current=session.id == current,
        )


class SessionListResponse(BaseModel):
    sessions: list[SessionResponse] = Field(description="live logins, newest first")


class PasswordResetAcceptedResponse(BaseModel):
    detail: str = Field(
        default="If the email is registered, a message with a reset link is on its way.",
        description="the same whether or not the email is registered",
    )
