"""Wire models. The domain's own rule functions validate the fields here too, so that one
400 names every broken field at once, type errors and rule breaks together; the limits in
the OpenAPI document come from the domain's constants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from todo_core.domain import (
    DESCRIPTION_MAX_LENGTH,
    DESCRIPTION_PATTERN,
    EMAIL_MAX_LENGTH,
    EMAIL_PATTERN,
    PASSWORD_MAX_BYTES,
    PASSWORD_MIN_BYTES,
    TITLE_MAX_LENGTH,
    TITLE_PATTERN,
    UNSET,
    LoginSession,
    TaskPage,
    TaskPatch,
    description_problem,
    email_problem,
    password_problem,
    title_problem,
)
from todo_core.sessions import SignIn


def _rule(problem: Callable[[Any], str | None]) -> AfterValidator:
    def check(value: Any) -> Any:
        if (message := problem(value)) is not None:
            raise ValueError(message)
        return value

    return AfterValidator(check)


Title = Annotated[str, _rule(title_problem)]
Description = Annotated[str | None, _rule(description_problem)]
# The limits the rules enforce, for the document; create and update take the same fields.
TITLE_SCHEMA: JsonDict = {"minLength": 1, "maxLength": TITLE_MAX_LENGTH, "pattern": TITLE_PATTERN}
DESCRIPTION_SCHEMA: JsonDict = {"maxLength": DESCRIPTION_MAX_LENGTH, "pattern": DESCRIPTION_PATTERN}


class _Request(BaseModel):
    # strict: "true" is not a boolean and 1 is not a title; forbid: typos are errors.
    model_config = ConfigDict(extra="forbid", strict=True)


def _documented(**schema: Any) -> Any:
    return Field(json_schema_extra=schema)


class CredentialsRequest(_Request):
    """Login: any strings; wrong ones are a 401 like any other bad credentials."""

    email: str = _documented(examples=["ada@example.com"])
    password: str = _documented(format="password", examples=["correct horse battery"])


Email = Annotated[str, _rule(email_problem)]
Password = Annotated[str, _rule(password_problem)]
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


class RegisterRequest(CredentialsRequest):
    email: Email = _documented(**EMAIL_SCHEMA)
    password: Password = _documented(**PASSWORD_SCHEMA)


class PasswordChangeRequest(_Request):
    current_password: str = _documented(format="password")
    new_password: Password = _documented(**PASSWORD_SCHEMA)


class AccountDeleteRequest(_Request):
    password: str = _documented(format="password")


class PasswordResetRequest(_Request):
    email: Email = _documented(**EMAIL_SCHEMA)


class PasswordResetConfirmRequest(_Request):
    token: str = Field(description="the `token` of the reset link")
    new_password: Password = _documented(**PASSWORD_SCHEMA)


class RefreshRequest(_Request):
    refresh_token: str = Field(description="the refresh_token of the last AuthResponse")


class TaskCreateRequest(_Request):
    title: Title = _documented(**TITLE_SCHEMA, examples=["Buy milk"])
    description: Description = Field(
        default=None, json_schema_extra=DESCRIPTION_SCHEMA, examples=["2 litres"]
    )
    is_completed: bool = False


class TaskUpdateRequest(_Request):
    """Any non-empty subset of the fields; absent ones keep their value."""

    model_config = ConfigDict(
        json_schema_extra={"minProperties": 1, "examples": [{"is_completed": True}]}
    )

    # A default of None that the type refuses: absent means "keep", an explicit null is a 400.
    title: Title = Field(default=None, json_schema_extra=TITLE_SCHEMA)  # type: ignore[assignment]
    description: Description = Field(default=None, json_schema_extra=DESCRIPTION_SCHEMA)
    is_completed: bool = Field(default=None)  # type: ignore[assignment]

    def to_patch(self) -> TaskPatch:
        sent = self.model_fields_set
        return TaskPatch(
            title=self.title if "title" in sent else UNSET,
            description=self.description if "description" in sent else UNSET,
            is_completed=self.is_completed if "is_completed" in sent else UNSET,
        )


class TaskBulkUpdateRequest(_Request):
    """The state every matching task is to have."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"is_completed": True}]})

    is_completed: bool


class _View(BaseModel):
    """A response that shows a core dataclass field for field, read off its attributes."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, entity: object) -> Self:
        return cls.model_validate(entity)


class UserResponse(_View):
    id: UUID
    email: str
    created_at: datetime


class AuthResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_token: str = Field(description="opaque; spend it at POST /auth/refresh")
    user: UserResponse

    @classmethod
    def of(cls, sign_in: SignIn) -> AuthResponse:
        return cls(
            access_token=sign_in.access_token.token,
            expires_in=sign_in.access_token.expires_in,
            refresh_token=sign_in.refresh_token,
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


class TaskResponse(_View):
    id: UUID
    user_id: UUID
    title: str
    description: str | None
    is_completed: bool
    created_at: datetime
    updated_at: datetime
    version: int


class TaskCountsResponse(_View):
    """How many tasks the caller has, whatever the filter."""

    all: int
    active: int
    completed: int


class TaskListResponse(BaseModel):
    tasks: list[TaskResponse]
    total: int = Field(description="how many tasks match the filter in all")
    limit: int
    offset: int
    next_cursor: str | None = Field(
        description="pass as `cursor` (with the same sort and completed) for the next page; "
        "null on the last page"
    )
    counts: TaskCountsResponse = Field(
        description="all of the caller's tasks, active and completed, whatever the filter"
    )

    @classmethod
    def of(cls, page: TaskPage, next_cursor: str | None) -> TaskListResponse:
        return cls(
            tasks=[TaskResponse.of(t) for t in page.tasks],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
            next_cursor=next_cursor,
            counts=TaskCountsResponse.of(page.counts),
        )


class TasksUpdatedResponse(BaseModel):
    updated: int = Field(description="how many tasks changed")


class TasksDeletedResponse(BaseModel):
    deleted: int = Field(description="how many tasks were deleted")


class FieldErrorResponse(BaseModel):
    field: str
    message: str


class ProblemResponse(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldErrorResponse] | None = None


class HealthResponse(BaseModel):
    status: Literal["ok", "unavailable"]
