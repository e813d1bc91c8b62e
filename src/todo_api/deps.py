"""Request dependencies, declared once: services from the app's container, and the
caller's identity from the bearer token.

The providers are async functions on purpose: FastAPI runs a plain (sync) dependency in a
worker thread, and dependency-injector's Provide markers are sync callables, which cost a
thread hop per dependency per request (measured: four per GET /tasks/{id})."""

from typing import TYPE_CHECKING, Annotated, Protocol
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from todo_api.cursors import CursorCodec
from todo_core.errors import InvalidTokenError
from todo_core.services import AuthService, TaskService

if TYPE_CHECKING:
    from todo_api.container import Container


class ReadinessProbe(Protocol):
    async def ready(self) -> bool: ...


def _container(request: Request) -> "Container":
    container: Container = request.app.state.container
    return container


async def _auth_service(request: Request) -> AuthService:
    return _container(request).auth_service()


async def _task_service(request: Request) -> TaskService:
    return _container(request).task_service()


async def _cursor_codec(request: Request) -> CursorCodec:
    return _container(request).cursor_codec()


async def _readiness(request: Request) -> ReadinessProbe:
    probe: ReadinessProbe = _container(request).readiness()
    return probe


AuthServiceDep = Annotated[AuthService, Depends(_auth_service)]
TaskServiceDep = Annotated[TaskService, Depends(_task_service)]
CursorCodecDep = Annotated[CursorCodec, Depends(_cursor_codec)]
ReadinessDep = Annotated[ReadinessProbe, Depends(_readiness)]

# Documents the scheme so /docs' Authorize button logs in through the form login; the
# token itself is checked below, so that every failure is our 401 problem.
_bearer = OAuth2PasswordBearer(tokenUrl="/auth/login", auto_error=False)


async def _current_user_id(
    token: Annotated[str | None, Depends(_bearer)], auth: AuthServiceDep
) -> UUID:
    if not token:
        raise InvalidTokenError("missing bearer token", token_sent=False)
    return auth.authenticate(token)


CurrentUserId = Annotated[UUID, Depends(_current_user_id)]
