"""Arguments of the `venues` list: `VenueFilter` and `VenueOrder`."""

import enum
import re

import strawberry
from sqlalchemy import ColumnElement
from strawberry.scalars import JSON

import models
from graph.core.cursors import KeyKind
from graph.core.errors import BadUserInputError
from graph.core.global_id import decode_typed_id
from graph.core.paging import Ordering, SortedColumn, column_orderings
from graph.core.ranges import DecimalRangeInput, within_amounts

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


@strawberry.input(description="Which venues to list; every field given must match.")
class VenueFilter:
    """Conditions on venues, combined with AND."""

    city: str | None = strawberry.field(default=None, description="Exactly this city.")
    country: str | None = strawberry.field(
        default=None, description="ISO 3166-1 alpha-2 country code, e.g. `FR`."
    )
    hourly_rate: DecimalRangeInput | None = strawberry.field(
        default=None, description="Hourly rate within these bounds (in the venue's currency)."
    )
    amenities: JSON | None = strawberry.field(
        default=None,
        description='Venues whose amenities contain this object, e.g. `{"wifi": true}`.',
    )
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Venues of this host (a `User` ID)."
    )


@strawberry.enum(
    description="Orders of the `venues` list. Ties go to the older listing in an `_ASC` order; "
    "each `_DESC` order is its `_ASC` order reversed, ties included."
)
class VenueOrder(enum.Enum):
    """How venues are sorted."""

    CREATED_AT_ASC = strawberry.enum_value("CREATED_AT_ASC", description="Oldest listing first.")
    CREATED_AT_DESC = strawberry.enum_value("CREATED_AT_DESC", description="Newest listing first.")
    NAME_ASC = strawberry.enum_value("NAME_ASC", description="By name, A to Z.")
    NAME_DESC = strawberry.enum_value("NAME_DESC", description="By name, Z to A.")
    HOURLY_RATE_ASC = strawberry.enum_value("HOURLY_RATE_ASC", description="Cheapest first.")
    HOURLY_RATE_DESC = strawberry.enum_value("HOURLY_RATE_DESC", description="Dearest first.")
    RELEVANCE = strawberry.enum_value(
        "RELEVANCE",
        description="Best match of `search` first (the default with `search`); needs `search`.",
    )
    DISTANCE = strawberry.enum_value(
        "DISTANCE", description="Nearest to the `near` point first; needs `near`."
    )


# `RELEVANCE` and `DISTANCE` sort by expressions of the request's search and place: see
# `graph.search.resolver.ListQuery.ordering`.
VENUE_ORDERINGS: dict[VenueOrder, Ordering] = column_orderings(
    "Venue",
    models.Venue.id,
    [
        SortedColumn(
            VenueOrder.CREATED_AT_ASC,
            VenueOrder.CREATED_AT_DESC,
            models.Venue.created_at,
            KeyKind.DATETIME,
        ),
        SortedColumn(VenueOrder.NAME_ASC, VenueOrder.NAME_DESC, models.Venue.name, KeyKind.TEXT),
        SortedColumn(
            VenueOrder.HOURLY_RATE_ASC,
            VenueOrder.HOURLY_RATE_DESC,
            models.Venue.hourly_rate,
            KeyKind.DECIMAL,
        ),
    ],
)


def venue_conditions(venue_filter: VenueFilter | None) -> list[ColumnElement[bool]]:
    """The SQL conditions of a `VenueFilter`; `BAD_USER_INPUT` naming any invalid field."""
    if venue_filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if venue_filter.city is not None:
        conditions.append(models.Venue.city == venue_filter.city)
    if venue_filter.country is not None:
        if not _COUNTRY.match(venue_filter.country):
            message = "`filter.country` must be a two-letter country code such as `FR`."
            raise BadUserInputError(message, field="filter.country")
        conditions.append(models.Venue.country == venue_filter.country.upper())
    if venue_filter.hourly_rate is not None:
        conditions += within_amounts(
            models.Venue.hourly_rate, venue_filter.hourly_rate, field="filter.hourlyRate"
        )
    if venue_filter.amenities is not None:
        if not isinstance(venue_filter.amenities, dict):
            message = '`filter.amenities` must be a JSON object, e.g. `{"wifi": true}`.'
            raise BadUserInputError(message, field="filter.amenities")
        conditions.append(models.Venue.amenities.contains(venue_filter.amenities))
    if venue_filter.owner_id is not None:
        owner_id = decode_typed_id(venue_filter.owner_id, "User", field="filter.ownerId")
        conditions.append(models.Venue.owner_id == owner_id)
    return conditions
