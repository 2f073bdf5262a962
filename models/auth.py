"""Credentials: argon2 password hashes and opaque bearer tokens kept only as SHA-256 digests."""

import asyncio
import datetime as dt
import functools
import hashlib
import os
import secrets
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.actor import bounded_setting
from models.audit import MAX_USER_AGENT_LENGTH
from models.login_session import LoginSession
from models.user import User

_HASHER = PasswordHasher()
TOKEN_BYTES = 32
# Seconds a client refused for busy hashing should wait: about a few hashes' time.
BUSY_RETRY_AFTER_SECONDS = 2

T = TypeVar("T")


class PasswordWorkBusyError(RuntimeError):
    """More password checks are waiting than `PasswordWork.max_waiting` allows."""


class PasswordWork:
    """Argon2 work on a thread pool of its own, at most `max_concurrent` hashes at a time.

    Argon2 is slow on purpose. On the default executor, a few parallel guessers would take
    every thread that DNS lookups and other `to_thread` work need, and their hashes would
    queue without end; here they queue on their own pool, and beyond `max_waiting` queued
    callers get `PasswordWorkBusyError` at once instead of a slot. Counters are kept on the
    event loop's thread; `peak` (the most hashes seen running at once) in the workers'.
    """

    def __init__(self, *, max_concurrent: int | None = None, max_waiting: int = 16) -> None:
        """A pool of `max_concurrent` threads (default: half the CPUs) and its queue limit.

        Half, so that guessers hashing at full speed still leave the event loop a core: on
        two cores, all of them made every other request (and /healthz) wait.
        """
        self.max_concurrent = max_concurrent or max(1, (os.cpu_count() or 1) // 2)
        self.max_waiting = max_waiting
        self._executor = ThreadPoolExecutor(self.max_concurrent, thread_name_prefix="argon2")
        self._admitted = 0
        self._running = 0
        self._lock = threading.Lock()
        self.peak = 0

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Run `function(*args)` on the pool; `PasswordWorkBusyError` if the queue is full."""
        if self._admitted >= self.max_concurrent + self.max_waiting:
            message = "too many password checks are waiting"
            raise PasswordWorkBusyError(message)
        self._admitted += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._executor, functools.partial(self._measured, function, *args)
            )
        finally:
            self._admitted -= 1

    def _measured(self, function: Callable[..., T], *args: object) -> T:
        with self._lock:
            self._running += 1
            self.peak = max(self.peak, self._running)
        try:
            return function(*args)
        finally:
            with self._lock:
                self._running -= 1

    def close(self) -> None:
        """Stop the pool's threads once their work is done."""
        self._executor.shutdown(wait=False, cancel_futures=True)


# For callers without an application (scripts, tests); the app makes its own from settings.
_DEFAULT_WORK = PasswordWork()


def _secret(password: str) -> bytes:
    # A lone surrogate cannot be UTF-8 encoded strictly; it is refused at sign-up, and at
    # log-in it must still cost a full (failing) check rather than an encoding error.
    return password.encode("utf-8", "surrogatepass")


def new_token() -> str:
    """A fresh bearer token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> bytes:
    """What the `sessions` table stores instead of the token."""
    return hashlib.sha256(token.encode()).digest()


async def hash_password(password: str, *, work: PasswordWork | None = None) -> str:
    """Hash a password with argon2id on the password pool (it is slow on purpose)."""
    return await (work or _DEFAULT_WORK).run(_HASHER.hash, _secret(password))


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, made once with the same parameters as real hashes."""
    return _HASHER.hash(secrets.token_urlsafe(TOKEN_BYTES))


def _verify_or_dummy(password_hash: str | None, password: bytes) -> bool:
    try:
        # Without a hash to check, verify against the dummy: the same work either way.
        matched = _HASHER.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None


async def check_password(
    user: User | None, password: str, *, work: PasswordWork | None = None
) -> bool:
    """Whether `password` is `user`'s; it takes as long for no user as for a wrong password.

    A missing user (or one without a password) is checked against a dummy hash, so how long
    a failed sign-in takes does not tell whether the email is registered.
    `PasswordWorkBusyError` when the pool's queue is full.
    """
    password_hash = user.password_hash if user else None
    return await (work or _DEFAULT_WORK).run(_verify_or_dummy, password_hash, _secret(password))


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


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """Who a valid bearer token signs in: the user and their login session."""

    user_id: uuid.UUID
    email: str
    role: str
    session_id: uuid.UUID
    last_seen_at: dt.datetime


# Columns, not entities, on the connection rather than the ORM session: every signed-in
# request runs this, and loading two ORM objects (identity map, instance state, the
# soft-delete criteria event) was about a tenth of a small request's time. So the live-user
# condition the ORM would add is written here.
_TOKEN_HOLDER = (
    select(User.id, User.email, User.role, LoginSession.id, LoginSession.last_seen_at)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        LoginSession.token_hash == bindparam("token_hash"),
        LoginSession.revoked_at.is_(None),
        LoginSession.expires_at > func.now(),
        User.deleted_at.is_(None),
    )
)


async def token_holder(session: AsyncSession, *, token: str) -> TokenHolder | None:
    """What `authenticate` finds, as plain values (one statement): the per-request lookup."""
    connection = await session.connection()
    result = await connection.execute(_TOKEN_HOLDER, {"token_hash": token_digest(token)})
    row = result.one_or_none()
    return TokenHolder(*row) if row else None


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
        user_agent=bounded_setting(user_agent, MAX_USER_AGENT_LENGTH) or None,
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


def is_stale(login: LoginSession | TokenHolder, *, now: dt.datetime) -> bool:
    """Whether the session's `last_seen_at` is a step or more behind `now`."""
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
