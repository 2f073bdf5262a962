"""The `Session` GraphQL type (`LoginSession` here, as its model): one login on one device."""

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Self, cast

import strawberry

import models
from graph.core.context import Context
from graph.core.global_id import encode_global_id
from graph.core.node import Node
from graph.core.node_lookup import to_node

if TYPE_CHECKING:
    from graph.entities.user.type import User

UserType = Annotated["User", strawberry.lazy("graph.entities.user.type")]


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
    created_at: dt.datetime = strawberry.field(description="When the user signed in.")
    last_seen_at: dt.datetime = strawberry.field(
        description="When the session was last recorded as used."
    )
    expires_at: dt.datetime = strawberry.field(
        description="When the token stops working, unless revoked before."
    )
    revoked_at: dt.datetime | None = strawberry.field(
        description="When the session was logged out or revoked; null while it is active."
    )
    user_agent: str | None = strawberry.field(
        description="The `User-Agent` of the client that signed in, if it sent one."
    )
    ip_address: str | None = strawberry.field(
        description="The IP address the client signed in from, if known."
    )

    @classmethod
    def from_model(cls, row: models.LoginSession) -> Self:
        """Map a `sessions` row."""
        return cls(
            row=row,
            id=strawberry.ID(encode_global_id("Session", row.id)),
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            user_agent=row.user_agent,
            ip_address=str(row.ip_address) if row.ip_address is not None else None,
        )

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
