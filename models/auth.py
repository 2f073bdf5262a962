"""Credentials: argon2 password hashes and opaque bearer tokens kept only as SHA-256 digests."""

import asyncio
import datetime as dt
import functools
import hashlib
import secrets
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.login_session import LoginSession
from models.user import User

_HASHER = PasswordHasher()
TOKEN_BYTES = 32


def new_token() -> str:
    """A fresh bearer token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> bytes:
    """What the `sessions` table stores instead of the token."""
    return hashlib.sha256(token.encode()).digest()


async def hash_password(password: str) -> str:
    """Hash a password with argon2id, off the event loop (it is slow on purpose)."""
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`; False for a missing or malformed hash."""
    if not password_hash:
        return False
    try:
        return await asyncio.to_thread(_HASHER.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, made once with the same parameters as real hashes."""
    return _HASHER.hash(secrets.token_urlsafe(TOKEN_BYTES))


def _verify_or_dummy(password_hash: str | None, password: str) -> bool:
    try:
        # Without a hash to check, verify against the dummy: the same work either way.
        matched = _HASHER.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None


async def check_password(user: User | None, password: str) -> bool:
    """Whether `password` is `user`'s; it takes as long for no user as for a wrong password.

    A missing user (or one without a password) is checked against a dummy hash, so how long
    a failed sign-in takes does not tell whether the email is registered.
    """
    return await asyncio.to_thread(_verify_or_dummy, user.password_hash if user else None, password)


async def authenticate(session: AsyncSession, *, token: str) -> tuple[User, LoginSession] | None:
    """The live user and active login session a bearer token belongs to, or None.

    Refuses revoked and expired sessions and soft-deleted users in the same statement.
    """
    statement = (
        select(User, LoginSession)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_hash == token_digest(token),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > func.now(),
        )
    )
    row = (await session.execute(statement)).one_or_none()
    return (row[0], row[1]) if row else None


async def start_session(
    session: AsyncSession,
    *,
    user: User,
    lifetime: dt.timedelta,
    user_agent: str | None,
    ip_address: str | None,
) -> tuple[LoginSession, str]:
    """Open a login session for `user`; returns it and the token (shown once, never stored)."""
    token = new_token()
    login = LoginSession(
        user_id=user.id,
        token_hash=token_digest(token),
        expires_at=dt.datetime.now(dt.UTC) + lifetime,
        user_agent=user_agent[:512] if user_agent else None,
        ip_address=ip_address,
    )
    session.add(login)
    await session.flush()
    return login, token


async def revoke_session(
    session: AsyncSession, *, session_id: uuid.UUID, user_id: uuid.UUID | None
) -> LoginSession | None:
    """Revoke a session (of `user_id` when given); None when there is no such session.

    Revoking a revoked session changes nothing and returns it with its first `revoked_at`.
    """
    statement = (
        update(LoginSession)
        .where(LoginSession.id == session_id)
        .values(revoked_at=func.coalesce(LoginSession.revoked_at, func.now()))
        .returning(LoginSession)
        .execution_options(populate_existing=True)
    )
    if user_id is not None:
        statement = statement.where(LoginSession.user_id == user_id)
    return (await session.execute(statement)).scalar_one_or_none()


# `sessions.last_seen_at` moves in steps this long: a write on every request would cost more
# than the precision is worth.
LAST_SEEN_STEP = dt.timedelta(minutes=5)


def is_stale(login: LoginSession, *, now: dt.datetime) -> bool:
    """Whether `login.last_seen_at` is a step or more behind `now`."""
    return now - login.last_seen_at >= LAST_SEEN_STEP


async def touch_session(session: AsyncSession, *, session_id: uuid.UUID) -> None:
    """Record that a session was used now (skipped when it was, within the step)."""
    await session.execute(
        update(LoginSession)
        .where(
            LoginSession.id == session_id,
            LoginSession.last_seen_at < func.now() - LAST_SEEN_STEP,
        )
        .values(last_seen_at=func.now())
    )
