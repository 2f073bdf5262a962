"""SQL generation: a typed plan (`graph.compiler.builder`) as one statement returning `data`.

As pg_graphql's `transpile.rs`, this turns the plan's nodes into SQL and knows nothing of the
GraphQL document: columns become JSON text, many-to-one fields correlated scalar subqueries,
connections a page subquery aggregated with `string_agg`; the statement returns one column per
compiled root field (`Plan.data` splices them with any graphql-core resolved).

What a request adds (its arguments, its viewer) is read per request into *pieces*: for each
node that takes arguments, the SQL the loader path would run for them, built by the loader
path's own code (`RootList.page_query`, the types' `visible` rules, `page_window`). Building
the whole statement costs milliseconds, so it is built once per *shape* (which pieces, with
which structure: the ordering, the filter fields given, whether a cursor was) and compiled;
a later request of that shape only builds its pieces (or finds them cached by viewer and
arguments), reads their parameter values in SQLAlchemy's cache-key order, and runs the cached
SQL with them. A piece the loader path
refuses (a bad cursor, a page too large, a viewer not allowed) makes the request fall back, so
the loader path reports the error with its code. What only the rows decide (a `history` the
viewer may not read, a value Python would write otherwise) the statement writes as
`json_sql.FALL_BACK`, and a response holding it is answered by the loader path too.
"""

import dataclasses
import itertools
import json
import logging
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from sqlalchemy import (
    ARRAY,
    BindParameter,
    ClauseElement,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    case,
    column,
    false,
    func,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import UUID, aggregate_order_by
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import CompileError
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from graph.compiler import json_sql as js
from graph.compiler.builder import (
    Arguments,
    ChildField,
    ConnectionSelection,
    CurrentSessionField,
    CursorField,
    EdgesField,
    EmailField,
    FoundField,
    HistoryField,
    ListRoot,
    LoaderRoot,
    NearbyField,
    NodeField,
    NodeRoot,
    NodesRoot,
    ObjectSelection,
    OperationPlan,
    PageInfoField,
    PersonalField,
    PreferencesField,
    ScalarField,
    SearchRoot,
    StatsRoot,
    ToOneField,
    TotalCountField,
    Typename,
    UnionNodeField,
    UnsupportedError,
    VenueRoot,
    ViewerRoot,
    plan_operation,
)
from graph.compiler.catalog import ChildList, CompiledType, catalog
from graph.core.bounded_cache import MISSING, BoundedCache
from graph.core.child_connection import hashable, plan_child_page
from graph.core.context import Context
from graph.core.enums import BookingStatus
from graph.core.errors import ClientError
from graph.core.global_id import decode_typed_id
from graph.core.loaders import HISTORY_ORDERING
from graph.core.node_lookup import decoded_node_id, decoded_node_ids
from graph.core.paging import (
    ROWS_AFTER,
    ROWS_BEFORE,
    Ordering,
    Window,
    at_or_beyond,
    beyond,
    rows_exist,
)
from graph.core.permissions import email_visible, history_readable, is_self_or_admin
from graph.core.read_model import HistoryRead, NearbyRead
from graph.core.viewer import Viewer
from graph.reports.booking_stats import plan_stats
from graph.search.resolver import plan_results
from models import BookingStatus as StoredStatus
from models import StatsGrouping, bucket_order
from models.search import marked_html_sql

logger = logging.getLogger(__name__)
_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]
# graphql-core's back-reference from a schema element to the Strawberry definition it came from.
_DEFINITION = "strawberry-definition"
# Compiled statements kept by the process, each for one plan and one shape its requests take
# (orderings, filters given), and pieces kept, each for one slot, viewer and argument set. One
# bound for all plans, so many documents or argument sets cannot grow a worker's memory.
STATEMENTS_CACHED = 1024
PIECES_CACHED = 4096
_STATEMENTS = BoundedCache(STATEMENTS_CACHED)
_PIECES = BoundedCache(PIECES_CACHED)
# Whole bindings (SQL and values) per plan, viewer and variables as sent: a client repeats the
# same few variable sets, and binding slot by slot was about a thirteenth of a small read.
# Variables longer than this are bound slot by slot every time (the key would be large).
_BINDINGS = BoundedCache(PIECES_CACHED)
MAX_KEYED_VARIABLES_CHARS = 512
# Plans and slots are told apart in those caches by a number of their own, never reused.
_SERIALS = itertools.count()


def viewer_kind(viewer: Viewer | None) -> str:
    """The part of the viewer that changes a plan (its role); the rest is a piece's value."""
    if viewer is None:
        return "anonymous"
    return str(viewer.role)


