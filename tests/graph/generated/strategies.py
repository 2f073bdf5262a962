"""Hypothesis strategies for generated requests: hostile values, documents valid and broken.

Values come in two forms: Python objects sent as JSON variables, and graphql-core value nodes
that hypothesis-graphql writes into documents as literals. Global IDs are drawn as placeholders
(`@@real:Venue@@`) that a test replaces with the ID of a row it made, since strategies are built
before the test's rows exist.
"""

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import graphql
import hypothesis_graphql
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)
from hypothesis import settings
from hypothesis import strategies as st

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "schema.graphql"
REAL_ID_TYPES = ("Venue", "Booking", "Media", "User", "Session")
PLACEHOLDER = re.compile(r"@@real:(?P<type>\w+)@@")
JsonValue = Any


@cache
def schema_text() -> str:
    """The schema clients see, as `make schema` wrote it."""
    return SCHEMA_PATH.read_text()


@cache
def schema() -> GraphQLSchema:
    """The schema parsed by graphql-core."""
    return graphql.build_schema(schema_text())


def placeholder(type_name: str) -> str:
    """The text a test replaces with the global ID of its own `type_name` row."""
    return f"@@real:{type_name}@@"


def fill_placeholders(text: str, ids: Mapping[str, str]) -> str:
    """Replace every placeholder in `text` with the matching real ID."""
    return PLACEHOLDER.sub(lambda match: ids[match["type"]], text)


