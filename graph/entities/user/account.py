"""Account mutations: sign up, log in and out, revoke sessions, profile and preferences."""

import datetime as dt
from collections.abc import Awaitable
from functools import partial
from typing import Annotated, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

import models
from graph.core.context import Context
from graph.core.errors import (
    BadUserInputError,
    LoginThrottledError,
    NotFoundError,
    ServiceBusyError,
    UnauthenticatedError,
)
from graph.core.global_id import decode_typed_id
from graph.core.permissions import revocable_sessions_of
from graph.entities.login_session.type import LoginSession
from graph.entities.user.type import User
from models import account, auth, login_throttle
from models.email_address import email_key
from models.settings import get_settings
from models.user import get_by_email

T = TypeVar("T")

# Where each rule's field sits in the mutations' inputs.
_INPUT_FIELDS = {
    "email": "input.email",
    "password": "input.password",
    "display_name": "input.displayName",
    "patch": "input.patch",
}
WRONG_CREDENTIALS = "Wrong email or password."
THROTTLED = "Too many sign-in attempts for this email or from this address; retry later."
BUSY = "The server is busy checking passwords; retry in a moment."


def _bad_input(error: account.AccountInputError) -> BadUserInputError:
    return BadUserInputError(error.message, field=_INPUT_FIELDS[error.field])


def _session_lifetime() -> dt.timedelta:
    return dt.timedelta(days=get_settings().session_lifetime_days)


def _login_policy(
    context: Context,
) -> tuple[login_throttle.ThrottleLimits, auth.PasswordWork | None]:
    # The app's own (built from its settings); the process defaults when run without one.
    request = context.request
    state = request.app.state if request is not None else None
    limits = getattr(state, "login_limits", None)
    if not isinstance(limits, login_throttle.ThrottleLimits):
        limits = login_throttle.ThrottleLimits.from_settings(get_settings())
    work = getattr(state, "password_work", None)
    return limits, work if isinstance(work, auth.PasswordWork) else None


def _retry_after(context: Context, seconds: int) -> None:
    if context.response is not None:
        context.response.headers["Retry-After"] = str(seconds)


async def _password_work(context: Context, work: Awaitable[T]) -> T:
    """`work` (hashing on the bounded pool), or SERVICE_UNAVAILABLE when its queue is full."""
    try:
        return await work
    except auth.PasswordWorkBusyError:
        _retry_after(context, auth.BUSY_RETRY_AFTER_SECONDS)
        raise ServiceBusyError(BUSY, retry_after=auth.BUSY_RETRY_AFTER_SECONDS) from None


def _remember_session(context: Context, login: models.LoginSession) -> None:
    context.loaders.login_session.clear(login.id).prime(login.id, login)
    context.loaders.user_sessions.clear_all()


@strawberry.input(description="A new account: who is signing up and how they will sign in.")
class SignUpInput:
    """What `signUp` needs."""

    email: str = strawberry.field(
        description="Email address to sign in with; no two accounts share one (any case)."
    )
    password: str = strawberry.field(
        description="The password: 10 to 200 characters, not all spaces."
    )
    display_name: str = strawberry.field(
        description="Name shown to other users: 1 to 120 characters."
    )


@strawberry.type(description="The new account, already signed in.")
class SignUpPayload:
    """What `signUp` returns."""

    user: User = strawberry.field(description="The new account (role MEMBER).")
    session: LoginSession = strawberry.field(description="The login session the token belongs to.")
    token: str = strawberry.field(
        description=(
            "Bearer token of the new session: send it as `Authorization: Bearer <token>`."
            " Shown only once; the server keeps only its hash."
        )
    )


@strawberry.input(description="Credentials to sign in with.")
class LogInInput:
    """What `logIn` needs."""

    email: str = strawberry.field(description="The account's email address (any case).")
    password: str = strawberry.field(description="The account's password.")


@strawberry.type(description="A new login session.")
class LogInPayload:
    """What `logIn` returns."""

    token: str = strawberry.field(
        description=(
            "Bearer token: send it as `Authorization: Bearer <token>`. Shown only once; the"
            " server keeps only its hash."
        )
    )
    user: User = strawberry.field(description="The signed-in user.")
    session: LoginSession = strawberry.field(description="The new login session.")


@strawberry.type(description="The session that was ended.")
class LogOutPayload:
    """What `logOut` returns."""

    session: LoginSession = strawberry.field(
        description="The request's session, now revoked: its token no longer works."
    )


@strawberry.input(description="Which session to end.")
class RevokeSessionInput:
    """What `revokeSession` needs."""

    id: strawberry.ID = strawberry.field(
        description="Global ID of a session of the viewer (admins: of anyone)."
    )


@strawberry.type(description="The session that was ended.")
class RevokeSessionPayload:
    """What `revokeSession` returns."""

    session: LoginSession = strawberry.field(
        description="The session, now revoked: its token no longer works."
    )


