"""Who may see or change what: every access rule of the API, for resolvers and the compiler alike.

Read rules are SQL conditions, so permission checks run inside the queries; field and change
rules are plain predicates over a row the caller already holds. The compiled path calls the same
functions as the resolvers, so a rule changed here changes on both paths.

Read rules (roles member, host, admin):
- venues are public; soft-deleted ones only for admins who ask for them;
- bookings: their guest, the host of their venue, admins;
- media: public when it shows a live venue and belongs to no booking; otherwise its owner,
  the guest of its booking, the venue's host and admins;
- login sessions: their user and admins;
- booking statistics: as the bookings they count;
- a user's public profile (display name, role) is visible wherever the user is reachable;
  their email only to themselves, admins, and through a booking the viewer may see;
  their preferences and login sessions only to themselves and admins; a `signUp` or `logIn`
  payload's user is the request's own, though its viewer is not them yet;
- venues near a user's home: that user only;
- an audit event's actor (email, IP address, client): the actor themselves and admins;
- an audit event by its own ID: admins;
- an object's history: whoever may change it (a user's: the user), and a booking's guest.

Change rules:
- listing a new venue: hosts and admins;
- a venue: its owner and admins;
- a media item: its owner, the host of its venue and admins;
- a booking: the host of its venue and admins; its guest too to cancel it;
- a login session (revoking it): its user and admins.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    FromClause,
    Uuid,
    and_,
    any_,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import InstrumentedAttribute, aliased
from sqlalchemy.sql.visitors import replacement_traverse

from graph.core.errors import ForbiddenError, UnauthenticatedError
from graph.core.viewer import Viewer
from models import (
    EVERY_BOOKING,
    Booking,
    BookingStatus,
    LoginSession,
    Media,
    StatsScope,
    User,
    Venue,
)

_T = TypeVar("_T")

# A venue's owner by its id, loaded only when a rule needs it; the caller picks which venues count.
VenueOwner = Callable[[uuid.UUID], Awaitable[uuid.UUID | None]]


def require_viewer(viewer: Viewer | None, *, failure: str | None = None) -> Viewer:
    """The viewer, or `UNAUTHENTICATED` (saying why a token was refused, if one was sent)."""
    if viewer is None:
        raise UnauthenticatedError(failure or "Sign in to do this.")
    return viewer


def require_admin(viewer: Viewer | None, *, failure: str | None = None) -> Viewer:
    """The viewer if they are an admin; `UNAUTHENTICATED` or `FORBIDDEN` otherwise."""
    signed_in = require_viewer(viewer, failure=failure)
    if not signed_in.is_admin:
        message = "Only admins may do this."
        raise ForbiddenError(message)
    return signed_in


# Each rule names the live-row condition of every table it reads, even where the ORM's
# soft-delete criteria (models/soft_delete.py) would add it: the compiled path runs the same
# rules as Core SQL, which those criteria never see. Its subqueries never correlate: inside
# the compiled statement an enclosing query may read the same table.
def _on_venue_hosted_by(
    venue_id: ColumnElement[Any] | InstrumentedAttribute[Any], viewer: Viewer
) -> ColumnElement[bool]:
    """`venue_id` names a live venue `viewer` hosts.

    As `= ANY(CAST((SELECT array_agg(id) ...) AS uuid[]))`: the array is computed once per
    statement and can drive an index scan on `venue_id`, also beside an OR. `IN (subquery)`
    under an OR became a filter over every row (a host's bookings statistics scanned every
    booking).
    """
    hosted = (
        select(func.array_agg(Venue.id))
        .where(Venue.owner_id == viewer.user_id, Venue.deleted_at.is_(None))
        .correlate(None)
        .scalar_subquery()
    )
    # Cast, so that it renders as an array expression: `ANY (SELECT ...)` would compare with
    # each row of the subquery (one array) instead.
    return venue_id == any_(cast(hosted, ARRAY(Uuid)))


def visible_bookings(viewer: Viewer | None) -> ColumnElement[bool]:
    """Bookings `viewer` may read."""
    if viewer is None:
        return false()
    if viewer.is_admin:
        return true()
    own = Booking.user_id == viewer.user_id
    if viewer.is_host:
        hosted = _on_venue_hosted_by(Booking.venue_id, viewer)
        return or_(own, hosted)
    return own


def booking_visible_by_ids(
    viewer: Viewer | None, *, user_id: uuid.UUID, venue_id: uuid.UUID
) -> ColumnElement[bool]:
    """`visible_bookings` for one booking known by its guest and venue (its row may be gone).

    The same condition with the row's columns replaced by the values, so the rule stays one.
    """
    columns = Booking.__table__.c
    values = {columns.user_id: literal(user_id, Uuid), columns.venue_id: literal(venue_id, Uuid)}
    condition: ColumnElement[bool] = replacement_traverse(
        visible_bookings(viewer),
        {},
        lambda element, **_: values.get(element),
    )
    return condition


# The venue a media rule probes. One alias for every statement: a fresh one per call built
# about 15 columns and their metrics per read, cyclic garbage that outlived young collections
# (hundreds of objects per subscription read, bench/subscriber_memory.py).
_MEDIA_VENUE = aliased(Venue, name="media_venue")


def visible_media(viewer: Viewer | None) -> ColumnElement[bool]:
    """Media `viewer` may read."""
    # EXISTS on the alias: one primary-key probe per media row read. `IN (live venues)` made
    # PostgreSQL hash every live venue for each statement (half a millisecond at 2,000 venues,
    # growing with the table). The alias never correlates with an enclosing query, even one
    # holding the same rule.
    venue = _MEDIA_VENUE
    on_live_venue = (
        exists()
        .where(venue.id == Media.venue_id, venue.deleted_at.is_(None))
        .correlate_except(venue)
    )
    public = and_(on_live_venue, Media.booking_id.is_(None))
    if viewer is None:
        return public
    if viewer.is_admin:
        return true()
    own_bookings = (
        select(Booking.id)
        .where(Booking.user_id == viewer.user_id, Booking.deleted_at.is_(None))
        .correlate(None)
    )
    conditions = [public, Media.owner_id == viewer.user_id, Media.booking_id.in_(own_bookings)]
    if viewer.is_host:
        conditions.append(_on_venue_hosted_by(Media.venue_id, viewer))
    return or_(*conditions)


def visible_login_sessions(viewer: Viewer | None) -> ColumnElement[bool]:
    """Login sessions `viewer` may read."""
    if viewer is None:
        return false()
    if viewer.is_admin:
        return true()
    return LoginSession.user_id == viewer.user_id


def revocable_sessions_of(viewer: Viewer) -> uuid.UUID | None:
    """Whose login sessions `viewer` may revoke: their own id, or None (anyone's) for admins."""
    return None if viewer.is_admin else viewer.user_id


def booking_stats_scope(viewer: Viewer) -> StatsScope:
    """The bookings `viewer`'s statistics count: as `visible_bookings`, in the stats' own terms."""
    if viewer.is_admin:
        return EVERY_BOOKING
    return StatsScope(user_id=viewer.user_id, with_hosted_venues=viewer.is_host)


def is_self_or_admin(
    viewer: Viewer | None, is_self: Callable[[Viewer], _T], *, proven_self: bool = False
) -> bool | _T:
    """Whether `viewer` is an admin or the user `is_self` tests for (a bool or SQL condition).

    `is_self` is a callable so the resolvers pass a comparison of ids and the compiler a
    condition on its bound viewer id, and both share the admin and signed-out cases.
    `proven_self`: the request just signed in as the user (`signUp`, `logIn`), so it is them
    though its viewer, read before, is not.
    """
    if proven_self:
        return True
    if viewer is None:
        return False
    if viewer.is_admin:
        return True
    return is_self(viewer)


def email_visible(
    viewer: Viewer | None,
    is_self: Callable[[Viewer], _T],
    *,
    through_visible_booking: bool,
    proven_self: bool = False,
) -> bool | _T:
    """Whether `viewer` may see a user's email: as `is_self_or_admin`, or as a booking's guest."""
    if through_visible_booking:
        return True
    return is_self_or_admin(viewer, is_self, proven_self=proven_self)


def may_see_nearby_venues(viewer: Viewer, user: User) -> bool:
    """Whether `viewer` may list the venues near `user`'s home: only `user` themselves.

    Not even admins: the home is a private place, and the field is the viewer's own.
    """
    return viewer.user_id == user.id


def may_read_audit_events(viewer: Viewer | None) -> bool:
    """Whether `viewer` may look audit events up by their own ID: admins only."""
    return viewer is not None and viewer.is_admin


def may_create_venue(viewer: Viewer) -> bool:
    """Whether `viewer` may list a new venue: hosts and admins."""
    return viewer.is_host


def may_change_venue(viewer: Viewer, venue: Venue) -> bool:
    """Whether `viewer` may change `venue`: its owner, or an admin."""
    return viewer.is_admin or venue.owner_id == viewer.user_id


def may_change_media(viewer: Viewer, media: Media, venue_owner_id: uuid.UUID | None) -> bool:
    """Whether `viewer` may change `media`: its owner, its venue's host, or an admin."""
    return viewer.is_admin or viewer.user_id in (media.owner_id, venue_owner_id)


def guest_may_move_booking_to(status: BookingStatus) -> bool:
    """Whether a booking's guest may move it to `status`: they may cancel; hosts decide the rest."""
    return status is BookingStatus.CANCELLED


async def may_change_booking(
    viewer: Viewer, booking: Booking, *, to: BookingStatus, venue_owner: VenueOwner
) -> bool:
    """Whether `viewer` may move `booking` to status `to`."""
    return (
        viewer.is_admin
        or (guest_may_move_booking_to(to) and booking.user_id == viewer.user_id)
        or await venue_owner(booking.venue_id) == viewer.user_id
    )


@dataclass(frozen=True, slots=True)
class _HistoryReaders:
    """Who besides admins may read the history of an audited table's rows.

    The user the `user` column names, and the owner of the live venue the `venue` column names.
    """

    user: str
    venue: str | None = None


# Keyed by table name, as the audit trail names what changed.
_HISTORY_READERS = {
    User.__tablename__: _HistoryReaders("id"),
    Venue.__tablename__: _HistoryReaders("owner_id"),
    Booking.__tablename__: _HistoryReaders("user_id", venue="venue_id"),
    Media.__tablename__: _HistoryReaders("owner_id", venue="venue_id"),
}


async def may_read_history(
    viewer: Viewer, row: User | Venue | Booking | Media, *, venue_owner: VenueOwner
) -> bool:
    """Whether `viewer` may read the audit history of `row`."""
    if viewer.is_admin:
        return True
    readers = _HISTORY_READERS[row.__tablename__]
    # The venue is loaded even when another rule already allows: statements depend on shape.
    venue_id = getattr(row, readers.venue) if readers.venue is not None else None
    hosts = venue_id is not None and await venue_owner(venue_id) == viewer.user_id
    return hosts or getattr(row, readers.user) == viewer.user_id


def history_readable(
    viewer: Viewer | None, table_name: str, row: FromClause
) -> ColumnElement[bool]:
    """`may_read_history` as a condition on `row`, a copy of table `table_name` (the compiler's).

    Signed out, nothing is (the resolver says UNAUTHENTICATED). NULL (a media item of no
    venue, not the viewer's) counts as refused, as false does.
    """
    if viewer is None:
        return false()
    if viewer.is_admin:
        return true()
    readers = _HISTORY_READERS[table_name]
    conditions = [row.c[readers.user] == viewer.user_id]
    if readers.venue is not None:
        conditions.append(_on_venue_hosted_by(row.c[readers.venue], viewer))
    return or_(*conditions)
