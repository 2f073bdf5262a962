"""The statements search requests run use the indexes on realistic data.

Each test fills a table with 50,000 rows inside its transaction (rolled back at the end) whose
texts draw on a vocabulary of a few thousand words, as real texts do (the planner estimates a
rare word from the frequencies of the common ones: text where every row holds the same three
words would make any other word look common), and a few rows with rare words to find,
ANALYZEs it, runs a GraphQL request, and asks PostgreSQL to EXPLAIN (FORMAT JSON) the very
statement the request ran, with its parameters: no plan node may read the table sequentially.
"""

import pytest
from sqlalchemy import text

from tests.factories import make_user, make_venue
from tests.graph.statement_plans import explained, plan_nodes

ROWS = 50_000

INSERT_VENUES = text(
    """
    INSERT INTO venues (owner_id, name, description, address, city, country, location,
                        hourly_rate, currency)
    SELECT :owner_id,
           CASE WHEN g % 10000 = 0 THEN 'Hidden Loft ' || g ELSE 'Venue a' || g % 997 END,
           'Room b' || g % 1009 || ' c' || g % 1013 || ' d' || g % 1019,
           g || ' Main Street', 'Paris', 'FR',
           ST_SetSRID(ST_MakePoint(2 + (g % 1000) / 1000.0, 48 + (g / 1000) / 100.0), 4326),
           50, 'EUR'
      FROM generate_series(1, :rows) AS g
    """
)

INSERT_MEDIA = text(
    """
    INSERT INTO media (owner_id, venue_id, resource_type, storage_key, content_hash, extension,
                       file_size, title, caption, location)
    SELECT :owner_id, :venue_id, 'IMAGE', 'bulk/' || g || '.jpg',
           md5(g::text) || md5(g::text), 'jpg', 1000 + g,
           CASE WHEN g % 10000 = 0 THEN 'Hidden Terrace ' || g ELSE 'Photo a' || g % 997 END,
           'Shot b' || g % 1009 || ' c' || g % 1013 || ' d' || g % 1019,
           ST_SetSRID(ST_MakePoint(2 + (g % 1000) / 1000.0, 48 + (g / 1000) / 100.0), 4326)
      FROM generate_series(1, :rows) AS g
    """
)


def reads(plans, table):
    """The node types reading `table`, and every index any node reads."""
    nodes = [node for plan in plans for node in plan_nodes(plan)]
    tables = [node["Node Type"] for node in nodes if node.get("Relation Name") == table]
    return tables, {node["Index Name"] for node in nodes if "Index Name" in node}


def searched_by_index(indexes: set[str], table: str) -> bool:
    """Whether a full-text index of `table` was read: the whole vector's or a rank class's."""
    return any(name.startswith(f"ix_{table}_search") for name in indexes)


async def bulk_insert(connection, statement, table, **values):
    """Insert `ROWS` rows without the audit trail's row triggers (half the time), then ANALYZE."""
    await connection.execute(text("SET LOCAL session_replication_role = replica"))
    await connection.execute(statement, {"rows": ROWS, **values})
    await connection.execute(text("SET LOCAL session_replication_role = origin"))
    await connection.execute(text(f"ANALYZE {table}"))


@pytest.fixture
async def many_venues(session, connection):
    host = await make_user(session, role="host")
    await bulk_insert(connection, INSERT_VENUES, "venues", owner_id=host.id)
    return host


@pytest.fixture
async def many_media(session, connection, many_venues):
    venue = await make_venue(session, owner=many_venues, name="Gallery")
    await bulk_insert(connection, INSERT_MEDIA, "media", owner_id=many_venues.id, venue_id=venue.id)


VENUES = """
query ($search: String!, $near: NearInput) {
  venues(search: $search, near: $near, first: 10) {
    edges { rank matchedBy highlight distanceMeters node { name } }
  }
}
"""