def fill_value_placeholders(value: JsonValue, ids: Mapping[str, str]) -> JsonValue:
    """Replace placeholders anywhere inside a JSON value."""
    if isinstance(value, str):
        return fill_placeholders(value, ids) if "@@real:" in value else value
    if isinstance(value, list):
        return [fill_value_placeholders(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: fill_value_placeholders(item, ids) for key, item in value.items()}
    return value


# --- leaves ----------------------------------------------------------------------------------

NASTY_STRINGS = (
    "",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\ud83d",
    " " * 10,
    "\u200b",
    "\ufeff",
    "İstanbul",
    "straße",
    "ΣΑΣ",
    "\uff41\uff44\uff4d\uff49\uff4e",
    "e\u0301",
    "' OR 1=1 --",
    "%_\\",
    "<script>alert(1)</script>",
    "${jndi:ldap://127.0.0.1/a}",
    "null",
    "1e999",
    "NaN",
    "-Infinity",
    "9" * 400,
    "x" * 5_000,
    "@" * 300 + "@x.test",
    "a@b",
    "member@example.test\x00",
)

nasty_text = st.one_of(
    # Twice: the known troublemakers are worth more draws than random text.
    st.sampled_from(NASTY_STRINGS),
    st.sampled_from(NASTY_STRINGS),
    st.text(max_size=40),
    # Any code point, lone surrogates and NUL included: JSON carries them as \u escapes.
    st.text(st.characters(codec=None), max_size=40),
)

HUGE_NUMBERS: tuple[JsonValue, ...] = (
    10**400,
    -(10**400),
    2**63,
    2**31,
    -(2**31) - 1,
    float("inf"),
    float("-inf"),
    float("nan"),
    1e308,
    -0.0,
    5e-324,
)

nasty_int = st.one_of(
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
    st.integers(min_value=-5, max_value=200),
    st.sampled_from(HUGE_NUMBERS),
)
nasty_float = st.one_of(
    st.floats(),
    st.floats(min_value=-1e3, max_value=1e3),
    st.sampled_from(HUGE_NUMBERS),
)

_offsets = st.timedeltas(min_value=dt.timedelta(hours=-14), max_value=dt.timedelta(hours=14)).map(
    lambda delta: dt.timezone(dt.timedelta(minutes=delta // dt.timedelta(minutes=1)))
)
datetime_text = st.one_of(
    st.datetimes(timezones=_offsets).map(dt.datetime.isoformat),
    st.datetimes(
        # Hypothesis takes naive bounds and attaches a drawn zone.
        min_value=dt.datetime(2025, 1, 1),  # noqa: DTZ001
        max_value=dt.datetime(2035, 1, 1),  # noqa: DTZ001
        timezones=_offsets,
    ).map(dt.datetime.isoformat),
    st.sampled_from(
        (
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00+14:00",
            "2030-01-07T10:00:00Z",
            "2030-01-07",
            "2030-02-30T10:00:00Z",
            "10000-01-01T00:00:00Z",
            "2030-01-07T10:00:00",
        )
    ),
    nasty_text,
)
decimal_text = st.one_of(
    st.decimals(places=2, min_value=-1000, max_value=1000).map(str),
    st.decimals().map(str),
    st.sampled_from(("1e999", "1e100000", "-1e-999", "NaN", "sNaN", "Infinity", "1" * 400, "0.0")),
    nasty_text,
)


def json_values(*, max_leaves: int = 12) -> st.SearchStrategy[JsonValue]:
    """Arbitrary JSON, non-finite numbers and odd strings included."""
    leaves = st.one_of(st.none(), st.booleans(), nasty_int, nasty_float, nasty_text)
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(nasty_text, children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


DEEP = re.compile(r'"@@deep:(?P<depth>\d+)@@"')
# Deeper than this, json.dumps (and Hypothesis's printer) overflow the Python stack: the value is
# a placeholder that `json_body` writes out as raw text.
DEEPEST_BUILT = 100


def deep_json(depth: int, *, leaf: JsonValue = 1) -> JsonValue:
    """Lists and objects nested `depth` deep."""
    if depth > DEEPEST_BUILT:
        return f"@@deep:{depth}@@"
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


deep_depths = st.sampled_from((10, 100, 900, 3_000, 5_000))
json_scalar = st.one_of(json_values(), deep_depths.map(deep_json))


def _position() -> st.SearchStrategy[list[float]]:
    return st.lists(nasty_float, min_size=0, max_size=3)


def _ring(size: st.SearchStrategy[int]) -> st.SearchStrategy[list[list[float]]]:
    def closed(n: int) -> st.SearchStrategy[list[list[float]]]:
        return st.lists(
            st.tuples(
                st.floats(min_value=-180, max_value=180), st.floats(min_value=-90, max_value=90)
            ).map(list),
            min_size=n,
            max_size=n,
        ).map(lambda points: [*points, points[0]] if points else points)

    return size.flatmap(closed)


geojson = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("Polygon"), "coordinates": _ring(st.integers(0, 12)).map(lambda r: [r])}
    ),
    st.fixed_dictionaries(
        {"type": st.just("Polygon"), "coordinates": st.lists(st.lists(_position(), max_size=5))}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("Polygon"),
            "coordinates": _ring(st.just(4)).map(lambda r: [r]),
            "crs": st.fixed_dictionaries(
                {
                    "type": st.just("name"),
                    "properties": st.fixed_dictionaries({"name": json_values()}),
                }
            ),
        }
    ),
    st.fixed_dictionaries({"type": nasty_text, "coordinates": json_values()}),
    json_values(),
)


def _b64(text: str) -> str:
    import base64  # noqa: PLC0415 - only the garbage IDs need it

    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


garbage_id = st.one_of(
    nasty_text,
    st.uuids().map(str),
    st.tuples(st.sampled_from((*REAL_ID_TYPES, "Nope", "AuditEvent", "")), st.uuids()).map(
        lambda pair: _b64(f"{pair[0]}:{pair[1]}")
    ),
    st.tuples(st.sampled_from((*REAL_ID_TYPES, "AuditEvent")), nasty_text).map(
        lambda pair: _b64(f"{pair[0]}:{pair[1]}")
    ),
    st.sampled_from(
        (
            _b64("AuditEvent:Booking:00000000-0000-0000-0000-000000000000:99999999999999"),
            _b64("AuditEvent:x:y:z"),
            "====",
            "%%%",
        )
    ),
)
global_id = st.one_of(st.sampled_from(REAL_ID_TYPES).map(placeholder), garbage_id)

SCALAR_VALUES: dict[str, st.SearchStrategy[JsonValue]] = {
    "String": nasty_text,
    "Int": nasty_int,
    "Float": nasty_float,
    "Boolean": st.one_of(st.booleans(), st.sampled_from((0, 1, "true", None))),
    "ID": st.one_of(global_id, global_id, nasty_int),
    "DateTime": datetime_text,
    "Decimal": st.one_of(decimal_text, nasty_int, nasty_float),
    "JSON": json_scalar,
    "GeoJSON": geojson,
}


