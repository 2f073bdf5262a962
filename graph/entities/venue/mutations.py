"""Venue mutations: hosts list, change, delete and restore their venues.

Bad input is refused with `BAD_USER_INPUT` naming the input field, before any write.
"""

import functools
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from strawberry.scalars import JSON

import models
from graph.core.context import Context
from graph.core.errors import (
    BadUserInputError,
    ClientError,
    ForbiddenError,
    NotFoundError,
    violated_constraint,
)
from graph.core.geo import LatLngInput, checked_point
from graph.core.global_id import decode_typed_id
from graph.core.permissions import may_change_venue, may_create_venue
from graph.core.soft_delete import SoftDeletion, replace_cached
from graph.core.validation import (
    Check,
    checked_json_object,
    input_path,
    not_null,
    pattern_check,
    text_check,
)
from graph.entities.venue.type import Venue
from models import venue as venue_data

MAX_NAME_LENGTH = 200
MAX_ADDRESS_LENGTH = 300
MAX_CITY_LENGTH = 120
MAX_DESCRIPTION_LENGTH = 10_000
# numeric(12, 2): ten digits before the point.
MAX_HOURLY_RATE = Decimal("9999999999.99")
CENT = Decimal("0.01")

# A check constraint that fires despite the checks below is still the client's input.
_CONSTRAINT_FIELDS = {
    "ck_venues_hourly_rate_non_negative": "input.hourlyRate",
    "ck_venues_currency_iso4217": "input.currency",
    "ck_venues_country_iso3166": "input.country",
    "ck_venues_amenities_object": "input.amenities",
    "ck_venues_name_not_blank": "input.name",
}


# -- checks of venue columns ------------------------------------------------------------------


def _checked_hourly_rate(value: Decimal, field: str) -> Decimal:
    try:
        in_cents = value.is_finite() and value == value.quantize(CENT)
    except InvalidOperation:  # more digits than a Decimal context holds
        in_cents = False
    if not in_cents or not Decimal(0) <= value <= MAX_HOURLY_RATE:
        message = f"`{field}` must be 0 to {MAX_HOURLY_RATE} with at most 2 decimals; got {value}."
        raise BadUserInputError(message, field=field)
    return value.quantize(CENT)


# -- inputs and payloads --------------------------------------------------------------------------


@strawberry.input(description="A venue to list; the viewer (a host or admin) becomes its owner.")
class CreateVenueInput:
    """Everything a new venue needs."""

    name: str = strawberry.field(description="The venue's name, 1 to 200 characters.")
    description: str = strawberry.field(
        default="", description="What the venue is like, up to 10,000 characters."
    )
    address: str = strawberry.field(description="Street address, 1 to 300 characters.")
    city: str = strawberry.field(description="City, 1 to 120 characters.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code, e.g. `FR`.")
    location: LatLngInput = strawberry.field(description="Where the venue is.")
    hourly_rate: Decimal = strawberry.field(
        description="Price of one hour in `currency`: 0 or more, at most 2 decimals."
    )
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. `EUR`.")
    amenities: JSON | None = strawberry.field(
        default=None,
        description=(
            'Amenities: a JSON object keyed by amenity name, e.g. `{"wifi": true}`;'
            " null or left out for none."
        ),
    )


@strawberry.input(
    description="Changes to a venue. Leave a field out to keep its value; null is refused."
)
class UpdateVenueInput:
    """The venue and the fields to change."""

    id: strawberry.ID = strawberry.field(description="The venue's global ID.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="New name, 1 to 200 characters."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="New description, up to 10,000 characters."
    )
    address: str | None = strawberry.field(
        default=strawberry.UNSET, description="New street address, 1 to 300 characters."
    )
    city: str | None = strawberry.field(
        default=strawberry.UNSET, description="New city, 1 to 120 characters."
    )
    country: str | None = strawberry.field(
        default=strawberry.UNSET, description="New ISO 3166-1 alpha-2 country code."
    )
    location: LatLngInput | None = strawberry.field(
        default=strawberry.UNSET, description="New location."
    )
    hourly_rate: Decimal | None = strawberry.field(
        default=strawberry.UNSET,
        description="New hourly rate (existing bookings keep their amount).",
    )
    currency: str | None = strawberry.field(
        default=strawberry.UNSET, description="New ISO 4217 currency code."
    )
    amenities: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="New amenities (replaces the whole object)."
    )


@strawberry.type(description="The result of `createVenue`.")
class CreateVenuePayload:
    """The new venue."""

    venue: Venue = strawberry.field(description="The venue as listed.")


@strawberry.type(description="The result of `updateVenue`.")
class UpdateVenuePayload:
    """The changed venue."""

    venue: Venue = strawberry.field(description="The venue with its new values.")


CreateVenueArgument = Annotated[
    CreateVenueInput, strawberry.argument(description="The venue to list.")
]
UpdateVenueArgument = Annotated[
    UpdateVenueInput, strawberry.argument(description="The venue and the fields to change.")
]

# -- resolvers ----------------------------------------------------------------------------------


