from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from todo_api.deps import AuthCaller, AuthServiceDep
from todo_api.logging import get_logger
from todo_api.login_form import LOGIN_REQUEST_BODY, read_credentials
from todo_api.openapi import problems
from todo_api.schemas import (
    AuthResponse,
    CredentialsRequest,
    RefreshRequest,
    RegisterRequest,
    UserResponse,
)

router = APIRouter(prefix="/auth", tags=["auth"])
log = get_logger("todo_api.auth")


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=AuthResponse,
    responses=problems(400),
)
async def register(body: RegisterRequest, auth: AuthServiceDep) -> AuthResponse:
    """Create an account and sign in. 400 when the email is taken or a field is invalid."""
    session = await auth.register(body.email, body.password)
    log.info("auth.registered", user_id=str(session.user.id))
    return AuthResponse.of(session)


@router.post(
    "/login",
    response_model=AuthResponse,
    responses=problems(400, 401, 415),
    openapi_extra=LOGIN_REQUEST_BODY,
)
async def login(
    credentials: Annotated[CredentialsRequest, Depends(read_credentials)], auth: AuthServiceDep
) -> AuthResponse:
    """Sign in with JSON `{email, password}` or the OAuth2 form (`username`, `password`).
    Unknown email and wrong password give the same 401."""
    session = await auth.login(credentials.email, credentials.password)
    log.info("auth.login_succeeded", user_id=str(session.user.id))
    return AuthResponse.of(session)


@router.post("/refresh", response_model=AuthResponse, responses=problems(400, 401))
async def refresh(body: RefreshRequest, auth: AuthServiceDep) -> AuthResponse:
    """A new access token and a new refresh token; the one sent is spent. Sending a spent
    token again ends every session of that login."""
    session = await auth.refresh(body.refresh_token)
    log.info("auth.refreshed", user_id=str(session.user.id))
    return AuthResponse.of(session)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(400, 401),
)
async def logout(body: RefreshRequest, caller: AuthCaller) -> None:
    """End the login the refresh token belongs to: it can no longer refresh."""
    await caller.service.logout(caller.user_id, body.refresh_token)
    log.info("auth.logged_out", user_id=str(caller.user_id))


@router.get("/me", response_model=UserResponse, responses=problems(401))
async def me(caller: AuthCaller) -> UserResponse:
    """The signed-in user."""
    return UserResponse.of(await caller.service.me(caller.user_id))