# --- values for variables --------------------------------------------------------------------


# Values of the right kind, hostile inside: they pass variable coercion and reach resolvers.
TYPED_VALUES: dict[str, st.SearchStrategy[JsonValue]] = {
    **SCALAR_VALUES,
    "Int": st.one_of(
        st.integers(min_value=-(2**31), max_value=2**31 - 1),
        st.integers(min_value=-5, max_value=200),
    ),
    "Float": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.floats(-1e3, 1e3)),
    "Boolean": st.booleans(),
    "ID": global_id,
}


@cache
def variable_values(  # noqa: PLR0911 - one return per kind of input type
    type_: GraphQLInputType, *, sloppy: bool = False, depth: int = 0
) -> st.SearchStrategy[JsonValue]:
    """Values for `type_`, hostile at the leaves; `sloppy` ones are now and then of the wrong kind.

    Values of the right kind get past variable coercion to the resolvers; a single value of the
    wrong kind stops the whole operation there, so those are kept for the sloppy draws.
    """
    wrong = st.one_of(st.none(), json_values(max_leaves=3))
    if isinstance(type_, GraphQLNonNull):
        inner = variable_values(cast("GraphQLInputType", type_.of_type), sloppy=sloppy, depth=depth)
        return st.one_of(inner, inner, inner, wrong) if sloppy else inner
    if isinstance(type_, GraphQLList):
        item = variable_values(
            cast("GraphQLInputType", type_.of_type), sloppy=sloppy, depth=depth + 1
        )
        return st.one_of(st.lists(item, max_size=3), item, st.none())
    if isinstance(type_, GraphQLEnumType):
        names = st.sampled_from(list(type_.values))
        return st.one_of(names, nasty_text, st.none()) if sloppy else names
    if isinstance(type_, GraphQLInputObjectType):
        if depth > 3:  # input types of this schema nest two deep
            return st.none()
        fields = {
            name: variable_values(field.type, sloppy=sloppy, depth=depth + 1)
            for name, field in type_.fields.items()
        }
        required = {
            name: fields[name] for name, f in type_.fields.items() if is_non_null_type(f.type)
        }
        optional = {name: value for name, value in fields.items() if name not in required}
        shaped = st.fixed_dictionaries(required, optional=optional)
        if not sloppy:
            return shaped
        extra = st.builds(
            lambda d, k, v: {**d, k: v}, shaped, nasty_text, json_values(max_leaves=2)
        )
        return st.one_of(shaped, shaped, shaped, extra, wrong)
    if isinstance(type_, GraphQLScalarType):
        if not sloppy:
            return TYPED_VALUES[type_.name]
        return st.one_of(SCALAR_VALUES[type_.name], SCALAR_VALUES[type_.name], wrong)
    message = f"no values for {type_}"
    raise TypeError(message)