# How each column a client sets is checked, given the value and the input field's path.
_CHECKS: dict[str, Check] = {
    "name": text_check(MAX_NAME_LENGTH),
    "description": text_check(MAX_DESCRIPTION_LENGTH, blank_ok=True),
    "address": text_check(MAX_ADDRESS_LENGTH),
    "city": text_check(MAX_CITY_LENGTH),
    "country": pattern_check("[A-Z]{2}", "an ISO 3166-1 alpha-2 code such as `FR`"),
    "location": checked_point,
    "hourly_rate": _checked_hourly_rate,
    "currency": pattern_check("[A-Z]{3}", "an ISO 4217 code such as `EUR`"),
    "amenities": checked_json_object,
}


def _checked_columns(values: dict[str, Any]) -> dict[str, Any]:
    """Column values from input values (keyed by attribute name), each checked."""
    return {column: _CHECKS[column](value, input_path(column)) for column, value in values.items()}


def _create_columns(data: CreateVenueInput) -> dict[str, Any]:
    values = {column: getattr(data, column) for column in _CHECKS}
    if values["amenities"] is None:
        values["amenities"] = {}
    return _checked_columns(values)


def _update_changes(data: UpdateVenueInput) -> dict[str, Any]:
    given = {column: getattr(data, column) for column in _CHECKS}
    given = {column: value for column, value in given.items() if value is not strawberry.UNSET}
    for column, value in given.items():
        not_null(value, field=input_path(column))
    return _checked_columns(given)


def _input_error(error: IntegrityError) -> ClientError:
    """The client error for a constraint the venue input broke; re-raise anything else."""
    field = _CONSTRAINT_FIELDS.get(violated_constraint(error) or "")
    if field is None:
        raise error
    message = f"`{field}` is not a valid value."
    return BadUserInputError(message, field=field)


async def _venue_to_manage(
    info: strawberry.Info[Context], global_id: str, *, include_deleted: bool
) -> models.Venue:
    """The venue `global_id` names, if the viewer may change it.

    Unknown ids, and deleted venues of others, are `NOT_FOUND`; live venues of others (which
    everyone can see) are `FORBIDDEN`.
    """
    viewer = info.context.require_viewer()
    venue_id = decode_typed_id(global_id, "Venue", field="input.id")
    venue: models.Venue | None
    if include_deleted:
        statement = (
            select(models.Venue)
            .where(models.Venue.id == venue_id)
            .execution_options(include_deleted=True, populate_existing=True)
        )
        venue = (await info.context.db.execute(statement)).scalar_one_or_none()
    else:
        venue = await info.context.loaders.venue.load(venue_id)
    if venue is None or (venue.is_deleted and not may_change_venue(viewer, venue)):
        message = "No venue has this ID."
        raise NotFoundError(message, field="input.id")
    if not may_change_venue(viewer, venue):
        message = "Only the venue's owner or an admin may change it."
        raise ForbiddenError(message)
    return venue


def _refresh(info: strawberry.Info[Context], venue: models.Venue) -> None:
    replace_cached(info.context.loaders.venue, venue)


VENUE_DELETION = SoftDeletion(
    type_name="Venue",
    field="venue",
    noun="venue",
    node=Venue,
    to_node=Venue.from_model,
    to_manage=functools.partial(_venue_to_manage, include_deleted=True),
    refresh=_refresh,
    who="Its owner or an admin only.",
    gone="it no longer appears in lists or lookups.",
    back="listed again.",
)


@strawberry.type
class VenueMutations:
    """Mutations of venues."""

    @strawberry.mutation(description="List a new venue. Hosts and admins only.")
    async def create_venue(
        self,
        info: strawberry.Info[Context],
        input: CreateVenueArgument,  # noqa: A002 - `input` is the GraphQL contract
    ) -> CreateVenuePayload:
        """Validate the input, then insert the venue with the viewer as its owner."""
        viewer = info.context.require_viewer()
        if not may_create_venue(viewer):
            message = "Only hosts and admins may list venues."
            raise ForbiddenError(message)
        columns = _create_columns(input)
        try:
            venue = await info.context.db.write(
                info.context.actor,
                lambda session: venue_data.create(
                    session, owner_id=viewer.user_id, columns=columns
                ),
            )
        except IntegrityError as error:
            raise _input_error(error) from None
        _refresh(info, venue)
        return CreateVenuePayload(venue=Venue.from_model(venue))

    @strawberry.mutation(description="Change a venue. Its owner or an admin only.")
    async def update_venue(
        self,
        info: strawberry.Info[Context],
        input: UpdateVenueArgument,  # noqa: A002 - `input` is the GraphQL contract
    ) -> UpdateVenuePayload:
        """Validate the given fields, then update them in one statement."""
        venue = await _venue_to_manage(info, input.id, include_deleted=False)
        changes = _update_changes(input)
        if not changes:
            return UpdateVenuePayload(venue=Venue.from_model(venue))
        venue_id = venue.id
        try:
            updated = await info.context.db.write(
                info.context.actor,
                lambda session: venue_data.update(session, venue_id=venue_id, changes=changes),
            )
        except IntegrityError as error:
            raise _input_error(error) from None
        if updated is None:  # deleted since it was read
            message = "No venue has this ID."
            raise NotFoundError(message, field="input.id")
        _refresh(info, updated)
        return UpdateVenuePayload(venue=Venue.from_model(updated))

    delete_venue = VENUE_DELETION.delete_mutation()
    restore_venue = VENUE_DELETION.restore_mutation()
