"""The compiler reads its field map from the types' declarations, and misses none.

A scalar field of a compiled type (one declared with `read_model`) must be readable by the
compiler from its declaration, or be named in `GENERAL_PATH_ONLY`: forgetting the compiler is
impossible, since a field added without a declaration fails here.
"""

import datetime as dt
from decimal import Decimal

import strawberry
from graphql import GraphQLObjectType, get_named_type, is_leaf_type

import models
from graph.compiler.catalog import EMAIL_FIELD, GENERAL_PATH_ONLY, catalog, undeclared_fields
from graph.core.node import Node
from graph.core.read_model import column_field, read_model
from graph.entities.booking.inputs import BOOKING_ORDERINGS, BookingOrder
from graph.entities.media.inputs import MEDIA_ORDERINGS, MediaOrder
from graph.schema.root import schema

GRAPHQL_SCHEMA = schema._schema  # noqa: SLF001 - graphql-core's schema, as the compiler gets it


def test_every_scalar_field_of_a_compiled_type_is_compiled_or_left_to_the_general_path():
    assert {"Venue", "Booking", "Media", "User"} <= catalog(GRAPHQL_SCHEMA).keys()
    assert undeclared_fields(GRAPHQL_SCHEMA) == []


def test_general_path_only_names_existing_fields_the_compiler_does_not_read():
    types = catalog(GRAPHQL_SCHEMA)
    for type_name, name in GENERAL_PATH_ONLY:
        graphql_type = GRAPHQL_SCHEMA.type_map[type_name]
        assert isinstance(graphql_type, GraphQLObjectType)
        assert is_leaf_type(get_named_type(graphql_type.fields[name].type)), (type_name, name)
        assert name not in types[type_name].scalars
    assert EMAIL_FIELD not in GENERAL_PATH_ONLY


def test_the_compiled_map_is_the_declared_one():
    types = catalog(GRAPHQL_SCHEMA)
    venue = types["Venue"]
    assert venue.table is models.Venue.__table__
    assert {"id", "name", "hourlyRate", "latitude", "createdAt"} <= venue.scalars.keys()
    assert venue.to_one == {"owner": "owner_id"}
    assert {name: child.type_name for name, child in venue.children.items()} == {
        "bookings": "Booking",
        "media": "Media",
    }
    bookings, media = venue.children["bookings"].declared, venue.children["media"].declared
    assert bookings.ordering is BOOKING_ORDERINGS[BookingOrder.STARTS_AT_ASC]
    assert media.ordering is MEDIA_ORDERINGS[MediaOrder.CREATED_AT_ASC]
    assert types["Booking"].to_one == {"user": "user_id", "venue": "venue_id"}
    assert types["Booking"].visible is not None
    assert types["Venue"].visible is None


def test_a_field_added_without_a_declaration_is_found():
    # What forgetting looks like: a new column field written as a plain `strawberry.field`.
    @read_model(models.Venue)
    @strawberry.type(name="ForgetfulVenue")
    class ForgetfulVenue(Node):
        name: str = column_field(models.Venue.name, description="Declared.")
        hourly_rate: Decimal = column_field(models.Venue.hourly_rate, description="Declared.")
        created_at: dt.datetime = column_field(models.Venue.created_at, description="Declared.")
        capacity: int = strawberry.field(description="Forgotten.")

    @strawberry.type
    class Query:
        venue: ForgetfulVenue | None = None

    forgetful = strawberry.Schema(query=Query)._schema  # noqa: SLF001
    assert catalog(forgetful)["ForgetfulVenue"].scalars.keys() == {
        "id",
        "name",
        "hourlyRate",
        "createdAt",
    }
    assert undeclared_fields(forgetful) == ["ForgetfulVenue.capacity"]
