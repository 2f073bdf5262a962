"""Every selection in `graph/operations/` of an object that has an `id` selects that `id`.

Normalized client caches (Apollo, urql's graphcache, Relay) merge what several screens read
of one object by its `id`; a selection without it is cached apart and goes stale. This is
@graphql-eslint's `require-selections` rule, applied to operations and fragments alike with
graphql-core's `TypeInfo`: an `id` counts when the selection set holds it directly, or
through a fragment spread or inline fragment on the same type (or on an interface or union
containing it), however deeply nested.
"""

from functools import cache
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    visit,
)
from graphql.type import is_abstract_type

from graph.schema.root import schema

OPERATIONS_DIR = Path(__file__).resolve().parents[3] / "graph" / "operations"
OPERATION_FILES = sorted(OPERATIONS_DIR.rglob("*.graphql"))
ID_FIELD = "id"
GRAPHQL_SCHEMA = schema._schema  # noqa: SLF001 - graphql-core's schema, for TypeInfo


@cache
def shared_fragments() -> dict[str, FragmentDefinitionNode]:
    """Every fragment of every file, by name (spreads resolve across files)."""
    found: dict[str, FragmentDefinitionNode] = {}
    for path in OPERATION_FILES:
        for definition in parse(path.read_text(encoding="utf-8")).definitions:
            if isinstance(definition, FragmentDefinitionNode):
                found[definition.name.value] = definition
    return found


def _covers(condition: str | None, parent: GraphQLNamedType) -> bool:
    """A fragment on `condition` applies to every object of type `parent`."""
    if condition is None or condition == parent.name:
        return True
    outer = GRAPHQL_SCHEMA.get_type(condition)
    return (
        outer is not None
        and is_abstract_type(outer)
        and isinstance(parent, GraphQLObjectType)
        and GRAPHQL_SCHEMA.is_sub_type(outer, parent)
    )


def selects_id(
    selection_set: SelectionSetNode,
    parent: GraphQLNamedType,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> bool:
    """`selection_set`, on `parent`, selects `id` itself or through fragments that always apply."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode) and selection.name.value == ID_FIELD:
            return True
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else None
            if _covers(condition, parent) and selects_id(
                selection.selection_set, parent, fragments, seen
            ):
                return True
        if isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if (
                fragment is not None
                and name not in seen
                and _covers(fragment.type_condition.name.value, parent)
                and selects_id(fragment.selection_set, parent, fragments, seen | {name})
            ):
                return True
    return False


class _MissingIds(Visitor):
    """Notes `definition: path (Type)` for each selection set of a type with `id` that lacks it."""

    def __init__(self, type_info: TypeInfo, fragments: dict[str, FragmentDefinitionNode]) -> None:
        super().__init__()
        self.type_info = type_info
        self.fragments = fragments
        self.path: list[str] = []
        self.missing: list[str] = []

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
        self.path = [node.name.value if node.name else "(anonymous)"]

    def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: object) -> None:
        self.path = [f"fragment {node.name.value}"]

    def enter_field(self, node: FieldNode, *_: object) -> None:
        self.path.append(node.alias.value if node.alias else node.name.value)

    def leave_field(self, *_: object) -> None:
        self.path.pop()

    def enter_selection_set(
        self, node: SelectionSetNode, _key: object, parent: object, *_: object
    ) -> None:
        if isinstance(parent, InlineFragmentNode):
            return  # checked as part of the selection set that holds it
        owner = self.type_info.get_parent_type()
        if not isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
            return
        if ID_FIELD in owner.fields and not selects_id(node, owner, self.fragments):
            where = ": ".join([self.path[0], ".".join(self.path[1:])]).removesuffix(": ")
            self.missing.append(f"{where} ({owner.name})")


def missing_ids(document: DocumentNode) -> list[str]:
    """Where `document` selects an object with an `id` without selecting the `id`."""
    fragments = {**shared_fragments()}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments[definition.name.value] = definition
    type_info = TypeInfo(GRAPHQL_SCHEMA)
    visitor = _MissingIds(type_info, fragments)
    visit(document, TypeInfoVisitor(type_info, visitor))
    return visitor.missing


def test_the_check_finds_a_missing_id_and_sees_through_fragments():
    document = parse(
        """
        query Probe($id: ID!) {
          venue(id: $id) {
            name
            owner { ...Named }
            media(first: 1) { edges { node { title } } }
            bookings(first: 1) { edges { node { ... on Booking { id } } } }
          }
          viewer { ...ProfileFields }
        }
        fragment Named on User { displayName }
        """
    )
    assert missing_ids(document) == [
        "Probe: venue (Venue)",
        "Probe: venue.owner (User)",
        "Probe: venue.media.edges.node (Media)",
        "fragment Named (User)",
    ]


def test_an_interface_fragment_counts_for_its_objects():
    document = parse(
        'query Probe { venue(id: "x") { ...OnNode name } } fragment OnNode on Node { id }'
    )
    assert missing_ids(document) == []


@pytest.mark.parametrize("path", OPERATION_FILES, ids=lambda path: path.name)
def test_every_object_with_an_id_selects_it(path):
    document = parse(path.read_text(encoding="utf-8"))
    assert missing_ids(document) == [], f"{path.name} selects these without `id`"
