from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, status

from todo_api.deps import AuthServiceDep, CurrentUserId
from todo_api.logging import get_logger
from todo_api.login_form import LOGIN_REQUEST_BODY, read_credentials
from todo_api.openapi import problems
from todo_api.schemas import AuthResponse, CredentialsRequest, UserResponse

router = APIRouter(prefix="/auth", tags=["auth"])
log = get_logger("todo_api.auth")


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=AuthResponse,
    responses=problems(400),
)
@inject
async def register(body: CredentialsRequest, auth: AuthServiceDep) -> AuthResponse:
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
@inject
async def login(
    credentials: Annotated[CredentialsRequest, Depends(read_credentials)], auth: AuthServiceDep
) -> AuthResponse:
    """Sign in with JSON `{email, password}` or the OAuth2 form (`username`, `password`).
    Unknown email and wrong password give the same 401."""
    session = await auth.login(credentials.email, credentials.password)
    log.info("auth.login_succeeded", user_id=str(session.user.id))
    return AuthResponse.of(session)


@router.get("/me", response_model=UserResponse, responses=problems(401))
@inject
async def me(user_id: CurrentUserId, auth: AuthServiceDep) -> UserResponse:
    """The signed-in user."""
    return UserResponse.of(await auth.me(user_id))
