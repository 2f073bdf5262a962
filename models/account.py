"""Accounts: signing up, the rules for emails, passwords and names, profile and preferences."""

import datetime as dt
import json
import math
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from models.auth import start_session
from models.email_address import EmailAddressError, email_key, parse_email
from models.login_session import LoginSession
from models.user import User, UserRole

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
MAX_DISPLAY_NAME_LENGTH = 120
# Preferences are settings, not storage: bound a patch (as compact UTF-8 JSON), the whole (as
# PostgreSQL prints it, measured where it is merged), and their nesting, which PostgreSQL's
# jsonb functions walk by recursion.
MAX_PREFERENCES_PATCH_BYTES = 16 * 1024
MAX_PREFERENCES_BYTES = 64 * 1024
MAX_PREFERENCES_DEPTH = 16
# Beyond a double's range a number is no setting (and past 4,300 digits Python cannot print it).
_MAX_INTEGER_BITS = 1024
# PostgreSQL's text cannot hold NUL, and UTF-8 cannot hold an unpaired surrogate.
_UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
LIVE_EMAIL_INDEX = "uq_users_email_live"
_UNIQUE_VIOLATION = "23505"


class AccountInputError(ValueError):
    """An account field breaks a rule; `field` names it (`email`, `password`, `display_name`)."""

    def __init__(self, message: str, *, field: str) -> None:
        """Record which field is wrong and why."""
        super().__init__(message)
        self.field = field
        self.message = message


class EmailTakenError(AccountInputError):
    """Another live account already uses the email (compared case-insensitively)."""

    def __init__(self) -> None:
        """Always about `email`."""
        super().__init__("An account with this email already exists.", field="email")


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A user with a fresh login session and its bearer token (shown once, never stored)."""

    user: User
    login: LoginSession
    token: str


def normalise_email(email: str) -> str:
    """The address as stored (see `models.email_address`); `AccountInputError` if refused."""
    try:
        return parse_email(email).address
    except EmailAddressError as error:
        raise AccountInputError(error.message, field="email") from None


def check_password_rules(password: str) -> str:
    """The password if it has 10 to 200 characters, not all blank; `AccountInputError` otherwise."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        message = (
            f"A password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters;"
            f" this one has {len(password)}."
        )
        raise AccountInputError(message, field="password")
    if _blank(password):
        message = "A password cannot be only spaces or invisible characters."
        raise AccountInputError(message, field="password")
    if _UNSTORABLE_CHARACTER.search(password):
        message = "A password cannot contain NUL or unpaired surrogate characters."
        raise AccountInputError(message, field="password")
    return password


def normalise_display_name(display_name: str) -> str:
    """The name trimmed, if 1 to 120 characters remain; `AccountInputError` otherwise."""
    display_name = display_name.strip()
    if _blank(display_name) or not 1 <= len(display_name) <= MAX_DISPLAY_NAME_LENGTH:
        message = f"A display name has 1 to {MAX_DISPLAY_NAME_LENGTH} characters (not blank)."
        raise AccountInputError(message, field="display_name")
    if not _storable_text(display_name):
        message = "A display name cannot contain control or unpaired surrogate characters."
        raise AccountInputError(message, field="display_name")
    return display_name


