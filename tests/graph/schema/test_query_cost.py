from graphql import parse

from bench.attack_shapes import fan_out, star_polygon
from graph.core.paging import DEFAULT_PAGE_SIZE
from graph.schema.persisted_queries import operation_documents
from graph.schema.query_cost import (
    DISTANCE_ORDER_COST,
    HIGHLIGHT_TERM_COST,
    NEAR_COST,
    POLYGON_POSITION_COST,
    SEARCH_COST,
    SEARCH_TABLES,
    SEARCH_TERM_COST,
    highlight_cost,
    operation_cost,
)
from graph.schema.root import schema
from models.search import MAX_SEARCH_WORDS, search_words

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


def test_a_child_connection_paged_by_last_costs_its_last():
    # `first` keeps its schema default of 10 beside `last`, which the resolver then ignores.
    backward = '{ venue(id: "x") { bookings(last: 100) { edges { node { status } } } } }'
    assert cost(backward) == 1 + 1 + 100 * 3
    query = 'query($n: Int) { venue(id: "x") { media(first: null, last: $n) { totalCount } } }'
    assert cost(query, {"n": 60}) == 1 + 1 + 60 * 1


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


# --- Default pages ------------------------------------------------------------------------------


def test_an_omitted_or_null_first_costs_the_default_page():
    nested = "bookings(first: 100) { edges { node { id status user { id displayName } } } }"
    omitted = f"{{ venues {{ edges {{ node {{ {nested} }} }} }} }}"
    null = f"{{ venues(first: null) {{ edges {{ node {{ {nested} }} }} }} }}"
    variable = f"query($n: Int) {{ venues(first: $n) {{ edges {{ node {{ {nested} }} }} }} }}"
    explicit = f"{{ venues(first: {DEFAULT_PAGE_SIZE}) {{ edges {{ node {{ {nested} }} }} }} }}"
    expected = cost(explicit)
    assert expected > 10_000  # over the default limit, as `venues(first: 20)` always was
    assert cost(omitted) == expected
    assert cost(null) == expected
    assert cost(variable, {"n": None}) == expected
    assert cost(variable, {}) == expected
    last = "{ venues(last: 5) { edges { node { id } } } }"
    assert cost(last) == 1 + 5 * 3


def test_every_list_with_a_page_prices_its_default():
    for field in ("venues", "bookings", "media", "users"):
        assert cost(f"{{ {field} {{ edges {{ cursor }} }} }}") == 1 + 20 * 2, field


