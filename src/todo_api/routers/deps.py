"""Request dependencies, declared once: services from the app's container, and the caller
(identity and service together) from the bearer token.

The providers are async functions on purpose: FastAPI runs a plain (sync) dependency in a
worker thread, and dependency-injector's Provide markers are sync callables, which cost a
thread hop per dependency per request (measured: four per GET /tasks/{id}). A task route
has one dependency, the caller: FastAPI's cost grows with every dependency it solves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Generic, Protocol, TypeVar
from uuid import UUID

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer

from todo_api.events.stream import EventStreams, StreamAuth
from todo_api.http.cursors import CursorCodec
from todo_api.http.sync_tokens import SyncTokens
from todo_core.account_service import AccountService
from todo_core.auth_service import AuthService
from todo_core.domain import Client
from todo_core.errors import InvalidTokenError
from todo_core.password_reset import PasswordResetService
from todo_core.ports import Principal
from todo_core.stream_access import StreamAccess
from todo_core.sync import SyncService
from todo_core.task_service import TaskService

if TYPE_CHECKING:
    from todo_api.composition.container import Container

S = TypeVar("S")


class ReadinessProbe(Protocol):
    async def ready(self) -> bool: ...


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def _auth_service(request: Request) -> AuthService:
    return _container(request).auth_service()


async def _readiness(request: Request) -> ReadinessProbe:
    probe: ReadinessProbe = _container(request).readiness()
    return probe


async def _password_reset(request: Request) -> PasswordResetService:
    return _container(request).password_reset_service()


async def _client(request: Request) -> Client:
    """The socket peer (or, behind a proxy listed in FORWARDED_ALLOW_IPS, the address the
    proxy forwarded for: uvicorn has already put it in the scope) and the user agent."""
    peer = request.client.host if request.client else None
    return Client.of(peer, request.headers.get("user-agent"))


AuthServiceDep = Annotated[AuthService, Depends(_auth_service)]
PasswordResetDep = Annotated[PasswordResetService, Depends(_password_reset)]
ClientDep = Annotated[Client, Depends(_client)]
ReadinessDep = Annotated[ReadinessProbe, Depends(_readiness)]


def _bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header (scheme case-insensitive)."""
    for name, value in request.scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token if scheme.lower() == "bearer" else None
    return None


@dataclass(frozen=True, slots=True)
class Caller(Generic[S]):
    """Who calls (checked from the bearer token), and the service that acts for them."""

    principal: Principal
    service: S

    @property
    def user_id(self) -> UUID:
        return self.principal.user_id

    @property
    def session_id(self) -> UUID | None:
        return self.principal.session_id


class _DocumentedBearer(OAuth2PasswordBearer):
    """The OAuth2 scheme as the document shows it (so /docs' Authorize button logs in
    through the form login); subclasses check the token themselves, so that every failure
    is our 401 problem."""

    def __init__(self) -> None:
        super().__init__(
            tokenUrl="/auth/token", scheme_name="OAuth2PasswordBearer", auto_error=False
        )


class _BearerCaller(_DocumentedBearer, Generic[S]):
    """The caller, and the service too: one dependency where there were four."""

    def __init__(self, service: Callable[[Container], S]) -> None:
        super().__init__()
        self._service = service

    async def __call__(self, request: Request) -> Caller[S]:  # type: ignore[override]
        token = _bearer_token(request)
        if not token:
            raise InvalidTokenError("missing bearer token", token_sent=False)
        container = _container(request)
        return Caller(container.token_issuer().verify(token), self._service(container))


class _StreamCaller(_DocumentedBearer):
    """GET /events: the bearer token when one is sent (checked), else a ticket from the
    query string (checked when the stream opens)."""

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        ticket: Annotated[
            str | None,
            Query(
                max_length=128,
                description="a ticket from POST /events/ticket, for clients that cannot "
                "send an Authorization header (EventSource); single use",
            ),
        ] = None,
    ) -> StreamAuth:
        if ticket is not None:
            return StreamAuth(ticket=ticket)
        token = _bearer_token(request)
        if not token:
            raise InvalidTokenError("missing bearer token or ticket", token_sent=False)
        return StreamAuth(principal=_container(request).token_issuer().verify(token))


async def _event_streams(request: Request) -> EventStreams:
    streams: EventStreams = _container(request).event_streams()
    return streams


@dataclass(frozen=True, slots=True)
class TaskTools:
    """What the task routes work with: the use cases and the cursor codec."""

    tasks: TaskService
    cursors: CursorCodec


def _task_tools(container: Container) -> TaskTools:
    return TaskTools(container.task_service(), container.cursor_codec())


@dataclass(frozen=True, slots=True)
class SyncTools:
    """What the sync routes work with: the feed's use cases and the token codec."""

    sync: SyncService
    tokens: SyncTokens


def _sync_tools(container: Container) -> SyncTools:
    return SyncTools(container.sync_service(), container.sync_tokens())


def _auth(container: Container) -> AuthService:
    return container.auth_service()


def _account(container: Container) -> AccountService:
    return container.account_service()


def _stream_access(container: Container) -> StreamAccess:
    return container.stream_access()


StreamCaller = Annotated[StreamAuth, Depends(_StreamCaller())]
EventStreamsDep = Annotated[EventStreams, Depends(_event_streams)]
TicketCaller = Annotated[Caller[StreamAccess], Depends(_BearerCaller(_stream_access))]
TaskCaller = Annotated[Caller[TaskTools], Depends(_BearerCaller(_task_tools))]
SyncCaller = Annotated[Caller[SyncTools], Depends(_BearerCaller(_sync_tools))]
AuthCaller = Annotated[Caller[AuthService], Depends(_BearerCaller(_auth))]
AccountCaller = Annotated[Caller[AccountService], Depends(_BearerCaller(_account))]
