"""The compiler's map of types and fields, derived from the types' read-model declarations.

Every GraphQL object type declared with `graph.core.read_model.read_model` is compiled: its
table is its model's, its scalar fields are rendered from their `column_field` and
`computed_field` declarations (the JSON rendering chosen by the field's Python type), its
many-to-one fields and child connections are the declared ones. Nothing here names a column or
a field: a field clients can read reaches the compiler by its declaration alone, or is named in
`GENERAL_PATH_ONLY` with the reason (tests/graph/test_compiler_catalog.py checks each scalar
field of a compiled type is one or the other).
"""

import dataclasses
import datetime as dt
import enum
import functools
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import strawberry
from graphql import GraphQLObjectType, GraphQLSchema, get_named_type, is_leaf_type
from sqlalchemy import ColumnClause, ColumnElement, FromClause, TableClause
from sqlalchemy.dialects.postgresql import INET
from strawberry.scalars import JSON
from strawberry.types.base import StrawberryList, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField

from graph.compiler import json_sql as js
from graph.core.read_model import (
    Children,
    ColumnRead,
    ComputedRead,
    FieldRead,
    HistoryRead,
    NearbyRead,
    ReadModel,
    declared_history,
    declared_nearby,
    declared_personal,
    declared_read,
    read_model_of,
)
from graph.core.viewer import Viewer

# graphql-core's back-reference from a schema element to the Strawberry definition it came from.
_DEFINITION = "strawberry-definition"

# Scalar fields of compiled types that the compiler leaves to the general path, and why. A
# document selecting one is answered there.
GENERAL_PATH_ONLY: Mapping[tuple[str, str], str] = {
    ("Venue", "location"): "a GeoJSON object: no SQL rendering of it",
    ("Media", "location"): "a GeoJSON object: no SQL rendering of it",
    ("Media", "latitude"): "read from the GeoJSON location; no SQL declared",
    ("Media", "longitude"): "read from the GeoJSON location; no SQL declared",
    ("Media", "fileSize"): "never compiled; compiling it changes which documents are compiled",
}

# The fields the compiler renders by a rule of their own, with the request's viewer: who may
# see a user's email depends on how the user was reached (see
# `graph.core.permissions.email_visible`); a session is `current` for the viewer's own.
EMAIL_FIELD = ("User", "email")
CURRENT_SESSION_FIELD = ("Session", "current")
# A user's preferences: shown to the user themselves and admins (`is_self_or_admin`).
PREFERENCES_FIELD = ("User", "preferences")

Render = Callable[[FromClause], ColumnElement[str]]


@dataclasses.dataclass(frozen=True, slots=True)
class ChildList:
    """A paged one-to-many field: the child type, its foreign key and its declaration."""

    type_name: str
    parent_key: str
    declared: Children[Any, Any]

    @property
    def owner_only(self) -> bool:
        """Only the parent user and admins may read it (see `Children`)."""
        return self.declared.owner_only


@dataclasses.dataclass(frozen=True, slots=True)
class PersonalColumn:
    """A field shown to one user (`owner`, a column) and admins: its rendering and that column."""

    render: Render
    owner: str


@dataclasses.dataclass(frozen=True, slots=True)
class CompiledType:
    """What the compiler reads for one GraphQL type."""

    name: str
    table: TableClause
    scalars: Mapping[str, Render]
    # Many-to-one fields: GraphQL field -> foreign key column (the target is the field's type).
    to_one: Mapping[str, str]
    children: Mapping[str, ChildList]
    visible: Callable[[Viewer | None], ColumnElement[bool]] | None
    soft_deleted: bool
    # Fields shown only to the user a column names and admins (`personal_field`).
    personal: Mapping[str, PersonalColumn] = dataclasses.field(default_factory=dict)
    # `history` fields: the row's audit events (`HistoryRead`).
    histories: Mapping[str, HistoryRead] = dataclasses.field(default_factory=dict)
    # `nearbyVenues`: the venues near the home in the user's preferences (`NearbyRead`).
    nearby: Mapping[str, NearbyRead] = dataclasses.field(default_factory=dict)
    # Rows are keyed by `(id, created_at)` (a partitioned table): their IDs say both.
    timestamped: bool = False


def _scoped(read: FieldRead) -> Callable[[FromClause], ColumnElement[Any]] | None:
    if isinstance(read, ColumnRead):
        return read.expression
    if isinstance(read, ComputedRead) and read.sql is not None:
        return read.sql
    return None


def _enum_upper(definition: StrawberryEnumDefinition) -> bool | None:
    """Whether stored values are the GraphQL names in lower case (None: neither way)."""
    members: list[enum.Enum] = list(definition.wrapped_cls)
    if all(member.name == member.value for member in members):
        return False
    if all(member.name == str(member.value).upper() for member in members):
        return True
    return None


# Python types rendered as JSON text by one function each (see `_render_value` for the rest).
_PLAIN: Mapping[object, Callable[[ColumnElement[Any]], ColumnElement[str]]] = {
    str: js.json_string,
    strawberry.ID: js.json_string,
    int: js.json_number,
    float: js.json_float,
    dt.datetime: js.json_datetime,
    Decimal: js.json_decimal,
    JSON: js.json_object,
}


def _render_value(inner: object) -> Callable[[ColumnElement[Any]], ColumnElement[str]] | None:
    """How a non-null value of Python type `inner` is written as JSON text; None if it cannot."""
    plain = _PLAIN.get(inner)
    if plain is not None:
        return plain
    if isinstance(inner, StrawberryList) and inner.of_type is str:
        return js.json_text_array
    if isinstance(inner, StrawberryEnumDefinition):
        upper = _enum_upper(inner)
        if upper is not None:
            return lambda value: js.json_enum(value, upper=upper)
    return None