def leaf_selection(type_: graphql.GraphQLOutputType, depth: int) -> str:
    """Every argument-free field of `type_` to `depth` levels, as a selection set."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    parts = ["__typename"]
    if isinstance(named, GraphQLObjectType) and depth > 0:
        for name, field in named.fields.items():
            if any(is_non_null_type(argument.type) for argument in field.args.values()):
                continue
            if is_leaf_type(get_named_type(field.type)):
                parts.append(name)
            elif depth > 1:
                parts.append(f"{name} {leaf_selection(field.type, depth - 1)}")
    return "{ " + " ".join(parts) + " }"


@cache
def operation_for(kind: str, field_name: str) -> tuple[str, dict[str, GraphQLInputType]]:
    """An operation calling one root field with every argument passed as a variable."""
    root = schema().query_type if kind == "query" else schema().mutation_type
    assert root is not None
    field = root.fields[field_name]
    variables = {name: argument.type for name, argument in field.args.items()}
    declared = ", ".join(f"${name}: {type_}" for name, type_ in variables.items())
    arguments = ", ".join(f"{name}: ${name}" for name in variables)
    head = f"{kind} Op({declared})" if declared else f"{kind} Op"
    call = f"{field_name}({arguments})" if arguments else field_name
    return f"{head} {{ {call} {leaf_selection(field.type, 3)} }}", variables


def root_field_names(kind: str) -> list[str]:
    """Root fields of `query` or `mutation`."""
    root = schema().query_type if kind == "query" else schema().mutation_type
    assert root is not None
    return sorted(root.fields)


@st.composite
def operations_with_variables(draw: st.DrawFn, kind: str) -> tuple[str, dict[str, JsonValue]]:
    """One root field of `kind` called with generated variables: the required, and up to two.

    Few variables at a time, so that one bad value does not hide what the others would do.
    """
    document, types = operation_for(kind, draw(st.sampled_from(root_field_names(kind))))
    sloppy = draw(st.integers(0, 3)) == 0
    optional = sorted(name for name, type_ in types.items() if not is_non_null_type(type_))
    chosen = draw(st.lists(st.sampled_from(optional), max_size=2, unique=True)) if optional else []
    names = [name for name, type_ in types.items() if is_non_null_type(type_)] + chosen
    return document, {name: draw(variable_values(types[name], sloppy=sloppy)) for name in names}


# --- values as literals, for hypothesis-graphql -----------------------------------------------


def value_node(value: JsonValue) -> graphql.ValueNode:  # noqa: PLR0911 - one per JSON kind
    """A GraphQL literal for a JSON value (non-finite floats as the literal text they print)."""
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return graphql.BooleanValueNode(value=value)
    if isinstance(value, int):
        return graphql.IntValueNode(value=str(value))
    if isinstance(value, float):
        text = repr(value) if math.isfinite(value) else "1e999"
        return graphql.FloatValueNode(value=text)
    if isinstance(value, str):
        return graphql.StringValueNode(value=value)
    if isinstance(value, list):
        return graphql.ListValueNode(values=tuple(value_node(item) for item in value))
    fields = tuple(
        graphql.ObjectFieldNode(name=graphql.NameNode(value=_name(key)), value=value_node(item))
        for key, item in value.items()
    )
    return graphql.ObjectValueNode(fields=fields)


def _name(key: str) -> str:
    cleaned = re.sub(r"\W", "_", key, flags=re.ASCII)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"k{cleaned}"


def deep_literal(depth: int) -> graphql.ValueNode:
    """A list literal nested `depth` deep, built without recursion."""
    node: graphql.ValueNode = graphql.IntValueNode(value="1")
    for _ in range(depth):
        node = graphql.ListValueNode(values=(node,))
    return node


CUSTOM_SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "JSON": st.one_of(
        json_values().map(value_node), st.sampled_from((10, 100, 300)).map(deep_literal)
    ),
} | {
    name: strategy.map(value_node)
    for name, strategy in {
        "DateTime": datetime_text,
        "Decimal": st.one_of(decimal_text, st.sampled_from((10**400, 1.5, float("inf")))),
        "JSON": json_values(),
        "GeoJSON": geojson,
        "ID": global_id,
    }.items()
}


def generated_documents(kind: str, *, mode: hypothesis_graphql.Mode) -> st.SearchStrategy[str]:
    """hypothesis-graphql documents of `kind` from schema.graphql, with our scalar strategies."""
    build = hypothesis_graphql.queries if kind == "query" else hypothesis_graphql.mutations
    return build(schema_text(), custom_scalars=CUSTOM_SCALARS, codec=None, mode=mode)


# --- broken documents ------------------------------------------------------------------------

TOKENS = (
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "...",
    "$",
    "$x",
    "@skip",
    "@include(if: $x)",
    ":",
    "=",
    "!",
    "|",
    "&",
    '"',
    '"""',
    "#",
    "query",
    "mutation",
    "subscription",
    "fragment",
    "on",
    "__schema",
    "__typename",
    "null",
    "1e999",
    "\x00",
    "\ufeff",
    "\ud800",
)


