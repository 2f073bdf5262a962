"""Sign-in throttling: attempts counted per account and per client address, in PostgreSQL.

Every worker and instance already shares the database, so the counts live there: one row per
(kind, key) with the attempts made in the current window and when that window ends. An
attempt is counted before its password is checked, in one UPSERT, so concurrent guessers each
get their own count and no more than the limit get a password check per window; a successful
sign-in then clears its account's count and gives back its address's attempt.

Keys are digests or network prefixes, never what was typed: an email field sometimes holds
a password. Unknown addresses are counted like known ones, so a refusal reveals nothing.
Rows whose window has ended are deleted a batch at a time as new attempts come in, so the
table holds only the windows still running.
"""

import datetime as dt
import enum
import hashlib
import ipaddress
from dataclasses import dataclass

from sqlalchemy import (
    CheckConstraint,
    Index,
    String,
    case,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.settings import Settings

# Expired rows deleted per counted attempt: more than an attempt adds (two), so they never pile up.
EXPIRED_BATCH = 100
# One network prefix stands for every IPv6 address a single client can easily get.
IPV6_PREFIX = 64


class ThrottleKind(enum.StrEnum):
    """What a count is kept for."""

    ACCOUNT = "account"
    ADDRESS = "address"


class LoginAttempt(Base):
    """Sign-in attempts for one account or client address in the window ending `window_ends_at`."""

    __tablename__ = "login_attempts"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int]
    window_ends_at: Mapped[dt.datetime]

    __table_args__ = (
        CheckConstraint("kind IN ('account', 'address')", name="kind"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_login_attempts_window_ends_at", "window_ends_at"),
    )


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    """How many attempts each account and each client address gets per window."""

    account_attempts: int
    account_window: dt.timedelta
    address_attempts: int
    address_window: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> "ThrottleLimits":
        """The limits the settings give."""
        return cls(
            account_attempts=settings.login_account_attempts,
            account_window=dt.timedelta(seconds=settings.login_account_window_seconds),
            address_attempts=settings.login_address_attempts,
            address_window=dt.timedelta(seconds=settings.login_address_window_seconds),
        )


@dataclass(frozen=True, slots=True)
class Throttled:
    """The attempt was refused; the caller may retry after `retry_after` seconds."""

    retry_after: int


@dataclass(frozen=True, slots=True)
class AttemptKeys:
    """The rows one attempt counts against (no address row when the address is unknown)."""

    account: str
    address: str | None


def attempt_keys(*, email_key: str, ip_address: str | None) -> AttemptKeys:
    """The throttle keys of an attempt: a digest of the email key, the address's network."""
    digest = hashlib.sha256(email_key.encode("utf-8", "surrogatepass")).hexdigest()
    address = None
    if ip_address is not None:
        ip = ipaddress.ip_address(ip_address)
        address = (
            str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))
            if ip.version == 6  # noqa: PLR2004 - the IP version, not a magic number
            else str(ip)
        )
    return AttemptKeys(account=digest, address=address)


async def count_attempt(
    session: AsyncSession, *, keys: AttemptKeys, limits: ThrottleLimits
) -> Throttled | None:
    """Count an attempt against its account and address; `Throttled` if either is over its limit.

    One statement counts both rows (a row whose window ended starts a new window). Run it in
    a transaction of its own, committed before the password is checked, so a failed sign-in
    cannot undo it.
    """
    rows = [_new_row(ThrottleKind.ACCOUNT, keys.account, limits.account_window)]
    if keys.address is not None:
        rows.append(_new_row(ThrottleKind.ADDRESS, keys.address, limits.address_window))
    new = insert(LoginAttempt).values(rows)
    expired = LoginAttempt.window_ends_at <= func.now()
    statement = new.on_conflict_do_update(
        index_elements=[LoginAttempt.kind, LoginAttempt.key],
        set_={
            "attempts": case((expired, 1), else_=LoginAttempt.attempts + 1),
            "window_ends_at": case(
                (expired, new.excluded.window_ends_at), else_=LoginAttempt.window_ends_at
            ),
        },
    ).returning(
        LoginAttempt.kind,
        LoginAttempt.attempts,
        func.ceil(func.extract("epoch", LoginAttempt.window_ends_at - func.now())),
    )
    limit = {
        ThrottleKind.ACCOUNT.value: limits.account_attempts,
        ThrottleKind.ADDRESS.value: limits.address_attempts,
    }
    counted = (await session.execute(statement)).all()
    # After the count, not before: this transaction's own rows are then locked first, and
    # SKIP LOCKED never waits on another's, so two attempts cannot deadlock each other.
    await _delete_expired(session)
    waits = [max(1, int(seconds)) for kind, attempts, seconds in counted if attempts > limit[kind]]
    return Throttled(retry_after=max(waits)) if waits else None


async def clear_attempts(session: AsyncSession, *, keys: AttemptKeys) -> None:
    """After a successful sign-in: its account starts afresh, its address gets the attempt back."""
    await session.execute(
        delete(LoginAttempt).where(
            LoginAttempt.kind == ThrottleKind.ACCOUNT.value, LoginAttempt.key == keys.account
        )
    )
    if keys.address is not None:
        await session.execute(
            update(LoginAttempt)
            .where(
                LoginAttempt.kind == ThrottleKind.ADDRESS.value,
                LoginAttempt.key == keys.address,
                LoginAttempt.attempts > 0,
            )
            .values(attempts=LoginAttempt.attempts - 1)
        )


def _new_row(kind: ThrottleKind, key: str, window: dt.timedelta) -> dict[str, object]:
    return {
        "kind": kind.value,
        "key": key,
        "attempts": 1,
        "window_ends_at": func.now() + window,
    }


async def _delete_expired(session: AsyncSession) -> None:
    # SKIP LOCKED: concurrent attempts clean different rows instead of waiting on each other.
    expired = (
        select(LoginAttempt.kind, LoginAttempt.key)
        .where(LoginAttempt.window_ends_at <= func.now())
        .order_by(LoginAttempt.window_ends_at)
        .limit(EXPIRED_BATCH)
        .with_for_update(skip_locked=True)
    )
    await session.execute(
        delete(LoginAttempt).where(tuple_(LoginAttempt.kind, LoginAttempt.key).in_(expired))
    )
