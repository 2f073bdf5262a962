"""Differential testing of the two read paths: documents, realistic arguments, the comparison.

The compiled path (graph/compiler/, `Settings(fast_path=True)`) and the loader path
(`fast_path=False`) must answer every read request with the same status and the same bytes.
Documents come from hypothesis-graphql over the whole `Query` type; their argument values are
then redrawn from the test's own rows (placeholders such as `@@real:Venue@@` and
`@@cursor:venues:2@@`, filled once the rows and their pages exist), and a second pass lifts
some literals into variables and adds aliases, named fragments, `__typename` and
`@skip`/`@include`, which hypothesis-graphql does not write.
"""

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import graphql
import hypothesis_graphql
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from tests.graph.generated.strategies import REAL_ID_TYPES, garbage_id, placeholder, schema

# --- the rows the test makes (tests/graph/generated/conftest.py: `read_world`) ----------------

CITIES = ("Paris", "Lisbon", "Berlin")
# (name, city, latitude, longitude): words of these names are what searches look for.
VENUES = (
    ("Sunlit Loft", "Paris", 48.8566, 2.3522),
    ("Harbor Studio", "Paris", 48.8606, 2.3376),
    ("Garden Hall", "Lisbon", 38.7223, -9.1393),
    ("Rooftop Terrace Café", "Lisbon", 38.7139, -9.1334),
    ("Quiet Library Room", "Berlin", 52.5200, 13.4050),
    # Text that JSON encoders write differently: quotes, backslashes, emoji, U+2028, controls.
    ('Le "Zinc" \\ Bar 🍷\u2028<b>&amp;</b>\x01', "Paris", 48.8530, 2.3499),
)
DELETED_VENUE = ("Old Warehouse Loft", "Berlin", 52.5163, 13.3777)
MEDIA_TITLES = ("Loft at dawn", "Studio tour", "Garden party", "Terrace view", "Library shelves")
SEARCH_TEXTS = (
    "loft",
    "Loft",
    "studio",
    "garden hall",
    '"garden hall"',
    "harbor or garden",
    "loft -warehouse",
    "stu",
    "terrace cafe",
    "café",
    "lofty",
    "librar",
    "gardn",
    "party",
    "nothing-matches-this",
    "   ",
    "",
)
# A point near each city and one far from all of them.
POINTS = (*((lat, lon) for _, _, lat, lon in VENUES), (52.52, 13.40), (0.0, 0.0), (-33.86, 151.2))
RADII = (1.0, 500.0, 2_500.0, 50_000.0, 100_000.0, 100_001.0, 0.0, -5.0)
CURSOR_FIELDS = ("venues", "bookings", "media", "users", "search", "sessions", "history")

# --- realistic leaves --------------------------------------------------------------------------

words = st.one_of(
    st.sampled_from(SEARCH_TEXTS),
    st.sampled_from(CITIES),
    st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=12),
)
page_sizes = st.one_of(st.integers(0, 4), st.sampled_from((1, 2, 3, 10, 20, 100, 101, -1)))
real_id = st.sampled_from((*REAL_ID_TYPES, "AuditEvent", "OddVenue", "GoneVenue")).map(placeholder)


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


# Lone surrogates cannot be written in a document; the request tests send those already.
_garbage_id = garbage_id.filter(_encodable)
# Mostly IDs of real rows: a document with one bad ID is refused whole.
any_id = st.integers(0, 99).flatmap(lambda n: _garbage_id if n >= 90 else real_id)
datetimes = st.sampled_from(
    (
        "2030-01-01T00:00:00Z",
        "2030-01-09T00:00:00Z",
        "2030-01-15T10:00:00+02:00",
        "2030-03-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
        "2035-12-31T23:59:59-14:00",
        "2030-01-07",
        "not a date",
    )
)
decimals = st.sampled_from(("0", "10.00", "50", "50.00", "75.5", "100", "-1", "1e3", "x"))
latitudes = st.one_of(st.sampled_from([lat for lat, _ in POINTS]), st.floats(-91, 91))
longitudes = st.one_of(st.sampled_from([lon for _, lon in POINTS]), st.floats(-181, 181))
radii = st.one_of(st.sampled_from(RADII), st.floats(0, 120_000))
amenities = st.sampled_from(({}, {"wifi": True}, {"parking": True}, {"seats": 12}, {"wifi": False}))


