"""Domain errors. They describe what went wrong in the language of the domain; the HTTP
adapter alone decides which status each one becomes."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


class DomainError(Exception):
    """Base of every error the core raises on purpose."""

    message = "domain error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)

    @property
    def detail(self) -> str:
        return str(self)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class ValidationError(DomainError):
    """One or more fields break a rule; `errors` names every one of them."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        summary = "; ".join(f"{e.field} {e.message}" for e in errors)
        super().__init__(f"Validation failed: {summary}")


class EmailTakenError(DomainError):
    message = "Email already registered"


class InvalidCredentialsError(DomainError):
    """Unknown email or wrong password: deliberately indistinguishable."""

    message = "Incorrect email or password"

    def __init__(self, email: str) -> None:
        super().__init__()
        self.email = email


class InvalidTokenError(DomainError):
    """A bearer token is missing, malformed, expired or not ours; `reason` says which."""

    message = "Could not validate credentials"

    def __init__(self, reason: str, *, token_sent: bool = True) -> None:
        super().__init__(f"Not authenticated: {reason}")
        self.reason = reason
        self.token_sent = token_sent


class SessionEndedError(InvalidTokenError):
    """The access token's login has ended (logout, revoked, password changed): it can no
    longer manage the account nor write."""

    def __init__(self) -> None:
        super().__init__("session ended")


class InvalidRefreshTokenError(DomainError):
    """Unknown, expired, spent or revoked refresh token."""

    message = "Invalid or expired refresh token"


class RefreshTokenReuseError(InvalidRefreshTokenError):
    """A spent refresh token was presented again: its whole login family is now revoked."""

    def __init__(self, user_id: UUID, family_id: UUID) -> None:
        super().__init__()
        self.user_id = user_id
        self.family_id = family_id


class UnknownUserError(DomainError):
    """A valid token names a user who no longer exists."""

    message = "The account no longer exists"


class TaskNotFoundError(DomainError):
    message = "Task not found"

    def __init__(self, task_id: UUID) -> None:
        super().__init__()
        self.task_id = task_id


class TaskAccessDeniedError(DomainError):
    """The task exists but belongs to another user."""

    message = "You do not have access to this task"

    def __init__(self, task_id: UUID, user_id: UUID) -> None:
        super().__init__()
        self.task_id = task_id
        self.user_id = user_id


class TaskVersionMismatchError(DomainError):
    """A conditional write named a version the task no longer has."""

    message = "The task has changed since you read it (If-Match does not match)"

    def __init__(self, task_id: UUID) -> None:
        super().__init__()
        self.task_id = task_id


class PositionTakenError(DomainError):
    """Another task of the user took the position computed for this one in the meantime;
    the move is tried again."""

    message = "The order of your tasks kept changing; try the move again"


class OrderChangedError(PositionTakenError):
    """The neighbours a move's position was computed from are its neighbours no longer:
    another write of the user's order came first."""


class StorageUnavailableError(DomainError):
    """The store cannot be reached right now; the caller may retry later."""

    message = "The database is unavailable, try again shortly"


class IdempotencyKeyInUseError(DomainError):
    """A request with the same idempotency key is still being processed."""

    message = "A request with this Idempotency-Key is still in progress; retry shortly"


class IdempotencyKeyReusedError(DomainError):
    """The idempotency key was first used for a request with another body."""

    message = "This Idempotency-Key was used for a request with a different body"


class LoginThrottledError(DomainError):
    """Too many failed logins for the email or from the client address lately."""

    message = "Too many failed logins; try again later"

    def __init__(self, retry_after_s: int, scope: str) -> None:
        super().__init__()
        self.retry_after_s = retry_after_s
        # "email" (from this address), "email_all_addresses" or "address": for the log and
        # the metrics, never for the client.
        self.scope = scope


class SessionNotFoundError(DomainError):
    message = "No live session of yours has this id"


class InvalidResetTokenError(ValidationError):
    """Unknown, expired or spent: one message for all three."""

    def __init__(self) -> None:
        super().__init__([FieldError("token", "is invalid, expired or already used")])


class MailUnavailableError(DomainError):
    message = "Password reset by mail is not available: mail delivery is not configured"


class SyncTokenExpiredError(DomainError):
    """The sync token is older than the deletions the server keeps: the changes after it can
    no longer be told whole. The client starts again with a full sync."""

    message = "This sync token is older than the changes the server keeps; sync again without it"


class TooManyStreamsError(DomainError):
    """The user already has the most event streams open that one user may have."""

    message = "Too many open event streams; close one first"

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit


class StreamsClosedError(StorageUnavailableError):
    """This instance is shutting down (or its notification listener is down): a new event
    stream belongs on another instance, or here a moment later."""

    message = "Event streams are unavailable on this instance right now, try again shortly"