@pytest.mark.usefixtures("many_venues")
async def test_venue_text_search_reads_the_gin_index(connection, execute):
    data, plans = await explained(connection, execute, VENUES, {"search": "hidden loft"})
    assert len(data["venues"]["edges"]) == ROWS // 10_000
    assert {edge["matchedBy"] for edge in data["venues"]["edges"]} == {"FULL_TEXT"}
    scanned, indexes = reads(plans, "venues")
    assert scanned, plans
    assert "Seq Scan" not in scanned, plans
    assert searched_by_index(indexes, "venues")


@pytest.mark.usefixtures("many_venues")
async def test_venue_typo_fallback_reads_the_trigram_index(connection, execute):
    data, plans = await explained(connection, execute, VENUES, {"search": "hiden lofy"})
    edges = data["venues"]["edges"]
    assert len(edges) == ROWS // 10_000
    assert {edge["matchedBy"] for edge in edges} == {"SIMILAR_NAME"}
    scanned, indexes = reads(plans, "venues")
    assert "Seq Scan" not in scanned, plans
    assert {"ix_venues_search", "ix_venues_name_trgm"} <= indexes


@pytest.mark.usefixtures("many_venues")
async def test_search_near_a_point_reads_indexes_only(connection, execute):
    near = {"latitude": 48.0, "longitude": 2.0, "radiusMeters": 100_000}
    data, plans = await explained(
        connection, execute, VENUES, {"search": "hidden loft", "near": near}
    )
    assert data["venues"]["edges"]
    assert all(edge["distanceMeters"] <= 100_000 for edge in data["venues"]["edges"])
    scanned, indexes = reads(plans, "venues")
    assert "Seq Scan" not in scanned, plans
    assert searched_by_index(indexes, "venues")


MEDIA = """
query ($search: String!) {
  media(search: $search, first: 10) { edges { matchedBy node { title } } }
}
"""


@pytest.mark.usefixtures("many_media")
async def test_media_search_and_fallback_read_their_indexes(connection, execute):
    data, plans = await explained(connection, execute, MEDIA, {"search": "terrace"})
    assert len(data["media"]["edges"]) == ROWS // 10_000
    scanned, indexes = reads(plans, "media")
    assert "Seq Scan" not in scanned, plans
    assert searched_by_index(indexes, "media")

    data, plans = await explained(connection, execute, MEDIA, {"search": "terace"})
    assert {edge["matchedBy"] for edge in data["media"]["edges"]} == {"SIMILAR_NAME"}
    scanned, indexes = reads(plans, "media")
    assert "Seq Scan" not in scanned, plans
    assert "ix_media_title_trgm" in indexes


SEARCH = """
query ($query: String!) {
  search(query: $query, first: 10) {
    edges { rank node { __typename } }
  }
}
"""


@pytest.mark.usefixtures("many_media")
async def test_root_search_reads_both_gin_indexes(connection, execute):
    data, plans = await explained(connection, execute, SEARCH, {"query": "hidden"})
    kinds = [edge["node"]["__typename"] for edge in data["search"]["edges"]]
    assert sorted(kinds) == ["Media"] * 5 + ["Venue"] * 5
    for table in ("venues", "media"):
        scanned, indexes = reads(plans, table)
        assert "Seq Scan" not in scanned, plans
        assert searched_by_index(indexes, table)


async def analyzed(connection, execute, query, variables):
    """Run `query`; EXPLAIN ANALYZE each SELECT it ran: the data and each statement's plan."""
    return await explained(connection, execute, query, variables, options="ANALYZE, FORMAT JSON")


def rows_read(plans, table: str) -> int:
    """Rows of `table` every scan of it returned or filtered out, over all its loops."""
    return sum(
        (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0))
        * node.get("Actual Loops", 0)
        for plan in plans
        for node in plan_nodes(plan)
        if node.get("Relation Name") == table
    )


RANKED = """
query ($search: String!, $after: String) {
  venues(search: $search, first: 10, after: $after) {
    pageInfo { endCursor hasNextPage hasPreviousPage }
    edges { rank node { name } }
  }
}
"""


