"""The ports: what the core needs from the outside world, as Protocols."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from todo_core.account_ports import (
    EventTicket,
    EventTicketRepository,
    FailureLimits,
    LimitingFailures,
    LoginFailureRepository,
    PasswordResetRepository,
    RefreshTokenRepository,
    ResetRequest,
    SessionRepository,
)
from todo_core.domain import (
    Task,
    User,
    Versions,
)
from todo_core.feed import ChangeFeedRepository
from todo_core.idempotency import IdempotencyKey, Reply, StoredReply
from todo_core.listing import (
    LabelCounts,
    TaskPage,
    TaskQuery,
)
from todo_core.ordering import OrderWindow
from todo_core.task_rules import (
    TaskPatch,
)

# A move's rule, given the positions of the tasks its gap lies between (None: no task on
# that side): the moved task's new position, or None to write nothing. Awaitable, as
# anything may happen between the read of a gap and the write into it.
PlaceInGap = Callable[[str | None, str | None], Awaitable[str | None]]


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Store a new user. Raises EmailTakenError when the email is already registered."""

    async def get_by_email(self, email: str) -> User | None:
        """The user with this (normalized) email, or None."""

    async def get(self, user_id: UUID) -> User | None:
        """The user with this id, or None."""

    async def get_in_session(self, user_id: UUID, session_id: UUID | None) -> User | None:
        """The user with this id, or None, in one statement with the check that the
        login `session_id` of the user has not ended (no check when None). Raises
        SessionEndedError when it has."""

    async def update_password_hash(
        self, user_id: UUID, password_hash: str, replacing: str | None = None
    ) -> bool:
        """Replace the stored hash; with `replacing`, only while the stored one is still
        that (it was checked against a password outside this unit of work). False when
        nothing changed."""

    async def delete(self, user_id: UUID) -> bool:
        """Delete the user and what hangs on the user (tasks, sessions, refresh tokens,
        stored replies); False when there was no such user. Reset requests and failed
        logins go by the email (PasswordResetRepository, LoginFailureRepository)."""


class TaskRepository(Protocol):
    async def add(self, task: Task, session_id: UUID | None = None) -> bool:
        """Store a new task, in one statement with the check that the owner's login
        `session_id` has not ended (no check when None): False, nothing stored, when it
        has (or the owner is gone). Raises UnknownUserError when its owner does not
        exist, PositionTakenError when another task of the user has its position."""

    async def get(self, task_id: UUID) -> Task | None:
        """The task with this id, whoever owns it, or None."""

    async def list(self, user_id: UUID, query: TaskQuery) -> TaskPage:
        """One page of the user's tasks in the query's order, and how many match in all."""

    async def update(
        self,
        task_id: UUID,
        user_id: UUID,
        patch: TaskPatch,
        now: datetime,
        if_version: Versions = None,
        session_id: UUID | None = None,
    ) -> Task | None:
        """Apply the patch atomically if the user owns the task (and, with `if_version`,
        its version is one of those, and, with `session_id`, that login of the user has
        not ended), bumping `version` by one. None when nothing matched."""

    async def delete(
        self,
        task_id: UUID,
        user_id: UUID,
        if_version: Versions = None,
        session_id: UUID | None = None,
    ) -> bool:
        """Delete the task if the user owns it (and its version is one of `if_version`,
        and the login `session_id` has not ended); False when nothing matched."""

    async def owner_of(self, task_id: UUID) -> UUID | None:
        """Who owns the task, or None when it does not exist."""

    async def lock_order(
        self, user_id: UUID, moving: UUID, after: UUID | None
    ) -> tuple[str | None, str | None] | None:
        """Hold the task `moving` (if it is the user's), then the user's manual order, until
        the unit of work ends: another unit of work calling this for the same user waits.
        The task first, as every write of a task takes it before the user's change counter.
        Then what neighbours() would return, read once both are held: after whatever a
        unit of work that held them before wrote."""

    async def neighbours(
        self, user_id: UUID, moving: UUID, after: UUID | None
    ) -> tuple[str | None, str | None] | None:
        """The positions a task moved after `after` goes between: that task's and the next
        one's (None when there is none), leaving out the task `moving`; with `after` None,
        (None, the first position). None when `after` is not one of the user's tasks."""

    async def set_position(
        self,
        task_id: UUID,
        user_id: UUID,
        position: str,
        now: datetime,
        if_version: Versions = None,
        session_id: UUID | None = None,
    ) -> Task | None:
        """Give the task this position atomically, as an update does (version +1, and
        only while the login `session_id` lives); None when nothing matched. Raises
        PositionTakenError when another task of the user has this position (no two ever
        share one)."""

    async def set_position_in_gap(
        self,
        task_id: UUID,
        user_id: UUID,
        after: UUID | None,
        place: PlaceInGap,
        now: datetime,
        if_version: Versions = None,
        session_id: UUID | None = None,
    ) -> Task | None:
        """set_position at `place(*gap)`, gap being what neighbours(user_id, task_id,
        after) reads first, taking the task and then the user's order itself in the same
        step as the write, and only while the neighbours read with both held are still
        `gap` (OrderChangedError otherwise, nothing written; it may first read and place
        once more). None, with nothing written, when there is no such gap, `place` gives
        no position, or set_position would. The order is held until the unit of work
        ends: for as long as the write when the unit of work is not atomic."""

    async def hold_window(
        self, user_id: UUID, moving: UUID, gap: str | None, each_side: int
    ) -> None:
        """Hold the task `moving` and the tasks order_window would find now, waiting for
        each, in id order (as the bulk writes lock), until the unit of work ends. Called
        before lock_order: every write takes its tasks before the user's change counter."""

    async def order_window(
        self, user_id: UUID, moving: UUID, gap: str | None, each_side: int
    ) -> OrderWindow:
        """Up to `each_side` of the user's tasks before the position `gap` (None: the end
        of the order) and up to `each_side` from it on, leaving out `moving`, in order,
        with the positions of the nearest tasks outside them; all held until the unit of
        work ends. Called holding the order (lock_order), so none of them moves meanwhile.
        Raises PositionTakenError at once when another unit of work holds one of them:
        waiting for it while holding the order could deadlock with a write of that task,
        which takes the task before the user's change counter."""

    async def respace(
        self,
        user_id: UUID,
        positions: Mapping[UUID, str],
        now: datetime,
        moving: UUID,
        position: str,
    ) -> int:
        """In one atomic write, give each of these tasks of the user its position, with
        version +1 and `updated_at` now, and the task `moving` the position `position`,
        its version and `updated_at` unchanged (its move writes it next). Positions are
        unique at the end of the write, whichever the tasks held before. How many tasks
        other than `moving` changed."""

    async def labels(self, user_id: UUID) -> LabelCounts:
        """Each label the user's tasks carry, compared ignoring case and shown as the
        oldest task carrying it writes it, with how many tasks carry it; by name."""

    async def set_completed(
        self, user_id: UUID, is_completed: bool, now: datetime, session_id: UUID | None = None
    ) -> int:
        """Set `is_completed` on every task of the user that does not have it yet, in one
        atomic write (none when the login `session_id` has ended); only those get a new
        version and `updated_at`. How many changed."""

    async def delete_all(
        self, user_id: UUID, completed: bool, session_id: UUID | None = None
    ) -> int:
        """Delete every task of the user whose `is_completed` is `completed`, in one atomic
        write (none when the login `session_id` has ended); how many were deleted."""


