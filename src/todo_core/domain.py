"""Entities and every rule about them. Limits are named constants so that the HTTP schemas
document exactly what is enforced here instead of retyping it."""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

from todo_core.errors import FieldError, ValidationError

EMAIL_MAX_LENGTH: Final = 254
PASSWORD_MIN_BYTES: Final = 8
PASSWORD_MAX_BYTES: Final = 72  # bcrypt ignores everything past 72 bytes
TITLE_MAX_LENGTH: Final = 255
DESCRIPTION_MAX_LENGTH: Final = 10_000
SECRET_BYTES: Final = 32  # refresh and reset tokens: 256 bits of randomness
USER_AGENT_MAX_LENGTH: Final = 255
ADDRESS_MAX_LENGTH: Final = 64
PRIORITY_MIN: Final = 0  # none
PRIORITY_MAX: Final = 3  # high
LABELS_MAX: Final = 20
LABEL_MAX_LENGTH: Final = 50
# How long a device token lets its email's owner past the failed-login limits.
DEVICE_TOKEN_TTL: Final = timedelta(days=180)

# An ASCII addr-spec (RFC 5322 3.4.1) in its dot-atom form: atoms of the letters, digits
# and specials it allows, joined by single dots; a domain of two or more labels of letters,
# digits and inner hyphens. Internationalised addresses are refused: the mail path cannot
# deliver them (a server without SMTPUTF8 refuses them), and look-alike letters or
# invisible characters made a second account beside `carol@example.com`.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN: Final = rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+$"
# The rule before issue 23 (any non-ASCII letter too): accounts stored under it still log
# in and ask for resets; nothing new is accepted under it.
_STORED_EMAIL_SHAPE = re.compile(
    r"^[A-Za-z0-9\u00a1-\uffff!#$%&'*+/=?^_`{|}~.-]+"
    r"@[A-Za-z0-9\u00a1-\uffff-]+(\.[A-Za-z0-9\u00a1-\uffff-]+)+$"
)
# For documents (JSON Schema): text without the control characters the rules refuse.
TITLE_PATTERN: Final = r"^[^\u0000-\u001f\u007f-\u009f]*$"
DESCRIPTION_PATTERN: Final = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
_EMAIL_SHAPE = re.compile(EMAIL_PATTERN)
# C0 controls, DEL and C1 controls; description keeps tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_WHITESPACE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class User:
    id: UUID
    email: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Task:
    id: UUID
    user_id: UUID
    title: str
    description: str | None
    is_completed: bool
    created_at: datetime
    updated_at: datetime
    version: int
    due_at: datetime | None = None
    priority: int = PRIORITY_MIN
    labels: list[str] = field(default_factory=list)
    position: str = ""  # the manual order's key (ordering.py); compared as strings

    def is_owned_by(self, user_id: UUID) -> bool:
        return self.user_id == user_id


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """A stored refresh token: only the hash of the secret the client holds. Tokens rotated
    from one login share a family (the login's session), so that reuse of a spent one can
    revoke them all."""

    token_hash: str
    user_id: UUID
    family_id: UUID
    created_at: datetime
    expires_at: datetime
    spent_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LoginSession:
    """One login: the chain of refresh tokens rotated from one registration, login or
    password reset, with what a person needs to recognise it. It ends when its refresh
    tokens stop (logout, revocation, password change, reuse of a spent token)."""

    id: UUID
    user_id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Client:
    """The other end of a request: the address failed logins are counted by, and the user
    agent a new session shows."""

    address: str
    user_agent: str | None = None

    @staticmethod
    def of(address: str | None, user_agent: str | None) -> Client:
        agent = user_agent[:USER_AGENT_MAX_LENGTH] if user_agent else None
        # An address is at most 45 characters (IPv6); a proxy told to trust anyone may pass
        # on longer text, which must still be counted, not fail the request.
        return Client((address or "")[:ADDRESS_MAX_LENGTH], agent)


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def secret_hash(secret: str) -> str:
    # A fast hash is enough: the secret has 256 bits of entropy, nothing to brute-force.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def email_key(raw: str) -> str:
    """What failed logins are counted under for an email, registered or not: a hash of it
    as it would be normalized, so the table keeps no address anyone typed."""
    return hashlib.sha256(_canonical_email(raw).encode("utf-8", "surrogatepass")).hexdigest()


class Unset(enum.Enum):
    """Marks a patch field the client did not send (distinct from an explicit null)."""

    UNSET = enum.auto()