@st.composite
def mutated(draw: st.DrawFn, document: str) -> str:
    """`document` truncated, with a slice duplicated or removed, or a token inserted."""
    size = len(document)
    at = draw(st.integers(0, size))
    to = draw(st.integers(at, size))
    how = draw(st.sampled_from(("truncate", "duplicate", "delete", "insert", "insert")))
    if how == "truncate":
        return document[:at]
    if how == "duplicate":
        return document[:to] + document[at:to] + document[to:]
    if how == "delete":
        return document[:at] + document[to:]
    token = draw(st.sampled_from(TOKENS))
    return f"{document[:at]} {token} {document[at:]}"


UNKNOWN_DOCUMENTS = (
    "{ nope }",
    "{ ...Nope }",
    "query { ...Nope }",
    '{ venue(id: "x") { nope } }',
    "{ venue { id } }",
    "{ venues { ...F } } fragment F on Nope { id }",
    "fragment F on Query { __typename }",
    "{ __typename } fragment F on Query { __typename }",
    "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
    "{ ...A } fragment A on Query { __typename } fragment A on Query { __typename }",
    "query Q($x: Nope) { __typename }",
    "query Q($x: Int) { venues(first: $y) { totalCount } }",
    "query Q($x: String!) { venues(first: $x) { totalCount } }",
    "{ __typename @nope }",
    "{ __typename @skip }",
    "subscription { __typename }",
    "{ viewer { ... on Venue { name } } }",
    "",
    " ",
    "#",
    "query",
    "{}",
)


@st.composite
def several_operations(draw: st.DrawFn) -> tuple[str, JsonValue, bool]:
    """Two or more operations and an operationName; whether exactly one of them may run."""
    names = draw(st.lists(st.sampled_from(("A", "B", "C", "")), min_size=2, max_size=4))
    kinds = draw(
        st.lists(st.sampled_from(("query", "mutation")), min_size=len(names), max_size=len(names))
    )
    bodies = {"query": "{ __typename }", "mutation": "{ logOut { __typename } }"}
    document = " ".join(
        f"{kind} {name} {bodies[kind]}" for kind, name in zip(kinds, names, strict=True)
    )
    operation_name = draw(st.one_of(st.none(), st.sampled_from(names), st.sampled_from(("Z", ""))))
    # GraphQL: names unique, no anonymous operation beside others, and the one named chosen.
    runnable = all(names) and len(set(names)) == len(names) and operation_name in names
    return document, operation_name, runnable


def _object_fields(type_: GraphQLObjectType) -> list[tuple[str, GraphQLObjectType]]:
    children = []
    for name, field in type_.fields.items():
        named = get_named_type(field.type)
        required = any(is_non_null_type(argument.type) for argument in field.args.values())
        if isinstance(named, GraphQLObjectType) and not required:
            children.append((name, named))
    return children


@st.composite
def deep_documents(draw: st.DrawFn) -> str:
    """A selection nested as deep as the schema allows, walking argument-free object fields."""
    depth = draw(st.integers(1, 40))
    current = schema().query_type
    assert current is not None
    path: list[str] = []
    for _ in range(depth):
        children = _object_fields(current)
        if not children:
            break
        name, current = draw(st.sampled_from(children))
        path.append(name)
    return "{ " + " { ".join(path) + " { __typename" + " }" * (len(path) + 1)


@st.composite
def brace_nesting(draw: st.DrawFn) -> str:
    """Braces, lists or parentheses nested far deeper than any valid document."""
    depth = draw(st.sampled_from((50, 500, 3_000, 10_000)))
    shape = draw(st.sampled_from(("selection", "list literal", "object literal")))
    if shape == "selection":
        return "{ a" * depth + " }" * depth
    if shape == "list literal":
        return '{ venue(id: "' + "[" * depth + "]" * depth + '") { id } }'
    return (
        "{ venues(filter: {amenities: " + "{a: " * depth + "1" + "}" * depth + "}) { totalCount } }"
    )