@strawberry.input(description="Profile fields to change; omitted fields stay as they are.")
class UpdateProfileInput:
    """What `updateProfile` needs."""

    display_name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="New name shown to other users: 1 to 120 characters. Omit to keep it.",
    )
    email: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="New sign-in email; no two accounts share one (any case). Omit to keep it.",
    )


@strawberry.type(description="The profile after the change.")
class UpdateProfilePayload:
    """What `updateProfile` returns."""

    user: User = strawberry.field(description="The viewer, changed.")


@strawberry.input(description="A change to the viewer's preferences.")
class UpdatePreferencesInput:
    """What `updatePreferences` needs."""

    patch: JSON = strawberry.field(
        description=(
            "A JSON merge patch (RFC 7396): an object whose keys are merged into the"
            " preferences, nested objects recursively; a `null` value removes its key; other"
            ' values replace. E.g. `{"theme": "dark", "notifications": {"push": null}}`.'
        )
    )


@strawberry.type(description="The preferences after the change.")
class UpdatePreferencesPayload:
    """What `updatePreferences` returns."""

    user: User = strawberry.field(description="The viewer; read the result from `preferences`.")


def _present(value: str | None, *, field: str) -> str | None:
    """None for an omitted field; `BAD_USER_INPUT` for an explicit null."""
    if value is strawberry.UNSET:
        return None
    if value is None:
        message = f"`{field}` cannot be null; omit it to keep the current value."
        raise BadUserInputError(message, field=field)
    return value