UNSET: Final = Unset.UNSET


@dataclass(frozen=True, slots=True)
class NewTask:
    title: str
    description: str | None
    is_completed: bool
    due_at: datetime | None = None
    priority: int = PRIORITY_MIN
    labels: list[str] = field(default_factory=list)

    def fingerprint(self) -> dict[str, object]:
        """The fields that tell one create from another: the planning fields only when set,
        so that a request made before they existed keeps its fingerprint."""
        shown: dict[str, object] = {
            "title": self.title,
            "description": self.description,
            "is_completed": self.is_completed,
        }
        if self.due_at is not None:
            shown["due_at"] = self.due_at.isoformat()
        if self.priority != PRIORITY_MIN:
            shown["priority"] = self.priority
        if self.labels:
            shown["labels"] = list(self.labels)
        return shown


PATCHABLE: Final = ("title", "description", "is_completed", "due_at", "priority", "labels")


@dataclass(frozen=True, slots=True)
class TaskPatch:
    """The fields an update changes; absent ones keep their stored value."""

    title: str | Unset = UNSET
    description: str | Unset | None = UNSET
    is_completed: bool | Unset = UNSET
    due_at: datetime | Unset | None = UNSET
    priority: int | Unset = UNSET
    labels: list[str] | Unset = UNSET

    def changes(self) -> dict[str, object]:
        """The fields this patch sets, by name."""
        return {n: v for n in PATCHABLE if (v := getattr(self, n)) is not UNSET}

    def is_empty(self) -> bool:
        return not self.changes()


# The versions a conditional write accepts; None means unconditional.
Versions = frozenset[int] | None


def _text_problem(raw: str) -> str | None:
    # JSON can carry an unpaired surrogate ("\ud800"), which is no text and cannot be stored.
    if _SURROGATE.search(raw):
        return "must be valid Unicode text (no unpaired surrogates)"
    return None


def _canonical_email(raw: str) -> str:
    """The one form of an email that is stored, looked up and counted under."""
    return raw.strip().lower()


def email_problem(raw: str) -> str | None:
    """What is wrong with an email as given, or None; checked before normalizing."""
    email = _canonical_email(raw)
    if not email:
        return "must not be empty"
    if len(email) > EMAIL_MAX_LENGTH:
        return f"must be at most {EMAIL_MAX_LENGTH} characters"
    if not email.isascii():
        return (
            "must be an email address in ASCII characters (internationalised addresses and"
            " invisible characters are not accepted)"
        )
    if not _EMAIL_SHAPE.fullmatch(email):
        return "must be a valid email address"
    return None


def normalize_email(raw: str) -> str:
    if (problem := email_problem(raw)) is not None:
        raise ValidationError([FieldError("email", problem)])
    return _canonical_email(raw)


def email_if_valid(raw: str) -> str | None:
    """The normalized email, or None when it breaks today's rule."""
    return None if email_problem(raw) is not None else _canonical_email(raw)


def stored_email(raw: str) -> str | None:
    """The normalized email when an account could be stored under it (today's rule, or
    the looser one accounts were registered under before it), or None: no lookup needed."""
    email = _canonical_email(raw)
    if email_problem(raw) is None:
        return email
    if len(email) > EMAIL_MAX_LENGTH or _text_problem(email) or _CONTROL.search(email):
        return None
    return email if _STORED_EMAIL_SHAPE.fullmatch(email) else None


def normalized_password(raw: str) -> str:
    """The form a password is hashed and checked in: Unicode NFKC (NIST SP 800-63B), so
    that composed and decomposed accents, full-width and half-width forms are one password."""
    return unicodedata.normalize("NFKC", raw)


def password_problem(raw: str) -> str | None:
    """Checked on the NFKC form, which is what bcrypt gets."""
    if (problem := _text_problem(raw)) is not None:
        return problem
    raw = normalized_password(raw)
    size = len(raw.encode("utf-8"))
    if size < PASSWORD_MIN_BYTES:
        return f"must be at least {PASSWORD_MIN_BYTES} bytes"
    if size > PASSWORD_MAX_BYTES:
        return f"must be at most {PASSWORD_MAX_BYTES} bytes of UTF-8 (bcrypt's limit)"
    if "\x00" in raw:
        return "must not contain NUL characters"
    return None


