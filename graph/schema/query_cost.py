"""Query cost: how much work an operation asks of the database, known before it runs.

Every field costs 1 for each time it can appear in the response. A list field's page size
(the larger of `first` and `last`, or the number of `ids`; the schema default when not given,
and the lists' default page, `DEFAULT_PAGE_SIZE`, for a connection whose `first` and `last` are
omitted or null) multiplies the cost of everything selected below it, so
`venues(first: 50) { bookings(first: 10) { user } }` costs about 50 + 50 x 10 + 50 x 10: the
rows the database would have to produce.

Some arguments cost the database more than the rows they return; each adds its weight to its
field (the weights below, with why).

The walk visits every selection of the document at most once per (fragment, search) it sits
in: a fragment's cost is computed once and reused at every spread, so a document whose
fragments would inline to millions of fields is costed in time linear in its size.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    value_from_ast,
)

from graph.core.paging import DEFAULT_PAGE_SIZE
from models.search import search_words

PAGE_ARGUMENTS = ("first", "last")

# Weights, in cost units. One unit is about what one row of a plain list costs (20 to 40 us
# on the demo data, request overhead included), so the limit of 10,000 is a few hundred
# milliseconds of database work. Measured with bench/attack.py's database (scale-1 demo data:
# 300 venues, 5,000 media); a bigger table makes searches and polygons dearer still, so these
# err high: one long search or one 1,000-position polygon fits the limit, a few do not.
#
# A `search` runs a GIN lookup, ranks every match (`ts_rank_cd`) and, when nothing matches,
# scans the names' trigrams: a two-word search costs about what 100 plain rows do.
SEARCH_COST = 100
# Each word is one more lexeme to look up, rank and fall back on: 72 words took 50 ms more
# than 2 on the venues and 300 ms more on the media (about 40 units a word on the smaller).
# Words are counted as the SQL gets them: repeats dropped (`room room` is one), at most
# `MAX_SEARCH_WORDS` (more is refused before any SQL runs).
SEARCH_TERM_COST = 40
# `highlight` runs `ts_headline` on each returned row: it re-parses the row's whole text and
# matches every word; per row and per word, plus the square of the words over 16: its cover
# search grows faster than the words where they stem alike (`rooms room. Room,` are not
# dropped as repeats). 32 such took 1.5 ms a row on the scale-100 venues, 16 took 0.2 ms.
HIGHLIGHT_TERM_COST = 2
HIGHLIGHT_SQUARED_TERMS_PER_UNIT = 16
# The root `search` runs the search on venues and on media and merges them (a union).
SEARCH_TABLES = 2
# `near`: a GiST range scan on geography and a spheroid distance per candidate row.
NEAR_COST = 50
# `orderBy: DISTANCE`: a nearest-first (KNN) index scan over the candidates.
DISTANCE_ORDER_COST = 100
# `within` a polygon: each candidate row is tested against every edge (ST_Intersects), so the
# work grows with the positions (at most 1,000): a 1,000-position star over Paris took 17 ms
# on the venues and 54 ms on the media, about 1 to 2.5 units a position.
POLYGON_POSITION_COST = 4
# `within` a bounding box: one index scan, like `near` without the distances.
BOUNDING_BOX_COST = 20


@dataclass(frozen=True, slots=True)
class _Search:
    """The search text a list field was given, for pricing `highlight` below it."""

    terms: int


_NO_SEARCH = _Search(terms=0)


class _CostWalker:
    """Costs selection sets; each fragment once per search context."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._variables = dict(variables)
        self._fragment_costs: dict[tuple[str, _Search], int] = {}
        self._costing: set[tuple[str, _Search]] = set()
        self.visited = 0  # selections visited, for tests of linearity

    def selection_cost(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, search: _Search
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            self.visited += 1
            if isinstance(selection, FieldNode):
                total += self._field_cost(selection, parent, search)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self._schema.get_type(condition.name.value) if condition else parent
                total += self.selection_cost(selection.selection_set, target or parent, search)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment_cost(selection.name.value, parent, search)
        return total

    def _fragment_cost(self, name: str, parent: GraphQLNamedType, search: _Search) -> int:
        fragment = self._fragments.get(name)
        key = (name, search)
        if fragment is None or key in self._costing:
            return 0  # validation reports unknown and cyclic fragments
        if key not in self._fragment_costs:
            self._costing.add(key)
            target = self._schema.get_type(fragment.type_condition.name.value) or parent
            self._fragment_costs[key] = self.selection_cost(fragment.selection_set, target, search)
            self._costing.discard(key)
        return self._fragment_costs[key]

    def _field_cost(self, node: FieldNode, parent: GraphQLNamedType, search: _Search) -> int:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 1
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 1  # __typename and introspection fields
        if node.name.value == "highlight":
            return 1 + highlight_cost(search.terms)
        values = self._argument_values(node, definition)
        multiplier = _page_size(values, definition)
        own, below = _argument_cost(node.name.value, parent, values, search)
        child_type = get_named_type(definition.type)
        return 1 + own + multiplier * self.selection_cost(node.selection_set, child_type, below)

    def _argument_values(self, node: FieldNode, definition: GraphQLField) -> dict[str, Any]:
        values: dict[str, Any] = {
            name: argument.default_value
            for name, argument in definition.args.items()
            if argument.default_value is not None
        }
        for argument_node in node.arguments or ():
            argument = definition.args.get(argument_node.name.value)
            if argument is None:
                continue
            values[argument_node.name.value] = value_from_ast(
                argument_node.value, argument.type, self._variables
            )
        return values


def highlight_cost(terms: int) -> int:
    """What `highlight` costs on one row of a search of `terms` words (besides the field)."""
    return HIGHLIGHT_TERM_COST * terms + terms * terms // HIGHLIGHT_SQUARED_TERMS_PER_UNIT


def _page_size(values: Mapping[str, Any], definition: GraphQLField) -> int:
    sizes = [int(values[name]) for name in PAGE_ARGUMENTS if isinstance(values.get(name), int)]
    if sizes:
        # The larger: a child connection's `first` keeps its schema default beside `last`.
        return max(*sizes, 0)
    if any(name in definition.args for name in PAGE_ARGUMENTS):
        # A connection given neither (or null): the resolver serves its default page.
        return DEFAULT_PAGE_SIZE
    ids = values.get("ids")
    if isinstance(ids, list):
        return len(ids)
    return 1  # one object, or an unpaged list whose size is not known up front


def _argument_cost(
    name: str, parent: GraphQLNamedType, values: Mapping[str, Any], search: _Search
) -> tuple[int, _Search]:
    """The weight of a field's costly arguments, and the search its selection runs under."""
    cost = 0
    text = values.get("search")
    tables = 1
    if name == "search" and parent.name == "Query":
        text, tables = values.get("query"), SEARCH_TABLES
    if isinstance(text, str):
        terms = search_words(text)
        cost += tables * (SEARCH_COST + SEARCH_TERM_COST * terms)
        search = _Search(terms=terms)
    if values.get("near") is not None:
        cost += NEAR_COST
    if _named(values.get("orderBy")) == "DISTANCE":
        cost += DISTANCE_ORDER_COST
    within = values.get("within")
    if within is not None:
        polygon = _member(within, "polygon")
        if polygon is not None:
            cost += POLYGON_POSITION_COST * _positions(_member(polygon, "coordinates"))
        if _member(within, "bounding_box", "boundingBox") is not None:
            cost += BOUNDING_BOX_COST
    return cost, search


def _named(value: object) -> object:
    """An enum value's name (Strawberry gives the Python enum member), else the value."""
    return getattr(value, "name", value)


def _member(value: object, *names: str) -> Any:  # noqa: ANN401 - an input object's member
    """A member of an input object, whether it came as a dict or as Strawberry's class."""
    for name in names:
        found = value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)
        if found is not None:
            return found
    return None


def _positions(coordinates: object) -> int:
    """How many positions (innermost lists) nested lists hold; iterative, any depth."""
    count = 0
    stack = [coordinates]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            if value and not isinstance(value[0], list):
                count += 1
            else:
                stack.extend(value)
    return count


def operation_walk(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> tuple[int, int]:
    """The cost of the operation `operation_name` (or the only one), and selections visited."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    operation = next(_operations(document, operation_name), None)
    if operation is None:
        return 0, 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0, 0
    walker = _CostWalker(schema, fragments, variables or {})
    cost = walker.selection_cost(operation.selection_set, root, _NO_SEARCH)
    return cost, walker.visited


def _operations(
    document: DocumentNode, operation_name: str | None
) -> Iterator[OperationDefinitionNode]:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        ):
            yield definition


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of the operation `operation_name` (or the only one) of `document`."""
    cost, _ = operation_walk(schema, document, operation_name=operation_name, variables=variables)
    return cost
