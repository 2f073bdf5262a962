"""`viewer.nearbyVenues`: the venues around the home location saved in the user's preferences.

The home lives in `users.preferences` as `{"home": {"latitude": 48.853, "longitude": 2.3499}}`
(WGS 84 degrees), written with `updatePreferences(input: {patch: {home: {...}}})`.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Float, bindparam, select, tuple_

import models
from graph.core.connection import Connection, Edge, page_of
from graph.core.context import Context
from graph.core.cursors import KeyKind
from graph.core.errors import BadUserInputError, ForbiddenError
from graph.core.geo import (
    Near,
    checked_latitude,
    checked_longitude,
    checked_radius,
    near_condition,
    nearest_first,
    nearest_first_horizon,
)
from graph.core.node_lookup import to_node
from graph.core.paging import Ordering, SortKey, counter, fetch_page, page_window
from graph.core.permissions import may_see_nearby_venues

if TYPE_CHECKING:
    from graph.entities.venue.type import Venue

HOME_FIELD = "preferences.home"
HOME_EXAMPLE = '{"home": {"latitude": 48.853, "longitude": 2.3499}}'


def home_of(preferences: Mapping[str, Any]) -> tuple[float, float]:
    """The `(latitude, longitude)` saved as `preferences.home`; `BAD_USER_INPUT` if unset or bad."""
    home = preferences.get("home")
    if home is None:
        message = (
            f"`{HOME_FIELD}` is not set: save a home location first with"
            f" `updatePreferences(input: {{patch: {HOME_EXAMPLE}}})`."
        )
        raise BadUserInputError(message, field=HOME_FIELD)
    coordinates = []
    for name in ("latitude", "longitude"):
        value = home.get(name) if isinstance(home, Mapping) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            message = (
                f"`{HOME_FIELD}.{name}` must be a number: the home location is saved as"
                f" {HOME_EXAMPLE}."
            )
            raise BadUserInputError(message, field=f"{HOME_FIELD}.{name}")
        coordinates.append(float(value))
    latitude = checked_latitude(coordinates[0], field=f"{HOME_FIELD}.latitude")
    longitude = checked_longitude(coordinates[1], field=f"{HOME_FIELD}.longitude")
    return latitude, longitude


async def nearby_venues(
    context: Context,
    *,
    user: models.User,
    radius_meters: float,
    first: int,
    after: str | None,
) -> "Connection[Venue]":
    """Live venues within `radius_meters` of `user`'s home, nearest first (the viewer's own).

    One statement per page: the KNN walk of `ix_venues_location` finds the page's horizon and
    the page is sorted by `(distance, id)` within it (see `nearest_first_horizon`).
    """
    viewer = context.require_viewer()
    if not may_see_nearby_venues(viewer, user):
        message = "`nearbyVenues` is only available on your own user (`viewer`)."
        raise ForbiddenError(message)
    radius = checked_radius(radius_meters, field="radiusMeters")
    latitude, longitude = home_of(await context.loaders.preferences.load(user.id))
    near = Near(latitude=latitude, longitude=longitude, radius_meters=radius)
    knn = nearest_first(models.Venue.location, latitude, longitude)
    ordering = Ordering(
        "Venue.NEARBY",
        (
            SortKey(knn, KeyKind.FLOAT),
            SortKey.column(models.Venue.id, KeyKind.UUID),
        ),
    )
    window = page_window(ordering, first=first, after=after)
    venues = select(models.Venue).where(
        near_condition(models.Venue.location, near), models.Venue.deleted_at.is_(None)
    )
    remaining = venues
    if window.after is not None:
        distance, venue_id = window.after
        remaining = venues.where(
            tuple_(knn, models.Venue.id)
            > tuple_(bindparam(None, distance, type_=Float), bindparam(None, venue_id))
        )
    horizon = nearest_first_horizon(
        models.Venue.location, latitude, longitude, rows=remaining, size=window.size + 1
    )
    page = await fetch_page(context.db, venues.where(horizon), ordering=ordering, window=window)
    return page_of(
        [Edge(cursor=row.cursor, node=cast("Venue", to_node(row.row))) for row in page.rows],
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        total_count=counter(context.db, venues),
    )
