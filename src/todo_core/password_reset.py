"""Password reset by mail. A request answers alike, after the same work, whether or not the
email is registered: one statement stores the request's token either way (with the user
only for a registered email), so the same row is written and the commit costs the same;
the message is written either way; only the posting differs, and it does not wait for the
mail server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from todo_core.credentials import Credentials
from todo_core.domain import (
    Client,
    check_new_password,
    email_key,
    email_problem,
    new_secret,
    normalize_email,
    secret_hash,
    stored_email,
)
from todo_core.errors import InvalidResetTokenError, MailUnavailableError
from todo_core.logins import SignIn
from todo_core.ports import MailOutbox, ResetRequest, UnitOfWorkFactory
from todo_core.purge import PURGE_BATCH, purge_in_batches
from todo_core.reset_mail import reset_message

NO_CLIENT = Client("")


@dataclass(frozen=True, slots=True)
class ResetPolicy:
    """`max_mails`: reset messages one email may be sent within a token's lifetime, so
    that nobody can flood a mailbox with them."""

    link: str = "http://localhost:3000/reset-password"
    token_ttl: timedelta = timedelta(seconds=1800)
    max_mails: int = 5


class PasswordResetService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        credentials: Credentials,
        outbox: MailOutbox | None,
        policy: ResetPolicy | None = None,
    ) -> None:
        """`outbox`: None when no mail can be sent (production without SMTP_URL)."""
        self._uow = uow
        self._passwords = credentials.passwords
        self._logins = credentials.logins
        self._clock = credentials.clock
        self._outbox = outbox
        self._policy = policy or ResetPolicy()

    async def request(self, email: str, client: Client = NO_CLIENT) -> UUID | None:
        """Mail a one-time reset link if the email is registered; the user's id, or None.
        Raises MailUnavailableError when mail cannot be sent at all, and ValidationError for
        an address that breaks the email rule, unless an account was stored under it
        before the rule (those keep working)."""
        if self._outbox is None:
            raise MailUnavailableError()
        earlier_rule = email_problem(email) is not None
        normalized = stored_email(email) if earlier_rule else None
        normalized = normalized or normalize_email(email)
        secret, now, policy = new_secret(), self._clock.now(), self._policy
        request = ResetRequest(
            email=normalized,
            email_key=email_key(normalized),
            token_hash=secret_hash(secret),
            now=now,
            expires_at=now + policy.token_ttl,
            since=now - policy.token_ttl,
            limit=policy.max_mails,
        )
        # An address of the earlier rule: stored only for an account (rolled back otherwise).
        async with self._uow(atomic=earlier_rule) as uow:
            user_id = await uow.password_resets.request(request)
            if user_id is None and earlier_rule:
                normalize_email(email)  # raises: no account, and not an email accepted now
            await uow.commit()
        message = reset_message(normalized, policy.link, secret, policy.token_ttl)
        if user_id is not None:
            self._outbox.post(message, client.address)
        return user_id

    async def confirm(self, token: str, new_password: str, client: Client) -> SignIn:
        """Set the new password with a live reset token, which is spent with every other of
        the user's; every earlier login ends and a new one comes back."""
        check_new_password(new_password)
        password_hash = await self._passwords.hash(new_password)
        async with self._uow() as uow:
            user_id = await uow.password_resets.take(secret_hash(token), self._clock.now())
            user = await uow.users.get(user_id) if user_id else None
            if user is None:
                raise InvalidResetTokenError()
            await uow.users.update_password_hash(user.id, password_hash)
            # Whoever holds the mailbox holds the account: failed guesses no longer matter.
            sign_in = await self._logins.restart(uow, user, client)
            await uow.commit()
        return sign_in

    async def purge_expired(self) -> int:
        """Requests whose token expired: too old to be spent, or to count towards the cap."""
        now = self._clock.now()
        return await purge_in_batches(
            self._uow, lambda uow: uow.password_resets.purge_expired(now, PURGE_BATCH)
        )