def _polygon(lat: float, lon: float, size: float) -> dict[str, Any]:
    ring = [
        [lon - size, lat - size],
        [lon + size, lat - size],
        [lon + size, lat + size],
        [lon - size, lat + size],
        [lon - size, lat - size],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


polygons = st.one_of(
    st.builds(_polygon, st.sampled_from(POINTS).map(lambda p: p[0]), st.just(2.35), st.just(0.1)),
    st.tuples(st.sampled_from(POINTS), st.sampled_from((0.01, 0.1, 1.0))).map(
        lambda drawn: _polygon(drawn[0][0], drawn[0][1], drawn[1])
    ),
    st.just({"type": "Point", "coordinates": [2.35, 48.85]}),
)


def _box(point: tuple[float, float], size: float) -> dict[str, float]:
    lat, lon = point
    return {"south": lat - size, "west": lon - size, "north": lat + size, "east": lon + size}


boxes = st.tuples(st.sampled_from(POINTS), st.sampled_from((0.01, 0.1, 1.0, -0.1))).map(
    lambda drawn: _box(*drawn)
)

# Values by the name of the argument or input field that takes them; the rest go by type.
BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "first": page_sizes,
    "last": page_sizes,
    "top": page_sizes,
    "search": words,
    "query": words,
    "city": st.one_of(st.sampled_from(CITIES), st.sampled_from(("paris", "Nowhere", ""))),
    "country": st.sampled_from(("FR", "PT", "DE", "fr", "XX")),
    "email": st.sampled_from(("member@example.test", "nobody@example.test", "")),
    "extension": st.sampled_from(("jpg", "mp4", "png")),
    "tags": st.sampled_from(("sunny", "indoor", "night")),
    "latitude": latitudes,
    "longitude": longitudes,
    "south": latitudes,
    "north": latitudes,
    "west": longitudes,
    "east": longitudes,
    "radiusMeters": radii,
    "amenities": amenities,
    "polygon": polygons,
    "boundingBox": boxes,
    "ownerId": st.one_of(st.just(placeholder("Host")), any_id),
    "userId": st.one_of(st.just(placeholder("User")), st.just(placeholder("Host")), any_id),
    "venueId": st.one_of(st.just(placeholder("Venue")), any_id),
    "bookingId": st.one_of(st.just(placeholder("Booking")), any_id),
}
BY_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "ID": any_id,
    "String": words,
    "Int": page_sizes,
    "Float": radii,
    "Boolean": st.booleans(),
    "DateTime": datetimes,
    "Decimal": decimals,
    "JSON": amenities,
    "GeoJSON": polygons,
}


def cursor_placeholder(list_name: str, index: int) -> str:
    """The text a test replaces with a real cursor of `list_name`'s pages."""
    return f"@@cursor:{list_name}:{index}@@"


PLACEHOLDERS = re.compile(r"@@(?:real:(?P<type>\w+)|cursor:(?P<list>\w+):(?P<index>\d+))@@")


def fill(text: str, ids: Mapping[str, str], cursors: Mapping[str, Sequence[str]]) -> str:
    """Replace ID and cursor placeholders in `text` with the test's own."""

    def replace(match: re.Match[str]) -> str:
        if match["type"]:
            return ids[match["type"]]
        found = cursors.get(match["list"]) or [c for page in cursors.values() for c in page]
        return found[int(match["index"]) % len(found)] if found else "bm8tY3Vyc29y"

    return PLACEHOLDERS.sub(replace, text)


def fill_value(value: Any, ids: Mapping[str, str], cursors: Mapping[str, Sequence[str]]) -> Any:
    """`fill` anywhere inside a JSON value."""
    if isinstance(value, str):
        return fill(value, ids, cursors)
    if isinstance(value, list):
        return [fill_value(item, ids, cursors) for item in value]
    if isinstance(value, dict):
        return {key: fill_value(item, ids, cursors) for key, item in value.items()}
    return value