def _preferences_problem(patch: dict[str, Any]) -> str | None:
    """What makes `patch` unstorable as preferences, or None; walks it without recursion."""
    pending: list[tuple[object, int]] = [(patch, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list) and depth > MAX_PREFERENCES_DEPTH:
            return f"The patch may nest objects and arrays at most {MAX_PREFERENCES_DEPTH} deep."
        if isinstance(value, dict):
            for key, member in value.items():
                if not isinstance(key, str) or _UNSTORABLE_CHARACTER.search(key):
                    return "Keys must be text without NUL characters or unpaired surrogates."
                pending.append((member, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif (problem := _scalar_problem(value)) is not None:
            return problem
    return None


def _scalar_problem(value: object) -> str | None:
    if isinstance(value, str):
        if _UNSTORABLE_CHARACTER.search(value):
            return "Strings may not contain NUL characters or unpaired surrogates."
    elif isinstance(value, float):
        if not math.isfinite(value):
            return "Numbers must be finite."
    elif isinstance(value, int):  # bool included: its bit length is at most 1
        if value.bit_length() > _MAX_INTEGER_BITS:
            return "Numbers must be within the range of a double (about 1.8e308)."
    elif value is not None:
        return "The patch must be JSON: objects, arrays, strings, numbers, booleans, null."
    return None


def _json_bytes(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _blank(text: str) -> bool:
    # Spaces of any kind (Z*, and the controls Python counts as space) and the invisible
    # format characters (Cf: zero-width space, joiners, direction marks) show nothing.
    return all(char.isspace() or unicodedata.category(char) in {"Cf", "Zs"} for char in text)


def _storable_text(text: str) -> bool:
    # PostgreSQL text holds no NUL, UTF-8 no lone surrogate; other controls are never meant.
    return not any(unicodedata.category(char) in {"Cc", "Cs"} for char in text)


def check_preferences_patch(patch: object) -> dict[str, Any]:
    """The patch if it is a JSON object of reasonable size and depth; `AccountInputError` otherwise.

    Depth and values are checked before anything serialises or recurses over the patch, so a
    patch nested thousands deep is refused here, not by a recursion limit in Python or
    PostgreSQL.
    """
    if not isinstance(patch, dict):
        message = "The patch must be a JSON object; a `null` value removes its key."
        raise AccountInputError(message, field="patch")
    problem = _preferences_problem(patch)
    if problem is not None:
        raise AccountInputError(problem, field="patch")
    if _json_bytes(patch) > MAX_PREFERENCES_PATCH_BYTES:
        message = f"The patch may have at most {MAX_PREFERENCES_PATCH_BYTES} bytes of JSON."
        raise AccountInputError(message, field="patch")
    return patch


class PreferencesTooLargeError(AccountInputError):
    """The patch would make the preferences larger than `MAX_PREFERENCES_BYTES`."""

    def __init__(self, size: int) -> None:
        """Always about the patch; says how large the result would have been."""
        message = (
            f"Preferences may hold at most {MAX_PREFERENCES_BYTES} bytes of JSON; with this"
            f" patch they would hold {size}. Remove keys (set them to null) to make room."
        )
        super().__init__(message, field="patch")
        self.size = size


def _is_live_email_conflict(error: IntegrityError) -> bool:
    # asyncpg's error (the adapted error's cause) names the violated index.
    cause = getattr(error.orig, "__cause__", None)
    return (
        getattr(error.orig, "sqlstate", None) == _UNIQUE_VIOLATION
        and getattr(cause, "constraint_name", None) == LIVE_EMAIL_INDEX
    )


async def _flush_checking_email(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as error:
        if _is_live_email_conflict(error):
            raise EmailTakenError from error
        raise


async def sign_up(  # noqa: PLR0913 - an account and the login session it starts with
    session: AsyncSession,
    *,
    email: str,
    password_hash: str,
    display_name: str,
    session_lifetime: dt.timedelta,
    user_agent: str | None,
    ip_address: str | None,
) -> SignedIn:
    """Create a member and sign them in; `EmailTakenError` if a live account has the email.

    The unique index decides, not a prior lookup, so two concurrent sign-ups with one email
    cannot both succeed. Pass a hash from `auth.hash_password` (made before the transaction:
    hashing is slow on purpose). The caller's transaction is unusable after `EmailTakenError`.
    """
    user = User(
        email=email,
        display_name=display_name,
        role=UserRole.MEMBER.value,
        password_hash=password_hash,
    )
    session.add(user)
    await _flush_checking_email(session)
    login, token = await start_session(
        session,
        user=user,
        lifetime=session_lifetime,
        user_agent=user_agent,
        ip_address=ip_address,
    )
    return SignedIn(user=user, login=login, token=token)


async def update_profile(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    display_name: str | None = None,
    email: str | None = None,
) -> User | None:
    """Change the given fields of a live user (None leaves a field as is); None if no user.

    `email` must come from `normalise_email`. `EmailTakenError` if another live account has
    the new email.
    """
    changes: dict[str, str] = {}
    if display_name is not None:
        changes["display_name"] = display_name
    if email is not None:
        changes["email"] = email
        changes["email_key"] = email_key(email)
    if not changes:
        return (await session.execute(select(User).where(User.id == user_id))).scalar_one_or_none()
    statement = (
        update(User)
        .where(User.id == user_id, User.deleted_at.is_(None))
        .values(**changes)
        .returning(User)
        .execution_options(populate_existing=True)
    )
    try:
        return (await session.execute(statement)).scalar_one_or_none()
    except IntegrityError as error:
        if _is_live_email_conflict(error):
            raise EmailTakenError from error
        raise


async def update_preferences(
    session: AsyncSession, *, user_id: uuid.UUID, patch: dict[str, Any]
) -> User | None:
    """Merge `patch` into a live user's preferences in SQL (RFC 7396); None if no user.

    Objects merge key by key, a `null` value removes its key, anything else replaces.
    `PreferencesTooLargeError` if the result would exceed `MAX_PREFERENCES_BYTES` (as
    PostgreSQL prints it); then nothing is written. A document already over the limit
    (written before it existed) accepts only patches that bring it under.

    One statement: the merge is computed once, on the row locked `FOR UPDATE` (so concurrent
    patches to different keys never lose each other's changes), and written only if small
    enough. A refused patch updates no row, so loaded objects stay as they were.
    """
    live_user = (User.id == user_id, User.deleted_at.is_(None))
    merged_preferences = func.jsonb_merge_patch(
        User.preferences, bindparam("patch", patch, type_=JSONB)
    )
    merged = (
        select(User.id, merged_preferences.label("preferences"))
        .where(*live_user)
        .with_for_update()
        .cte("merged")
    )
    statement = (
        update(User)
        .where(
            User.id == merged.c.id,
            func.octet_length(cast(merged.c.preferences, Text)) <= MAX_PREFERENCES_BYTES,
        )
        .values(preferences=merged.c.preferences)
        .returning(User)
        .options(undefer(User.preferences))
        .execution_options(populate_existing=True)
    )
    user = (await session.execute(statement)).scalar_one_or_none()
    if user is not None:
        return user
    # Rare: no such user, or a refused patch (the row is still locked: the size is the same).
    measure = select(func.octet_length(cast(merged_preferences, Text))).where(*live_user)
    size = (await session.execute(measure)).scalar_one_or_none()
    if size is None:
        return None
    raise PreferencesTooLargeError(size)