@pytest.mark.usefixtures("many_venues")
@pytest.mark.parametrize("words", ["venue", "-hidden"], ids=["common", "negated-only"])
async def test_a_ranked_page_of_a_common_word_reads_about_a_page(connection, execute, words):
    # "venue" is in every name but five: 49,995 matches of the best rank; "-hidden" the same
    # rows. The old plan scored all of them (about 50,000 rows read); now about 50 are.
    data, plans = await analyzed(connection, execute, RANKED, {"search": words})
    page = data["venues"]
    assert len(page["edges"]) == 10
    assert page["pageInfo"]["hasNextPage"] is True
    assert len({edge["rank"] for edge in page["edges"]}) == 1
    assert rows_read(plans, "venues") < 200, rows_read(plans, "venues")

    after = page["pageInfo"]["endCursor"]
    data, plans = await analyzed(connection, execute, RANKED, {"search": words, "after": after})
    assert data["venues"]["pageInfo"]["hasPreviousPage"] is True
    assert len(data["venues"]["edges"]) == 10
    assert rows_read(plans, "venues") < 200, rows_read(plans, "venues")


@pytest.mark.usefixtures("many_media")
async def test_the_root_search_of_a_common_word_reads_about_a_page(connection, execute):
    data, plans = await analyzed(connection, execute, SEARCH, {"query": "photo"})
    assert len(data["search"]["edges"]) == 10
    assert rows_read(plans, "media") < 300, rows_read(plans, "media")


HIGHLIGHTED = """
query ($search: String!) {
  venues(search: $search, first: 10) { totalCount edges { highlight node { name } } }
}
"""


@pytest.mark.usefixtures("many_venues")
async def test_highlights_are_computed_for_the_page_rows_only(connection, execute):
    data, plans = await explained(
        connection,
        execute,
        HIGHLIGHTED,
        {"search": "venue"},
        options="ANALYZE, VERBOSE, FORMAT JSON",
    )
    assert data["venues"]["totalCount"] == ROWS - ROWS // 10_000
    highlighting = [
        node
        for plan in plans
        for node in plan_nodes(plan)
        if any("ts_headline" in output for output in node.get("Output", []))
    ]
    assert highlighting, "no statement computed a highlight"
    # Every node carrying them, the one computing them first included: at most the page and
    # the row telling whether more exist (of 49,995 matches).
    most = max(highlighting, key=lambda node: node["Actual Rows"] * node["Actual Loops"])
    assert most["Actual Rows"] * most["Actual Loops"] <= 11, most


@pytest.mark.usefixtures("many_media")
async def test_a_word_no_row_holds_reads_no_table(connection, execute):
    # PostgreSQL takes an unknown word for one of its rarer ones (0.5 % of the rows) and
    # walked the whole table looking for it; the GIN index says at once that nothing matches.
    data, plans = await analyzed(connection, execute, SEARCH, {"query": "zzzqqq"})
    assert data["search"]["edges"] == []
    assert rows_read(plans, "media") < 300, rows_read(plans, "media")
    assert rows_read(plans, "venues") < 300, rows_read(plans, "venues")


MEDIA_PAGE = """
query (
  $search: String!, $first: Int, $after: String, $last: Int, $before: String, $order: MediaOrder
) {
  media(
    search: $search, first: $first, after: $after, last: $last, before: $before, orderBy: $order
  ) {
    pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
    edges { rank node { storageKey } }
  }
}
"""