# --- documents ---------------------------------------------------------------------------------

# Answers that change from one request to the next (statement statistics) have nothing to compare.
UNCOMPARABLE_ROOT_FIELDS = frozenset({"databaseHealth"})


@cache
def read_root_fields() -> tuple[str, ...]:
    """Every root query field whose answer depends only on the data."""
    query = schema().query_type
    assert query is not None
    return tuple(name for name in query.fields if name not in UNCOMPARABLE_ROOT_FIELDS)


def _to_literal(value: Any, type_: GraphQLInputType) -> graphql.ValueNode:  # noqa: PLR0911 - one return per kind of literal
    """`value` as a literal of `type_`; JSON and GeoJSON as object literals."""
    named = get_named_type(type_)
    if value is None:
        return graphql.NullValueNode()
    if isinstance(named, GraphQLEnumType) and isinstance(value, str):
        return graphql.EnumValueNode(value=value)
    if isinstance(value, bool):
        return graphql.BooleanValueNode(value=value)
    if isinstance(value, int):
        return graphql.IntValueNode(value=str(value))
    if isinstance(value, float):
        text = repr(value)
        if text in {"inf", "-inf", "nan"}:
            return graphql.FloatValueNode(value="1e999")
        return graphql.FloatValueNode(value=text if "." in text or "e" in text else f"{text}.0")
    if isinstance(value, str):
        return graphql.StringValueNode(value=value)
    if isinstance(value, list):
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        item_type = inner.of_type if isinstance(inner, GraphQLList) else inner
        return graphql.ListValueNode(values=tuple(_to_literal(item, item_type) for item in value))
    fields = named.fields if isinstance(named, GraphQLInputObjectType) else {}
    return graphql.ObjectValueNode(
        fields=tuple(
            graphql.ObjectFieldNode(
                name=graphql.NameNode(value=key),
                value=_to_literal(item, fields[key].type if key in fields else _ANY),
            )
            for key, item in value.items()
        )
    )


_ANY = GraphQLScalarType("Any")


def _literal(value: Any) -> graphql.ValueNode:
    return _to_literal(value, _ANY)


def _constant(node: graphql.ValueNode) -> bool:
    """Whether `node` holds no variable (and may be a variable's default value)."""
    if isinstance(node, graphql.VariableNode):
        return False
    if isinstance(node, graphql.ListValueNode):
        return all(_constant(item) for item in node.values)
    if isinstance(node, graphql.ObjectValueNode):
        return all(_constant(item.value) for item in node.fields)
    return True


def _type_node(type_: GraphQLInputType) -> graphql.TypeNode:
    if isinstance(type_, GraphQLNonNull):
        inner = _type_node(type_.of_type)
        assert isinstance(inner, graphql.NamedTypeNode | graphql.ListTypeNode)
        return graphql.NonNullTypeNode(type=inner)
    if isinstance(type_, GraphQLList):
        return graphql.ListTypeNode(type=_type_node(type_.of_type))
    return graphql.NamedTypeNode(name=graphql.NameNode(value=type_.name))