def title_problem(raw: str) -> str | None:
    """Checked on the title as trimmed; None when it is fine."""
    title = raw.strip()
    if not title:
        return "must not be empty"
    if len(title) > TITLE_MAX_LENGTH:
        return f"must be at most {TITLE_MAX_LENGTH} characters"
    if _CONTROL.search(title):
        return "must not contain control characters"
    return _text_problem(title)


def description_problem(raw: str | None) -> str | None:
    if raw is None:
        return None
    if len(raw) > DESCRIPTION_MAX_LENGTH:
        return f"must be at most {DESCRIPTION_MAX_LENGTH} characters"
    if _CONTROL_EXCEPT_WHITESPACE.search(raw):
        return "must not contain control characters other than tab and newlines"
    return _text_problem(raw)


def _field(name: str, problem: str | None) -> FieldError | None:
    return None if problem is None else FieldError(name, problem)


def check_registration(email: str, password: str) -> str:
    """Return the normalized email, or raise with every broken rule of both fields."""
    raise_if_any(
        _field("email", email_problem(email)), _field("password", password_problem(password))
    )
    return _canonical_email(email)


def check_new_password(raw: str, field: str = "new_password") -> None:
    """A password about to replace the current one follows the same rules as at sign-up."""
    raise_if_any(_field(field, password_problem(raw)))


def raise_if_any(*errors: FieldError | None) -> None:
    found = [e for e in errors if e is not None]
    if found:
        raise ValidationError(found)


def due_at_problem(raw: datetime | None) -> str | None:
    if raw is not None and raw.utcoffset() is None:
        return "must be a date-time with an offset (RFC 3339), such as 2026-05-01T09:00:00Z"
    return None


def priority_problem(raw: int) -> str | None:
    if not PRIORITY_MIN <= raw <= PRIORITY_MAX:
        return f"must be between {PRIORITY_MIN} and {PRIORITY_MAX}"
    return None


def label_problem(raw: str) -> str | None:
    """One label, checked as trimmed."""
    label = raw.strip()
    if not label:
        return "must not be empty"
    if len(label) > LABEL_MAX_LENGTH:
        return f"must be at most {LABEL_MAX_LENGTH} characters"
    if _CONTROL.search(label):
        return "must not contain control characters"
    return _text_problem(label)


def labels_problem(raw: list[str]) -> str | None:
    if len(raw) > LABELS_MAX:
        return f"must hold at most {LABELS_MAX} labels"
    for label in raw:
        if (problem := label_problem(label)) is not None:
            return f"{label!r} {problem}" if label.strip() else f"each label {problem}"
    keys = [label_key(label) for label in raw]
    if len(set(keys)) != len(keys):
        return "must not repeat a label (compared ignoring case)"
    return None


def label_key(label: str) -> str:
    """What labels are compared by: trimmed, ignoring case."""
    return label.strip().lower()


def _utc(raw: datetime | None) -> datetime | None:
    return None if raw is None else raw.astimezone(UTC)


def check_new_task(draft: NewTask) -> NewTask:
    raise_if_any(
        _field("title", title_problem(draft.title)),
        _field("description", description_problem(draft.description)),
        _field("due_at", due_at_problem(draft.due_at)),
        _field("priority", priority_problem(draft.priority)),
        _field("labels", labels_problem(draft.labels)),
    )
    return NewTask(
        draft.title.strip(),
        draft.description,
        draft.is_completed,
        _utc(draft.due_at),
        draft.priority,
        [label.strip() for label in draft.labels],
    )


def check_patch(patch: TaskPatch) -> TaskPatch:
    """Validate a patch and return it with the title and labels trimmed, due_at in UTC."""
    changes = patch.changes()
    if not changes:
        raise ValidationError(
            [FieldError("body", f"must set at least one of {', '.join(PATCHABLE)}")]
        )
    problems: dict[str, Callable[[Any], str | None]] = {
        "title": title_problem,
        "description": description_problem,
        "due_at": due_at_problem,
        "priority": priority_problem,
        "labels": labels_problem,
    }
    raise_if_any(
        *(
            _field(name, problems[name](value))
            for name, value in changes.items()
            if name in problems
        )
    )
    title, due_at, labels = patch.title, patch.due_at, patch.labels
    return TaskPatch(
        title=title if isinstance(title, Unset) else title.strip(),
        description=patch.description,
        is_completed=patch.is_completed,
        due_at=due_at if isinstance(due_at, Unset) else _utc(due_at),
        priority=patch.priority,
        labels=labels if isinstance(labels, Unset) else [label.strip() for label in labels],
    )
