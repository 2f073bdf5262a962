"""Planning: a validated query's operation as typed nodes, or `UnsupportedError`.

As pg_graphql's `builder.rs`, this reads the GraphQL document against the schema and the
compiler's catalog (`graph.compiler.catalog`) and says what is selected: which fields of which
compiled type, which relations and connections, and where each field's arguments are read.
It writes no SQL (`graph.compiler.transpile` does). A root field outside what the compiler
maps becomes a `LoaderRoot` (graphql-core resolves it beside the statement); anything else
outside it raises `UnsupportedError`, and the loader path answers the whole operation.
Arguments are read per request: a node keeps the field and its AST (`Arguments`), and the
transpiler's slots read them with graphql-core's coercion and Strawberry's conversion.
"""

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

import graphql
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
)
from graphql.execution.values import VariableValues, get_directive_values

from graph.compiler.catalog import (
    CURRENT_SESSION_FIELD,
    EMAIL_FIELD,
    PREFERENCES_FIELD,
    CompiledType,
    catalog,
)
from graph.core.root_list import RootList, root_list_of
from graph.reports.booking_stats import booking_stats
from graph.search.resolver import search

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
# Edge fields of a searchable list (`graph.core.search.Found`), read from the page's extras.
FOUND_FIELDS = frozenset({"rank", "highlight", "matchedBy", "distanceMeters"})
# graphql-core's back-reference from a schema element to the Strawberry definition it came from.
_DEFINITION = "strawberry-definition"


class UnsupportedError(Exception):
    """The operation uses something the compiler does not map: the general path runs it."""


# --- the plan's nodes --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Arguments:
    """One field's arguments as the document gives them, read per request (see transpile)."""

    field: GraphQLField
    node: FieldNode


@dataclasses.dataclass(frozen=True, slots=True)
class Typename:
    """`__typename`: the name of the type it is selected on."""

    key: str
    type_name: str


@dataclasses.dataclass(frozen=True, slots=True)
class ScalarField:
    """A declared scalar field of a compiled type (rendered by the catalog's `scalars`)."""

    key: str
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class EmailField:
    """`User.email`, whose visibility depends on how the user was reached."""

    key: str


@dataclasses.dataclass(frozen=True, slots=True)
class PreferencesField:
    """`User.preferences`, shown to the user themselves and admins."""

    key: str


@dataclasses.dataclass(frozen=True, slots=True)
class PersonalField:
    """A field shown to one user and admins (`personal_field`): `AuditEvent.actorEmail`."""

    key: str
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class CurrentSessionField:
    """`Session.current`: whether the session is the one the request signed in with."""

    key: str


@dataclasses.dataclass(frozen=True, slots=True)
class ToOneField:
    """A many-to-one field: the object its foreign key points at, or null."""

    key: str
    name: str
    target: "ObjectSelection"


@dataclasses.dataclass(frozen=True, slots=True)
class ChildField:
    """A child connection of its parent (`Venue.bookings`), paged by its arguments."""

    key: str
    name: str
    connection: "ConnectionSelection"
    arguments: Arguments


@dataclasses.dataclass(frozen=True, slots=True)
class HistoryField:
    """`history`: the object's audit events, paged by `first` and `after`."""

    key: str
    name: str
    connection: "ConnectionSelection"
    arguments: Arguments


@dataclasses.dataclass(frozen=True, slots=True)
class NearbyField:
    """`nearbyVenues` of the viewer's own user: venues near their home, paged by its arguments."""

    key: str
    name: str
    connection: "ConnectionSelection"
    arguments: Arguments


ObjectField = (
    Typename
    | ScalarField
    | EmailField
    | PreferencesField
    | PersonalField
    | CurrentSessionField
    | ToOneField
    | ChildField
    | HistoryField
    | NearbyField
)