class IdempotencyRepository(Protocol):
    async def claim(
        self, user_id: UUID, key: IdempotencyKey, reply: Reply, now: datetime, expires_at: datetime
    ) -> StoredReply | None:
        """Store the reply under the user's key, unless the key is taken: None when stored
        (the caller then writes what the reply reports, in the same unit of work), else what
        was stored first. An expired key counts as free. Raises IdempotencyKeyInUseError
        while another unit of work holds the key, UnknownUserError for an unknown user."""

    async def purge_expired(self, now: datetime, batch_size: int) -> int:
        """Delete up to `batch_size` keys expired before `now`; how many were deleted."""


class UnitOfWork(Protocol):
    """One transaction: leaving the block without `commit()` rolls everything back."""

    users: UserRepository
    tasks: TaskRepository
    refresh_tokens: RefreshTokenRepository
    idempotency: IdempotencyRepository
    sessions: SessionRepository
    password_resets: PasswordResetRepository
    login_failures: LoginFailureRepository
    changes: ChangeFeedRepository
    event_tickets: EventTicketRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, atomic: bool = True) -> UnitOfWork:
        """A unit of work. `atomic=False` is for use cases whose one write (if any) is a
        single statement, atomic by itself: no transaction is opened around it, which saves
        the BEGIN and COMMIT round trips. commit() is still called and still required."""


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, password_hash: str) -> bool:
        """True when the password matches; never raises for a malformed hash."""

    async def verify_dummy(self, password: str) -> None:
        """Spend the same time as a real verification, for unknown users."""

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with a weaker cost than the current one."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class Principal:
    """Whom an access token speaks for: the user, and the session it was issued in (None
    for a token issued before sessions had ids)."""

    user_id: UUID
    session_id: UUID | None
    # The token's `exp`: what an event stream opened with it (or its ticket) lives until.
    expires_at: datetime | None = None


class TokenIssuer(Protocol):
    def issue(self, user_id: UUID, session_id: UUID) -> AccessToken: ...

    def verify(self, token: str) -> Principal:
        """Whom the token was issued to. Raises InvalidTokenError with a reason."""

    def device_token(self, email_key: str) -> str:
        """A signed value that a later login of this email (by its key) may present to show
        it comes from a device its owner signed in on; valid DEVICE_TOKEN_TTL."""

    def device_email_key(self, token: str) -> str | None:
        """The email key a device token of ours names while it is valid; None for anything
        else (forged, expired, another kind of token, not a token at all)."""


@dataclass(frozen=True, slots=True)
class MailMessage:
    """One message to one recipient, with a plain text and an HTML part."""

    to: str
    subject: str
    text: str
    html: str


class Mailer(Protocol):
    async def send(self, message: MailMessage) -> None:
        """Hand the message to the mail server now. Raises when it cannot be delivered
        (server down, refused): the caller may try again later."""


class MailOutbox(Protocol):
    def post(self, message: MailMessage, requester: str = "") -> None:
        """Queue the message for delivery after the current request, retried with backoff
        while the mail server is down. Never blocks and never raises for delivery.
        `requester`: who asked for it (the client address), so that no one requester can
        fill the queue; the message may then be dropped."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""


__all__ = [
    "AccessToken",
    "ChangeFeedRepository",
    "Clock",
    "EventTicket",
    "EventTicketRepository",
    "FailureLimits",
    "IdempotencyRepository",
    "LimitingFailures",
    "LoginFailureRepository",
    "MailMessage",
    "MailOutbox",
    "Mailer",
    "PasswordHasher",
    "PasswordResetRepository",
    "Principal",
    "RefreshTokenRepository",
    "ResetRequest",
    "SessionRepository",
    "TaskRepository",
    "TokenIssuer",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UserRepository",
]