@dataclass
class Rewriter:
    """One pass over a generated operation, drawing its changes as it goes."""

    draw: st.DrawFn
    # Only these arguments, mostly (None: any the generator wrote).
    arguments: frozenset[str] | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    definitions: list[graphql.VariableDefinitionNode] = field(default_factory=list)
    fragments: list[graphql.FragmentDefinitionNode] = field(default_factory=list)
    names: int = 0

    def fresh(self, prefix: str) -> str:
        """A name no other part of the document uses."""
        self.names += 1
        return f"{prefix}{self.names}"

    def chance(self, percent: int) -> bool:
        """True `percent` times in a hundred (and shrinking towards False)."""
        return self.draw(st.integers(0, 99)) >= 100 - percent

    # values

    def value(
        self, name: str, type_: GraphQLInputType, node: graphql.ValueNode, list_name: str
    ) -> graphql.ValueNode:
        """The value for argument or input field `name`: redrawn, kept, or lifted to a variable."""
        if isinstance(node, graphql.ObjectValueNode):
            node = self.object_value(type_, node, list_name)
        elif not self.chance(15):
            node = _to_literal(self.realistic(name, type_, list_name), type_)
        if _constant(node) and self.chance(25):
            variable = self.fresh("v")
            variable_type = type_
            with_default = self.chance(15) and not isinstance(node, graphql.NullValueNode)
            self.definitions.append(
                graphql.VariableDefinitionNode(
                    variable=graphql.VariableNode(name=graphql.NameNode(value=variable)),
                    type=_type_node(variable_type),
                    # A literal: `_constant` said it holds no variable.
                    default_value=node if with_default else None,  # type: ignore[arg-type]
                    directives=(),
                )
            )
            if not with_default:
                self.variables[variable] = graphql.value_from_ast_untyped(node)
            return graphql.VariableNode(name=graphql.NameNode(value=variable))
        return node

    def object_value(
        self, type_: GraphQLInputType, node: graphql.ObjectValueNode, list_name: str
    ) -> graphql.ValueNode:
        named = get_named_type(type_)
        if not isinstance(named, GraphQLInputObjectType):
            return node
        fields = [
            graphql.ObjectFieldNode(
                name=item.name,
                value=self.value(
                    item.name.value, named.fields[item.name.value].type, item.value, list_name
                ),
            )
            for item in node.fields
        ]
        return graphql.ObjectValueNode(fields=tuple(fields))

    def realistic(self, name: str, type_: GraphQLInputType, list_name: str) -> Any:  # noqa: PLR0911 - one return per kind of value
        """A value for `name` of `type_` drawn from the test's rows and their neighbourhood."""
        nullable = not isinstance(type_, GraphQLNonNull)
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if nullable and self.chance(5):
            return None
        if name in {"after", "before"}:
            return cursor_placeholder(list_name, self.draw(st.integers(0, 7)))
        if name == "id" and list_name == "venue" and not self.chance(10):
            return placeholder(self.draw(st.sampled_from(("Venue", "OddVenue", "GoneVenue"))))
        if name == "within" and not self.chance(10):
            if self.draw(st.booleans()):
                return {"polygon": self.draw(polygons)}
            return {"boundingBox": self.draw(boxes)}
        if isinstance(inner, GraphQLList):
            item = inner.of_type
            return [
                self.realistic(name, item, list_name) for _ in range(self.draw(st.integers(1, 3)))
            ]
        named = get_named_type(inner)
        if isinstance(named, GraphQLEnumType):
            return self.draw(st.sampled_from(sorted(named.values)))
        if isinstance(named, GraphQLInputObjectType):
            return {
                key: self.realistic(key, input_field.type, list_name)
                for key, input_field in named.fields.items()
                if isinstance(input_field.type, GraphQLNonNull) or self.chance(40)
            }
        strategy = BY_NAME.get(name, BY_TYPE.get(named.name, st.none()))
        return self.draw(strategy)

    # selections

    def selection_set(
        self, parent: GraphQLNamedType, node: graphql.SelectionSetNode
    ) -> graphql.SelectionSetNode:
        selections: list[graphql.SelectionNode] = []
        for selection in node.selections:
            if isinstance(selection, graphql.FieldNode):
                selections.append(self.field(parent, selection))
            elif isinstance(selection, graphql.InlineFragmentNode):
                selections.append(self.inline_fragment(parent, selection))
            else:
                selections.append(selection)
        if self.chance(15):
            selections.insert(
                self.draw(st.integers(0, len(selections))),
                graphql.FieldNode(name=graphql.NameNode(value="__typename"), directives=()),
            )
        return graphql.SelectionSetNode(selections=tuple(selections))

    def field(self, parent: GraphQLNamedType, node: graphql.FieldNode) -> graphql.FieldNode:
        name = node.name.value
        if name.startswith("__"):
            return node
        assert isinstance(parent, GraphQLObjectType | GraphQLInterfaceType), parent
        definition = parent.fields[name]
        given = {argument.name.value for argument in node.arguments or ()}
        dropped: set[str] = set()
        if self.arguments is not None and not self.chance(20):
            dropped = given - self.arguments
        # Paging both ways at once is refused; keep that to a few documents.
        if {"first", "last"} <= given and not self.chance(10):
            dropped |= {"last", "before"} if self.draw(st.booleans()) else {"first", "after"}
        arguments = tuple(
            graphql.ArgumentNode(
                name=argument.name,
                value=self.value(
                    argument.name.value,
                    definition.args[argument.name.value].type,
                    argument.value,
                    name,
                ),
            )
            for argument in node.arguments or ()
            if argument.name.value not in dropped
        )
        selection_set = node.selection_set
        if selection_set is not None:
            child = get_named_type(definition.type)
            selection_set = self.selection_set(child, selection_set)
            if self.chance(12):
                selection_set = self.named_fragment(child, selection_set)
        alias = node.alias
        if alias is None and self.chance(15):
            alias = graphql.NameNode(value=self.fresh("a"))
        return graphql.FieldNode(
            alias=alias,
            name=node.name,
            arguments=arguments,
            directives=self.directives(),
            selection_set=selection_set,
        )

    def inline_fragment(
        self, parent: GraphQLNamedType, node: graphql.InlineFragmentNode
    ) -> graphql.SelectionNode:
        on = parent
        if node.type_condition is not None:
            on = schema().type_map[node.type_condition.name.value]
        selection_set = self.selection_set(on, node.selection_set)
        if self.chance(30):
            spread = self.named_fragment(on, selection_set)
            return spread.selections[0]
        return graphql.InlineFragmentNode(
            type_condition=node.type_condition,
            directives=self.directives(),
            selection_set=selection_set,
        )

    def named_fragment(
        self, on: GraphQLNamedType, selection_set: graphql.SelectionSetNode
    ) -> graphql.SelectionSetNode:
        """`selection_set` moved into a fragment on `on`, spread where it was."""
        fragment = self.fresh("F")
        self.fragments.append(
            graphql.FragmentDefinitionNode(
                name=graphql.NameNode(value=fragment),
                type_condition=graphql.NamedTypeNode(name=graphql.NameNode(value=on.name)),
                directives=(),
                selection_set=selection_set,
            )
        )
        spread = graphql.FragmentSpreadNode(
            name=graphql.NameNode(value=fragment), directives=self.directives()
        )
        return graphql.SelectionSetNode(selections=(spread,))

    def directives(self) -> tuple[graphql.DirectiveNode, ...]:
        """Mostly none; now and then `@skip` or `@include`, on a literal or a variable."""
        if not self.chance(12):
            return ()
        directive = self.draw(st.sampled_from(("skip", "include")))
        condition = self.draw(st.booleans())
        value: graphql.ValueNode = graphql.BooleanValueNode(value=condition)
        if self.chance(60):
            variable = self.fresh("b")
            self.definitions.append(
                graphql.VariableDefinitionNode(
                    variable=graphql.VariableNode(name=graphql.NameNode(value=variable)),
                    type=graphql.NonNullTypeNode(
                        type=graphql.NamedTypeNode(name=graphql.NameNode(value="Boolean"))
                    ),
                    directives=(),
                )
            )
            self.variables[variable] = condition
            value = graphql.VariableNode(name=graphql.NameNode(value=variable))
        argument = graphql.ArgumentNode(name=graphql.NameNode(value="if"), value=value)
        return (
            graphql.DirectiveNode(name=graphql.NameNode(value=directive), arguments=(argument,)),
        )


