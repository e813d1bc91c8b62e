"""Request dependencies, declared once: services from the container, and the caller's
identity from the bearer token."""

from typing import Annotated, Protocol
from uuid import UUID

from dependency_injector.wiring import Provide, inject
from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from todo_api.cursors import CursorCodec
from todo_core.errors import InvalidTokenError
from todo_core.services import AuthService, TaskService


class ReadinessProbe(Protocol):
    async def ready(self) -> bool: ...


AuthServiceDep = Annotated[AuthService, Depends(Provide["auth_service"])]
TaskServiceDep = Annotated[TaskService, Depends(Provide["task_service"])]
CursorCodecDep = Annotated[CursorCodec, Depends(Provide["cursor_codec"])]
ReadinessDep = Annotated[ReadinessProbe, Depends(Provide["readiness"])]

# Documents the scheme so /docs' Authorize button logs in through the form login; the
# token itself is checked below, so that every failure is our 401 problem.
_bearer = OAuth2PasswordBearer(tokenUrl="/auth/login", auto_error=False)


@inject
async def _current_user_id(
    token: Annotated[str | None, Depends(_bearer)], auth: AuthServiceDep
) -> UUID:
    if not token:
        raise InvalidTokenError("missing bearer token", token_sent=False)
    return auth.authenticate(token)


CurrentUserId = Annotated[UUID, Depends(_current_user_id)]