@dataclasses.dataclass(frozen=True, slots=True)
class ObjectSelection:
    """The fields selected on one object of a compiled type, by response key in order."""

    type_name: str
    fields: tuple[ObjectField, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class CursorField:
    """An edge's `cursor`."""

    key: str


@dataclasses.dataclass(frozen=True, slots=True)
class NodeField:
    """An edge's `node`."""

    key: str
    node: ObjectSelection


@dataclasses.dataclass(frozen=True, slots=True)
class FoundField:
    """A search value of a list's edge (`rank`, `highlight`, ...): null without `search`."""

    key: str
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class UnionNodeField:
    """An edge's `node` of a union type (`SearchResult`): what each member type selects."""

    key: str
    selections: Mapping[str, ObjectSelection]


EdgeField = Typename | CursorField | NodeField | UnionNodeField | FoundField


@dataclasses.dataclass(frozen=True, slots=True)
class EdgesField:
    """A connection's `edges` (every `edges` selection of the connection, merged)."""

    key: str


@dataclasses.dataclass(frozen=True, slots=True)
class TotalCountField:
    """A connection's `totalCount`."""

    key: str


@dataclasses.dataclass(frozen=True, slots=True)
class PageInfoField:
    """A connection's `pageInfo`: its fields as (response key, field name)."""

    key: str
    fields: tuple[tuple[str, str], ...]


ConnectionField = Typename | EdgesField | TotalCountField | PageInfoField
PAGE_INFO_FIELDS = frozenset(
    {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"}
)


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionSelection:
    """What a connection field selects: its own fields and one merged edge."""

    type_name: str
    fields: tuple[ConnectionField, ...]
    edge: tuple[EdgeField, ...]
    # The GraphQL type of the connection's nodes.
    node_type: str
    # `startCursor` or `endCursor` selected: each row's cursor is computed.
    wants_page_cursors: bool


@dataclasses.dataclass(frozen=True, slots=True)
class VenueRoot:
    """`venue(id:)`: one live venue, or null."""

    key: str
    arguments: Arguments
    venue: ObjectSelection


@dataclasses.dataclass(frozen=True, slots=True)
class NodeRoot:
    """`node(id:)`: the object of whichever type the ID names, selected per type.

    A type whose selection the compiler cannot plan maps to None (its IDs take the loader
    path); a type missing here is not compiled at all.
    """

    key: str
    arguments: Arguments
    selections: Mapping[str, "ObjectSelection | None"]


@dataclasses.dataclass(frozen=True, slots=True)
class NodesRoot:
    """`nodes(ids:)`: per ID, the object of whichever type it names, selected per type.

    As `NodeRoot`: a type mapped to None takes the loader path when an ID names it.
    """

    key: str
    arguments: Arguments
    selections: Mapping[str, "ObjectSelection | None"]


@dataclasses.dataclass(frozen=True, slots=True)
class SearchRoot:
    """The root `search`: venues and media on one ranked page (`graph.search.resolver`)."""

    key: str
    arguments: Arguments
    connection: ConnectionSelection


@dataclasses.dataclass(frozen=True, slots=True)
class ViewerRoot:
    """`viewer`: the signed-in user, or null."""

    key: str
    user: ObjectSelection


@dataclasses.dataclass(frozen=True, slots=True)
class ListRoot:
    """A root list declared by a `RootList` (`venues`, `bookings`, `media`, `users`)."""

    key: str
    root_list: RootList[Any, Any, Any]
    arguments: Arguments
    connection: ConnectionSelection


# Fields of a `bookingStats` bucket (`graph.reports.booking_stats.BookingStatsBucket`).
BUCKET_FIELDS = frozenset({"key", "count", "completedCount", "completedRevenue"})


@dataclasses.dataclass(frozen=True, slots=True)
class StatsRoot:
    """`bookingStats`: the buckets of the aggregate, each field as (response key, field name).

    `__typename` is kept as a field named `__typename`, rendered as the bucket type's name.
    """

    key: str
    arguments: Arguments
    type_name: str
    fields: tuple[tuple[str, str], ...]


@dataclasses.dataclass(frozen=True, slots=True)
class LoaderRoot:
    """A root field the compiler does not plan (`databaseHealth`): graphql-core resolves it."""

    key: str
    nodes: tuple[FieldNode, ...]


RootField = (
    Typename
    | VenueRoot
    | NodeRoot
    | NodesRoot
    | ViewerRoot
    | ListRoot
    | SearchRoot
    | StatsRoot
    | LoaderRoot
)


@dataclasses.dataclass(frozen=True, slots=True)
class OperationPlan:
    """The typed plan of one query operation: its root fields in response order."""

    fields: tuple[RootField, ...]
    # Each root field's nodes in the document (graphql-core resolves them when a request
    # leaves that field to it: a `LoaderRoot`, or a field the request demotes).
    nodes: tuple[tuple[FieldNode, ...], ...] = ()


# Fields the compiler renders by a rule of their own (see the catalog).
_SPECIAL_LEAVES: Mapping[
    tuple[str, str], type[EmailField | PreferencesField | CurrentSessionField]
] = {
    EMAIL_FIELD: EmailField,
    PREFERENCES_FIELD: PreferencesField,
    CURRENT_SESSION_FIELD: CurrentSessionField,
}

# --- planning ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Builder:
    """Turns one operation's selections into an `OperationPlan`."""

    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    types: Mapping[str, CompiledType]
    # `@skip`/`@include`, decided once for the plan (see `Inclusion`).
    inclusion: "Inclusion"

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
            if selection.directives and not self.inclusion.included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(parent, condition.name.value):
                    self._collect(parent, selection.selection_set, fields, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments.get(name)
                if fragment is None or fragment.directives:
                    raise UnsupportedError
                if self._applies(parent, fragment.type_condition.name.value):
                    self._collect(parent, fragment.selection_set, fields, visited)
            else:
                raise UnsupportedError

    def _applies(self, parent: GraphQLObjectType, condition: str) -> bool:
        """Whether a fragment on `condition` applies to an object of `parent`.

        graphql-core's rule: the type itself, or an interface or union it belongs to.
        """
        condition_type = self.schema.get_type(condition)
        if condition_type is parent:
            return True
        return is_abstract_type(condition_type) and self.schema.is_sub_type(condition_type, parent)

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
    def _no_arguments(nodes: Sequence[FieldNode]) -> None:
        if any(node.arguments for node in nodes):
            raise UnsupportedError

    @staticmethod
    def _no_selection(nodes: Sequence[FieldNode]) -> None:
        if any(node.selection_set is not None for node in nodes):
            raise UnsupportedError

    @staticmethod
    def _field_type(parent: GraphQLObjectType, name: str) -> GraphQLObjectType:
        named = get_named_type(parent.fields[name].type)
        if not isinstance(named, GraphQLObjectType):
            raise UnsupportedError
        return named

    def _subfields(
        self, parent: GraphQLObjectType, nodes: Sequence[FieldNode], name: str
    ) -> list[FieldNode]:
        found: list[FieldNode] = []
        for node in nodes:
            for _, field_nodes in self.collect(parent, node.selection_set):
                found += [field for field in field_nodes if field.name.value == name]
        return found

    def object_selection(
        self,
        graphql_type: GraphQLObjectType,
        nodes: Sequence[FieldNode],
        *,
        the_viewer: bool = False,
        abstract: bool = False,
    ) -> ObjectSelection:
        """One object of a compiled type, selected by `nodes`' merged selections.

        `the_viewer`: the object is the viewer's own user (`viewer`). `abstract`: it is
        reached through an interface or union, where a type may select nothing (`{}`).
        """
        type_name = graphql_type.name
        compiled = self.types.get(type_name)
        if compiled is None:
            raise UnsupportedError
        fields: list[ObjectField] = []
        for key, field_nodes in self._merged(graphql_type, nodes):
            name = field_nodes[0].name.value
            if field_nodes[0].arguments and not (
                name in compiled.children or name in compiled.histories or name in compiled.nearby
            ):
                raise UnsupportedError
            leaf = self._leaf(compiled, key, name)
            if leaf is None:
                fields.append(self._relation(graphql_type, key, field_nodes, the_viewer=the_viewer))
            else:
                if not isinstance(leaf, Typename):
                    self._no_selection(field_nodes)
                fields.append(leaf)
        if not fields and not abstract:
            raise UnsupportedError
        return ObjectSelection(type_name, tuple(fields))

    @staticmethod
    def _leaf(
        compiled: CompiledType, key: str, name: str
    ) -> (
        Typename
        | ScalarField
        | PersonalField
        | EmailField
        | PreferencesField
        | CurrentSessionField
        | None
    ):
        """A field of `compiled` that selects no fields of its own; None for a relation."""
        if name == "__typename":
            return Typename(key, compiled.name)
        if name in compiled.scalars:
            return ScalarField(key, name)
        if name in compiled.personal:
            return PersonalField(key, name)
        special = _SPECIAL_LEAVES.get((compiled.name, name))
        return special(key) if special is not None else None

    def _relation(
        self,
        parent: GraphQLObjectType,
        key: str,
        nodes: Sequence[FieldNode],
        *,
        the_viewer: bool,
    ) -> ToOneField | ChildField | HistoryField | NearbyField:
        """A many-to-one field, a child connection, the history or nearby venues of a type."""
        compiled = self.types[parent.name]
        name = nodes[0].name.value
        if name in compiled.nearby:
            # Only the user themselves may list them (`may_see_nearby_venues`): compiled on
            # `viewer`, where the user is the viewer; anywhere else the loader path answers.
            if not the_viewer:
                raise UnsupportedError
            connection = self.connection_selection(self._field_type(parent, name), nodes)
            return NearbyField(key, name, connection, Arguments(parent.fields[name], nodes[0]))
        if name in compiled.to_one:
            target = self.object_selection(self._field_type(parent, name), nodes)
            return ToOneField(key, name, target)
        if name in compiled.histories:
            connection = self.connection_selection(self._field_type(parent, name), nodes)
            return HistoryField(key, name, connection, Arguments(parent.fields[name], nodes[0]))
        if name not in compiled.children:
            raise UnsupportedError
        arguments = Arguments(parent.fields[name], nodes[0])
        connection = self.connection_selection(self._field_type(parent, name), nodes)
        return ChildField(key, name, connection, arguments)

    def connection_selection(
        self, connection: GraphQLObjectType, nodes: Sequence[FieldNode]
    ) -> ConnectionSelection:
        """A connection's fields, its merged edge and whether rows need their cursors."""
        edge = self._edge(connection, nodes)
        fields: list[ConnectionField] = []
        for key, field_nodes in self._merged(connection, nodes):
            name = field_nodes[0].name.value
            if field_nodes[0].arguments:
                raise UnsupportedError
            if name == "__typename":
                fields.append(Typename(key, connection.name))
            elif name == "edges":
                if any(isinstance(field, EdgesField) for field in fields):
                    # One merged edge serves every `edges` key; two keys may select apart.
                    raise UnsupportedError
                fields.append(EdgesField(key))
            elif name == "totalCount":
                fields.append(TotalCountField(key))
            elif name == "pageInfo":
                fields.append(PageInfoField(key, self._page_info(connection, field_nodes)))
            else:
                raise UnsupportedError
        if not fields:
            raise UnsupportedError
        node_type = get_named_type(self._field_type(connection, "edges").fields["node"].type)
        return ConnectionSelection(
            connection.name,
            tuple(fields),
            edge,
            node_type.name,
            self._wants_page_cursors(connection, nodes),
        )

    def _page_info(
        self, connection: GraphQLObjectType, nodes: Sequence[FieldNode]
    ) -> tuple[tuple[str, str], ...]:
        page_info = self._field_type(connection, "pageInfo")
        fields: list[tuple[str, str]] = []
        for key, info_nodes in self._merged(page_info, nodes):
            name = info_nodes[0].name.value
            if name not in PAGE_INFO_FIELDS or info_nodes[0].arguments:
                raise UnsupportedError
            fields.append((key, name))
        return tuple(fields)

    def _edge(
        self, connection: GraphQLObjectType, nodes: Sequence[FieldNode]
    ) -> tuple[EdgeField, ...]:
        edge_type = self._field_type(connection, "edges")
        node_type = get_named_type(edge_type.fields["node"].type)
        fields: list[EdgeField] = []
        for key, field_nodes in self._merged(
            edge_type, self._subfields(connection, nodes, "edges")
        ):
            name = field_nodes[0].name.value
            if field_nodes[0].arguments:
                raise UnsupportedError
            if name == "__typename":
                fields.append(Typename(key, edge_type.name))
            elif name == "cursor":
                fields.append(CursorField(key))
            elif name == "node" and isinstance(node_type, GraphQLObjectType):
                fields.append(NodeField(key, self.object_selection(node_type, field_nodes)))
            elif name == "node" and isinstance(node_type, GraphQLUnionType):
                members = {
                    member.name: self.object_selection(member, field_nodes, abstract=True)
                    for member in node_type.types
                }
                fields.append(UnionNodeField(key, members))
            elif name in FOUND_FIELDS:
                self._no_selection(field_nodes)
                fields.append(FoundField(key, name))
            else:
                raise UnsupportedError
        return tuple(fields)

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

    def operation(
        self, query_type: GraphQLObjectType, operation: OperationDefinitionNode
    ) -> OperationPlan:
        """The plan of `operation`'s root fields."""
        fields: list[RootField] = []
        collected = self.collect(query_type, operation.selection_set)
        for key, nodes in collected:
            if not _NAME.match(key):
                raise UnsupportedError
            try:
                fields.append(self._root_field(query_type, key, nodes))
            except (UnsupportedError, KeyError):
                fields.append(LoaderRoot(key, tuple(nodes)))
        if all(isinstance(field, LoaderRoot | Typename) for field in fields):
            raise UnsupportedError  # nothing for a statement to answer
        return OperationPlan(tuple(fields), tuple(tuple(nodes) for _, nodes in collected))

    def _root_field(
        self, query_type: GraphQLObjectType, key: str, nodes: list[FieldNode]
    ) -> RootField:
        """One root field's plan; `UnsupportedError` when graphql-core must resolve it."""
        name = nodes[0].name.value
        if name == "__typename":
            return Typename(key, query_type.name)
        if name == "venue":
            arguments = Arguments(query_type.fields["venue"], nodes[0])
            venue = self.object_selection(self._field_type(query_type, "venue"), nodes)
            return VenueRoot(key, arguments, venue)
        if name in {"node", "nodes"}:
            field = query_type.fields[name]
            selections = self._per_node_type(get_named_type(field.type), nodes)
            if name == "node":
                return NodeRoot(key, Arguments(field, nodes[0]), selections)
            return NodesRoot(key, Arguments(field, nodes[0]), selections)
        if name == "viewer":
            self._no_arguments(nodes)
            user = self.object_selection(
                self._field_type(query_type, "viewer"), nodes, the_viewer=True
            )
            return ViewerRoot(key, user)
        return self._connection_root(query_type, key, nodes)

    def _connection_root(
        self, query_type: GraphQLObjectType, key: str, nodes: list[FieldNode]
    ) -> ListRoot | SearchRoot | StatsRoot:
        """A root list (`venues`, ...), the global `search` or `bookingStats`, by its resolver."""
        name = nodes[0].name.value
        field = query_type.fields[name]
        definition = field.extensions.get(_DEFINITION)
        resolver = getattr(getattr(definition, "base_resolver", None), "wrapped_func", None)
        if resolver is booking_stats:
            return self._stats_root(query_type, key, nodes)
        root_list = root_list_of(resolver)
        if resolver is not search and root_list is None:
            raise UnsupportedError
        connection = self.connection_selection(self._field_type(query_type, name), nodes)
        if root_list is None:
            return SearchRoot(key, Arguments(field, nodes[0]), connection)
        return ListRoot(key, root_list, Arguments(field, nodes[0]), connection)

    def _stats_root(
        self, query_type: GraphQLObjectType, key: str, nodes: list[FieldNode]
    ) -> StatsRoot:
        """`bookingStats`: its arguments and the bucket fields selected, merged in order."""
        field = query_type.fields[nodes[0].name.value]
        bucket = self._field_type(query_type, nodes[0].name.value)
        fields: list[tuple[str, str]] = []
        for bucket_key, field_nodes in self._merged(bucket, nodes):
            name = field_nodes[0].name.value
            if name not in BUCKET_FIELDS | {"__typename"} or field_nodes[0].arguments:
                raise UnsupportedError
            fields.append((bucket_key, name))
        if not fields:
            raise UnsupportedError
        return StatsRoot(key, Arguments(field, nodes[0]), bucket.name, tuple(fields))

    def _per_node_type(
        self, node_interface: GraphQLNamedType, nodes: Sequence[FieldNode]
    ) -> dict[str, ObjectSelection | None]:
        """What `node`/`nodes` select of each compiled `Node` type (None: not plannable)."""
        if not isinstance(node_interface, GraphQLInterfaceType):
            raise UnsupportedError
        selections: dict[str, ObjectSelection | None] = {}
        for possible in self.schema.get_possible_types(node_interface):
            if possible.name not in self.types:
                continue
            try:
                selections[possible.name] = self.object_selection(possible, nodes, abstract=True)
            except (UnsupportedError, KeyError):
                selections[possible.name] = None
        return selections


@dataclasses.dataclass(frozen=True, slots=True)
class Inclusion:
    """How `@skip` and `@include` were decided for a plan: their `if` values, in document order.

    A plan holds for the requests whose variables decide every directive the same way, so the
    decisions are part of its cache key (`decisions`). Any other directive on a selection is
    refused.
    """

    variables: VariableValues | None

    def included(self, node: SelectionNode) -> bool:
        """Whether `node` is selected, as graphql-core decides it."""
        if self.variables is None or any(
            directive.name.value not in {"skip", "include"} for directive in node.directives or ()
        ):
            raise UnsupportedError
        assert isinstance(node, FieldNode | InlineFragmentNode | FragmentSpreadNode)  # noqa: S101 - graphql-core's selections
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip is not None and skip["if"] is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include is not None and include["if"] is False)


def decisions(document: DocumentNode, variables: VariableValues) -> tuple[bool, ...]:
    """Every `@skip`/`@include` of `document` decided for `variables`, in document order."""
    inclusion = Inclusion(variables)
    found: list[bool] = []

    class Visitor(graphql.Visitor):
        def enter(self, node: object, *_args: object) -> None:
            if isinstance(node, FieldNode | InlineFragmentNode | FragmentSpreadNode) and (
                node.directives
            ):
                try:
                    found.append(inclusion.included(node))
                except (UnsupportedError, GraphQLError):  # another operation's variable
                    found.append(False)

    graphql.visit(document, Visitor())
    return tuple(found)


def plan_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: VariableValues | None = None,
) -> tuple[OperationDefinitionNode, OperationPlan] | None:
    """The operation `operation_name` of `document` and its plan; None if unsupported."""
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
    inclusion = Inclusion(variables)
    operation = chosen[0]
    query_type = schema.query_type
    # graphql-core parses `{}` (an empty selection set) and validation lets it through; the
    # general path answers `{"data": {}}`, which a plan with no fields cannot spell.
    if query_type is None or not operation.selection_set.selections:
        return None
    try:
        builder = Builder(schema, fragments, catalog(schema), inclusion)
        plan = builder.operation(query_type, operation)
    except (UnsupportedError, KeyError):
        return None
    return operation, plan
