"""SQL generation: a typed plan (`graph.compiler.builder`) as one statement returning `data`.

As pg_graphql's `transpile.rs`, this turns the plan's nodes into SQL and knows nothing of the
GraphQL document: columns become JSON text, many-to-one fields correlated scalar subqueries,
child lists (`Venue.bookings`, `Venue.media`) and the root `venues` a page subquery aggregated
with `string_agg`. The viewer's visibility rules are the general path's own (each type's
declared rule, `graph.core.permissions`), built for a stand-in viewer whose id is a sentinel
that `Plan.bind` swaps for the request's viewer. `compile_operation` plans and generates; an
operation the builder refuses is `None`, and the general path answers it. Arguments are read
per request through graphql-core's own coercion; values the general path would refuse (a page
size over 100, a bad cursor or ID) make `bind` return None, so the general path produces the
error.
"""

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode
from graphql.execution.values import get_argument_values, get_variable_values
from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    Text,
    bindparam,
    case,
    func,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import UUID, aggregate_order_by
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.types import DateTime

from graph.compiler import json_sql as js
from graph.compiler.builder import (
    VENUE_LIST_ORDERING,
    Arguments,
    ChildField,
    ConnectionSelection,
    CursorField,
    EdgesField,
    EmailField,
    NodeField,
    NullField,
    ObjectSelection,
    OperationPlan,
    PageInfoField,
    ScalarField,
    ToOneField,
    TotalCountField,
    Typename,
    UnsupportedError,
    VenueListRoot,
    VenueRoot,
    plan_operation,
)
from graph.compiler.catalog import CompiledType, catalog
from graph.core.errors import BadUserInputError
from graph.core.paging import at_or_beyond, beyond
from graph.core.permissions import email_visible
from graph.core.viewer import Viewer


def viewer_kind(viewer: Viewer | None) -> str:
    """The part of the viewer that changes the SQL's shape (its id is bound per request)."""
    if viewer is None:
        return "anonymous"
    return str(viewer.role)


# --- per-request arguments ---------------------------------------------------------------------

