"""`schema.graphql` is the schema the server serves, and every part of it is described."""

from collections.abc import Iterator
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    build_client_schema,
    build_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    print_schema,
    specified_directives,
    specified_scalar_types,
)

from graph.schema.root import schema

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_FILE = ROOT / "schema.graphql"
STALE = (
    "schema.graphql differs from the schema the server serves: run "
    "`uv run python scripts/export_schema.py` (`make schema`) and commit the result"
)


def normalised(graphql_schema: GraphQLSchema) -> str:
    """SDL with types and fields sorted, so only meaning counts, not the printer's order."""
    return print_schema(lexicographic_sort_schema(graphql_schema))


def test_schema_file_is_what_strawberry_exports():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema.as_str().rstrip("\n") + "\n", STALE


async def test_schema_file_is_what_http_introspection_returns(client):
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        input_value_deprecation=True,
    )
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body["errors"]
    served = normalised(build_client_schema(body["data"]))

    assert normalised(build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))) == served, STALE


def _members(name: str, named_type: GraphQLNamedType) -> Iterator[tuple[str, str | None]]:
    """A type's fields, their arguments and its enum values, each with its description."""
    if isinstance(named_type, GraphQLObjectType | GraphQLInterfaceType):
        for field_name, field in named_type.fields.items():
            yield f"{name}.{field_name}", field.description
            for arg_name, arg in field.args.items():
                yield f"{name}.{field_name}({arg_name}:)", arg.description
    elif isinstance(named_type, GraphQLInputObjectType):
        for field_name, input_field in named_type.fields.items():
            yield f"{name}.{field_name}", input_field.description
    elif isinstance(named_type, GraphQLEnumType):
        for value_name, value in named_type.values.items():
            yield f"{name}.{value_name}", value.description


def _parts(graphql_schema: GraphQLSchema) -> Iterator[tuple[str, str | None]]:
    """Every describable part of the schema as (schema coordinate, description)."""
    for name, named_type in graphql_schema.type_map.items():
        if name.startswith("__") or name in specified_scalar_types:
            continue
        yield name, named_type.description
        yield from _members(name, named_type)
    for directive in graphql_schema.directives:
        if directive not in specified_directives:
            yield f"@{directive.name}", directive.description
            for arg_name, arg in directive.args.items():
                yield f"@{directive.name}({arg_name}:)", arg.description


def undescribed(graphql_schema: GraphQLSchema) -> list[str]:
    """Coordinates (`Type`, `Type.field`, `Type.field(arg:)`, `Enum.VALUE`) lacking text."""
    return sorted(
        coordinate for coordinate, text in _parts(graphql_schema) if not (text or "").strip()
    )


def test_every_type_field_argument_and_enum_value_is_described():
    missing = undescribed(schema._schema)  # noqa: SLF001 - the graphql-core schema
    assert missing == [], "give these a description (docstring or `description=`): " + ", ".join(
        missing
    )


def test_the_description_walk_finds_what_is_missing():
    sdl = '"""Root."""\ntype Query {\n  a(x: Int): Int\n}\n"""E."""\nenum E {\n  V\n}\n'
    assert undescribed(build_schema(sdl)) == ["E.V", "Query.a", "Query.a(x:)"]
