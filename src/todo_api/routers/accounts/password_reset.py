"""Password reset by mail: public calls, like registration and login."""

from fastapi import APIRouter, status

from todo_api.observability.logging import get_logger
from todo_api.routers.accounts.schemas import (
    AuthResponse,
    PasswordResetAcceptedResponse,
    PasswordResetConfirmRequest,
    PasswordResetRequest,
)
from todo_api.routers.deps import ClientDep, PasswordResetDep
from todo_api.routers.openapi import problems

router = APIRouter(prefix="/auth/password-reset", tags=["account"])
log = get_logger("todo_api.password_reset")


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PasswordResetAcceptedResponse,
    responses=problems(
        400,
        when={
            503: "Mail delivery is not configured (SMTP_URL), or the database is "
            "unavailable; Retry-After is set only for the latter"
        },
    ),
)
async def request_password_reset(
    body: PasswordResetRequest, resets: PasswordResetDep, client: ClientDep
) -> PasswordResetAcceptedResponse:
    """Mail a one-time link to reset the password (valid `PASSWORD_RESET_TTL` seconds). The
    answer is the same 202, in the same time, whether or not the email is registered, and
    never waits for the mail server. 503 when mail delivery is not configured."""
    user_id = await resets.request(body.email, client)
    log.info("auth.password_reset_requested", user_id=str(user_id) if user_id else None)
    return PasswordResetAcceptedResponse()


@router.post("/confirm", response_model=AuthResponse, responses=problems(400))
async def confirm_password_reset(
    body: PasswordResetConfirmRequest, resets: PasswordResetDep, client: ClientDep
) -> AuthResponse:
    """Set a new password with the `token` of a reset link, which is then spent. Every
    earlier login of the user ends; the response is a new login. An unknown, expired or
    spent token is one and the same 400."""
    sign_in = await resets.confirm(body.token, body.new_password, client)
    log.info("auth.password_reset_completed", user_id=str(sign_in.user.id))
    return AuthResponse.of(sign_in)
