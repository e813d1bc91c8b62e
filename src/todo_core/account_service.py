"""Use cases of a signed-in user's account: the password, the sessions, the account itself.
Every one first checks that the user still exists and that the caller's login (`session`,
the access token's) has not ended, in one statement, so a deleted user's access tokens, or
those of an ended login (valid until they expire), can do nothing here."""

from __future__ import annotations

from uuid import UUID

from todo_core.credentials import Credentials, existing_user
from todo_core.domain import Client, LoginSession, User, check_new_password, email_key
from todo_core.errors import FieldError, SessionNotFoundError, UnknownUserError, ValidationError
from todo_core.logins import SignIn
from todo_core.ports import UnitOfWorkFactory


class AccountService:
    def __init__(self, uow: UnitOfWorkFactory, credentials: Credentials) -> None:
        self._uow = uow
        self._passwords = credentials.passwords
        self._throttle = credentials.throttle
        self._logins = credentials.logins
        self._clock = credentials.clock

    async def _confirmed_user(
        self, user_id: UUID, password: str, field: str, client: Client, session: UUID | None
    ) -> User:
        """The user, once the password is checked. A guess counts like a login's, against
        the same limits (a stolen access token is no way round them); a right one's
        attempt is cleared by what follows."""
        # Atomic: attempts for one email take turns until this unit of work ends.
        async with self._uow() as uow:
            user = await existing_user(uow, user_id, session)
            await self._throttle.attempt(uow, email_key(user.email), client)
            await uow.commit()
        if not (await self._passwords.verify(password, user.password_hash)).matched:
            raise ValidationError([FieldError(field, "is incorrect")])
        return user

    async def change_password(
        self,
        user_id: UUID,
        current_password: str,
        new_password: str,
        client: Client,
        session: UUID | None = None,
    ) -> SignIn:
        """Replace the password; every login of the user ends, outstanding reset tokens are
        void, and a new login comes back."""
        check_new_password(new_password)
        user = await self._confirmed_user(
            user_id, current_password, "current_password", client, session
        )
        password_hash = await self._passwords.hash(new_password)
        async with self._uow() as uow:
            # Only over the hash just checked: a reset that landed meanwhile wins.
            if not await uow.users.update_password_hash(
                user.id, password_hash, replacing=user.password_hash
            ):
                raise ValidationError([FieldError("current_password", "is incorrect")])
            sign_in = await self._logins.restart(uow, user, client)
            await uow.commit()
        return sign_in

    async def delete_account(
        self, user_id: UUID, password: str, client: Client, session: UUID | None = None
    ) -> None:
        """Delete the user and everything of theirs in one transaction."""
        user = await self._confirmed_user(user_id, password, "password", client, session)
        async with self._uow() as uow:
            if not await uow.users.delete(user.id):
                raise UnknownUserError()
            key = email_key(user.email)
            await uow.login_failures.clear(key)
            await uow.password_resets.forget_email(key)
            await uow.commit()

    async def sessions(self, user_id: UUID, session: UUID | None = None) -> list[LoginSession]:
        """The user's live sessions, newest first."""
        async with self._uow(atomic=False) as uow:
            await existing_user(uow, user_id, session)
            return await uow.sessions.live(user_id, self._clock.now())

    async def end_session(
        self, user_id: UUID, session_id: UUID, session: UUID | None = None
    ) -> None:
        """End the login `session_id` of the user (from the login `session`)."""
        await self._end(user_id, session_id, session)

    async def end_all_sessions(self, user_id: UUID, session: UUID | None = None) -> int:
        return await self._end(user_id, None, session)

    async def _end(self, user_id: UUID, session_id: UUID | None, session: UUID | None) -> int:
        async with self._uow() as uow:
            await existing_user(uow, user_id, session)
            ended = await uow.sessions.end(user_id, self._clock.now(), session_id)
            if session_id is not None and not ended:
                raise SessionNotFoundError()
            await uow.commit()
        return ended