# --- one request's inputs ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """What one request gives a plan: its context and its coerced variables."""

    context: Context
    variables: VariableValues
    schema: strawberry.Schema

    def arguments(self, arguments: Arguments, coerced: dict[str, Any]) -> dict[str, Any]:
        """A field's arguments as its resolver receives them (Python names, input objects)."""
        definition = arguments.field.extensions.get(_DEFINITION)
        if not isinstance(definition, StrawberryField):
            raise UnsupportedError
        converter = self.schema.schema_converter
        return convert_arguments(
            coerced,
            definition.arguments,
            scalar_registry=converter.scalar_registry,
            config=self.schema.config,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Piece:
    """The SQL one node needs for one request.

    `shape` is what changes the statement's structure beyond the clauses' own (an ordering's
    name, which way the page reads); `clauses` are the request's SQL, whose parameter values
    change from request to request; `sql` names them for the transpiler.
    """

    shape: Hashable
    sql: Mapping[str, Any]

    @property
    def clauses(self) -> tuple[ClauseElement, ...]:
        """Every SQL element of the piece, in a fixed order."""
        found: list[ClauseElement] = []
        for value in self.sql.values():
            if isinstance(value, ClauseElement):
                found.append(value)
            elif isinstance(value, tuple | list):
                found += [item for item in value if isinstance(item, ClauseElement)]
            elif isinstance(value, Mapping):
                found += [item for item in value.values() if isinstance(item, ClauseElement)]
        return tuple(found)


# How a node's piece is built from the request and the node's converted arguments. It must
# depend on nothing else (no clock, no state): pieces are cached by those two.
Build = Callable[[Request, dict[str, Any]], Piece]


@dataclasses.dataclass(frozen=True, slots=True)
class Built:
    """A piece and what binding reads of it: its shape, its clauses' cache keys and values."""

    piece: Piece
    shape: Hashable
    values: tuple[tuple[Any, ...], ...]


@dataclasses.dataclass
class Slot:
    """One node's per-request SQL: built from its arguments and the viewer, cached by them."""

    arguments: Arguments | None
    build: Build
    # (slot index, type name): built only when that `node(id:)` slot names the type.
    when: tuple[int, str] | None = None
    serial: int = dataclasses.field(default_factory=lambda: next(_SERIALS))

    def built(self, request: Request) -> Built | None:
        """This request's piece (None when the loader path must answer: it reports the error).

        `_DEMOTED` when graphql-core must resolve the slot's root field (`LoaderOnlyError`).
        """
        coerced: dict[str, Any] = {}
        if self.arguments is not None:
            coerced = get_argument_values(
                self.arguments.field, self.arguments.node, request.variables
            )
        # Everything a build reads of the request: the viewer (or why a token was refused)
        # and the node's arguments.
        viewer = request.context.viewer
        key = (
            self.serial,
            None if viewer is None else (viewer.user_id, viewer.role, viewer.session_id),
            request.context.auth_failure,
            hashable(coerced),
        )
        cached = _PIECES.get(key)
        if cached is not MISSING:
            found: Built | None = cached
            return found
        found = self._build(request, coerced)
        _PIECES.put(key, found)
        return found

    def _build(self, request: Request, coerced: dict[str, Any]) -> Built | None:
        try:
            converted = (
                request.arguments(self.arguments, coerced) if self.arguments is not None else {}
            )
            piece = self.build(request, converted)
            keys = [_cache_key(clause) for clause in piece.clauses]
        except LoaderOnlyError:
            return _DEMOTED
        except (ClientError, GraphQLError, ValueError, TypeError, UnsupportedError, RecursionError):
            return None
        return Built(
            piece,
            (piece.shape, tuple(key for key, _ in keys)),
            tuple(tuple(parameter.effective_value for parameter in found) for _, found in keys),
        )


def _binding_key(
    serial: int, variables: dict[str, Any] | None, context: Context
) -> tuple[Hashable, ...] | None:
    """What a binding depends on: the plan, the viewer (or a token's refusal), the variables.

    None when the variables are too long to key or not JSON (a Python caller's objects).
    """
    try:
        sent = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    if len(sent) > MAX_KEYED_VARIABLES_CHARS:
        return None
    viewer = context.viewer
    who = None if viewer is None else (viewer.user_id, viewer.role, viewer.session_id)
    return serial, who, context.auth_failure, sent


# A slot of a type `node(id:)` did not name this time: no SQL, no values.
_SKIPPED = Built(Piece("skipped", {}), "skipped", ())
# A slot of a root field this request leaves to graphql-core (`LoaderOnlyError`).
_DEMOTED = Built(Piece("demoted", {}), "demoted", ())


class LoaderOnlyError(UnsupportedError):
    """The request names what only the loader path reads, and reads without refusing it.

    An audit event's ID in `nodes(ids:)`, or the ID of a type whose selection the compiler
    does not plan: the root field is resolved by graphql-core beside the statement (as a
    `LoaderRoot`), and the statement answers the others. Errors are not this: a request the
    loader path refuses is left to it whole (`Slot.built` gives None).
    """


# A piece's `sql` key: the statement holding it is planned for its parameters each run.
PLAN_AS_SEARCH = "plan_as_search"


def _size_parameters(size: int) -> dict[str, BindParameter[int]]:
    return {
        "size": bindparam(None, size, type_=Integer),
        "size_plus_one": bindparam(None, size + 1, type_=Integer),
    }


def _list_piece(  # noqa: PLR0913 - a page, its extras and a branched read's parts
    ordering: Ordering,
    window: Window,
    where: ColumnElement[bool],
    *,
    extras: Mapping[str, ColumnElement[Any]],
    scope: Callable[[ColumnElement[bool]], Select[Any]],
    matched: Sequence[ColumnElement[bool]] = (),
    among: ColumnElement[bool] | None = None,
    outside: Mapping[str, ColumnElement[bool]] | None = None,
    plan_as_search: bool = False,
) -> Piece:
    """A page's SQL: its rows' condition, keyset bounds, flags for rows beyond, sizes.

    As `graph.core.list_page.PageQuery` has them: `where` the rows the page is read in,
    `matched` what else the list's rows meet (counted), `among` the rows that can be on the
    page, `outside` whether rows lie beyond the cursors.
    """
    sql: dict[str, Any] = {
        "where": where,
        "order": tuple(key.expression for key in ordering.keys),
        "extras": dict(extras),
        **_size_parameters(window.size),
    }
    if plan_as_search:
        sql[PLAN_AS_SEARCH] = True
    if among is not None:
        sql["among"] = among
    if matched:
        sql["counted"] = and_(where, *matched)
    if outside is not None:
        if window.after is not None:
            sql["after"] = beyond(ordering, window.after, forward=True)
            sql["rows_before"] = outside[ROWS_BEFORE]
        if window.before is not None:
            sql["before"] = beyond(ordering, window.before, forward=False)
            sql["rows_after"] = outside[ROWS_AFTER]
        return Piece(
            (ordering.name, window.backward, "outside", among is not None, tuple(extras)),
            {"ordering": ordering, "backward": window.backward, **sql},
        )
    if window.after is not None:
        sql["after"] = beyond(ordering, window.after, forward=True)
        sql["rows_before"] = rows_exist(
            scope(and_(where, at_or_beyond(ordering, window.after, forward=False))),
            ordering,
            name=ROWS_BEFORE,
        )
    if window.before is not None:
        sql["before"] = beyond(ordering, window.before, forward=False)
        sql["rows_after"] = rows_exist(
            scope(and_(where, at_or_beyond(ordering, window.before, forward=True))),
            ordering,
            name=ROWS_AFTER,
        )
    shape = (
        ordering.name,
        window.backward,
        window.after is not None,
        window.before is not None,
        "among" in sql,
        "counted" in sql,
        tuple(extras),
    )
    return Piece(shape, {"ordering": ordering, "backward": window.backward, **sql})


# --- compiled statements -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Statement:
    """One shape's SQL and where each of its parameters comes from."""

    sql: str
    # Per positional parameter: (clause index, parameter index, element index or None) for a
    # request value, or (-1, value, None) for a constant of the statement.
    sources: tuple[tuple[int, Any, int | None], ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def parameters(self, values: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
        """The positional parameters of one request, from its clauses' values."""
        out: list[Any] = []
        for (clause, index, element), processor in zip(self.sources, self.processors, strict=True):
            value = index if clause < 0 else values[clause][index]
            if element is not None:
                value = value[element]
            out.append(processor(value) if processor is not None else value)
        return tuple(out)


def _cache_key(clause: ClauseElement) -> tuple[Hashable, list[BindParameter[Any]]]:
    key = clause._generate_cache_key()  # noqa: SLF001 - SQLAlchemy's own statement cache key
    if key is None:
        raise UnsupportedError
    # An IN list renders one parameter per element: its length is part of the shape.
    lengths = tuple(
        len(parameter.effective_value or ()) if parameter.expanding else None
        for parameter in key.bindparams
    )
    return (key.key, lengths), list(key.bindparams)


def _compile(statement: Select[Any], clauses: Sequence[ClauseElement]) -> Statement:
    compiled = statement.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    origin: dict[str, tuple[int, int]] = {}
    for clause_index, clause in enumerate(clauses):
        _, parameters = _cache_key(clause)
        for parameter_index, parameter in enumerate(parameters):
            origin.setdefault(parameter.key, (clause_index, parameter_index))
    sources: list[tuple[int, Any, int | None]] = []
    processors: list[Callable[[Any], Any] | None] = []
    bind_processors = compiled._bind_processors  # noqa: SLF001 - the dialect's value processing
    for name in compiled.positiontup or ():
        element: int | None = None
        if name in compiled.binds:
            parameter = compiled.binds[name]
        else:  # the n-th element of an expanded IN list: `<name>_<n>`
            base, _, position = name.rpartition("_")
            parameter = compiled.binds[base]
            element = int(position) - 1
        if parameter.key in origin:
            clause_index, parameter_index = origin[parameter.key]
            sources.append((clause_index, parameter_index, element))
        else:
            value: Any = parameter.effective_value
            sources.append((-1, value if element is None else value[element], None))
        processor = bind_processors.get(name)
        processors.append(processor if callable(processor) else None)
    return Statement(compiled.string, tuple(sources), tuple(processors))


# --- the plan ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Binding:
    """One request's statement: its SQL, its parameters, and the root fields it leaves out.

    `demoted`: indexes of root fields this request leaves to graphql-core (see
    `LoaderOnlyError`); they are resolved beside the statement, as `LoaderRoot`s are.
    """

    sql: str
    parameters: tuple[Any, ...]
    demoted: frozenset[int] = frozenset()
    # A search's statement, planned for its parameters each run (`RequestDatabase.run`).
    plan_as_search: bool = False


@dataclasses.dataclass
class Plan:
    """A compiled operation: its typed plan, its slots, and a statement per shape."""

    operation: OperationDefinitionNode
    plan: OperationPlan
    schema: GraphQLSchema
    viewer: Viewer | None
    slots: list[Slot]
    # Per plan node (by id), the SQL scope its slot and its rendering share.
    scopes: dict[int, FromClause]
    # Per plan node (by id), the index of its slot.
    slot_of: dict[int, int]
    # Per slot, the index of the root field it serves.
    root_of: list[int]
    # The document's fragments, for the documents graphql-core runs beside the statement.
    fragments: tuple[FragmentDefinitionNode, ...]
    serial: int = dataclasses.field(default_factory=lambda: next(_SERIALS))
    # Per set of demoted root fields, the operation graphql-core runs (see `loader_document`).
    _loader_documents: dict[frozenset[int], DocumentNode | None] = dataclasses.field(
        default_factory=dict
    )

    def loader_document(self, demoted: frozenset[int] = frozenset()) -> DocumentNode | None:
        """The operation with only the root fields graphql-core resolves (None: none are).

        They are the `LoaderRoot`s and the fields the request demoted (`demoted`).
        """
        if demoted not in self._loader_documents:
            nodes = [
                node
                for index, field in enumerate(self.plan.fields)
                if isinstance(field, LoaderRoot) or index in demoted
                for node in self.plan.nodes[index]
            ]
            self._loader_documents[demoted] = (
                _loader_document(self.operation, self.fragments, nodes) if nodes else None
            )
        return self._loader_documents[demoted]

    def data(
        self,
        texts: Sequence[str],
        loaded: Mapping[str, Any] | None,
        demoted: frozenset[int] = frozenset(),
    ) -> str:
        """The response's `data` as JSON text, root fields in the operation's order.

        `texts`: the statement's root fields in order; `loaded`: graphql-core's data, for the
        `LoaderRoot`s and the `demoted` fields.
        """
        compiled = iter(texts)
        parts = []
        for index, field in enumerate(self.plan.fields):
            if isinstance(field, LoaderRoot) or index in demoted:
                assert loaded is not None  # noqa: S101 - a plan with loader fields loads them
                value = json.dumps(loaded[field.key], separators=(",", ":"))
            else:
                value = next(compiled)
            parts.append(f'"{field.key}":{value}')
        return "{" + ",".join(parts) + "}"

    def bind(
        self, variables: dict[str, Any] | None, context: Context, schema: strawberry.Schema
    ) -> Binding | None:
        """The statement for one request; None when the loader path must answer."""
        key = _binding_key(self.serial, variables, context)
        if key is not None:
            cached = _BINDINGS.get(key)
            if cached is not MISSING:
                binding: Binding | None = cached
                return binding
        binding = self._bind(variables, context, schema)
        if key is not None:
            _BINDINGS.put(key, binding)
        return binding

    def _bind(
        self, variables: dict[str, Any] | None, context: Context, schema: strawberry.Schema
    ) -> Binding | None:
        try:
            coerced = get_variable_values(
                self.schema, self.operation.variable_definitions or (), variables or {}
            )
        except RecursionError:
            return None
        if isinstance(coerced, list):
            return None
        found = self._pieces(Request(context, coerced, schema))
        if found is None:
            return None
        demoted = frozenset(self.root_of[i] for i, item in enumerate(found) if item is _DEMOTED)
        if all(
            isinstance(field, LoaderRoot | Typename) or index in demoted
            for index, field in enumerate(self.plan.fields)
        ):
            return None  # nothing left for a statement to answer
        shape = tuple(item.shape for item in found)
        statement = _STATEMENTS.get((self.serial, shape))
        if statement is MISSING:
            pieces = [
                None if item is _SKIPPED or item is _DEMOTED else item.piece for item in found
            ]
            clauses = [clause for piece in pieces if piece is not None for clause in piece.clauses]
            statement = self._build(pieces, clauses, demoted)
            _STATEMENTS.put((self.serial, shape), statement)
        if statement is None:
            return None
        parameters = statement.parameters([values for item in found for values in item.values])
        searched = any(
            item.piece.sql.get(PLAN_AS_SEARCH, False)
            for item in found
            if item is not _SKIPPED and item is not _DEMOTED
        )
        return Binding(statement.sql, parameters, demoted, plan_as_search=searched)

    def _pieces(self, request: Request) -> list[Built] | None:
        """Each slot's piece for `request`; None to fall back.

        Slots skipped for it are `_SKIPPED`, those of a root field it demotes `_DEMOTED`.
        """
        built: list[Built] = []
        demoted: set[int] = set()
        try:
            for index, slot in enumerate(self.slots):
                root = self.root_of[index]
                if root in demoted:
                    built.append(_DEMOTED)
                    continue
                if slot.when is not None:
                    chosen = built[slot.when[0]]
                    if slot.when[1] not in chosen.piece.sql.get("types", ()):
                        built.append(_SKIPPED)
                        continue
                found = slot.built(request)
                if found is None:
                    return None
                if found is _DEMOTED:
                    demoted.add(root)
                built.append(found)
        except (GraphQLError, TypeError, RecursionError):
            # An argument graphql-core refuses, or input too deep to key: the loader path
            # answers (and refuses it with its code).
            return None
        # A root field's own slot comes first, but mark every slot of it, whatever the order.
        return [
            _DEMOTED if self.root_of[index] in demoted else item for index, item in enumerate(built)
        ]

    def _build(
        self,
        pieces: Sequence[Piece | None],
        clauses: Sequence[ClauseElement],
        demoted: frozenset[int],
    ) -> Statement | None:
        transpiler = _Transpiler(catalog(self.schema), self.viewer, pieces, self.scopes, self)
        try:
            return _compile(transpiler.root(self.plan, demoted), clauses)
        except (UnsupportedError, ValueError, KeyError):
            return None
        except CompileError:
            # A combination of pieces SQLAlchemy cannot put in one statement: a defect of
            # ours (logged, to be fixed), but the loader path still answers it correctly.
            logger.exception("the compiled path could not build a statement; loaders answer")
            return None


# --- SQL generation ----------------------------------------------------------------------------


@dataclasses.dataclass
class _Transpiler:
    types: Mapping[str, CompiledType]
    viewer: Viewer | None
    pieces: Sequence[Piece | None]
    scopes: dict[int, FromClause]
    plan: Plan

    def piece(self, node: object) -> Piece:
        """The request's piece for a plan node (see `_Slots`)."""
        found = self.pieces[self.plan.slot_of[id(node)]]
        if found is None:
            raise UnsupportedError  # a slot skipped for this request: the plan is wrong
        return found

    def object_json(self, selection: ObjectSelection, scope: FromClause) -> ColumnElement[str]:
        """JSON text of one object of a compiled type, as `selection` selects it."""
        compiled = self.types[selection.type_name]
        if not selection.fields:  # a member of a union or interface that selects nothing
            return js.const("{}")
        parts: list[ColumnElement[Any]] = []
        for index, field in enumerate(selection.fields):
            parts.append(js.const(("{" if index == 0 else ",") + f'"{field.key}":'))
            if isinstance(field, Typename):
                parts.append(js.const(f'"{field.type_name}"'))
            elif isinstance(field, ScalarField):
                parts.append(compiled.scalars[field.name](scope))
            elif isinstance(field, EmailField):
                visible = self.piece(field).sql["visible"]
                parts.append(case((visible, js.json_string(scope.c.email)), else_=js.NULL))
            elif isinstance(field, CurrentSessionField):
                parts.append(_json_bool(self.piece(field).sql["current"]))
            elif isinstance(field, PreferencesField):
                visible = self.piece(field).sql["visible"]
                parts.append(case((visible, js.json_object(scope.c.preferences)), else_=js.NULL))
            elif isinstance(field, PersonalField):
                visible = self.piece(field).sql["visible"]
                render = compiled.personal[field.name].render
                parts.append(case((visible, render(scope)), else_=js.NULL))
            elif isinstance(field, ToOneField):
                parts.append(self._to_one(compiled, field, scope))
            else:
                parts.append(self._connection_field(compiled, field, scope))
        parts.append(js.const("}"))
        return js.concat(parts)

    def _connection_field(
        self,
        parent: CompiledType,
        field: ChildField | HistoryField | NearbyField,
        scope: FromClause,
    ) -> ColumnElement[str]:
        """A connection of the object: a child list, its history or the viewer's nearby venues."""
        if isinstance(field, HistoryField):
            return self._history(field, scope)
        if isinstance(field, NearbyField):
            return self._nearby(field, scope)
        return self._child_list(parent, field, scope)

    def _to_one(
        self, parent: CompiledType, field: ToOneField, scope: FromClause
    ) -> ColumnElement[str]:
        foreign_key = parent.to_one[field.name]
        target = self.plan.scopes[id(field.target)]
        body = self.object_json(field.target, target)
        statement = (
            select(body)
            .select_from(target)
            .where(target.c.id == scope.c[foreign_key], *self._live(field.target.type_name, target))
            .correlate(scope)
        )
        return js.or_null(statement.scalar_subquery())

    def _child_list(
        self, parent: CompiledType, field: ChildField, scope: FromClause
    ) -> ColumnElement[str]:
        spec = parent.children[field.name]
        table = self.types[spec.type_name].table
        return self._connection_over(field.connection, table, self.piece(field), correlate=scope)

    def _history(self, field: HistoryField, scope: FromClause) -> ColumnElement[str]:
        """The object's audit events, or `FALL_BACK` where the viewer may not read them.

        The loader path refuses those (FORBIDDEN, or UNAUTHENTICATED when signed out), nulling
        the enclosing object: it answers. Where no object is reached, nothing is refused.
        """
        piece = self.piece(field)
        events = self.types[field.connection.node_type].table
        connection = self._connection_over(field.connection, events, piece, correlate=scope)
        return case((piece.sql["readable"], connection), else_=js.FALL_BACK)

    def _nearby(self, field: NearbyField, scope: FromClause) -> ColumnElement[str]:
        """The venues near the user's home, or `FALL_BACK` where the home is not one to read.

        The loader path refuses a home that is unset or malformed (BAD_USER_INPUT naming what
        is wrong), nulling the viewer: it answers.
        """
        piece = self.piece(field)
        home: FromClause = piece.sql["home"]
        venues = self.types[field.connection.node_type].table
        connection = self._connection_over(field.connection, venues, piece, correlate=home)
        readable = and_(home.c.latitude.is_not(None), home.c.longitude.is_not(None))
        value = case((readable, connection), else_=js.FALL_BACK)
        return select(value).select_from(home).correlate(scope).scalar_subquery()

    def _live(self, type_name: str, scope: FromClause) -> list[ColumnElement[bool]]:
        """Rows not soft-deleted, for types whose rows are."""
        return [scope.c.deleted_at.is_(None)] if self.types[type_name].soft_deleted else []

    def _connection_over(
        self,
        connection: ConnectionSelection,
        scope: FromClause,
        piece: Piece,
        *,
        correlate: FromClause | None,
    ) -> ColumnElement[str]:
        """JSON text of a connection over `scope`'s rows that meet the piece's conditions."""
        sql = piece.sql
        ordering: Ordering = sql["ordering"]
        backward: bool = sql["backward"]
        where = [sql["where"], *(sql[name] for name in ("after", "before", "among") if name in sql)]
        cursor = ordering.cursor_sql(sql["order"]) if _wants_cursors(connection) else js.NULL
        edge = self._edge_json(connection, scope, cursor=cursor, extras=sql["extras"])
        order_by = ordering.order_by(reverse=backward)
        position = func.row_number().over(order_by=order_by)
        page_cursor = cursor if connection.wants_page_cursors else js.NULL
        page = (
            select(edge.label("edge"), page_cursor.label("cursor"), position.label("position"))
            .select_from(scope)
            .where(*where)
            .order_by(*order_by)
            .limit(sql["size_plus_one"])
        )
        # What `totalCount` counts: the page's rows' condition, unless the piece says otherwise
        # (a page read within a horizon counts the whole list).
        count = select(func.count()).select_from(scope).where(sql.get("counted", sql["where"]))
        if correlate is not None:
            page = page.correlate(correlate)
            count = count.correlate(correlate)
            page_from: FromClause = page.lateral("page")
        else:
            page = page.correlate(None)
            count = count.correlate(None)
            page_from = page.subquery("page")
        return self._connection(
            connection,
            page_from,
            size=sql["size"],
            backward=backward,
            rows_before=sql.get("rows_before"),
            rows_after=sql.get("rows_after"),
            total=count.scalar_subquery(),
        )

    def _edge_json(
        self,
        connection: ConnectionSelection,
        scope: FromClause,
        *,
        cursor: ColumnElement[str],
        extras: Mapping[str, ColumnElement[Any]],
    ) -> ColumnElement[str]:
        parts: list[ColumnElement[Any]] = []
        for index, field in enumerate(connection.edge):
            parts.append(js.const(("{" if index == 0 else ",") + f'"{field.key}":'))
            if isinstance(field, Typename):
                parts.append(js.const(f'"{field.type_name}"'))
            elif isinstance(field, CursorField):
                parts.append(js.concat([js.const('"'), cursor, js.const('"')]))
            elif isinstance(field, NodeField):
                parts.append(self.object_json(field.node, scope))
            elif isinstance(field, UnionNodeField):
                parts.append(self._union_node(field))
            else:
                assert isinstance(field, FoundField)  # noqa: S101 - the last kind of edge field
                parts.append(_found(field.name, extras))
        return js.concat([*parts, js.const("}")]) if parts else js.const("")

    def _union_node(self, field: UnionNodeField) -> ColumnElement[str]:
        """The object of whichever member type the row joined (the others' tables are NULL)."""
        members = []
        for selection in field.selections.values():
            scope = self.plan.scopes[id(selection)]
            members.append((scope.c.id.is_not(None), self.object_json(selection, scope)))
        return case(*members, else_=js.FALL_BACK)

    def _connection(  # noqa: PLR0913 - the pieces of a page
        self,
        connection: ConnectionSelection,
        page: FromClause,
        *,
        size: BindParameter[int],
        backward: bool,
        rows_before: ColumnElement[bool] | None,
        rows_after: ColumnElement[bool] | None,
        total: ColumnElement[int],
    ) -> ColumnElement[str]:
        """JSON text of a connection over a page subquery (edge, cursor, position)."""
        on_page = page.c.position <= size
        # The page reads backwards for `last`: its rows go out in list order.
        listed = page.c.position.desc() if backward else page.c.position
        reverse = page.c.position if backward else page.c.position.desc()
        edges = func.string_agg(page.c.edge, aggregate_order_by(js.const(","), listed)).filter(
            on_page
        )
        edges_json = func.coalesce(
            js.const("[").concat(edges).concat(js.const("]")), js.const("[]")
        )
        cursors = ARRAY(Text)
        start = func.array_agg(aggregate_order_by(page.c.cursor, listed), type_=cursors)
        end = func.array_agg(aggregate_order_by(page.c.cursor, reverse), type_=cursors)
        more = func.count() > size
        has_next = (false() if backward else more) if rows_after is None else rows_after
        has_previous = (more if backward else false()) if rows_before is None else rows_before
        if rows_after is not None and not backward:
            has_next = more | rows_after
        if rows_before is not None and backward:
            has_previous = more | rows_before
        page_info_values: dict[str, ColumnElement[str]] = {
            "hasNextPage": _json_bool(has_next),
            "hasPreviousPage": _json_bool(has_previous),
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

    def root(self, plan: OperationPlan, demoted: frozenset[int]) -> Select[Any]:
        """One column per compiled root field: its value as JSON text (see `Plan.data`).

        Root fields graphql-core resolves (`LoaderRoot`s, those `demoted`) have none.
        """
        columns: list[ColumnElement[Any]] = []
        for index, field in enumerate(plan.fields):
            if isinstance(field, LoaderRoot) or index in demoted:
                continue
            if isinstance(field, Typename):
                columns.append(js.const(f'"{field.type_name}"'))
            elif isinstance(field, VenueRoot | ViewerRoot):
                columns.append(self._root_object(field))
            elif isinstance(field, NodeRoot):
                columns.append(self._root_node(field))
            elif isinstance(field, NodesRoot):
                columns.append(self._root_nodes(field))
            elif isinstance(field, StatsRoot):
                columns.append(self._stats(field))
            elif isinstance(field, SearchRoot):
                piece = self.piece(field)
                columns.append(
                    self._connection_over(
                        field.connection, piece.sql["from"], piece, correlate=None
                    )
                )
            else:
                scope = self.plan.scopes[id(field)]
                columns.append(
                    self._connection_over(
                        field.connection, scope, self.piece(field), correlate=None
                    )
                )
        return select(*(column.label(f"f{index}") for index, column in enumerate(columns)))

    def _stats(self, field: StatsRoot) -> ColumnElement[str]:
        """`bookingStats`: a JSON array of the aggregate's buckets, in the statement's order.

        The piece's query is the loader path's own statement, read as a subquery; its rows are
        ordered again outside it by the columns its ORDER BY names (`bucket_order`).
        """
        piece = self.piece(field)
        grouping: StatsGrouping = piece.sql["grouping"]
        rows = piece.sql["rows"].subquery()
        parts: list[ColumnElement[Any]] = []
        for index, (key, name) in enumerate(field.fields):
            parts.append(js.const(("{" if index == 0 else ",") + f'"{key}":'))
            if name == "__typename":
                parts.append(js.const(f'"{field.type_name}"'))
            else:
                parts.append(_bucket_value(name, grouping, rows))
        parts.append(js.const("}"))
        order = [
            rows.c[name].desc() if descending else rows.c[name]
            for name, descending in bucket_order(grouping)
        ]
        listed = func.string_agg(js.concat(parts), aggregate_order_by(js.const(","), *order))
        array = js.const("[").concat(listed).concat(js.const("]"))
        statement = select(func.coalesce(array, js.const("[]"))).select_from(rows)
        return statement.correlate(None).scalar_subquery()

    def _root_node(self, field: NodeRoot) -> ColumnElement[str]:
        """`node(id:)`: the object of the type the request's ID names (the piece's shape)."""
        piece = self.piece(field)
        type_name = piece.shape
        if not isinstance(type_name, str):
            return js.NULL  # a type no object is read as: null, as on the loader path
        selection = field.selections.get(type_name)
        if selection is None:
            raise UnsupportedError
        return self._object_where(selection, piece.sql["where"])

    def _root_nodes(self, field: NodesRoot) -> ColumnElement[str]:
        """`nodes(ids:)`: a JSON array, per ID (in order) its object or null.

        The piece lists the IDs as rows of `wanted` (row id, type name, position); each row
        reads the object of its type, of the types the request's IDs name.
        """
        piece = self.piece(field)
        wanted: FromClause = piece.sql["wanted"]
        visible: Mapping[str, ColumnElement[bool]] = piece.sql["visible"]
        objects = []
        for type_name in sorted(piece.sql["types"]):
            selection = field.selections.get(type_name)
            if selection is None:
                raise UnsupportedError
            scope = self.plan.scopes[id(selection)]
            body = self.object_json(selection, scope)
            found = (
                select(body)
                .select_from(scope)
                .where(
                    scope.c.id == wanted.c.id,
                    visible[type_name],
                    *self._live(type_name, scope),
                )
                .correlate(wanted)
            )
            objects.append((wanted.c.type_name == js.const(type_name), found.scalar_subquery()))
        element = js.or_null(case(*objects, else_=None)) if objects else js.NULL
        listed = func.string_agg(element, aggregate_order_by(js.const(","), wanted.c.position))
        array = js.const("[").concat(listed).concat(js.const("]"))
        statement = select(func.coalesce(array, js.const("[]"))).select_from(wanted)
        return statement.correlate(None).scalar_subquery()

    def _root_object(self, field: VenueRoot | ViewerRoot) -> ColumnElement[str]:
        selection = field.venue if isinstance(field, VenueRoot) else field.user
        return self._object_where(selection, self.piece(field).sql["where"])

    def _object_where(
        self, selection: ObjectSelection, condition: ColumnElement[bool]
    ) -> ColumnElement[str]:
        scope = self.plan.scopes[id(selection)]
        body = self.object_json(selection, scope)
        statement = (
            select(body)
            .select_from(scope)
            .where(condition, *self._live(selection.type_name, scope))
            .correlate(None)
        )
        return js.or_null(statement.scalar_subquery())


def _wants_cursors(connection: ConnectionSelection) -> bool:
    return connection.wants_page_cursors or any(
        isinstance(field, CursorField) for field in connection.edge
    )


def _found(name: str, extras: Mapping[str, ColumnElement[Any]]) -> ColumnElement[str]:
    """An edge's search value as JSON, from the page's extras (null where the list has none)."""
    if name == "rank" and "rank" in extras:
        return js.or_null(js.json_float(extras["rank"]))
    if name == "distanceMeters" and "distance" in extras:
        return js.or_null(js.json_float(extras["distance"]))
    if name == "matchedBy" and "by_text" in extras:
        by_text = extras["by_text"]
        return case(
            (by_text.is_(None), js.NULL),
            (by_text, js.const('"FULL_TEXT"')),
            else_=js.const('"SIMILAR_NAME"'),
        )
    if name == "highlight" and "highlight" in extras:
        return js.or_null(js.json_string(marked_html_sql(extras["highlight"])))
    return js.NULL


def _bucket_value(name: str, grouping: StatsGrouping, rows: FromClause) -> ColumnElement[str]:
    """A `bookingStats` bucket's field as JSON, as the resolver's bucket serializes it."""
    if name == "count":
        return js.json_number(rows.c.booking_count)
    if name == "completedCount":
        return js.json_number(rows.c.completed_count)
    if name == "completedRevenue":
        return js.json_decimal(rows.c.completed_revenue)
    key = rows.c.key
    if grouping is StatsGrouping.VENUE:
        return js.global_id("Venue", key)  # `encode_global_id("Venue", uuid)`
    if grouping is StatsGrouping.STATUS:
        # The `BookingStatus` name of the stored value; one the enum lacks the loader path
        # refuses, so a response holding it is answered there.
        names = [
            (key == js.const(stored.value), js.const(f'"{BookingStatus(stored.value).name}"'))
            for stored in StoredStatus
        ]
        return case(*names, else_=js.FALL_BACK)
    return js.json_string(key)  # a period's first day, `YYYY-MM-DD`


def _json_bool(condition: ColumnElement[bool]) -> ColumnElement[str]:
    return case((condition, js.const("true")), else_=js.const("false"))


def _quoted_or_null(text: ColumnElement[Any]) -> ColumnElement[str]:
    return js.or_null(js.const('"').concat(text).concat(js.const('"')))


# --- slots: each node's piece, per request -----------------------------------------------------


@dataclasses.dataclass
class _Slots:
    """Walks a plan once, in the transpiler's order, making each node's slot and scope."""

    types: Mapping[str, CompiledType]
    viewer: Viewer | None
    slots: list[Slot] = dataclasses.field(default_factory=list)
    scopes: dict[int, FromClause] = dataclasses.field(default_factory=dict)
    # Plan node (by id) -> its slot's index.
    slot_of: dict[int, int] = dataclasses.field(default_factory=dict)
    # Per slot, the index of the root field it serves; `root` is the one being walked.
    root_of: list[int] = dataclasses.field(default_factory=list)
    root: int = -1
    # The slots made now are built only when `node(id:)` (slot index) names this type.
    when: tuple[int, str] | None = None

    def add(self, node: object, slot: Slot) -> None:
        """`slot` serves `node`."""
        slot.when = self.when
        self.slot_of[id(node)] = len(self.slots)
        self.slots.append(slot)
        self.root_of.append(self.root)

    def operation(self, plan: OperationPlan) -> None:
        for root, field in enumerate(plan.fields):
            self.root = root
            if isinstance(field, VenueRoot):
                table = self.types["Venue"].table
                self.scopes[id(field.venue)] = table
                self.add(field, _venue_slot(field.arguments, table))
                self.object(field.venue, table)
            elif isinstance(field, ViewerRoot):
                table = self.types["User"].table
                self.scopes[id(field.user)] = table
                self.add(field, _viewer_slot(table))
                self.object(field.user, table, the_viewer=True)
            elif isinstance(field, ListRoot):
                node_type = field.connection.node_type
                table = self.types[node_type].table
                self.scopes[id(field)] = table
                highlight = any(
                    isinstance(edge, FoundField) and edge.name == "highlight"
                    for edge in field.connection.edge
                )
                self.add(field, _root_list_slot(field, table, highlight=highlight))
                self.connection(field.connection, table)
            elif isinstance(field, NodeRoot | NodesRoot):
                index = len(self.slots)
                planned = frozenset(
                    name for name, selection in field.selections.items() if selection is not None
                )
                if isinstance(field, NodeRoot):
                    self.add(field, _node_slot(field.arguments, self.types, planned))
                else:
                    self.add(field, _nodes_slot(field.arguments, self.types, planned))
                for type_name, selection in field.selections.items():
                    if selection is None:
                        continue
                    table = self.types[type_name].table
                    self.scopes[id(selection)] = table
                    self.when = (index, type_name)
                    self.object(selection, table)
                    self.when = None
            elif isinstance(field, SearchRoot | StatsRoot):
                self._planned_root(field)

    def _planned_root(self, field: SearchRoot | StatsRoot) -> None:
        """A root field whose resolver plans its SQL: the global `search`, `bookingStats`."""
        if isinstance(field, StatsRoot):
            self.add(field, _stats_slot(field.arguments))
            return
        highlight = any(
            isinstance(edge, FoundField) and edge.name == "highlight"
            for edge in field.connection.edge
        )
        self.add(field, _search_slot(field.arguments, highlight=highlight))
        self.connection(field.connection, None)

    def object(
        self, selection: ObjectSelection, scope: FromClause, *, the_viewer: bool = False
    ) -> None:
        """`the_viewer`: the object is the viewer's own user (`viewer`)."""
        compiled = self.types[selection.type_name]
        for field in selection.fields:
            if isinstance(field, EmailField):
                self.add(field, _email_slot(scope, through_visible_booking=False))
            elif isinstance(field, CurrentSessionField):
                self.add(field, _current_session_slot(scope))
            elif isinstance(field, PreferencesField):
                self.add(field, _self_or_admin_slot(scope, "id"))
            elif isinstance(field, PersonalField):
                self.add(field, _self_or_admin_slot(scope, compiled.personal[field.name].owner))
            elif isinstance(field, ToOneField):
                target = self.types[field.target.type_name].table.alias()
                self.scopes[id(field.target)] = target
                if compiled.name == "Booking" and field.target.type_name == "User":
                    self._object_with_email(field.target, target, through_visible_booking=True)
                else:
                    self.object(field.target, target)
            elif isinstance(field, ChildField | HistoryField | NearbyField):
                self._connection_field(compiled, field, scope, the_viewer=the_viewer)

    def _connection_field(
        self,
        compiled: CompiledType,
        field: ChildField | HistoryField | NearbyField,
        scope: FromClause,
        *,
        the_viewer: bool,
    ) -> None:
        """The slot of a connection of an object of `compiled` (`scope`), and its nodes'."""
        nodes = self.types[field.connection.node_type].table
        if isinstance(field, ChildField):
            spec = compiled.children[field.name]
            child = self.types[spec.type_name]
            self.add(field, _child_slot(field, spec, child, scope, the_viewer=the_viewer))
        elif isinstance(field, HistoryField):
            history = compiled.histories[field.name]
            self.add(field, _history_slot(field, history, compiled.table.name, nodes, scope))
        else:
            if not the_viewer:
                raise UnsupportedError  # the builder plans it on `viewer` only
            self.add(field, _nearby_slot(field, compiled.nearby[field.name], nodes, scope))
        self.connection(field.connection, nodes)

    def _object_with_email(
        self, selection: ObjectSelection, scope: FromClause, *, through_visible_booking: bool
    ) -> None:
        for field in selection.fields:
            if isinstance(field, EmailField):
                self.add(field, _email_slot(scope, through_visible_booking=through_visible_booking))
            else:
                self.object(dataclasses.replace(selection, fields=(field,)), scope)

    def connection(self, connection: ConnectionSelection, scope: FromClause | None) -> None:
        """`scope`: the nodes' table (None for a union's: each member type's own table)."""
        for field in connection.edge:
            if isinstance(field, NodeField):
                if scope is None:
                    raise UnsupportedError
                self.object(field.node, scope)
            elif isinstance(field, UnionNodeField):
                for type_name, selection in field.selections.items():
                    table = self.types[type_name].table
                    self.scopes[id(selection)] = table
                    self.object(selection, table)


def _venue_slot(arguments: Arguments, table: FromClause) -> Slot:
    def build(_request: Request, values: dict[str, Any]) -> Piece:
        venue_id = decode_typed_id(values["id"], "Venue", field="id")
        row_id = bindparam(None, venue_id, type_=UUID(as_uuid=True))
        return Piece(None, {"where": table.c.id == row_id})

    return Slot(arguments, build)


def _node_slot(
    arguments: Arguments, types: Mapping[str, CompiledType], planned: frozenset[str]
) -> Slot:
    """The object `node(id:)` reads; `planned`: the types whose selection is compiled."""

    def build(request: Request, values: dict[str, Any]) -> Piece:
        type_name, key = decoded_node_id(values["id"], field="id")
        if type_name is None:
            return Piece(None, {"where": false()})  # no such type: null
        compiled = types.get(type_name)
        if type_name not in planned or compiled is None or not isinstance(key, uuid.UUID):
            raise LoaderOnlyError  # a type read only by the loader path (an audit event)
        table = compiled.table
        conditions = [table.c.id == bindparam(None, key, type_=UUID(as_uuid=True))]
        if compiled.visible is not None:
            conditions.append(compiled.visible(request.context.viewer))
        return Piece(type_name, {"where": and_(*conditions), "types": frozenset({type_name})})

    return Slot(arguments, build)


def _nodes_slot(
    arguments: Arguments, types: Mapping[str, CompiledType], planned: frozenset[str]
) -> Slot:
    """The IDs `nodes(ids:)` reads, checked as the loader path checks them, as rows of a table.

    The statement's shape is the set of types named, whatever their number and order.
    `planned`: the types whose selection is compiled.
    """

    def build(request: Request, values: dict[str, Any]) -> Piece:
        row_ids: list[uuid.UUID | None] = []
        type_names: list[str | None] = []
        for type_name, key in decoded_node_ids(values["ids"], field="ids"):
            if type_name is None:  # no such type: null, as on the loader path
                row_ids.append(None)
                type_names.append(None)
                continue
            compiled = types.get(type_name)
            if type_name not in planned or compiled is None or not isinstance(key, uuid.UUID):
                raise LoaderOnlyError  # a type read only by the loader path (an audit event)
            row_ids.append(key)
            type_names.append(type_name)
        named = frozenset(name for name in type_names if name is not None)
        wanted = (
            func.unnest(
                bindparam(None, row_ids, type_=ARRAY(UUID(as_uuid=True))),
                bindparam(None, type_names, type_=ARRAY(Text)),
            )
            .table_valued(
                column("id", UUID(as_uuid=True)),
                column("type_name", Text),
                with_ordinality="position",
            )
            .render_derived("wanted")
        )
        viewer = request.context.viewer
        visible: dict[str, ColumnElement[bool]] = {}
        for type_name in sorted(named):
            rule = types[type_name].visible
            visible[type_name] = true() if rule is None else rule(viewer)
        return Piece(tuple(sorted(named)), {"wanted": wanted, "visible": visible, "types": named})

    return Slot(arguments, build)


def _search_slot(arguments: Arguments, *, highlight: bool) -> Slot:
    """The global `search`'s page, planned by its resolver's own `plan_results`."""

    def build(request: Request, values: dict[str, Any]) -> Piece:
        planned = plan_results(request.context.viewer, highlight=highlight, **values)
        window = planned.window
        sql: dict[str, Any] = {
            "from": planned.joined(),
            "where": true(),
            "order": tuple(key.expression for key in planned.ordering.keys),
            "extras": dict(planned.extras),
            "ordering": planned.ordering,
            # Forward only: `hasPreviousPage` is false even after a cursor, as the field says.
            "backward": False,
            PLAN_AS_SEARCH: True,
            **_size_parameters(window.size),
        }
        if window.after is not None:
            sql["after"] = beyond(planned.ordering, window.after, forward=True)
        return Piece((window.after is not None, tuple(planned.extras)), sql)

    return Slot(arguments, build)


def _stats_slot(arguments: Arguments) -> Slot:
    """`bookingStats`'s aggregate, checked and scoped by the resolver's own `plan_stats`."""

    def build(request: Request, values: dict[str, Any]) -> Piece:
        viewer = request.context.viewer
        if viewer is None:
            raise UnsupportedError  # UNAUTHENTICATED (with the token's reason) from the loaders
        planned = plan_stats(viewer, **values)
        return Piece(planned.grouping, {"rows": planned.query(), "grouping": planned.grouping})

    return Slot(arguments, build)


def _viewer_slot(table: FromClause) -> Slot:
    def build(request: Request, _values: dict[str, Any]) -> Piece:
        viewer = request.context.viewer
        if viewer is None:
            if request.context.auth_failure is not None:
                raise UnsupportedError  # UNAUTHENTICATED, with the reason, from the loader path
            return Piece("anonymous", {"where": false()})
        user_id = bindparam(None, viewer.user_id, type_=UUID(as_uuid=True))
        return Piece("signed in", {"where": table.c.id == user_id})

    return Slot(None, build)


def _email_slot(scope: FromClause, *, through_visible_booking: bool) -> Slot:
    def build(request: Request, _values: dict[str, Any]) -> Piece:
        viewer = request.context.viewer
        visible = email_visible(
            viewer,
            lambda signed_in: (
                scope.c.id == bindparam(None, signed_in.user_id, type_=UUID(as_uuid=True))
            ),
            through_visible_booking=through_visible_booking,
        )
        if isinstance(visible, bool):
            return Piece(visible, {"visible": true() if visible else false()})
        return Piece(None, {"visible": visible})

    return Slot(None, build)


def _root_list_slot(field: ListRoot, table: FromClause, *, highlight: bool) -> Slot:
    def build(request: Request, arguments: dict[str, Any]) -> Piece:
        query = field.root_list.page_query(request.context, highlight=highlight, **arguments)
        where = and_(true(), *query.conditions, *([] if query.include_deleted else _live_of(table)))
        return _list_piece(
            query.ordering,
            query.window,
            where,
            extras=query.extras,
            scope=lambda condition: select(table.c.id).where(condition).correlate(None),
            matched=query.matched,
            among=query.among,
            outside=query.outside,
            plan_as_search=query.plan_as_search,
        )

    return Slot(field.arguments, build)


def _self_or_admin_slot(scope: FromClause, user: str) -> Slot:
    """Whether the viewer is the user column `user` of `scope` names, or an admin."""

    def build(request: Request, _values: dict[str, Any]) -> Piece:
        visible = is_self_or_admin(
            request.context.viewer,
            lambda signed_in: (
                scope.c[user] == bindparam(None, signed_in.user_id, type_=UUID(as_uuid=True))
            ),
        )
        if isinstance(visible, bool):
            return Piece(visible, {"visible": true() if visible else false()})
        return Piece(None, {"visible": visible})

    return Slot(None, build)


def _current_session_slot(scope: FromClause) -> Slot:
    def build(request: Request, _values: dict[str, Any]) -> Piece:
        viewer = request.context.viewer
        if viewer is None:
            return Piece(False, {"current": false()})  # noqa: FBT003 - the shape: no viewer
        session_id = bindparam(None, viewer.session_id, type_=UUID(as_uuid=True))
        return Piece(True, {"current": scope.c.id == session_id})  # noqa: FBT003

    return Slot(None, build)


def _child_slot(
    field: ChildField, spec: ChildList, child: CompiledType, parent: FromClause, *, the_viewer: bool
) -> Slot:
    table = child.table

    def build(request: Request, arguments: dict[str, Any]) -> Piece:
        viewer = request.context.viewer
        # Read by the user themselves (`viewer`, null when signed out) or an admin; anyone
        # else's read is refused, and the loader path says so.
        if spec.owner_only and not (the_viewer or (viewer is not None and viewer.is_admin)):
            raise UnsupportedError
        given = {argument.name.value for argument in field.arguments.node.arguments or ()}
        page = plan_child_page(
            spec.declared,
            first=arguments.get("first"),
            after=arguments.get("after"),
            last=arguments.get("last"),
            before=arguments.get("before"),
            filter_=arguments.get("filter_"),
            order_by=arguments.get("order_by"),
            passes_first="first" in given and arguments.get("first") is not None,
        )
        conditions = [
            table.c[spec.parent_key] == parent.c.id,
            *_live_of(table),
            *page.conditions,
        ]
        if child.visible is not None:
            conditions.append(child.visible(viewer))
        return _list_piece(
            page.ordering,
            page.window,
            and_(*conditions),
            extras={},
            scope=lambda condition: select(table.c.id).where(condition).correlate(parent),
        )

    return Slot(field.arguments, build)


def _history_slot(
    field: HistoryField,
    history: HistoryRead,
    table_name: str,
    events: FromClause,
    parent: FromClause,
) -> Slot:
    """The page of `parent`'s audit events the arguments ask for, as the field pages them."""

    def build(request: Request, arguments: dict[str, Any]) -> Piece:
        viewer = request.context.viewer
        window = history.window(arguments["first"], arguments["after"])
        where = and_(events.c.table_name == table_name, events.c.record_id == parent.c.id)
        piece = _list_piece(
            HISTORY_ORDERING,
            window,
            where,
            extras={},
            scope=lambda condition: select(events.c.seq).where(condition).correlate(parent),
        )
        sql = {**piece.sql, "readable": history_readable(viewer, table_name, parent)}
        if window.after is not None:
            # The field has a previous page whenever `after` is given, whatever it names.
            sql["rows_before"] = true()
        return Piece(piece.shape, sql)

    return Slot(field.arguments, build)


def _nearby_slot(
    field: NearbyField, nearby: NearbyRead, venues: FromClause, user: FromClause
) -> Slot:
    """The page of venues near the home in `user`'s preferences, as the field's resolver plans it.

    The home is read in SQL from the user's row once, as the one row of `home` (its latitude
    and longitude NULL where the resolver refuses it), and the page reads it from there.
    """

    def build(_request: Request, arguments: dict[str, Any]) -> Piece:
        radius = nearby.radius(arguments["radius_meters"])
        latitude, longitude = nearby.home(user.c.preferences)
        # OFFSET keeps PostgreSQL from inlining the subquery: the home is then read (and
        # the preferences detoasted) once, not at every use in the page's rows.
        home = (
            select(latitude.label("latitude"), longitude.label("longitude"))
            .correlate(user)
            .offset(0)
            .subquery("home")
        )
        page = nearby.page(
            home.c.latitude,
            home.c.longitude,
            radius=radius,
            first=arguments["first"],
            after=arguments["after"],
        )
        piece = _list_piece(
            page.ordering,
            page.window,
            page.page,
            extras={},
            scope=lambda condition: select(venues.c.id).where(condition).correlate(home),
        )
        return Piece(piece.shape, {**piece.sql, "counted": page.listed, "home": home})

    return Slot(field.arguments, build)


def _live_of(table: FromClause) -> list[ColumnElement[bool]]:
    return [table.c.deleted_at.is_(None)] if "deleted_at" in table.c else []


def compile_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    viewer: Viewer | None,
    variables: VariableValues | None = None,
) -> Plan | None:
    """The plan of `document`'s operation for viewers of `viewer`'s kind; None if unsupported.

    `variables` decide `@skip` and `@include` (the plan serves requests deciding them alike).
    """
    planned = plan_operation(schema, document, operation_name, variables)
    if planned is None:
        return None
    operation, plan = planned
    slots = _Slots(catalog(schema), viewer)
    try:
        slots.operation(plan)
    except (UnsupportedError, KeyError):
        return None
    return Plan(
        operation,
        plan,
        schema,
        viewer,
        slots.slots,
        slots.scopes,
        slots.slot_of,
        slots.root_of,
        tuple(d for d in document.definitions if isinstance(d, FragmentDefinitionNode)),
    )


def _loader_document(
    operation: OperationDefinitionNode,
    fragments: Sequence[FragmentDefinitionNode],
    nodes: Sequence[FieldNode],
) -> DocumentNode:
    """`operation` keeping only the root field `nodes` (graphql-core resolves those)."""
    only_those = OperationDefinitionNode(
        operation=operation.operation,
        name=operation.name,
        variable_definitions=operation.variable_definitions,
        directives=operation.directives,
        selection_set=SelectionSetNode(selections=tuple(nodes)),
    )
    return DocumentNode(definitions=(only_those, *fragments))


__all__ = ["Binding", "Plan", "Request", "compile_operation", "viewer_kind"]
