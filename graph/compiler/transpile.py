"""Compile a validated query into one SQL statement that returns the whole `data` object as JSON.

`compile_operation` walks the operation's selections against the compiler's catalog of types
and fields, derived from the types' own declarations (`graph.compiler.catalog`): columns
become JSON text, many-to-one fields correlated scalar
subqueries, child lists (`Venue.bookings`, `Venue.media`) and the root `venues` a page
subquery aggregated with `string_agg`. The viewer's visibility rules are the general path's own
(`graph.core.permissions`), built for a stand-in viewer whose id is a sentinel that `Plan.bind`
swaps for the request's viewer. Anything outside the map makes the operation unsupported
(`None`): the general path then answers it. Arguments are read per request through
graphql-core's own coercion; values the general path would refuse (a page size over 100, a bad
cursor or ID) make `bind` return None, so the general path produces the error.
"""

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)
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
    tuple_,
)
from sqlalchemy.dialects.postgresql import UUID, aggregate_order_by
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.types import DateTime

from graph.compiler import json_sql as js
from graph.compiler.catalog import EMAIL_FIELD, CompiledType, catalog
from graph.core.errors import BadUserInputError
from graph.core.global_id import decode_typed_id
from graph.core.pagination import page_window
from graph.core.paging import checked_page_size
from graph.core.permissions import email_visible
from graph.core.viewer import Viewer
from graph.entities.venue.inputs import VENUE_ORDERINGS, VenueOrder

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
# `after` absent: a position before every row (no venue was listed in year 1 with the nil id).
_START = (dt.datetime(1, 1, 1, tzinfo=dt.UTC), uuid.UUID(int=0))
_VENUE_ORDERING = VENUE_ORDERINGS[VenueOrder.CREATED_AT_ASC]


class UnsupportedError(Exception):
    """The operation uses something the compiler does not map: the general path runs it."""


def viewer_kind(viewer: Viewer | None) -> str:
    """The part of the viewer that changes the SQL's shape (its id is bound per request)."""
    if viewer is None:
        return "anonymous"
    return str(viewer.role)


# Edge fields of the root `venues` list that are null without `search` and `near`.
_FOUND_FIELDS = frozenset({"rank", "highlight", "matchedBy", "distanceMeters"})


# --- per-request arguments ---------------------------------------------------------------------