def test_host_dashboard_with_null_venues_costs_its_default_page():
    document = parse(operation_documents()["HostDashboard"])
    variables = {"ownerId": "x", "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}
    default = operation_cost(
        GRAPHQL_SCHEMA, document, operation_name="HostDashboard", variables=variables
    )
    null = operation_cost(
        GRAPHQL_SCHEMA,
        document,
        operation_name="HostDashboard",
        variables={**variables, "venues": None, "bookings": 100},
    )
    explicit = operation_cost(
        GRAPHQL_SCHEMA,
        document,
        operation_name="HostDashboard",
        variables={**variables, "venues": 20, "bookings": 100},
    )
    assert default < null == explicit


# --- Arguments that cost the database ------------------------------------------------------------


def polygon(positions: int) -> dict[str, object]:
    return star_polygon(positions)


WITHIN = "query($w: WithinInput) { venues(first: 20, within: $w) { edges { node { id } } } }"
SEARCH = "query($q: String) { venues(first: 20, search: $q) { edges { node { id } } } }"
HIGHLIGHT = (
    "query($q: String) { venues(first: 20, search: $q) { edges { highlight node { id } } } }"
)


def test_polygon_positions_are_priced():
    plain = cost("{ venues(first: 20) { edges { node { id } } } }")
    small = cost(WITHIN, {"w": {"polygon": polygon(10)}})
    large = cost(WITHIN, {"w": {"polygon": polygon(1_000)}})
    assert small == plain + 10 * POLYGON_POSITION_COST
    assert large == plain + 1_000 * POLYGON_POSITION_COST
    literal = (
        '{ venues(first: 20, within: {polygon: {type: "Polygon", coordinates: '
        "[[[0, 0], [1, 0], [1, 1], [0, 0]]]}}) { edges { node { id } } } }"
    )
    assert cost(literal) == plain + 4 * POLYGON_POSITION_COST
    # One polygon of the most positions allowed fits the limit; three do not.
    assert large <= 10_000 < 3 * large


def test_search_words_and_highlight_are_priced():
    plain = cost("{ venues(first: 20) { edges { node { id } } } }")
    two = cost(SEARCH, {"q": "loft cafe"})
    assert two == plain + SEARCH_COST + 2 * SEARCH_TERM_COST
    highlighted = cost(HIGHLIGHT, {"q": "loft cafe"})
    # `highlight` is one more field per row, and `ts_headline` per row and per word.
    assert highlighted == two + 20 * (1 + highlight_cost(2))
    assert highlight_cost(2) == 2 * HIGHLIGHT_TERM_COST


def test_search_words_are_priced_as_the_sql_gets_them():
    # Repeats are searched once; text the search refuses runs no SQL.
    assert cost(HIGHLIGHT, {"q": " ".join(["loft"] * 72)}) == cost(HIGHLIGHT, {"q": "loft"})
    too_many = " ".join(f"w{index}" for index in range(MAX_SEARCH_WORDS + 1))
    assert cost(SEARCH, {"q": too_many}) == cost(SEARCH, {"q": "!!!"})
    # The most words a search takes, stemming alike: highlighted, a page of 20 fits the
    # limit and the largest page does not (`ts_headline` grows faster than the words).
    alike = " ".join(
        f"loft{mark}" for mark in [*".,;:!?/|+=*&^%$#@~<>[]{}()-_", "s", "s.", "s,", "s!"]
    )
    assert search_words(alike) == MAX_SEARCH_WORDS
    page = "query($q: String, $n: Int) { venues(first: $n, search: $q) { edges { highlight } } }"
    assert cost(page, {"q": alike, "n": 20}) <= 10_000 < cost(page, {"q": alike, "n": 100})
    assert highlight_cost(32) > 2 * highlight_cost(16)


def test_the_root_search_prices_both_tables():
    query = 'query { search(query: "loft cafe") { edges { node { __typename } } } }'
    assert cost(query) == 1 + SEARCH_TABLES * (SEARCH_COST + 2 * SEARCH_TERM_COST) + 20 * 3


def test_near_and_distance_ordering_are_priced():
    near = {"latitude": 48.85, "longitude": 2.35, "radiusMeters": 1000}
    plain = cost("{ venues(first: 20) { edges { node { id } } } }")
    query = "query($n: NearInput, $o: VenueOrder) { venues(first: 20, near: $n, orderBy: $o) { edges { node { id } } } }"  # noqa: E501
    assert cost(query, {"n": near}) == plain + NEAR_COST
    assert cost(query, {"n": near, "o": "DISTANCE"}) == plain + NEAR_COST + DISTANCE_ORDER_COST


def test_a_fragment_spread_many_times_costs_as_if_inlined():
    assert cost(fan_out(12)) == 2**12
    assert cost(fan_out(60)) == 2**60
    searched = """
    query($q: String) { a: venues(first: 2, search: $q) { edges { ...E } }
                        b: venues(first: 3) { edges { ...E } } }
    fragment E on VenueListEdge { highlight node { id } }
    """
    # The fragment under the search prices `highlight`; under the plain list it does not.
    searched_list = 1 + SEARCH_COST + SEARCH_TERM_COST + 2 * (1 + 1 + highlight_cost(1) + 2)
    plain_list = 1 + 3 * (1 + 1 + 2)
    assert cost(searched, {"q": "loft"}) == searched_list + plain_list