@dataclass(frozen=True)
class ReadRequest:
    """A read document and what to send with it; placeholders still in."""

    document: str
    variables: dict[str, Any]
    operation_name: str | None


# Root fields the compiled path answers, and the arguments it is mostly given with them.
COMPILED_ROOT_FIELDS = ("venue", "venues", "node", "nodes", "search")
COMPILED_ARGUMENTS = frozenset({"id", "ids", "query", "first", "after"})


@st.composite
def read_requests(draw: st.DrawFn, *, compiled_shapes: bool = False) -> ReadRequest:
    """A valid query over the whole `Query` type, with realistic arguments and GraphQL's extras.

    With `compiled_shapes`, over the root fields the compiled path answers, mostly with only
    the arguments it takes: the fallback is exercised by the rest already.
    """
    generated = draw(
        hypothesis_graphql.queries(
            schema(),
            fields=COMPILED_ROOT_FIELDS if compiled_shapes else read_root_fields(),
            custom_scalars={name: strategy.map(_literal) for name, strategy in BY_TYPE.items()},
            allow_x00=False,
            codec="utf-8",
        )
    )
    document = graphql.parse(generated)
    (operation,) = document.definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    rewriter = Rewriter(draw, arguments=COMPILED_ARGUMENTS if compiled_shapes else None)
    query = schema().query_type
    assert query is not None
    selection_set = rewriter.selection_set(query, operation.selection_set)
    name = "Read" if rewriter.definitions or rewriter.chance(30) else None
    operation = graphql.OperationDefinitionNode(
        operation=graphql.OperationType.QUERY,
        name=graphql.NameNode(value=name) if name else None,
        variable_definitions=tuple(rewriter.definitions),
        directives=(),
        selection_set=selection_set,
    )
    text = graphql.print_ast(graphql.DocumentNode(definitions=(operation, *rewriter.fragments)))
    send_name = name if name is not None and rewriter.chance(50) else None
    return ReadRequest(text, rewriter.variables, send_name)


