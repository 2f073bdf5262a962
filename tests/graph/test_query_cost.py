from graphql import parse

from graph.query_cost import operation_cost
from graph.schema import schema

GRAPHQL_SCHEMA = schema._schema  # noqa: SLF001 - graphql-core's schema, which the cost walks


def cost(query: str, variables=None, operation_name=None) -> int:
    return operation_cost(
        GRAPHQL_SCHEMA, parse(query), operation_name=operation_name, variables=variables
    )


def test_scalars_cost_one_each():
    assert cost('{ venue(id: "x") { name city } }') == 1 + 2


def test_page_sizes_multiply_down_nested_lists():
    nested = """
    { venues(first: 50) { edges { node { name
        bookings(first: 10) { edges { node { status user { displayName } } } } } } } }
    """
    # venues 1 + 50 x (edges 1 + node 1 + name 1 + bookings (1 + 10 x (edges + node + status
    # + user + displayName)))
    per_booking = 1 + 1 + 1 + 1 + 1
    per_venue = 1 + 1 + 1 + (1 + 10 * per_booking)
    assert cost(nested) == 1 + 50 * per_venue


def test_variables_and_defaults_set_the_page_size():
    query = "query($n: Int!) { venues(first: $n) { edges { node { name } } } }"
    assert cost(query, {"n": 5}) == 1 + 5 * 3
    assert cost(query, {"n": 100}) == 1 + 100 * 3
    defaulted = '{ venue(id: "x") { bookings { edges { node { status } } } } }'
    assert cost(defaulted) == 1 + 1 + 10 * 3  # Venue.bookings defaults to first: 10


def test_fragments_count_like_inline_selections_and_cycles_stop():
    with_fragment = """
    query { venues(first: 2) { edges { node { ...V } } } }
    fragment V on Venue { name city }
    """
    inline = "{ venues(first: 2) { edges { node { name city } } } }"
    assert cost(with_fragment) == cost(inline)
    cyclic = 'query { venue(id: "x") { ...A } } fragment A on Venue { name ...A }'
    assert cost(cyclic) == 1 + 1


def test_nodes_cost_by_the_number_of_ids():
    assert cost('{ nodes(ids: ["a", "b", "c"]) { id } }') == 1 + 3 * 1


def test_operation_name_picks_the_operation():
    document = (
        'query A { venue(id: "x") { name } } query B { venues(first: 3) { edges { node { id } } } }'
    )
    assert cost(document, operation_name="A") == 2
    assert cost(document, operation_name="B") == 1 + 3 * 3