@pytest.mark.usefixtures("many_media")
async def test_a_word_only_captions_hold_reads_a_bounded_part_of_the_table(connection, execute):
    # "shot" is in every caption and in no title: the title and tag classes are empty, and
    # PostgreSQL, taking the word for one of 0.5 % of the rows in each, walked every medium
    # for the title class (50,000 rows) and read every caption class match to sort them.
    # Each class is now walked for at most 100 ids per row of the page, then read from its
    # index past the walk: empty there for the titles and tags. Each empty class reads 1,100
    # ids and looks each up (2,200 rows), in each statement that reads the page (two).
    most = 2 * 2 * 2 * 11 * 100 + 300
    data, plans = await analyzed(connection, execute, MEDIA_PAGE, {"search": "shot", "first": 10})
    edges = data["media"]["edges"]
    assert len(edges) == 10
    assert {edge["rank"] for edge in edges} == {0.25}
    assert rows_read(plans, "media") < most, rows_read(plans, "media")
    # The next page asks whether rows lie before its cursor: in each better class, a first
    # row from its walk or its index (an EXISTS would have walked the table for it).
    after = data["media"]["pageInfo"]["endCursor"]
    variables = {"search": "shot", "first": 10, "after": after}
    data, plans = await analyzed(connection, execute, MEDIA_PAGE, variables)
    assert data["media"]["pageInfo"]["hasPreviousPage"] is True
    assert len(data["media"]["edges"]) == 10
    assert rows_read(plans, "media") < most, rows_read(plans, "media")
    data, plans = await analyzed(connection, execute, SEARCH, {"query": "shot"})
    assert len(data["search"]["edges"]) == 10
    assert rows_read(plans, "media") < most, rows_read(plans, "media")


async def matching_keys(connection, word: str, order: str = "id") -> list[str]:
    """The storage keys of the media whose caption holds `word`, in `order` (SQL)."""
    result = await connection.execute(
        text(
            "SELECT storage_key FROM media WHERE deleted_at IS NULL"  # noqa: S608 - the test's literals
            f" AND caption ~ ('\\m' || :word || '\\M') ORDER BY {order}"
        ),
        {"word": word},
    )
    return list(result.scalars())


@pytest.mark.usefixtures("many_media")
async def test_a_sparse_word_pages_through_every_match_both_ways(connection, execute):
    # "b7" is in about one caption in 1,009: the caption class holds too few rows among each
    # walk for a page, so every page comes from the read past the walk. Forward and backward,
    # the pages together are exactly the matches, in order. (Quoted: not a prefix as well.)
    expected = await matching_keys(connection, "b7")
    assert 40 < len(expected) < 60
    await pages_both_ways(connection, execute, {"search": '"b7"'}, expected)


@pytest.mark.usefixtures("many_media")
@pytest.mark.parametrize(
    ("order", "sql"),
    [("TITLE_ASC", "title, id"), ("CREATED_AT_DESC", "created_at DESC, id DESC")],
)
async def test_a_searched_list_in_a_column_order_pages_through_its_matches(
    connection, execute, order, sql
):
    # In a column's order, the matches and the similar names are each read in that order
    # (a page from each), not gathered into one set of every match first.
    expected = await matching_keys(connection, "b7", order=sql)
    await pages_both_ways(connection, execute, {"search": '"b7"', "order": order}, expected)
    # "shot" is in every caption: its page walks the ordering's index for a page of rows
    # (50,000 matches gathered and looked up again before).
    variables = {"search": "shot", "first": 10, "order": order}
    data, plans = await analyzed(connection, execute, MEDIA_PAGE, variables)
    assert len(data["media"]["edges"]) == 10
    assert rows_read(plans, "media") < 300, rows_read(plans, "media")


async def pages_both_ways(connection, execute, arguments, expected):
    """Page `media(...)` forward then backward by 10: each way, exactly `expected`."""
    forward: list[str] = []
    after = None
    while True:
        variables = {**arguments, "first": 10, "after": after}
        data, _ = await analyzed(connection, execute, MEDIA_PAGE, variables)
        page = data["media"]
        forward += [edge["node"]["storageKey"] for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert forward == expected
    backward: list[str] = []
    before = None
    while True:
        variables = {**arguments, "last": 10, "before": before}
        data, _ = await analyzed(connection, execute, MEDIA_PAGE, variables)
        page = data["media"]
        backward = [edge["node"]["storageKey"] for edge in page["edges"]] + backward
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backward == expected
