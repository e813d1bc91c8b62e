from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from todo_api.observability.logging import get_logger
from todo_api.routers.accounts.login_form import (
    LOGIN_REQUEST_BODY,
    TOKEN_REQUEST_BODY,
    read_credentials,
    read_form_credentials,
)
from todo_api.routers.accounts.schemas import (
    AuthResponse,
    CredentialsRequest,
    RefreshRequest,
    RegisterRequest,
    UserResponse,
)
from todo_api.routers.deps import AccountCaller, AuthCaller, AuthServiceDep, ClientDep
from todo_api.routers.openapi import problems

router = APIRouter(prefix="/auth", tags=["auth"])
log = get_logger("todo_api.auth")


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=AuthResponse,
    responses=problems(400),
)
async def register(body: RegisterRequest, auth: AuthServiceDep, client: ClientDep) -> AuthResponse:
    """Create an account and sign in. 400 when the email is taken or a field is invalid."""
    sign_in = await auth.register(body.email, body.password, client)
    log.info("auth.registered", user_id=str(sign_in.user.id))
    return AuthResponse.of(sign_in)


@router.post(
    "/login",
    response_model=AuthResponse,
    responses=problems(400, 401, 415, 429),
    openapi_extra=LOGIN_REQUEST_BODY,
)
async def login(
    credentials: Annotated[CredentialsRequest, Depends(read_credentials)],
    auth: AuthServiceDep,
    client: ClientDep,
) -> AuthResponse:
    """Sign in with JSON `{email, password, device_token?}` (the OAuth2 form is POST
    /auth/token). Unknown email and wrong password give the same 401. After too many failed
    logins for the email from the client's address, for the email from everywhere, or from
    the client's address, logins there are a 429 until `Retry-After` seconds have passed,
    registered email or not; a `device_token` from an earlier login of the email on this
    device is exempt from the email's limits."""
    sign_in = await auth.login(
        credentials.email, credentials.password, client, credentials.device_token
    )
    log.info("auth.login_succeeded", user_id=str(sign_in.user.id))
    return AuthResponse.of(sign_in)


@router.post(
    "/token",
    response_model=AuthResponse,
    responses=problems(400, 401, 415, 429),
    openapi_extra=TOKEN_REQUEST_BODY,
)
async def login_form(
    credentials: Annotated[CredentialsRequest, Depends(read_form_credentials)],
    auth: AuthServiceDep,
    client: ClientDep,
) -> AuthResponse:
    """The OAuth2 password flow: form-encoded `username` (the email), `password` and,
    optionally, `grant_type=password`; what the Authorize button of /docs sends. Answers
    and throttles as POST /auth/login."""
    return await login(credentials, auth, client)


@router.post("/refresh", response_model=AuthResponse, responses=problems(400, 401))
async def refresh(body: RefreshRequest, auth: AuthServiceDep) -> AuthResponse:
    """A new access token and a new refresh token; the one sent is spent. Sending a spent
    token again ends every session of that login."""
    sign_in = await auth.refresh(body.refresh_token)
    log.info("auth.refreshed", user_id=str(sign_in.user.id))
    return AuthResponse.of(sign_in)


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


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(401),
)
async def logout_all(caller: AccountCaller) -> None:
    """End every login of the caller, this one included: none of them can refresh again.
    Access tokens already issued run out within their lifetime."""
    ended = await caller.service.end_all_sessions(caller.user_id, caller.session_id)
    log.info("auth.logged_out_everywhere", user_id=str(caller.user_id), sessions=ended)


@router.get("/me", response_model=UserResponse, responses=problems(401))
async def me(caller: AuthCaller) -> UserResponse:
    """The signed-in user."""
    return UserResponse.of(await caller.service.me(caller.user_id, caller.session_id))