Binder = Callable[[dict[str, Any]], dict[str, Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class ArgumentSlot:
    """One field's arguments, read per request into the statement's parameters."""

    field: GraphQLField
    node: FieldNode
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
                values |= slot.binder(get_argument_values(slot.field, slot.node, coerced))
        except (BadUserInputError, ValueError, TypeError):
            return None
        viewer_id = viewer.user_id if viewer is not None else None
        return tuple(
            viewer_id if source == "viewer" else values[value] if source == "arg" else value
            for source, value in self.parameters
        )


# --- compilation -------------------------------------------------------------------------------


@dataclasses.dataclass
class _Compiler:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    viewer: Viewer | None
    sentinel: uuid.UUID
    types: Mapping[str, CompiledType]
    slots: list[ArgumentSlot] = dataclasses.field(default_factory=list)

    def parameter(self, type_: Any) -> BindParameter[Any]:  # noqa: ANN401 - a SQLAlchemy type
        return bindparam(f"arg_{len(self.slots)}_{id(type_)}_{uuid.uuid4().hex[:8]}", type_=type_)

    def collect(
        self, parent: GraphQLObjectType, selection_set: SelectionSetNode | None
    ) -> list[tuple[str, list[FieldNode]]]:
        """Fields by response key in first-seen order, as graphql-core's `collect_fields`."""
        if selection_set is None:
            raise UnsupportedError
        fields: dict[str, list[FieldNode]] = {}
        self._collect(parent, selection_set, fields, set())
        return list(fields.items())

    def _collect(
        self,
        parent: GraphQLObjectType,
        selection_set: SelectionSetNode,
        fields: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise UnsupportedError
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if selection.type_condition is not None:
                    self._check_condition(parent, selection.type_condition.name.value)
                self._collect(parent, selection.selection_set, fields, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments.get(name)
                if fragment is None or fragment.directives or fragment.variable_definitions:
                    raise UnsupportedError
                self._check_condition(parent, fragment.type_condition.name.value)
                self._collect(parent, fragment.selection_set, fields, visited)
            else:
                raise UnsupportedError

    def _check_condition(self, parent: GraphQLObjectType, condition: str) -> None:
        condition_type = self.schema.get_type(condition)
        if condition_type is None or not (
            condition_type is parent
            or (
                hasattr(condition_type, "fields")
                and self.schema.is_sub_type(condition_type, parent)  # type: ignore[arg-type]
            )
        ):
            raise UnsupportedError

    def object_json(
        self,
        graphql_type: GraphQLObjectType,
        nodes: Sequence[FieldNode],
        scope: FromClause,
        *,
        email_visible: ColumnElement[bool] | bool,
        nested: bool,
    ) -> ColumnElement[str]:
        """JSON text of one object of a mapped type, selected by `nodes`' merged selections.

        `nested`: the object is read inside a child list's scope, whose raw table the
        visibility subqueries also name, so no further child list may open there.
        """
        type_name = graphql_type.name
        compiled = self.types[type_name]
        scalars = compiled.scalars
        parts: list[ColumnElement[Any]] = []
        for index, (key, field_nodes) in enumerate(self._merged(graphql_type, nodes)):
            parts.append(js.const(("{" if index == 0 else ",") + f'"{key}":'))
            name = field_nodes[0].name.value
            if field_nodes[0].arguments and name not in compiled.children:
                raise UnsupportedError
            if name == "__typename":
                parts.append(js.const(f'"{type_name}"'))
            elif name in scalars:
                self._no_selection(field_nodes)
                parts.append(scalars[name](scope))
            elif (type_name, name) == EMAIL_FIELD:
                self._no_selection(field_nodes)
                parts.append(self._email(scope, visible=email_visible))
            elif name in compiled.to_one:
                parts.append(self._to_one(graphql_type, name, field_nodes, scope, nested=nested))
            elif name in compiled.children:
                if nested:
                    # The visibility subqueries name the raw child tables: keep them un-nested.
                    raise UnsupportedError
                parts.append(self._child_list(graphql_type, name, field_nodes, scope))
            else:
                raise UnsupportedError
        if not parts:
            raise UnsupportedError
        parts.append(js.const("}"))
        return js.concat(parts)

    def _merged(
        self, graphql_type: GraphQLObjectType, nodes: Sequence[FieldNode]
    ) -> list[tuple[str, list[FieldNode]]]:
        merged: dict[str, list[FieldNode]] = {}
        for node in nodes:
            for key, field_nodes in self.collect(graphql_type, node.selection_set):
                if not _NAME.match(key):
                    raise UnsupportedError
                merged.setdefault(key, []).extend(field_nodes)
        return list(merged.items())

    @staticmethod
    def _no_selection(nodes: Sequence[FieldNode]) -> None:
        if any(node.selection_set is not None for node in nodes):
            raise UnsupportedError

    def _email(
        self, scope: FromClause, *, visible: ColumnElement[bool] | bool
    ) -> ColumnElement[str]:
        email = js.json_string(scope.c.email)
        if visible is True:
            return email
        if visible is False:
            return js.NULL
        return case((visible, email), else_=js.NULL)

    def _field_type(self, parent: GraphQLObjectType, name: str) -> GraphQLObjectType:
        named = get_named_type(parent.fields[name].type)
        if not isinstance(named, GraphQLObjectType):
            raise UnsupportedError
        return named

    def _to_one(
        self,
        parent: GraphQLObjectType,
        name: str,
        nodes: Sequence[FieldNode],
        scope: FromClause,
        *,
        nested: bool,
    ) -> ColumnElement[str]:
        foreign_key = self.types[parent.name].to_one[name]
        target_type = self._field_type(parent, name)
        target_name = target_type.name
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
        body = self.object_json(target_type, nodes, target, email_visible=visible, nested=nested)
        statement = (
            select(body)
            .select_from(target)
            .where(target.c.id == scope.c[foreign_key], *self._live(target_name, target))
            .correlate(scope)
        )
        return js.or_null(statement.scalar_subquery())

    def _child_list(
        self,
        parent: GraphQLObjectType,
        name: str,
        nodes: Sequence[FieldNode],
        scope: FromClause,
    ) -> ColumnElement[str]:
        spec = self.types[parent.name].children[name]
        child = self.types[spec.type_name]
        table = child.table
        size, size_plus_one = self.parameter(Integer), self.parameter(Integer)

        def binder(arguments: dict[str, Any]) -> dict[str, Any]:
            first = checked_page_size(arguments["first"])
            return {size.key: first, size_plus_one.key: first + 1}

        self.slots.append(ArgumentSlot(parent.fields[name], nodes[0], binder))
        live_children = (
            table.c[spec.parent_key] == scope.c.id,
            *self._live(spec.type_name, table),
            *([child.visible(self._stand_in())] if child.visible is not None else []),
        )
        connection = self._field_type(parent, name)
        order = (table.c[spec.sort_column], table.c.id)
        page = self._page(
            connection,
            nodes,
            table,
            where=live_children,
            order=order,
            size_plus_one=size_plus_one,
            cursor=lambda: js.keyset_cursor(spec.ordering.name, *order),
            nested=True,
        ).correlate(scope)
        count = (
            select(func.count())
            .select_from(table)
            .where(*live_children)
            .correlate(scope)
            .scalar_subquery()
        )
        return self._connection(
            connection,
            nodes,
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
        connection: GraphQLObjectType,
        nodes: Sequence[FieldNode],
        scope: FromClause,
        *,
        where: Sequence[ColumnElement[bool]],
        order: Sequence[ColumnElement[Any]],
        size_plus_one: BindParameter[int],
        cursor: Callable[[], ColumnElement[str]],
        nested: bool,
    ) -> Select[Any]:
        """The page's rows (one more than asked): each edge's JSON, cursor and position."""
        edge_type = self._field_type(connection, "edges")
        node_type = self._field_type(edge_type, "node")
        edge_parts: list[ColumnElement[Any]] = []
        for index, (key, field_nodes) in enumerate(
            self._merged(edge_type, self._subfields(connection, nodes, "edges"))
        ):
            edge_parts.append(js.const(("{" if index == 0 else ",") + f'"{key}":'))
            name = field_nodes[0].name.value
            if field_nodes[0].arguments:
                raise UnsupportedError
            if name == "__typename":
                edge_parts.append(js.const(f'"{edge_type.name}"'))
            elif name == "cursor":
                edge_parts.append(js.concat([js.const('"'), cursor(), js.const('"')]))
            elif name == "node":
                visible: ColumnElement[bool] | bool = False
                edge_parts.append(
                    self.object_json(
                        node_type, field_nodes, scope, email_visible=visible, nested=nested
                    )
                )
            elif name in _FOUND_FIELDS and edge_type.name == "VenueListEdge":
                self._no_selection(field_nodes)
                edge_parts.append(js.NULL)
            else:
                raise UnsupportedError
        edge = js.concat([*edge_parts, js.const("}")]) if edge_parts else js.const("")
        position = func.row_number().over(order_by=list(order))
        page_cursor = cursor() if self._wants_page_cursors(connection, nodes) else js.NULL
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

    def _wants_page_cursors(
        self, connection: GraphQLObjectType, nodes: Sequence[FieldNode]
    ) -> bool:
        page_info = self._field_type(connection, "pageInfo")
        return any(
            field.name.value in {"startCursor", "endCursor"}
            for info in self._subfields(connection, nodes, "pageInfo")
            for _, fields in self.collect(page_info, info.selection_set)
            for field in fields
        )

    def _subfields(
        self, parent: GraphQLObjectType, nodes: Sequence[FieldNode], name: str
    ) -> list[FieldNode]:
        found: list[FieldNode] = []
        for node in nodes:
            for _, field_nodes in self.collect(parent, node.selection_set):
                found += [field for field in field_nodes if field.name.value == name]
        return found

    def _connection(  # noqa: PLR0913 - the pieces of one connection
        self,
        connection: GraphQLObjectType,
        nodes: Sequence[FieldNode],
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
        for index, (key, field_nodes) in enumerate(self._merged(connection, nodes)):
            parts.append(js.const(("{" if index == 0 else ",") + f'"{key}":'))
            name = field_nodes[0].name.value
            if field_nodes[0].arguments:
                raise UnsupportedError
            if name == "__typename":
                parts.append(js.const(f'"{connection.name}"'))
            elif name == "edges":
                parts.append(edges_json)
            elif name == "totalCount":
                parts.append(js.json_number(total))
            elif name == "pageInfo":
                page_info = self._field_type(connection, "pageInfo")
                info_parts: list[ColumnElement[Any]] = []
                for info_index, (info_key, info_nodes) in enumerate(
                    self._merged(page_info, field_nodes)
                ):
                    info_name = info_nodes[0].name.value
                    if info_name not in page_info_values or info_nodes[0].arguments:
                        raise UnsupportedError
                    info_parts.append(
                        js.const(("{" if info_index == 0 else ",") + f'"{info_key}":')
                    )
                    info_parts.append(page_info_values[info_name])
                parts.append(js.concat([*info_parts, js.const("}")]))
            else:
                raise UnsupportedError
        if not parts:
            raise UnsupportedError
        parts.append(js.const("}"))
        # HAVING makes it one group even when no aggregate is selected (`{ totalCount }`):
        # one row, whether the page has none or many.
        return select(js.concat(parts)).select_from(page).having(true()).scalar_subquery()

    # --- root fields ---------------------------------------------------------------------------

    def root(
        self, query_type: GraphQLObjectType, operation: OperationDefinitionNode
    ) -> Select[Any]:
        parts: list[ColumnElement[Any]] = []
        for index, (key, nodes) in enumerate(self.collect(query_type, operation.selection_set)):
            if not _NAME.match(key):
                raise UnsupportedError
            parts.append(js.const(("{" if index == 0 else ",") + f'"{key}":'))
            name = nodes[0].name.value
            if name == "__typename":
                parts.append(js.const(f'"{query_type.name}"'))
            elif name == "venue":
                parts.append(self._root_venue(query_type, nodes))
            elif name == "venues":
                parts.append(self._root_venues(query_type, nodes))
            else:
                raise UnsupportedError
        parts.append(js.const("}"))
        return select(js.concat(parts))

    def _root_venue(
        self, query_type: GraphQLObjectType, nodes: Sequence[FieldNode]
    ) -> ColumnElement[str]:
        venue_id = self.parameter(UUID(as_uuid=True))

        def binder(arguments: dict[str, Any]) -> dict[str, Any]:
            return {venue_id.key: decode_typed_id(arguments["id"], "Venue", field="id")}

        self.slots.append(ArgumentSlot(query_type.fields["venue"], nodes[0], binder))
        venue = self.types["Venue"].table.alias()
        body = self.object_json(
            self._field_type(query_type, "venue"),
            nodes,
            venue,
            email_visible=False,
            nested=False,
        )
        statement = (
            select(body)
            .select_from(venue)
            .where(venue.c.id == venue_id, *self._live("Venue", venue))
        )
        return js.or_null(statement.scalar_subquery())

    def _root_venues(
        self, query_type: GraphQLObjectType, nodes: Sequence[FieldNode]
    ) -> ColumnElement[str]:
        if any(arg.name.value not in {"first", "after"} for arg in nodes[0].arguments or ()):
            raise UnsupportedError
        size, size_plus_one = self.parameter(Integer), self.parameter(Integer)
        after_created = self.parameter(DateTime(timezone=True))
        after_id = self.parameter(UUID(as_uuid=True))

        def binder(arguments: dict[str, Any]) -> dict[str, Any]:
            window = page_window(
                _VENUE_ORDERING, first=arguments.get("first"), after=arguments.get("after")
            )
            created, row_id = window.after if window.after is not None else _START
            return {
                size.key: window.size,
                size_plus_one.key: window.size + 1,
                after_created.key: created,
                after_id.key: row_id,
            }

        self.slots.append(ArgumentSlot(query_type.fields["venues"], nodes[0], binder))
        venues = self.types["Venue"].table.alias()
        order = (venues.c.created_at, venues.c.id)
        position = tuple_(*order)
        cursor_after = tuple_(after_created, after_id)
        connection = self._field_type(query_type, "venues")
        page = self._page(
            connection,
            nodes,
            venues,
            where=(*self._live("Venue", venues), position > cursor_after),
            order=order,
            size_plus_one=size_plus_one,
            cursor=lambda: js.keyset_cursor(_VENUE_ORDERING.name, *order),
            nested=False,
        )
        before = self.types["Venue"].table.alias()
        rows_before = (
            select(before.c.id)
            .where(
                *self._live("Venue", before),
                tuple_(before.c.created_at, before.c.id) <= cursor_after,
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
            connection,
            nodes,
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
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if operation_name is None:
        chosen = operations if len(operations) == 1 else []
    else:
        chosen = [op for op in operations if op.name and op.name.value == operation_name]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.QUERY or chosen[0].directives:
        return None
    operation = chosen[0]
    query_type = schema.query_type
    # graphql-core parses `{}` (an empty selection set) and validation lets it through; the
    # general path answers `{"data": {}}`, which a plan with no fields cannot spell.
    if query_type is None or not operation.selection_set.selections:
        return None
    sentinel = uuid.uuid4()
    compiler = _Compiler(schema, fragments, viewer, sentinel, catalog(schema))
    try:
        statement = compiler.root(query_type, operation)
    except (UnsupportedError, KeyError):
        return None
    compiled = statement.compile(dialect=_DIALECT)
    slot_keys = {key for slot in compiler.slots for key in _slot_keys(compiled, slot)}
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
        slots=tuple(compiler.slots),
        schema=schema,
    )


def _slot_keys(compiled: Any, slot: ArgumentSlot) -> list[str]:  # noqa: ANN401 - a compiled statement
    del slot
    return [name for name in compiled.binds if name.startswith("arg_")]
