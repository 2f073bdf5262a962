"""The `User` GraphQL type."""

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Self, cast

import strawberry
from strawberry.scalars import JSON

import models
from graph.core.connection import Connection, Edge, page_of
from graph.core.context import Context
from graph.core.enums import UserRole
from graph.core.errors import ForbiddenError
from graph.core.loaders import ChildArguments, CountKey, PageKey
from graph.core.node import Node
from graph.core.node_lookup import to_node
from graph.core.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, checked_page_size, page_window
from graph.core.permissions import email_visible, is_self_or_admin
from graph.core.read_model import READ, Children, column_field, read_model, read_values
from graph.core.viewer import Viewer
from graph.entities.audit.history import history_field
from graph.entities.login_session.inputs import SESSIONS_NEWEST_FIRST, SessionOrder
from graph.entities.user.nearby import NEARBY, nearby_venues

if TYPE_CHECKING:
    from graph.entities.login_session.type import LoginSession
    from graph.entities.venue.type import Venue

LoginSessionType = Annotated["LoginSession", strawberry.lazy("graph.entities.login_session.type")]
VenueType = Annotated["Venue", strawberry.lazy("graph.entities.venue.type")]


# The user's sessions: the field's own resolver pages them (it refuses viewers other than the
# user and admins); declared here so the compiler reads them the same way.
USER_SESSIONS: Children[SessionOrder, None] = Children(
    models.LoginSession.user_id,
    {SessionOrder.CREATED_AT_DESC: SESSIONS_NEWEST_FIRST},
    SessionOrder.CREATED_AT_DESC,
    owner_only=True,
)


@read_model(models.User, children={"sessions": USER_SESSIONS})
@strawberry.type(description="A person with an account.")
class User(Node):
    """A user, as other users see them."""

    row: strawberry.Private[models.User]
    # Set when the user is reached as the guest of a booking the viewer may see.
    reached_through_visible_booking: strawberry.Private[bool]
    # Set in the payloads of `signUp` and `logIn`: the request just proved to be this user.
    proven_self: strawberry.Private[bool]
    display_name: str = column_field(
        models.User.display_name, description="Name shown to other users."
    )
    role: UserRole = column_field(models.User.role, description="What the user may do.")
    created_at: dt.datetime = column_field(
        models.User.created_at, description="When the account was created."
    )
    deleted_at: dt.datetime | None = column_field(
        models.User.deleted_at,
        description="When the account was deleted; null while live (admins list deleted ones).",
    )

    history = history_field("the user themselves")

    @classmethod
    def from_model(
        cls, row: models.User, *, through_visible_booking: bool = False, proven_self: bool = False
    ) -> Self:
        """Map a `users` row.

        `through_visible_booking`: reached as the guest of a booking the viewer may see;
        `proven_self`: the request signed in as this user (its viewer is not them yet).
        """
        return cls(
            row=row,
            reached_through_visible_booking=through_visible_booking,
            proven_self=proven_self,
            **read_values(cls, row),
        )

    def _is_self(self, viewer: Viewer) -> bool:
        return viewer.user_id == self.row.id

    def _is_self_or_admin(self, info: strawberry.Info[Context]) -> bool:
        return is_self_or_admin(info.context.viewer, self._is_self, proven_self=self.proven_self)

    @strawberry.field(
        description=(
            "Sign-in email address. Shown to the user themselves, to admins, and to whoever may"
            " see a booking the user made (the venue's host); null for everyone else."
        )
    )
    def email(self, info: strawberry.Info[Context]) -> str | None:
        """The email, if the viewer may see it."""
        visible = email_visible(
            info.context.viewer,
            self._is_self,
            through_visible_booking=self.reached_through_visible_booking,
            proven_self=self.proven_self,
        )
        if visible:
            return self.row.email
        return None

    @strawberry.field(
        description=(
            "The user's settings as a JSON object (change them with `updatePreferences`)."
            " Shown to the user themselves and admins; null for everyone else."
        )
    )
    async def preferences(self, info: strawberry.Info[Context]) -> JSON | None:
        """The preferences, if the viewer is the user or an admin (loaded only when asked)."""
        if self._is_self_or_admin(info):
            return JSON(await info.context.loaders.preferences.load(self.row.id))
        return None

    @strawberry.field(
        description=(
            "The user's login sessions, newest first, revoked and expired ones included."
            " Only the user themselves and admins may read it (others get FORBIDDEN)."
        )
    )
    async def sessions(
        self,
        info: strawberry.Info[Context],
        first: Annotated[
            int, strawberry.argument(description=f"How many sessions, 0 to {MAX_PAGE_SIZE}.")
        ] = DEFAULT_PAGE_SIZE,
        after: Annotated[
            str | None,
            strawberry.argument(description="Continue after this cursor (an edge's `cursor`)."),
        ] = None,
    ) -> Connection[LoginSessionType]:
        """Page through the user's sessions, batched with other users' in one statement."""
        viewer = info.context.require_viewer()
        if not is_self_or_admin(viewer, self._is_self):
            message = "Only the user themselves and admins may see a user's sessions."
            raise ForbiddenError(message)
        window = page_window(USER_SESSIONS.ordering, first=first, after=after)
        page = await info.context.loaders.user_sessions.load(
            PageKey(self.row.id, ChildArguments(USER_SESSIONS.ordering, window))
        )
        edges = [
            Edge(
                cursor=USER_SESSIONS.ordering.cursor_of(row),
                node=cast("LoginSession", to_node(row)),
            )
            for row in page.rows
        ]
        user_id = self.row.id
        return page_of(
            edges,
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            total_count=lambda: info.context.loaders.user_sessions_count.load(CountKey(user_id)),
        )

    @strawberry.field(
        description=(
            "Live venues within `radiusMeters` of the home location saved in your preferences,"
            " nearest first. Save the home with `updatePreferences(input: {patch: {home:"
            " {latitude: 48.853, longitude: 2.3499}}})` (WGS 84 degrees); without one this is"
            " BAD_USER_INPUT naming `preferences.home`. Only on your own user (`viewer`):"
            " FORBIDDEN on anyone else."
        ),
        metadata={READ: NEARBY},
    )
    async def nearby_venues(
        self,
        info: strawberry.Info[Context],
        radius_meters: Annotated[
            float,
            strawberry.argument(description="Search radius in metres, above 0, at most 100,000."),
        ],
        first: Annotated[
            int, strawberry.argument(description=f"How many venues, 0 to {MAX_PAGE_SIZE}.")
        ] = DEFAULT_PAGE_SIZE,
        after: Annotated[
            str | None,
            strawberry.argument(description="Continue after this cursor (an edge's `cursor`)."),
        ] = None,
    ) -> Connection[VenueType]:
        """The viewer's nearby venues (see `graph.entities.user.nearby`)."""
        return await nearby_venues(
            info.context,
            user=self.row,
            radius_meters=radius_meters,
            first=checked_page_size(first),
            after=after,
        )