# --- sending and comparing ---------------------------------------------------------------------

READ_PATH_METRIC = "sartiq_graphql_read_path_total"
REQUEST_ID = re.compile(rb'"requestId":\s*"[0-9a-f]{32}"')


def read_path_counts() -> dict[str, float | None]:
    """The read-path counter per path (None before the first query of that path)."""
    return {
        path: REGISTRY.get_sample_value(READ_PATH_METRIC, {"path": path})
        for path in ("compiled", "loaders")
    }


def which_path(before: Mapping[str, float | None], after: Mapping[str, float | None]) -> str:
    """Which path answered between two readings of the counter ("refused": neither ran)."""
    moved = [path for path in ("compiled", "loaders") if (after[path] or 0) > (before[path] or 0)]
    return moved[0] if len(moved) == 1 else ("refused" if not moved else "both")


@dataclass
class Tally:
    """How the compared documents were answered, printed at the end of the run."""

    paths: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)

    def add(self, path: str, body: bytes) -> None:
        """Count one compared request by the path that answered and its first error code."""
        self.paths[path] += 1
        try:
            payload = json.loads(body)
        except ValueError:
            self.outcomes["not JSON"] += 1
            return
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if not errors:
            self.outcomes["answered"] += 1
        else:
            code = (errors[0].get("extensions") or {}).get("code", "no code")
            self.outcomes[f"error {code}"] += 1
            self.messages[f"{code}: {errors[0].get('message', '')[:90]}"] += 1

    def summary(self) -> str:
        """'N documents compared, M compiled, K fell back', then the outcomes."""
        total = sum(self.paths.values())
        line = (
            f"{total} documents compared, {self.paths['compiled']} compiled, "
            f"{self.paths['loaders']} fell back"
        )
        others = {path: n for path, n in self.paths.items() if path not in {"compiled", "loaders"}}
        if others:
            line += ", " + ", ".join(f"{n} {path}" for path, n in sorted(others.items()))
        outcomes = ", ".join(f"{n} {outcome}" for outcome, n in self.outcomes.most_common())
        return f"{line} ({outcomes})"


TALLIES: dict[str, Tally] = {}


def comparable(body: bytes) -> bytes:
    """The body as compared: byte for byte, but for the per-request id on internal errors."""
    return REQUEST_ID.sub(b'"requestId": "-"', body)
