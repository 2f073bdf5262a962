"""Who is making a change: transaction-local settings the audit trigger reads."""

import ipaddress
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import MAX_ACTOR_EMAIL_LENGTH, MAX_USER_AGENT_LENGTH


@dataclass(frozen=True, slots=True)
class Actor:
    """The person (and client) behind a write, as the audit trail records it."""

    user_id: uuid.UUID | None = None
    email: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None


_SET_ACTOR = text(
    "SELECT set_config('app.current_user_id', :user_id, true),"
    " set_config('app.current_user_email', :email, true),"
    " set_config('app.current_ip_address', :ip_address, true),"
    " set_config('app.current_user_agent', :user_agent, true)"
)


def bounded_setting(value: str | None, limit: int) -> str:
    """`value` as the audit trail stores it: at most `limit` characters, no NUL; "" for None.

    A client sends what it likes as its User-Agent; PostgreSQL refuses NUL in any text and the
    audit column holds `limit` characters, and neither may fail the write being audited.
    """
    if not value:
        return ""
    return value.replace("\x00", "")[:limit]


def inet_setting(value: str | None) -> str:
    """`value` as PostgreSQL's `inet` reads it; "" when it is not an IP address.

    Python accepts an IPv6 zone (`fe80::1%eth0`, of any length) that `inet` refuses: the
    address is kept without it, so the trigger's cast cannot fail the write it audits.
    """
    if not value:
        return ""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        address = ipaddress.IPv6Address(int(address))
    return str(address)


async def set_actor(session: AsyncSession, actor: Actor) -> None:
    """Record `actor` for the rest of the session's current transaction (and only that)."""
    await session.execute(
        _SET_ACTOR,
        {
            "user_id": str(actor.user_id) if actor.user_id else "",
            "email": bounded_setting(actor.email, MAX_ACTOR_EMAIL_LENGTH),
            "ip_address": inet_setting(actor.ip_address),
            "user_agent": bounded_setting(actor.user_agent, MAX_USER_AGENT_LENGTH),
        },
    )
