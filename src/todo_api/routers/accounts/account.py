"""The signed-in user's account: password, sessions, deletion. Every call needs a bearer
token of a user who still exists (401 otherwise)."""

from uuid import UUID

from fastapi import APIRouter, Response, status

from todo_api.observability.logging import get_logger
from todo_api.routers.accounts.schemas import (
    AccountDeleteRequest,
    AuthResponse,
    PasswordChangeRequest,
    SessionListResponse,
    SessionResponse,
)
from todo_api.routers.deps import AccountCaller, ClientDep
from todo_api.routers.openapi import problems

router = APIRouter(prefix="/auth", tags=["account"])
log = get_logger("todo_api.account")


@router.post(
    "/password",
    response_model=AuthResponse,
    responses=problems(400, 401, 429),
)
async def change_password(
    body: PasswordChangeRequest, caller: AccountCaller, client: ClientDep
) -> AuthResponse:
    """Change the password; the current one is required (a 400 naming `current_password`
    when it is wrong; wrong ones count towards the login throttle, and past its limit the
    answer is a 429). Every login of the user ends, outstanding reset links stop working,
    and the response is a new login."""
    sign_in = await caller.service.change_password(
        caller.user_id, body.current_password, body.new_password, client, caller.session_id
    )
    log.info("auth.password_changed", user_id=str(caller.user_id))
    return AuthResponse.of(sign_in)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(400, 401, 429),
)
async def delete_account(
    body: AccountDeleteRequest, caller: AccountCaller, client: ClientDep
) -> None:
    """Delete the account, with the password as confirmation (a 400 naming `password` when
    it is wrong; wrong ones count towards the login throttle, as on /auth/password): the
    user, their tasks, logins, reset links and stored replies go in one transaction. The
    email can be registered again."""
    await caller.service.delete_account(caller.user_id, body.password, client, caller.session_id)
    log.warning("security.account_deleted", user_id=str(caller.user_id))


@router.get("/sessions", response_model=SessionListResponse, responses=problems(401))
async def list_sessions(caller: AccountCaller) -> SessionListResponse:
    """The caller's live logins, newest first; `current` marks the one of this token."""
    sessions = await caller.service.sessions(caller.user_id, caller.session_id)
    return SessionListResponse(
        sessions=[SessionResponse.of(s, caller.session_id) for s in sessions]
    )


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(400, 401, 404, when={404: "Not a live login of yours"}),
)
async def end_session(session_id: UUID, caller: AccountCaller) -> None:
    """End one login: it can no longer refresh. 404 when it is not a live login of yours."""
    await caller.service.end_session(caller.user_id, session_id, caller.session_id)
    log.info("auth.session_revoked", user_id=str(caller.user_id), session_id=str(session_id))
