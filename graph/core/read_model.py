"""What each GraphQL type reads from its model: one declaration, read by both paths.

A type's fields say what they read: `column_field` names a model column, `computed_field`
gives a value computed from the row (and, when the compiler may read it, the same value as a
SQL expression). `read_model` declares the rest of the type's reading: its model, its
many-to-one fields (by foreign key), its child connections (foreign key, orderings, default
ordering and filter) and who may see its rows. The general path maps rows with `read_values`
(each type's `from_model`); the compiler (`graph.compiler.catalog`) derives its SQL from the
same declarations, choosing how to render each value from the field's Python type. Adding a
column clients can read is one field here, in the type, beside the model and its migration.
"""

import dataclasses
import enum
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

import strawberry
from sqlalchemy import ColumnElement, FromClause
from sqlalchemy.orm import InstrumentedAttribute
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition
from strawberry.types.enum import StrawberryEnumDefinition

from graph.core.geo import Degrees
from graph.core.global_id import encode_global_id
from graph.core.paging import Ordering, Window
from graph.core.viewer import Viewer
from models.base import Base, SoftDelete

# The key of a field's declaration in its Strawberry `metadata`.
READ = "graph.read_model"

TypeT = TypeVar("TypeT", bound=type)
OrderT = TypeVar("OrderT", bound=enum.Enum)
FilterT = TypeVar("FilterT")


@dataclasses.dataclass(frozen=True, slots=True)
class ColumnRead:
    """A field that shows one model column as it is (an enum by its member, a list copied)."""

    column: InstrumentedAttribute[Any]
    # Turns the stored value into the field's (a GeoJSON object); None keeps it as it is.
    convert: Callable[[Any], Any] | None = None

    @property
    def name(self) -> str:
        """The column's name in its table."""
        return str(self.column.expression.name)

    def expression(self, scope: FromClause) -> ColumnElement[Any]:
        """The column in `scope`, a (possibly aliased) copy of the model's table."""
        return scope.c[self.name]


@dataclasses.dataclass(frozen=True, slots=True)
class ComputedRead:
    """A field computed from the row: in Python, and in SQL when the compiler may read it."""

    value: Callable[[Any], Any]
    # The same value over the model's table (or an alias of it); None: the general path only.
    sql: Callable[[FromClause], ColumnElement[Any]] | None = None

    def expression(self, scope: FromClause) -> ColumnElement[Any] | None:
        """The value in `scope`, when declared."""
        return self.sql(scope) if self.sql is not None else None


FieldRead = ColumnRead | ComputedRead


@dataclasses.dataclass(frozen=True, slots=True)
class PersonalRead:
    """A column shown only to the user `owner` names and to admins (`is_self_or_admin`).

    Everyone else reads null. The type's `from_model` applies the rule with the viewer; the
    compiler applies the same rule in SQL.
    """

    column: InstrumentedAttribute[Any]
    owner: InstrumentedAttribute[Any]


@dataclasses.dataclass(frozen=True, slots=True)
class HistoryRead:
    """`history`: the row's audit events, newest first (`graph.core.loaders.HISTORY_ORDERING`).

    `window` checks the field's `first` and `after` as its resolver does (raising
    `BAD_USER_INPUT`); who may read the events is `graph.core.permissions.may_read_history`.
    """

    window: Callable[[int, str | None], Window]


@dataclasses.dataclass(frozen=True, slots=True)
class NearbyPage:
    """One page of the venues nearest a point within a radius, as both paths read it."""

    ordering: Ordering
    window: Window
    # The list's rows: what `totalCount` counts.
    listed: ColumnElement[bool]
    # The rows the page is read from: `listed` within the page's horizon (see
    # `graph.core.geo.nearest_first_horizon`).
    page: ColumnElement[bool]


class PlanNearby(Protocol):
    """Plans a `NearbyPage` around a home; `BAD_USER_INPUT` for `first` or `after` as the field."""

    def __call__(  # noqa: D102 - the protocol's docstring says it
        self, latitude: Degrees, longitude: Degrees, *, radius: float, first: int, after: str | None
    ) -> NearbyPage: ...


@dataclasses.dataclass(frozen=True, slots=True)
class NearbyRead:
    """`nearbyVenues`: live venues near the home saved in a user's preferences, nearest first.

    Its resolver and the compiler each check `radiusMeters` with `radius`, read the home (the
    resolver in Python; the compiler with `home`, SQL over the user's `preferences` that is
    NULL wherever the resolver refuses the home) and plan the page with `page`. Only the user
    themselves may list them (`graph.core.permissions.may_see_nearby_venues`).
    """

    radius: Callable[[float], float]
    home: Callable[[ColumnElement[Any]], tuple[ColumnElement[float], ColumnElement[float]]]
    page: PlanNearby


def personal_field(
    column: InstrumentedAttribute[Any], *, owner: InstrumentedAttribute[Any], description: str
) -> Any:  # noqa: ANN401 - as `column_field`
    """A field showing `column` to the user `owner` names and admins only (see `PersonalRead`)."""
    return strawberry.field(description=description, metadata={READ: PersonalRead(column, owner)})


def column_field(
    column: InstrumentedAttribute[Any],
    *,
    description: str,
    convert: Callable[[Any], Any] | None = None,
) -> Any:  # noqa: ANN401 - a Strawberry field, typed by its annotation as `strawberry.field` is
    """A field showing `column` of the type's model."""
    return strawberry.field(description=description, metadata={READ: ColumnRead(column, convert)})