def render_of(field_type: object, read: FieldRead) -> Render | None:
    """How the compiler renders a declared field as JSON text; None if it cannot."""
    value = _scoped(read)
    if value is None:
        return None
    nullable = isinstance(field_type, StrawberryOptional)
    inner = field_type.of_type if isinstance(field_type, StrawberryOptional) else field_type
    render = _render_value(inner)
    if render is None:
        return None
    if nullable:
        return lambda scope: js.null_or(value(scope), render)
    return lambda scope: render(value(scope))


def _inet(column: ColumnElement[Any]) -> Render:
    """An inet column's rendering (null stays null): see `json_sql.json_inet`."""
    name = _column_name(column)
    return lambda scope: js.null_or(scope.c[name], js.json_inet)


def _column_name(expression: ColumnElement[Any]) -> str:
    if not isinstance(expression, ColumnClause):
        message = f"not a column: {expression}"
        raise TypeError(message)
    return str(expression.name)


def _object_type(parent: GraphQLObjectType, name: str) -> GraphQLObjectType:
    named = get_named_type(parent.fields[name].type)
    if not isinstance(named, GraphQLObjectType):
        message = f"{parent.name}.{name} is not an object"
        raise TypeError(message)
    return named


def _personal_column(definition: StrawberryField) -> PersonalColumn | None:
    """How a `personal_field` is rendered, and its owner column; None if not one (or unreadable)."""
    shown = declared_personal(definition)
    if shown is None:
        return None
    render = (
        _inet(shown.column.expression)
        if isinstance(shown.column.type, INET)
        else render_of(definition.type, ColumnRead(shown.column))
    )
    return None if render is None else PersonalColumn(render, _column_name(shown.owner.expression))


def _compiled_type(graphql_type: GraphQLObjectType, declared: ReadModel) -> CompiledType:
    type_name = graphql_type.name
    table: TableClause = declared.model.__table__  # type: ignore[assignment]
    timestamped = {column.name for column in table.primary_key} == {"id", "created_at"}
    scalars: dict[str, Render] = {
        "id": (
            (lambda scope: js.timestamped_id(type_name, scope.c.id, scope.c.created_at))
            if timestamped
            else (lambda scope: js.global_id(type_name, scope.c.id))
        )
    }
    to_one: dict[str, str] = {}
    children: dict[str, ChildList] = {}
    personal: dict[str, PersonalColumn] = {}
    histories: dict[str, HistoryRead] = {}
    nearby: dict[str, NearbyRead] = {}
    for name, field in graphql_type.fields.items():
        definition = field.extensions.get(_DEFINITION)
        if not isinstance(definition, StrawberryField):
            continue
        read = declared_read(definition)
        if read is not None and (type_name, name) not in GENERAL_PATH_ONLY:
            render = render_of(definition.type, read)
            if render is not None:
                scalars[name] = render
        shown = _personal_column(definition)
        if shown is not None and (type_name, name) not in GENERAL_PATH_ONLY:
            personal[name] = shown
        history = declared_history(definition)
        if history is not None:
            histories[name] = history
        near_home = declared_nearby(definition)
        if near_home is not None:
            nearby[name] = near_home
        python_name = definition.python_name
        if python_name in declared.to_one:
            to_one[name] = _column_name(declared.to_one[python_name].foreign_key.expression)
        if python_name in declared.children:
            child = declared.children[python_name]
            node = _object_type(_object_type(_object_type(graphql_type, name), "edges"), "node")
            children[name] = ChildList(node.name, _column_name(child.foreign_key.expression), child)
    return CompiledType(
        name=type_name,
        table=table,
        scalars=scalars,
        to_one=to_one,
        children=children,
        visible=declared.visible,
        soft_deleted=declared.soft_deleted,
        personal=personal,
        histories=histories,
        nearby=nearby,
        timestamped=timestamped,
    )


@functools.cache
def catalog(schema: GraphQLSchema) -> Mapping[str, CompiledType]:
    """Every compiled type of `schema` by GraphQL name, read from the types' declarations."""
    compiled: dict[str, CompiledType] = {}
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        definition = graphql_type.extensions.get(_DEFINITION)
        origin = getattr(definition, "origin", None)
        declared = read_model_of(origin) if isinstance(origin, type) else None
        if declared is not None:
            compiled[graphql_type.name] = _compiled_type(graphql_type, declared)
    return compiled


def undeclared_fields(schema: GraphQLSchema) -> list[str]:
    """Scalar fields of compiled types the compiler cannot read and was not told to leave."""
    found = []
    for type_name, compiled in catalog(schema).items():
        graphql_type = schema.type_map[type_name]
        assert isinstance(graphql_type, GraphQLObjectType)  # noqa: S101 - catalog's own types
        for name, field in graphql_type.fields.items():
            key = (type_name, name)
            if (
                is_leaf_type(get_named_type(field.type))
                and name not in compiled.scalars
                and name not in compiled.personal
                and key not in {EMAIL_FIELD, CURRENT_SESSION_FIELD, PREFERENCES_FIELD}
                and key not in GENERAL_PATH_ONLY
            ):
                found.append(f"{type_name}.{name}")
    return found


__all__ = [
    "CURRENT_SESSION_FIELD",
    "EMAIL_FIELD",
    "GENERAL_PATH_ONLY",
    "PREFERENCES_FIELD",
    "ChildList",
    "CompiledType",
    "PersonalColumn",
    "Render",
    "catalog",
    "render_of",
    "undeclared_fields",
]