def fan_out(levels: int) -> str:
    """Each fragment spreads the next one twice: 2**levels visits for a naive walk."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    return " ".join(
        ["query Q { ...F0 }", *fragments, f"fragment F{levels} on Query {{ __typename }}"]
    )


@st.composite
def alias_floods(draw: st.DrawFn) -> str:
    """Many aliases of one field, cheap or costly."""
    count = draw(st.integers(1, 400))
    field = draw(
        st.sampled_from(
            (
                "__typename",
                "viewer { id }",
                "venues(first: 100) { edges { node { id } } }",
                'search(query: "venue hall room studio", first: 100) { edges { highlight } }',
            )
        )
    )
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


@st.composite
def directive_floods(draw: st.DrawFn) -> str:
    """Many directives or many variables on one operation."""
    count = draw(st.integers(1, 2_000))
    if draw(st.booleans()):
        return "{ __typename" + " @skip(if: false)" * count + " }"
    variables = ", ".join(f"$v{i}: Int" for i in range(count))
    return f"query Q({variables}) {{ __typename }}"


def invalid_documents() -> st.SearchStrategy[tuple[str, JsonValue]]:
    """Broken documents with the operationName to send (mostly none)."""
    plain = st.one_of(
        generated_documents("query", mode=hypothesis_graphql.Mode.POSITIVE).flatmap(mutated),
        generated_documents("query", mode=hypothesis_graphql.Mode.NEGATIVE),
        generated_documents("mutation", mode=hypothesis_graphql.Mode.NEGATIVE),
        st.sampled_from(UNKNOWN_DOCUMENTS),
        st.sampled_from(UNKNOWN_DOCUMENTS).flatmap(mutated),
        deep_documents(),
        brace_nesting(),
        st.integers(1, 12).map(fan_out),
        alias_floods(),
        directive_floods(),
    )
    return st.one_of(
        plain.map(lambda document: (document, None)),
        several_operations().map(lambda drawn: drawn[:2]),
    )


# --- raw requests ----------------------------------------------------------------------------

CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/graphql-response+json",
    "application/graphql",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "text/plain",
    "text/html",
    "application/octet-stream",
    "application/",
    "a/b;;;=",
    "",
)

good_query = st.sampled_from(
    (
        "{ __typename }",
        "query Q { venues(first: 2) { totalCount } }",
        (
            "query Q($f: Float) { venues(near: {latitude: 0, longitude: 0, radiusMeters: $f}) "
            "{ totalCount } }"
        ),
        "mutation M { logOut { __typename } }",
    )
)


def deep_text(depth: int) -> str:
    """JSON text of lists and objects nested `depth` deep, written without recursion."""
    opening = "".join("[" if level % 2 else '{"a": ' for level in range(depth))
    closing = "".join("]" if level % 2 else "}" for level in reversed(range(depth)))
    return f"{opening}1{closing}"


def json_body(payload: JsonValue) -> bytes:
    """A JSON body as a careless client writes it: NaN and Infinity as Python prints them."""
    text = json.dumps(payload)
    return DEEP.sub(lambda match: deep_text(int(match["depth"])), text).encode()


@st.composite
def wrong_field_bodies(draw: st.DrawFn) -> bytes:
    """A GraphQL request object whose members have the wrong JSON types or extra members."""
    payload: dict[str, JsonValue] = {"query": draw(good_query)}
    for member in draw(
        st.lists(st.sampled_from(("query", "variables", "operationName", "extensions")), max_size=4)
    ):
        payload[member] = draw(json_values(max_leaves=4))
    if draw(st.booleans()):
        payload[draw(nasty_text)] = draw(json_values(max_leaves=2))
    return json_body(payload)


def _raw(template: str) -> st.SearchStrategy[bytes]:
    return st.sampled_from(
        ("1e999", "-1e999", "1e100000", "1" * 500, "NaN", "Infinity", "-0", "1E+400")
    ).map(lambda number: template.replace("NUMBER", number).encode())


raw_number_bodies = st.one_of(
    _raw(
        '{"query": "query Q($f: Float) { venues(near: {latitude: 0, longitude: 0,'
        ' radiusMeters: $f}) { totalCount } }", "variables": {"f": NUMBER}}'
    ),
    _raw(
        '{"query": "query Q($n: Int) { venues(first: $n) { totalCount } }",'
        ' "variables": {"n": NUMBER}}'
    ),
    _raw(
        '{"query": "query Q($j: JSON) { venues(filter: {amenities: $j}) { totalCount } }",'
        ' "variables": {"j": {"a": NUMBER}}}'
    ),
    _raw(
        '{"query": "query Q($d: Decimal) { venues(filter: {hourlyRate: {min: $d}}) '
        '{ totalCount } }", "variables": {"d": NUMBER}}'
    ),
    _raw('{"query": "{ __typename }", "extensions": {"n": NUMBER}}'),
    _raw("NUMBER"),
)


@st.composite
def deep_bodies(draw: st.DrawFn) -> bytes:
    """JSON nested thousands deep as raw text, at the top or inside variables or extensions."""
    depth = draw(deep_depths)
    nested = "[" * depth + "]" * depth
    where = draw(st.sampled_from(("top", "variables", "extensions", "json variable")))
    if where == "top":
        return nested.encode()
    if where == "json variable":
        body = (
            '{"query": "query Q($j: JSON) { venues(filter: {amenities: $j}) { totalCount } }",'
            f' "variables": {{"j": {nested}}}}}'
        )
        return body.encode()
    return f'{{"query": "{{ __typename }}", "{where}": {{"a": {nested}}}}}'.encode()


@st.composite
def broken_text_bodies(draw: st.DrawFn) -> bytes:
    """Bodies that are not JSON, not UTF-8, or cut short."""
    valid = json_body({"query": draw(good_query), "variables": {}})
    return draw(
        st.one_of(
            st.binary(max_size=60),
            st.just(valid).flatmap(
                lambda body: st.integers(0, len(body) - 1).map(lambda cut: body[:cut])
            ),
            st.sampled_from((b"\xff\xfe{}", b'{"query": "\xff"}', b"\xc3\x28", b"\x00" * 8)),
            st.just(valid.decode().encode("utf-16")),
            st.just(b"\xef\xbb\xbf" + valid),
        )
    )


request_bodies = st.one_of(
    json_values().map(json_body),
    wrong_field_bodies(),
    raw_number_bodies,
    deep_bodies(),
    broken_text_bodies(),
    good_query.map(lambda query: json_body({"query": query})),
)


def query_string(params: Mapping[str, str]) -> str:
    """A URL query string as bytes on the wire: UTF-8, lone surrogates as the invalid bytes
    a careless encoder writes for them (what a client can send but cannot encode properly)."""
    return "&".join(
        f"{quote(name)}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
        for name, value in params.items()
    )


@st.composite
def get_params(draw: st.DrawFn) -> dict[str, str]:
    """Query-string parameters for GET: good, deep, broken or wrongly typed members."""
    params = {"query": draw(st.one_of(good_query, nasty_text))}
    if draw(st.booleans()):
        depth = draw(deep_depths)
        params["variables"] = draw(
            st.one_of(
                json_values().map(json.dumps),
                st.just("[" * depth + "]" * depth),
                nasty_text,
            )
        )
    if draw(st.booleans()):
        params["operationName"] = draw(st.one_of(nasty_text, json_values().map(json.dumps)))
    if draw(st.booleans()):
        params["extensions"] = draw(st.one_of(nasty_text, json_values().map(json.dumps)))
    return params


# --- who sends, and how many examples ----------------------------------------------------------

roles = st.sampled_from((None, None, "member", "host", "admin"))

_header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
user_agents = st.one_of(
    st.none(),
    _header_text,
    st.integers(500, 3_000).map(lambda n: "Mozilla/5.0 " + "a" * n),
)
authorizations = st.one_of(
    _header_text,
    _header_text.map(lambda text: f"Bearer {text}"),
    st.sampled_from(("Bearer", "Bearer ", "bearer x", "Basic YTpi", "Bearer " + "x" * 10_000)),
)
accepts = st.sampled_from(
    (
        "application/json",
        "application/graphql-response+json",
        "application/graphql-response+json, application/json;q=0.9",
        "*/*",
        "text/plain",
        "application/xml",
        "",
    )
)


def bounded(examples: int) -> settings:
    """`examples` under the "ci" profile, scaled with the loaded profile's max_examples."""
    loaded = settings.default
    scale = loaded.max_examples if loaded is not None else 100
    return settings(max_examples=max(1, examples * scale // 100))
