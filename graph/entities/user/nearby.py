"""`viewer.nearbyVenues`: the venues around the home location saved in the user's preferences.

The home lives in `users.preferences` as `{"home": {"latitude": 48.853, "longitude": 2.3499}}`
(WGS 84 degrees), written with `updatePreferences(input: {patch: {home: {...}}})`.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, and_, select

import models
from graph.core.connection import Connection, Edge, page_of
from graph.core.context import Context
from graph.core.cursors import KeyKind
from graph.core.errors import BadUserInputError, ForbiddenError
from graph.core.geo import (
    MAX_LATITUDE,
    MAX_LONGITUDE,
    Degrees,
    checked_latitude,
    checked_longitude,
    checked_radius,
    nearest_first,
    nearest_first_horizon,
    stored_degrees_sql,
    within_radius,
)
from graph.core.node_lookup import to_node
from graph.core.paging import (
    Ordering,
    SortKey,
    counter,
    fetch_page,
    page_window,
    window_conditions,
)
from graph.core.permissions import may_see_nearby_venues
from graph.core.read_model import NearbyPage, NearbyRead

if TYPE_CHECKING:
    from graph.entities.venue.type import Venue

HOME_FIELD = "preferences.home"
HOME_EXAMPLE = '{"home": {"latitude": 48.853, "longitude": 2.3499}}'
# The name in the list's cursors: it must stay what clients already hold.
NEARBY_ORDERING = "Venue.NEARBY"


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


def home_sql(
    preferences: ColumnElement[Any],
) -> tuple[ColumnElement[float], ColumnElement[float]]:
    """`home_of` in SQL over a `users.preferences` value: latitude and longitude as float8.

    Each is the double `home_of` returns wherever the stored home is certainly one it
    accepts, and NULL otherwise (the compiled path then leaves the request to the resolver,
    which says what is wrong).
    """
    home = preferences["home"]
    return (
        stored_degrees_sql(home["latitude"], limit=MAX_LATITUDE),
        stored_degrees_sql(home["longitude"], limit=MAX_LONGITUDE),
    )


def checked_nearby_radius(radius_meters: float) -> float:
    """`radiusMeters`, checked as the field reports it (`BAD_USER_INPUT` if out of range)."""
    return checked_radius(radius_meters, field="radiusMeters")


def nearby_page(
    latitude: Degrees, longitude: Degrees, *, radius: float, first: int, after: str | None
) -> NearbyPage:
    """The page of live venues within `radius` metres of the home, nearest first, then by id.

    The home is numbers (the resolver's) or SQL reading them from the user's row (the
    compiler's). One statement per page: the KNN walk of `ix_venues_location` finds the page's
    horizon and the page is sorted by `(distance, id)` within it (see `nearest_first_horizon`).
    """
    knn = nearest_first(models.Venue.location, latitude, longitude)
    ordering = Ordering(
        NEARBY_ORDERING,
        (SortKey(knn, KeyKind.FLOAT), SortKey.column(models.Venue.id, KeyKind.UUID)),
    )
    window = page_window(ordering, first=first, after=after)
    listed = and_(
        within_radius(models.Venue.location, latitude, longitude, radius),
        models.Venue.deleted_at.is_(None),
    )
    remaining = select(models.Venue).where(listed, *window_conditions(ordering, window))
    horizon = nearest_first_horizon(
        models.Venue.location, latitude, longitude, rows=remaining, size=window.size + 1
    )
    return NearbyPage(ordering, window, listed, and_(listed, horizon))


NEARBY = NearbyRead(radius=checked_nearby_radius, home=home_sql, page=nearby_page)
"""How both paths read `nearbyVenues` (the field's declaration)."""


async def nearby_venues(
    context: Context,
    *,
    user: models.User,
    radius_meters: float,
    first: int,
    after: str | None,
) -> "Connection[Venue]":
    """Live venues within `radius_meters` of `user`'s home, nearest first (the viewer's own)."""
    viewer = context.require_viewer()
    if not may_see_nearby_venues(viewer, user):
        message = "`nearbyVenues` is only available on your own user (`viewer`)."
        raise ForbiddenError(message)
    radius = checked_nearby_radius(radius_meters)
    latitude, longitude = home_of(await context.loaders.preferences.load(user.id))
    planned = nearby_page(latitude, longitude, radius=radius, first=first, after=after)
    page = await fetch_page(
        context.db,
        select(models.Venue).where(planned.page),
        ordering=planned.ordering,
        window=planned.window,
    )
    return page_of(
        [Edge(cursor=row.cursor, node=cast("Venue", to_node(row.row))) for row in page.rows],
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        total_count=counter(context.db, select(models.Venue).where(planned.listed)),
    )
