"""The `Session` GraphQL type (`LoginSession` here, as its model): one login on one device."""

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Self, cast

import strawberry
from sqlalchemy import Text, func

import models
from graph.core.context import Context
from graph.core.node import Node
from graph.core.node_lookup import to_node
from graph.core.permissions import visible_login_sessions
from graph.core.read_model import column_field, computed_field, read_model, read_values

if TYPE_CHECKING:
    from graph.entities.user.type import User

UserType = Annotated["User", strawberry.lazy("graph.entities.user.type")]


def _ip_address(row: models.LoginSession) -> str | None:
    return str(row.ip_address) if row.ip_address is not None else None


@read_model(models.LoginSession, visible=visible_login_sessions)
@strawberry.type(
    name="Session",
    description=(
        "A login session: what one `logIn` or `signUp` handed a bearer token for. Seen by its"
        " user and admins."
    ),
)
class LoginSession(Node):
    """A login session; the token itself is never stored, only its SHA-256."""

    row: strawberry.Private[models.LoginSession]
    created_at: dt.datetime = column_field(
        models.LoginSession.created_at, description="When the user signed in."
    )
    last_seen_at: dt.datetime = column_field(
        models.LoginSession.last_seen_at, description="When the session was last recorded as used."
    )
    expires_at: dt.datetime = column_field(
        models.LoginSession.expires_at,
        description="When the token stops working, unless revoked before.",
    )
    revoked_at: dt.datetime | None = column_field(
        models.LoginSession.revoked_at,
        description="When the session was logged out or revoked; null while it is active.",
    )
    user_agent: str | None = column_field(
        models.LoginSession.user_agent,
        description="The `User-Agent` of the client that signed in, if it sent one.",
    )
    ip_address: str | None = computed_field(
        value=_ip_address,
        # `abbrev` is `str()` of the address asyncpg reads: no `/32` on a single host.
        sql=lambda sessions: func.abbrev(sessions.c.ip_address, type_=Text),
        description="The IP address the client signed in from, if known.",
    )

    @classmethod
    def from_model(cls, row: models.LoginSession) -> Self:
        """Map a `sessions` row, as its fields declare."""
        return cls(row=row, **read_values(cls, row))

    @strawberry.field(
        description="Whether this is the session the current request authenticated with."
    )
    def current(self, info: strawberry.Info[Context]) -> bool:
        """Compare with the session behind the request's bearer token."""
        viewer = info.context.viewer
        return viewer is not None and viewer.session_id == self.row.id

    @strawberry.field(description="Whose session this is.")
    async def user(self, info: strawberry.Info[Context]) -> UserType | None:
        """Load the session's user through the request's user loader."""
        row = await info.context.loaders.user.load(self.row.user_id)
        return cast("User", to_node(row)) if row else None