def computed_field(
    *,
    value: Callable[[Any], Any],
    description: str,
    sql: Callable[[FromClause], ColumnElement[Any]] | None = None,
) -> Any:  # noqa: ANN401 - as `column_field`
    """A field computed from the row by `value` (and in SQL by `sql`, when given)."""
    return strawberry.field(description=description, metadata={READ: ComputedRead(value, sql)})


@dataclasses.dataclass(frozen=True, slots=True)
class ToOne:
    """A many-to-one field: the row it points at by `foreign_key` (a live one, or null)."""

    foreign_key: InstrumentedAttribute[Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Children(Generic[OrderT, FilterT]):
    """A paged one-to-many field: the children whose `foreign_key` is the parent.

    It sorts by the `orderings` it offers (its root list's, keyed by that list's order enum, so
    cursors carry over), `default_order` when asked for none, and filters by the root list's
    `filter` input, whose `conditions` (which raise `BAD_USER_INPUT`) say which children match.
    `owner_only`: only the parent user themselves and admins may read them, others are
    FORBIDDEN (`User.sessions`, which takes no filter).
    """

    foreign_key: InstrumentedAttribute[Any]
    orderings: Mapping[OrderT, Ordering]
    default_order: OrderT
    filter: type[FilterT] | None = None
    conditions: Callable[[FilterT | None], Sequence[ColumnElement[bool]]] = lambda _: ()
    owner_only: bool = False

    @property
    def ordering(self) -> Ordering:
        """The default ordering: the children's order when no `orderBy` is given."""
        return self.orderings[self.default_order]


@dataclasses.dataclass(frozen=True, slots=True)
class ReadModel:
    """How one GraphQL type reads its model (see `read_model`)."""

    model: type[Base]
    to_one: Mapping[str, ToOne]
    children: Mapping[str, Children[Any, Any]]
    # The rows a viewer may see, as a condition on the model's table; None: every row.
    visible: Callable[[Viewer | None], ColumnElement[bool]] | None

    @property
    def soft_deleted(self) -> bool:
        """Whether the model's rows are hidden by `deleted_at` rather than removed."""
        return issubclass(self.model, SoftDelete)


_READ_MODELS: dict[type, ReadModel] = {}


def read_model(
    model: type[Base],
    *,
    to_one: Mapping[str, ToOne] | None = None,
    children: Mapping[str, Children[Any, Any]] | None = None,
    visible: Callable[[Viewer | None], ColumnElement[bool]] | None = None,
) -> Callable[[TypeT], TypeT]:
    """Declare how a GraphQL type reads `model` (relations keyed by Python field name)."""
    declared = ReadModel(model, dict(to_one or {}), dict(children or {}), visible)

    def register(cls: TypeT) -> TypeT:
        _READ_MODELS[cls] = declared
        return cls

    return register


def read_model_of(cls: type) -> ReadModel | None:
    """The declaration of GraphQL type `cls`, if it has one."""
    return _READ_MODELS.get(cls)


def declared_read(field: object) -> FieldRead | None:
    """The declaration of a Strawberry field, if it has one."""
    metadata = getattr(field, "metadata", None) or {}
    found = metadata.get(READ)
    return found if isinstance(found, ColumnRead | ComputedRead) else None


def declared_personal(field: object) -> PersonalRead | None:
    """The `PersonalRead` declaration of a Strawberry field, if it has one."""
    metadata = getattr(field, "metadata", None) or {}
    found = metadata.get(READ)
    return found if isinstance(found, PersonalRead) else None


def declared_history(field: object) -> HistoryRead | None:
    """The `HistoryRead` declaration of a Strawberry field (`history`), if it has one."""
    metadata = getattr(field, "metadata", None) or {}
    found = metadata.get(READ)
    return found if isinstance(found, HistoryRead) else None


def declared_nearby(field: object) -> NearbyRead | None:
    """The `NearbyRead` declaration of a Strawberry field (`nearbyVenues`), if it has one."""
    metadata = getattr(field, "metadata", None) or {}
    found = metadata.get(READ)
    return found if isinstance(found, NearbyRead) else None


Reader = Callable[[Any], Any]
_READERS: dict[type, tuple[str, tuple[tuple[str, Reader], ...]]] = {}
_READERS_LOCK = threading.Lock()


def _reader(field_type: object, read: FieldRead) -> Reader:
    if isinstance(read, ComputedRead):
        return read.value
    name, convert = read.column.key, read.convert
    if isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    if convert is None and isinstance(field_type, StrawberryEnumDefinition):
        convert = field_type.wrapped_cls
    elif convert is None and isinstance(field_type, StrawberryList):
        convert = list
    if convert is None:
        return lambda row: getattr(row, name)
    converter = convert
    return lambda row: None if (value := getattr(row, name)) is None else converter(value)


def _readers(cls: type) -> tuple[str, tuple[tuple[str, Reader], ...]]:
    found = _READERS.get(cls)  # read on every row mapped: without the lock once built
    if found is not None:
        return found
    with _READERS_LOCK:
        found = _READERS.get(cls)
        if found is None:
            definition = get_object_definition(cls, strict=True)
            readers = tuple(
                (field.python_name, _reader(field.type, read))
                for field in definition.fields
                if (read := declared_read(field)) is not None
            )
            found = _READERS[cls] = (definition.name, readers)
        return found


def read_values(cls: type, row: Any) -> dict[str, Any]:  # noqa: ANN401 - a model row
    """The declared fields of `cls` (and its global `id`) read from `row`, for `from_model`."""
    type_name, readers = _readers(cls)
    values = {name: read(row) for name, read in readers}
    values["id"] = strawberry.ID(encode_global_id(type_name, row.id))
    return values