@strawberry.type
class AccountMutations:
    """Accounts, login sessions, profile and preferences."""

    @strawberry.mutation(
        description=(
            "Create a member account and sign it in. BAD_USER_INPUT naming the field for a"
            " malformed email, a password of fewer than 10 or more than 200 characters, a blank"
            " name, or an email another account has."
        )
    )
    async def sign_up(
        self,
        info: strawberry.Info[Context],
        input: Annotated[  # noqa: A002 - `input` is the GraphQL contract
            SignUpInput,
            strawberry.argument(description="The new account's email, password and display name."),
        ],
    ) -> SignUpPayload:
        """Validate, hash the password (outside the transaction), then insert and sign in."""
        try:
            email = account.normalise_email(input.email)
            password = account.check_password_rules(input.password)
            display_name = account.normalise_display_name(input.display_name)
        except account.AccountInputError as error:
            raise _bad_input(error) from None
        context = info.context
        _, work = _login_policy(context)
        password_hash = await _password_work(context, auth.hash_password(password, work=work))
        try:
            signed_in = await context.db.write(
                context.actor,
                partial(
                    account.sign_up,
                    email=email,
                    password_hash=password_hash,
                    display_name=display_name,
                    session_lifetime=_session_lifetime(),
                    user_agent=context.user_agent,
                    ip_address=context.ip_address,
                ),
            )
        except account.EmailTakenError as error:
            raise _bad_input(error) from None
        context.loaders.user.prime(signed_in.user.id, signed_in.user)
        _remember_session(context, signed_in.login)
        return SignUpPayload(
            user=User.from_model(signed_in.user, proven_self=True),
            session=LoginSession.from_model(signed_in.login),
            token=signed_in.token,
        )

    @strawberry.mutation(
        description=(
            "Sign in with email and password; returns a bearer token. A wrong email and a wrong"
            " password fail alike, with UNAUTHENTICATED. Too many attempts for one email or"
            " from one address fail with LOGIN_THROTTLED (even with the right password) and"
            " `extensions.retryAfter`, the seconds to wait."
        )
    )
    async def log_in(
        self,
        info: strawberry.Info[Context],
        input: Annotated[  # noqa: A002 - `input` is the GraphQL contract
            LogInInput, strawberry.argument(description="The email and password to sign in with.")
        ],
    ) -> LogInPayload:
        """Count the attempt, check the password (as long for an unknown email), open a session."""
        context = info.context
        limits, work = _login_policy(context)
        keys = login_throttle.attempt_keys(
            email_key=email_key(input.email), ip_address=context.ip_address
        )
        # Its own transaction, committed before the password is checked: a failed sign-in
        # cannot undo the count.
        throttled = await context.db.write(
            context.actor, partial(login_throttle.count_attempt, keys=keys, limits=limits)
        )
        if throttled is not None:
            _retry_after(context, throttled.retry_after)
            raise LoginThrottledError(THROTTLED, retry_after=throttled.retry_after)
        user = await context.db.run(partial(get_by_email, email=input.email))
        too_long = len(input.password) > account.MAX_PASSWORD_LENGTH
        # An over-long password cannot match: check it against nothing, taking the usual time.
        checked_user = None if too_long else user
        password = input.password[: account.MAX_PASSWORD_LENGTH + 1]
        matched = await _password_work(
            context, auth.check_password(checked_user, password, work=work)
        )
        if user is None or not matched:
            raise UnauthenticatedError(WRONG_CREDENTIALS)
        signed_in = user

        async def open_session(session: AsyncSession) -> tuple[models.LoginSession, str]:
            await login_throttle.clear_attempts(session, keys=keys)
            return await auth.start_session(
                session,
                user=signed_in,
                lifetime=_session_lifetime(),
                user_agent=context.user_agent,
                ip_address=context.ip_address,
            )

        login, token = await context.db.write(context.actor, open_session)
        context.loaders.user.prime(user.id, user)
        _remember_session(context, login)
        return LogInPayload(
            token=token,
            user=User.from_model(user, proven_self=True),
            session=LoginSession.from_model(login),
        )

    @strawberry.mutation(
        description="Sign out: revoke the session this request's token belongs to."
    )
    async def log_out(self, info: strawberry.Info[Context]) -> LogOutPayload:
        """Revoke the request's own session."""
        context = info.context
        viewer = context.require_viewer()
        login = await context.db.write(
            context.actor,
            partial(auth.revoke_session, session_id=viewer.session_id, user_id=viewer.user_id),
        )
        if login is None:
            message = "The session is gone; sign in again."
            raise UnauthenticatedError(message)
        _remember_session(context, login)
        return LogOutPayload(session=LoginSession.from_model(login))

    @strawberry.mutation(
        description=(
            "Revoke one of the viewer's sessions (admins: anyone's), e.g. a lost device."
            " Revoking a revoked session changes nothing. NOT_FOUND for a session the viewer"
            " may not see."
        )
    )
    async def revoke_session(
        self,
        info: strawberry.Info[Context],
        input: Annotated[  # noqa: A002 - `input` is the GraphQL contract
            RevokeSessionInput, strawberry.argument(description="Which session to revoke.")
        ],
    ) -> RevokeSessionPayload:
        """Revoke a session, restricted to the viewer's own unless they are an admin."""
        context = info.context
        viewer = context.require_viewer()
        session_id = decode_typed_id(input.id, "Session", field="input.id")
        login = await context.db.write(
            context.actor,
            partial(
                auth.revoke_session,
                session_id=session_id,
                user_id=revocable_sessions_of(viewer),
            ),
        )
        if login is None:
            message = "No session with this ID."
            raise NotFoundError(message, field="input.id")
        _remember_session(context, login)
        return RevokeSessionPayload(session=LoginSession.from_model(login))

    @strawberry.mutation(
        description=(
            "Change the viewer's display name and/or email; omitted fields stay as they are."
            " BAD_USER_INPUT naming the field when a value breaks a rule or the email is taken."
        )
    )
    async def update_profile(
        self,
        info: strawberry.Info[Context],
        input: Annotated[  # noqa: A002 - `input` is the GraphQL contract
            UpdateProfileInput,
            strawberry.argument(
                description="The profile fields to change; omit a field to keep it."
            ),
        ],
    ) -> UpdateProfilePayload:
        """Validate the given fields and update them in one statement."""
        context = info.context
        viewer = context.require_viewer()
        display_name = _present(input.display_name, field="input.displayName")
        email = _present(input.email, field="input.email")
        try:
            if display_name is not None:
                display_name = account.normalise_display_name(display_name)
            if email is not None:
                email = account.normalise_email(email)
            user = await context.db.write(
                context.actor,
                partial(
                    account.update_profile,
                    user_id=viewer.user_id,
                    display_name=display_name,
                    email=email,
                ),
            )
        except account.AccountInputError as error:
            raise _bad_input(error) from None
        if user is None:
            message = "Your account no longer exists."
            raise NotFoundError(message)
        context.loaders.user.clear(user.id).prime(user.id, user)
        return UpdateProfilePayload(user=User.from_model(user))

    @strawberry.mutation(
        description=(
            "Merge a JSON merge patch (RFC 7396) into the viewer's preferences, in one"
            " statement: concurrent patches of different keys both apply. BAD_USER_INPUT"
            " naming `input.patch` when the patch is not a JSON object, is over 16 KiB, nests"
            " deeper than 16 levels, holds a string with NUL or an unpaired surrogate or a"
            " non-finite number, or would make the preferences larger than 64 KiB."
        )
    )
    async def update_preferences(
        self,
        info: strawberry.Info[Context],
        input: Annotated[  # noqa: A002 - `input` is the GraphQL contract
            UpdatePreferencesInput,
            strawberry.argument(description="The merge patch to apply to the preferences."),
        ],
    ) -> UpdatePreferencesPayload:
        """Apply the patch with `jsonb_merge_patch` in SQL."""
        context = info.context
        viewer = context.require_viewer()
        try:
            patch = account.check_preferences_patch(input.patch)
            user = await context.db.write(
                context.actor,
                partial(account.update_preferences, user_id=viewer.user_id, patch=patch),
            )
        except account.AccountInputError as error:
            raise _bad_input(error) from None
        if user is None:
            message = "Your account no longer exists."
            raise NotFoundError(message)
        context.loaders.user.clear(user.id).prime(user.id, user)
        context.loaders.preferences.clear(user.id).prime(user.id, user.preferences)
        return UpdatePreferencesPayload(user=User.from_model(user))