# The statement's parameters from an argument's named values (see `builder.Arguments.read`).
Binder = Callable[[dict[str, Any]], dict[str, Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class ArgumentSlot:
    """One field's arguments, read per request into the statement's parameters."""

    arguments: Arguments
    binder: Binder


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """A compiled operation: driver SQL, its parameters' sources, and the argument slots."""

    operation: OperationDefinitionNode
    sql: str
    # Each positional parameter: ("const", value), ("viewer", None) or ("arg", name).
    parameters: tuple[tuple[str, Any], ...]
    slots: tuple[ArgumentSlot, ...]
    schema: GraphQLSchema

    def bind(
        self, variables: dict[str, Any] | None, viewer: Viewer | None
    ) -> tuple[Any, ...] | None:
        """The statement's parameters for one request; None when the general path must answer."""
        coerced = get_variable_values(
            self.schema, self.operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):
            return None
        values: dict[str, Any] = {}
        try:
            for slot in self.slots:
                arguments = slot.arguments
                read = arguments.read(get_argument_values(arguments.field, arguments.node, coerced))
                values |= slot.binder(read)
        except (BadUserInputError, ValueError, TypeError):
            return None
        viewer_id = viewer.user_id if viewer is not None else None
        return tuple(
            viewer_id if source == "viewer" else values[value] if source == "arg" else value
            for source, value in self.parameters
        )


# --- SQL generation ----------------------------------------------------------------------------


@dataclasses.dataclass
class _Transpiler:
    types: Mapping[str, CompiledType]
    viewer: Viewer | None
    sentinel: uuid.UUID
    slots: list[ArgumentSlot] = dataclasses.field(default_factory=list)

    def parameter(self, type_: Any) -> BindParameter[Any]:  # noqa: ANN401 - a SQLAlchemy type
        return bindparam(f"arg_{len(self.slots)}_{id(type_)}_{uuid.uuid4().hex[:8]}", type_=type_)

    def object_json(
        self,
        selection: ObjectSelection,
        scope: FromClause,
        *,
        email_visible: ColumnElement[bool] | bool,
    ) -> ColumnElement[str]:
        """JSON text of one object of a compiled type, as `selection` selects it."""
        compiled = self.types[selection.type_name]
        parts: list[ColumnElement[Any]] = []
        for index, field in enumerate(selection.fields):
            parts.append(js.const(("{" if index == 0 else ",") + f'"{field.key}":'))
            if isinstance(field, Typename):
                parts.append(js.const(f'"{field.type_name}"'))
            elif isinstance(field, ScalarField):
                parts.append(compiled.scalars[field.name](scope))
            elif isinstance(field, EmailField):
                parts.append(self._email(scope, visible=email_visible))
            elif isinstance(field, ToOneField):
                parts.append(self._to_one(compiled, field, scope))
            else:
                parts.append(self._child_list(compiled, field, scope))
        parts.append(js.const("}"))
        return js.concat(parts)

    def _email(
        self, scope: FromClause, *, visible: ColumnElement[bool] | bool
    ) -> ColumnElement[str]:
        email = js.json_string(scope.c.email)
        if visible is True:
            return email
        if visible is False:
            return js.NULL
        return case((visible, email), else_=js.NULL)

    def _to_one(
        self, parent: CompiledType, field: ToOneField, scope: FromClause
    ) -> ColumnElement[str]:
        foreign_key = parent.to_one[field.name]
        target_name = field.target.type_name
        target = self.types[target_name].table.alias()
        if target_name == "User":
            # A booking's guest shows their email (see `Booking.user`); the viewer's id is the
            # sentinel parameter, so the plan serves every viewer of the same role.
            viewer_id = bindparam(None, self.sentinel, type_=UUID(as_uuid=True))
            visible = email_visible(
                self.viewer,
                lambda _viewer: target.c.id == viewer_id,
                through_visible_booking=parent.name == "Booking",
            )
        else:
            visible = False
        body = self.object_json(field.target, target, email_visible=visible)
        statement = (
            select(body)
            .select_from(target)
            .where(target.c.id == scope.c[foreign_key], *self._live(target_name, target))
            .correlate(scope)
        )
        return js.or_null(statement.scalar_subquery())

    def _child_list(
        self, parent: CompiledType, field: ChildField, scope: FromClause
    ) -> ColumnElement[str]:
        spec = parent.children[field.name]
        child = self.types[spec.type_name]
        table = child.table
        size, size_plus_one = self.parameter(Integer), self.parameter(Integer)

        def binder(values: dict[str, Any]) -> dict[str, Any]:
            return {size.key: values["size"], size_plus_one.key: values["size"] + 1}

        self.slots.append(ArgumentSlot(field.arguments, binder))
        live_children = (
            table.c[spec.parent_key] == scope.c.id,
            *self._live(spec.type_name, table),
            *([child.visible(self._stand_in())] if child.visible is not None else []),
        )
        order = (table.c[spec.sort_column], table.c.id)
        page = self._page(
            field.connection,
            table,
            where=live_children,
            order=order,
            size_plus_one=size_plus_one,
            cursor=lambda: js.keyset_cursor(spec.ordering.name, *order),
        ).correlate(scope)
        count = (
            select(func.count())
            .select_from(table)
            .where(*live_children)
            .correlate(scope)
            .scalar_subquery()
        )
        return self._connection(
            field.connection,
            page.lateral("page"),
            size=size,
            has_previous=None,
            total=count,
        )

    def _live(self, type_name: str, scope: FromClause) -> list[ColumnElement[bool]]:
        """Rows not soft-deleted, for types whose rows are."""
        return [scope.c.deleted_at.is_(None)] if self.types[type_name].soft_deleted else []

    def _stand_in(self) -> Viewer | None:
        if self.viewer is None:
            return None
        return dataclasses.replace(self.viewer, user_id=self.sentinel)

    def _page(  # noqa: PLR0913 - the pieces of one page
        self,
        connection: ConnectionSelection,
        scope: FromClause,
        *,
        where: Sequence[ColumnElement[bool]],
        order: Sequence[ColumnElement[Any]],
        size_plus_one: BindParameter[int],
        cursor: Callable[[], ColumnElement[str]],
    ) -> Select[Any]:
        """The page's rows (one more than asked): each edge's JSON, cursor and position."""
        edge_parts: list[ColumnElement[Any]] = []
        for index, field in enumerate(connection.edge):
            edge_parts.append(js.const(("{" if index == 0 else ",") + f'"{field.key}":'))
            if isinstance(field, Typename):
                edge_parts.append(js.const(f'"{field.type_name}"'))
            elif isinstance(field, CursorField):
                edge_parts.append(js.concat([js.const('"'), cursor(), js.const('"')]))
            elif isinstance(field, NodeField):
                edge_parts.append(self.object_json(field.node, scope, email_visible=False))
            else:
                assert isinstance(field, NullField)  # noqa: S101 - the last kind of edge field
                edge_parts.append(js.NULL)
        edge = js.concat([*edge_parts, js.const("}")]) if edge_parts else js.const("")
        position = func.row_number().over(order_by=list(order))
        page_cursor = cursor() if connection.wants_page_cursors else js.NULL
        return (
            select(
                edge.label("edge"),
                page_cursor.label("cursor"),
                position.label("position"),
            )
            .select_from(scope)
            .where(*where)
            .order_by(*order)
            .limit(size_plus_one)
        )

    def _connection(
        self,
        connection: ConnectionSelection,
        page: FromClause,
        *,
        size: BindParameter[int],
        has_previous: ColumnElement[bool] | None,
        total: ColumnElement[int],
    ) -> ColumnElement[str]:
        """JSON text of a connection over a page subquery (edge, cursor, position)."""
        on_page = page.c.position <= size
        edges = func.string_agg(
            page.c.edge, aggregate_order_by(js.const(","), page.c.position)
        ).filter(on_page)
        edges_json = func.coalesce(
            js.const("[").concat(edges).concat(js.const("]")), js.const("[]")
        )
        cursors = ARRAY(Text)
        start = func.array_agg(aggregate_order_by(page.c.cursor, page.c.position), type_=cursors)
        end = func.array_agg(
            aggregate_order_by(page.c.cursor, page.c.position.desc()), type_=cursors
        )
        page_info_values: dict[str, ColumnElement[str]] = {
            "hasNextPage": _json_bool(func.count() > size),
            "hasPreviousPage": js.const("false")
            if has_previous is None
            else _json_bool(has_previous),
            "startCursor": _quoted_or_null(start.filter(on_page)[1]),
            "endCursor": _quoted_or_null(end.filter(on_page)[1]),
            "__typename": js.const('"PageInfo"'),
        }
        parts: list[ColumnElement[Any]] = []
        for index, field in enumerate(connection.fields):
            parts.append(js.const(("{" if index == 0 else ",") + f'"{field.key}":'))
            if isinstance(field, Typename):
                parts.append(js.const(f'"{field.type_name}"'))
            elif isinstance(field, EdgesField):
                parts.append(edges_json)
            elif isinstance(field, TotalCountField):
                parts.append(js.json_number(total))
            else:
                assert isinstance(field, PageInfoField)  # noqa: S101 - the last kind of field
                info_parts: list[ColumnElement[Any]] = []
                for info_index, (info_key, info_name) in enumerate(field.fields):
                    info_parts.append(
                        js.const(("{" if info_index == 0 else ",") + f'"{info_key}":')
                    )
                    info_parts.append(page_info_values[info_name])
                parts.append(js.concat([*info_parts, js.const("}")]))
        parts.append(js.const("}"))
        # HAVING makes it one group even when no aggregate is selected (`{ totalCount }`):
        # one row, whether the page has none or many.
        return select(js.concat(parts)).select_from(page).having(true()).scalar_subquery()

    # --- root fields ---------------------------------------------------------------------------

    def root(self, plan: OperationPlan) -> Select[Any]:
        parts: list[ColumnElement[Any]] = []
        for index, field in enumerate(plan.fields):
            parts.append(js.const(("{" if index == 0 else ",") + f'"{field.key}":'))
            if isinstance(field, Typename):
                parts.append(js.const(f'"{field.type_name}"'))
            elif isinstance(field, VenueRoot):
                parts.append(self._root_venue(field))
            else:
                parts.append(self._root_venues(field))
        parts.append(js.const("}"))
        return select(js.concat(parts))

    def _root_venue(self, field: VenueRoot) -> ColumnElement[str]:
        venue_id = self.parameter(UUID(as_uuid=True))

        def binder(values: dict[str, Any]) -> dict[str, Any]:
            return {venue_id.key: values["id"]}

        self.slots.append(ArgumentSlot(field.arguments, binder))
        venue = self.types["Venue"].table.alias()
        body = self.object_json(field.venue, venue, email_visible=False)
        statement = (
            select(body)
            .select_from(venue)
            .where(venue.c.id == venue_id, *self._live("Venue", venue))
        )
        return js.or_null(statement.scalar_subquery())

    def _root_venues(self, field: VenueListRoot) -> ColumnElement[str]:
        size, size_plus_one = self.parameter(Integer), self.parameter(Integer)
        after_created = self.parameter(DateTime(timezone=True))
        after_id = self.parameter(UUID(as_uuid=True))

        def binder(values: dict[str, Any]) -> dict[str, Any]:
            return {
                size.key: values["size"],
                size_plus_one.key: values["size"] + 1,
                after_created.key: values["after_created"],
                after_id.key: values["after_id"],
            }

        self.slots.append(ArgumentSlot(field.arguments, binder))
        # The keyset conditions of graph/core/paging.py, over this plan's parameters.
        after = (after_created, after_id)
        venues = self.types["Venue"].table.alias()
        order = (venues.c.created_at, venues.c.id)
        page = self._page(
            field.connection,
            venues,
            where=(
                *self._live("Venue", venues),
                beyond(VENUE_LIST_ORDERING.on(*order), after, forward=True),
            ),
            order=order,
            size_plus_one=size_plus_one,
            cursor=lambda: js.keyset_cursor(VENUE_LIST_ORDERING.name, *order),
        )
        before = self.types["Venue"].table.alias()
        before_order = VENUE_LIST_ORDERING.on(before.c.created_at, before.c.id)
        rows_before = (
            select(before.c.id)
            .where(
                *self._live("Venue", before),
                at_or_beyond(before_order, after, forward=False),
            )
            .exists()
        )
        live = self.types["Venue"].table.alias()
        total = (
            select(func.count())
            .select_from(live)
            .where(*self._live("Venue", live))
            .scalar_subquery()
        )
        return self._connection(
            field.connection,
            page.subquery("page"),
            size=size,
            has_previous=rows_before,
            total=total,
        )


def _json_bool(condition: ColumnElement[bool]) -> ColumnElement[str]:
    return case((condition, js.const("true")), else_=js.const("false"))


def _quoted_or_null(text: ColumnElement[Any]) -> ColumnElement[str]:
    return js.or_null(js.const('"').concat(text).concat(js.const('"')))


_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


def compile_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    viewer: Viewer | None,
) -> Plan | None:
    """The plan of `document`'s operation for viewers of `viewer`'s kind; None if unsupported."""
    planned = plan_operation(schema, document, operation_name)
    if planned is None:
        return None
    operation, plan = planned
    sentinel = uuid.uuid4()
    transpiler = _Transpiler(catalog(schema), viewer, sentinel)
    try:
        statement = transpiler.root(plan)
    except (UnsupportedError, KeyError):
        return None
    compiled = statement.compile(dialect=_DIALECT)
    slot_keys = {name for name in compiled.binds if name.startswith("arg_")}
    parameters: list[tuple[str, Any]] = []
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        if name in slot_keys:
            parameters.append(("arg", name))
        elif bind.value == sentinel:
            parameters.append(("viewer", None))
        else:
            parameters.append(("const", bind.value))
    return Plan(
        operation=operation,
        sql=compiled.string,
        parameters=tuple(parameters),
        slots=tuple(transpiler.slots),
        schema=schema,
    )
