"""Full-text search in the `venues` and `media` lists and the root `search`: results, ranks,
highlights, the typo fallback, paging through ties, search combined with place."""

import pytest

from models import soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

PARIS = {"latitude": 48.8566, "longitude": 2.3522}

VENUES = """
query Venues($search: String, $near: NearInput, $within: WithinInput, $orderBy: VenueOrder,
             $first: Int, $after: String) {
  venues(search: $search, near: $near, within: $within, orderBy: $orderBy, first: $first,
         after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor rank matchedBy distanceMeters highlight node { name } }
  }
}
"""

MEDIA = """
query Media($search: String, $near: NearInput, $orderBy: MediaOrder) {
  media(search: $search, near: $near, orderBy: $orderBy, first: 100) {
    edges { rank matchedBy distanceMeters highlight node { title } }
  }
}
"""

SEARCH = """
query Search($query: String!, $first: Int = 20, $after: String, $near: NearInput) {
  search(query: $query, first: $first, after: $after, near: $near) {
    pageInfo { hasNextPage endCursor }
    edges {
      cursor rank matchedBy highlight distanceMeters
      node {
        __typename
        ... on Venue { name }
        ... on Media { title }
      }
    }
  }
}
"""


async def venue_edges(execute, *, viewer=None, **variables):
    result = await execute(VENUES, {"first": 100, **variables}, viewer=viewer)
    assert result.errors is None, result.errors
    return result.data["venues"]["edges"]


async def venue_names(execute, search, **variables):
    return [edge["node"]["name"] for edge in await venue_edges(execute, search=search, **variables)]


def error_of(result):
    assert result.data is None or all(value is None for value in result.data.values())
    (error,) = result.errors
    return error.extensions


@pytest.fixture
async def catalogue(session):
    """Venues whose texts exercise accents, stems, prefixes, phrases and field weights."""
    host = await make_user(session, role="host")
    venues = {}
    for name, description, city in [
        ("Café Lumière", "A quiet reading room with good coffee.", "Paris"),
        ("Sunny Loft", "Bright space for photography shoots.", "Paris"),
        ("Quiet Cellar", "A noisy room under the street.", "Lyon"),
        ("Garden House", "A barn with a loft among quiet trees.", "Berlin"),
        ("Harbour Room", "Meeting room by the water.", "Hamburg"),
    ]:
        venues[name] = await make_venue(
            session, owner=host, name=name, description=description, city=city
        )
    return venues


@pytest.mark.usefixtures("catalogue")
async def test_accents_are_folded_both_ways(execute):
    assert await venue_names(execute, "cafe") == ["Café Lumière"]
    assert await venue_names(execute, "LUMIERE") == ["Café Lumière"]


@pytest.mark.usefixtures("catalogue")
async def test_the_last_word_is_a_prefix_for_type_ahead(execute):
    assert await venue_names(execute, "phot") == ["Sunny Loft"]
    assert await venue_names(execute, "bright phot") == ["Sunny Loft"]
    assert await venue_names(execute, "dark phot") == []


@pytest.mark.usefixtures("catalogue")
async def test_quotes_or_and_minus_work_like_a_web_search(execute):
    assert await venue_names(execute, '"reading room"') == ["Café Lumière"]
    # Words of the phrase far apart do not match it.
    assert await venue_names(execute, '"room water"') == []
    assert set(await venue_names(execute, "cellar or harbour")) == {"Quiet Cellar", "Harbour Room"}
    assert set(await venue_names(execute, "room -noisy")) == {"Café Lumière", "Harbour Room"}
    # Stems: "rooms" finds "room".
    assert len(await venue_names(execute, "rooms")) == 3


@pytest.mark.usefixtures("catalogue")
async def test_name_outranks_city_outranks_description(execute, session):
    await make_venue(session, name="Atelier", city="Loft City", description="Plain.")
    edges = await venue_edges(execute, search="loft")
    assert [edge["node"]["name"] for edge in edges] == ["Sunny Loft", "Atelier", "Garden House"]
    ranks = [edge["rank"] for edge in edges]
    assert ranks == sorted(ranks, reverse=True)
    assert all(0 < rank < 1 for rank in ranks)
    assert ranks[0] > ranks[1] > ranks[2]
    assert {edge["matchedBy"] for edge in edges} == {"FULL_TEXT"}


async def test_media_title_match_ranks_above_tag_and_caption_matches(session, execute):
    venue = await make_venue(session)
    await make_media(session, venue=venue, title="Evening", caption="The terrace at sunset.")
    await make_media(session, venue=venue, title="Terrace", caption="Looking west.")
    await make_media(session, venue=venue, title="Outside", tags=["terrace"])
    result = await execute(MEDIA, {"search": "terrace"})
    assert result.errors is None, result.errors
    edges = result.data["media"]["edges"]
    assert [edge["node"]["title"] for edge in edges] == ["Terrace", "Outside", "Evening"]
    assert edges[0]["rank"] > edges[1]["rank"] > edges[2]["rank"]


async def test_highlight_marks_the_matched_words_and_escapes_the_text(session, execute):
    await make_venue(
        session, name="Loft <b>one</b>", description="A sunny loft & 2 < 3 terraces <script>."
    )
    (edge,) = await venue_edges(execute, search="sunny lofts")
    highlight = edge["highlight"]
    assert highlight.startswith("<mark>Loft</mark>")
    assert "<mark>sunny</mark> <mark>loft</mark> &amp; 2 &lt; 3 terraces" in highlight
    # Markup in the text never reaches the client as markup.
    assert "<b>" not in highlight
    assert "<script>" not in highlight


@pytest.mark.usefixtures("catalogue")
async def test_any_text_a_search_box_sends_is_searchable(execute):
    for text in [
        "a & b | !c:*",
        "'); DROP TABLE venues; --",
        '"unclosed',
        "🙂 loft",
    ]:
        result = await execute(VENUES, {"search": text})
        assert result.errors is None, (text, result.errors)
    assert await venue_names(execute, "🙂 loft") == ["Sunny Loft", "Garden House"]
    # No text can hold NUL: refused like any other string (tests/graph/schema/test_input_values.py).
    result = await execute(VENUES, {"search": "caf\x00e"})
    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT", "field": "search"}


@pytest.mark.usefixtures("catalogue")
async def test_without_search_and_near_the_edge_fields_are_null(execute):
    edges = await venue_edges(execute)
    assert len(edges) == 5
    for edge in edges:
        assert edge["rank"] is edge["highlight"] is edge["matchedBy"] is None
        assert edge["distanceMeters"] is None


@pytest.mark.parametrize("search", ["", "   ", "\t\n", "!!! ---", "x" * 501])
async def test_unsearchable_text_is_bad_user_input(execute, search):
    result = await execute(VENUES, {"search": search})
    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": "search"}
    result = await execute(MEDIA, {"search": search})
    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": "search"}
    result = await execute(SEARCH, {"query": search})
    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": "query"}


@pytest.mark.usefixtures("catalogue")
async def test_a_typo_falls_back_to_similar_names_marked_as_such(execute):
    edges = await venue_edges(execute, search="lofy")
    assert [edge["node"]["name"] for edge in edges] == ["Sunny Loft"]
    assert edges[0]["matchedBy"] == "SIMILAR_NAME"
    assert 0 < edges[0]["rank"] <= 1

    edges = await venue_edges(execute, search="harbor")
    assert [edge["node"]["name"] for edge in edges] == ["Harbour Room"]
    assert edges[0]["matchedBy"] == "SIMILAR_NAME"


@pytest.mark.usefixtures("catalogue")
async def test_the_fallback_applies_only_when_full_text_finds_nothing(session, execute):
    # "harbour" matches by text, so the similarly spelt "Harbor Inn" is not added as a guess.
    await make_venue(session, name="Harbor Inn", description="Nothing in common.")
    edges = await venue_edges(execute, search="harbour")
    assert [edge["node"]["name"] for edge in edges] == ["Harbour Room"]
    assert edges[0]["matchedBy"] == "FULL_TEXT"
    edges = await venue_edges(execute, search="harbr")
    assert {edge["node"]["name"] for edge in edges} == {"Harbour Room", "Harbor Inn"}
    assert {edge["matchedBy"] for edge in edges} == {"SIMILAR_NAME"}


@pytest.mark.usefixtures("catalogue")
async def test_the_fallback_looks_within_the_other_filters(session, execute):
    # Full text finds "Sunny Loft" in Paris, but nothing near Berlin: there the similarly
    # spelt "Suny Place" comes back as a guess.
    await make_venue(session, name="Suny Place", latitude=52.52, longitude=13.405)
    assert await venue_names(execute, "sunny") == ["Sunny Loft"]
    berlin = {"latitude": 52.52, "longitude": 13.405, "radiusMeters": 5_000}
    edges = await venue_edges(execute, search="sunny", near=berlin)
    assert [(edge["node"]["name"], edge["matchedBy"]) for edge in edges] == [
        ("Suny Place", "SIMILAR_NAME")
    ]


async def test_deleted_venues_do_not_count_as_full_text_matches(session, execute, catalogue):
    await soft_delete(session, catalogue["Sunny Loft"])
    await make_venue(session, name="Suny Place")
    edges = await venue_edges(execute, search="sunny")
    assert [(edge["node"]["name"], edge["matchedBy"]) for edge in edges] == [
        ("Suny Place", "SIMILAR_NAME")
    ]
    admin = viewer_of(await make_user(session, role="admin"))
    result = await execute(
        '{ venues(search: "sunny", includeDeleted: true) { edges { matchedBy node { name } } } }',
        viewer=admin,
    )
    assert result.data["venues"]["edges"] == [
        {"matchedBy": "FULL_TEXT", "node": {"name": "Sunny Loft"}}
    ]


async def test_deleted_matches_leave_the_typo_fallback_to_both_paths(session, execute):
    # Without `highlight` these compile; the full-text hits that decide whether the fallback
    # applies must leave deleted rows out there too, as the ORM does on the loader path.
    venue = await make_venue(session, name="Sunny Loft")
    await soft_delete(session, venue)
    await make_venue(session, name="Suny Place")
    terrace = await make_media(session, venue=await make_venue(session), title="Terrace")
    await soft_delete(session, terrace)
    await make_media(session, venue=await make_venue(session), title="Terrase")

    venues = await execute(
        '{ venues(search: "sunny") { totalCount edges { matchedBy node { name } } } }'
    )
    media = await execute(
        '{ media(search: "terrace") { totalCount edges { matchedBy node { title } } } }'
    )

    assert venues.data["venues"]["edges"] == [
        {"matchedBy": "SIMILAR_NAME", "node": {"name": "Suny Place"}}
    ]
    assert media.data["media"]["edges"] == [
        {"matchedBy": "SIMILAR_NAME", "node": {"title": "Terrase"}}
    ]


async def test_paging_by_relevance_through_ties_neither_repeats_nor_skips(session, execute):
    for i in range(7):
        await make_venue(session, name=f"Twin Loft {i}", description="")
    for i in range(3):
        await make_venue(session, name=f"Other {i}", description="A loft.")
    everything = await venue_edges(execute, search="loft")
    assert len(everything) == 10
    ranks = [edge["rank"] for edge in everything]
    assert ranks == sorted(ranks, reverse=True)
    assert len(set(ranks)) == 2  # two groups of ties

    seen, after = [], None
    while True:
        result = await execute(VENUES, {"search": "loft", "first": 3, "after": after})
        assert result.errors is None, result.errors
        connection = result.data["venues"]
        assert connection["totalCount"] == 10
        seen += [edge["node"]["name"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == [edge["node"]["name"] for edge in everything]
    assert len(set(seen)) == 10


@pytest.mark.usefixtures("catalogue")
async def test_relevance_is_the_default_order_with_search(execute):
    default = await venue_edges(execute, search="quiet")
    explicit = await venue_edges(execute, search="quiet", orderBy="RELEVANCE")
    assert default == explicit
    assert default[0]["node"]["name"] == "Quiet Cellar"  # the name match
    by_name = await venue_names(execute, "quiet", orderBy="NAME_ASC")
    assert by_name == ["Café Lumière", "Garden House", "Quiet Cellar"]


@pytest.mark.parametrize(
    ("variables", "needs"),
    [
        ({"orderBy": "RELEVANCE"}, "search"),
        ({"orderBy": "DISTANCE"}, "near"),
        ({"orderBy": "DISTANCE", "search": "loft"}, "near"),
        ({"orderBy": "RELEVANCE", "near": {**PARIS, "radiusMeters": 100}}, "search"),
    ],
)
async def test_relevance_and_distance_orders_need_their_argument(execute, variables, needs):
    for query in (VENUES, MEDIA):
        result = await execute(query, variables)
        extensions = error_of(result)
        assert extensions == {"code": "BAD_USER_INPUT", "field": "orderBy"}
        assert f"needs `{needs}`" in result.errors[0].message


@pytest.fixture
async def lofts(session):
    """Lofts and a studio at known distances east of the Paris point, one loft far away."""
    host = await make_user(session, role="host")
    # 0.01 degree of longitude at this latitude is about 733 m.
    for name, east in [
        ("Loft A", 0.02),
        ("Loft B", 0.005),
        ("Studio C", 0.001),
        ("Loft D", 0.01),
        ("Loft Twin 1", 0.015),
        ("Loft Twin 2", 0.015),
    ]:
        await make_venue(
            session,
            owner=host,
            name=name,
            latitude=PARIS["latitude"],
            longitude=PARIS["longitude"] + east,
        )
    await make_venue(session, owner=host, name="Loft Lyon", latitude=45.764, longitude=4.8357)


@pytest.mark.usefixtures("lofts")
async def test_search_and_near_filter_by_both_and_rank_by_relevance(execute):
    near = {**PARIS, "radiusMeters": 5_000}
    edges = await venue_edges(execute, search="loft", near=near, orderBy="RELEVANCE")
    names = [edge["node"]["name"] for edge in edges]
    assert set(names) == {"Loft A", "Loft B", "Loft D", "Loft Twin 1", "Loft Twin 2"}
    ranks = [edge["rank"] for edge in edges]
    assert ranks == sorted(ranks, reverse=True)
    assert all(edge["distanceMeters"] is not None for edge in edges)


@pytest.mark.usefixtures("lofts")
async def test_distance_orders_the_same_matches_nearest_first(execute):
    near = {**PARIS, "radiusMeters": 5_000}
    edges = await venue_edges(execute, search="loft", near=near, orderBy="DISTANCE")
    names = [edge["node"]["name"] for edge in edges]
    assert names == ["Loft B", "Loft D", "Loft Twin 1", "Loft Twin 2", "Loft A"]
    distances = [edge["distanceMeters"] for edge in edges]
    assert distances == sorted(distances)
    assert distances[0] == pytest.approx(367.4, abs=1)  # 0.005 degree east at 48.86 N
    assert all(edge["rank"] > 0 for edge in edges)


@pytest.mark.usefixtures("lofts")
async def test_paging_by_distance_through_ties_neither_repeats_nor_skips(execute):
    near = {**PARIS, "radiusMeters": 5_000}
    everything = [
        edge["node"]["name"] for edge in await venue_edges(execute, near=near, orderBy="DISTANCE")
    ]
    assert everything == ["Studio C", "Loft B", "Loft D", "Loft Twin 1", "Loft Twin 2", "Loft A"]
    seen, after = [], None
    while True:
        result = await execute(
            VENUES, {"near": near, "orderBy": "DISTANCE", "first": 2, "after": after}
        )
        assert result.errors is None, result.errors
        connection = result.data["venues"]
        seen += [edge["node"]["name"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == everything


@pytest.mark.usefixtures("lofts")
async def test_search_within_an_area(execute):
    box = {"boundingBox": {"south": 48.8, "west": 2.3, "north": 48.9, "east": 2.36}}
    assert await venue_names(execute, "loft", within=box) == ["Loft B"]


@pytest.mark.usefixtures("lofts")
async def test_a_cursor_of_another_order_is_refused(execute):
    near = {**PARIS, "radiusMeters": 5_000}
    result = await execute(VENUES, {"near": near, "orderBy": "DISTANCE", "first": 1})
    cursor = result.data["venues"]["pageInfo"]["endCursor"]
    result = await execute(VENUES, {"search": "loft", "near": near, "after": cursor})
    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_media_search_respects_visibility_and_place(session, execute):
    host = await make_user(session, role="host")
    guest = await make_user(session)
    venue = await make_venue(session, owner=host)
    booking = await make_booking(session, user=guest, venue=venue)
    await make_media(session, owner=host, venue=venue, title="Terrace at dusk")
    await make_media(session, owner=guest, venue=venue, booking=booking, title="Terrace party")
    await make_media(
        session,
        owner=host,
        venue=venue,
        title="Terrace nearby",
        location=f"SRID=4326;POINT({PARIS['longitude']} {PARIS['latitude']})",
    )

    async def titles(viewer=None, **variables):
        result = await execute(MEDIA, {"search": "terrace", **variables}, viewer=viewer)
        assert result.errors is None, result.errors
        return {edge["node"]["title"] for edge in result.data["media"]["edges"]}

    assert await titles() == {"Terrace at dusk", "Terrace nearby"}
    assert await titles(viewer_of(guest)) == {"Terrace at dusk", "Terrace party", "Terrace nearby"}
    near = {**PARIS, "radiusMeters": 10}
    assert await titles(near=near) == {"Terrace nearby"}
    result = await execute(MEDIA, {"search": "terace", "near": near, "orderBy": "DISTANCE"})
    (edge,) = result.data["media"]["edges"]
    assert edge["matchedBy"] == "SIMILAR_NAME"
    assert edge["distanceMeters"] == pytest.approx(0, abs=0.01)


async def test_root_search_mixes_venues_and_media_by_rank(session, execute):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host, name="Rooftop Garden", description="Plants.")
    other = await make_venue(session, owner=host, name="Basement", description="A garden view.")
    await make_media(session, owner=host, venue=venue, title="Garden", caption="Green.")
    await make_media(session, owner=host, venue=other, title="Stairs", caption="To the garden.")
    guest = await make_user(session)
    booking = await make_booking(session, user=guest, venue=venue)
    await make_media(session, owner=guest, venue=venue, booking=booking, title="Garden party")

    result = await execute(SEARCH, {"query": "garden"})
    assert result.errors is None, result.errors
    edges = result.data["search"]["edges"]
    found = [
        (edge["node"]["__typename"], edge["node"].get("name") or edge["node"]["title"])
        for edge in edges
    ]
    ranks = [edge["rank"] for edge in edges]
    assert ranks == sorted(ranks, reverse=True)
    # The private booking photo is not shown to an anonymous viewer.
    assert ("Media", "Garden party") not in found
    assert set(found) == {
        ("Venue", "Rooftop Garden"),
        ("Venue", "Basement"),
        ("Media", "Garden"),
        ("Media", "Stairs"),
    }
    # Title and name matches (weight A) come before description and caption matches (C).
    assert {name for _, name in found[:2]} == {"Rooftop Garden", "Garden"}
    assert {name for _, name in found[2:]} == {"Basement", "Stairs"}
    assert {edge["matchedBy"] for edge in edges} == {"FULL_TEXT"}
    assert all("<mark>" in edge["highlight"].lower() for edge in edges)
    assert all(edge["distanceMeters"] is None for edge in edges)

    result = await execute(SEARCH, {"query": "garden"}, viewer=viewer_of(guest))
    assert "Garden party" in [edge["node"].get("title") for edge in result.data["search"]["edges"]]


async def test_root_search_pages_with_cursors_and_falls_back_on_typos(session, execute):
    host = await make_user(session, role="host")
    for i in range(3):
        venue = await make_venue(session, owner=host, name=f"Harbour {i}")
        await make_media(session, owner=host, venue=venue, title=f"Harbour view {i}")
    everything = []
    after = None
    while True:
        result = await execute(SEARCH, {"query": "harbour", "first": 4, "after": after})
        assert result.errors is None, result.errors
        connection = result.data["search"]
        everything += [edge["cursor"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert len(everything) == len(set(everything)) == 6

    result = await execute(SEARCH, {"query": "harbor"})
    edges = result.data["search"]["edges"]
    assert len(edges) == 6
    assert {edge["matchedBy"] for edge in edges} == {"SIMILAR_NAME"}


@pytest.mark.usefixtures("lofts")
async def test_root_search_near_a_point(execute):
    near = {**PARIS, "radiusMeters": 800}
    result = await execute(SEARCH, {"query": "loft", "near": near})
    assert result.errors is None, result.errors
    edges = result.data["search"]["edges"]
    assert {edge["node"]["name"] for edge in edges} == {"Loft B", "Loft D"}
    assert all(0 < edge["distanceMeters"] <= 800 for edge in edges)


# Compiled: one statement with the page (ranks, highlights, distances) and the count.
# Loaders: the page, then the count.
@pytest.mark.parametrize(("paths", "statements"), [("both", 1), ("loaders", 2)])
async def test_statements_per_search_request_are_fixed(
    session, execute, count_statements, paths, statements
):
    for i in range(12):
        await make_venue(session, name=f"Loft {i}")
    near = {**PARIS, "radiusMeters": 5_000}
    for first in (1, 12):
        with count_statements as counted:
            result = await execute(
                VENUES, {"search": "loft", "near": near, "first": first}, paths=paths
            )
        assert result.errors is None, result.errors
        assert len(result.data["venues"]["edges"]) == first
        assert counted.count == statements
        assert "ts_headline" in counted.statements[0]
        with count_statements as counted:
            result = await execute(SEARCH, {"query": "loft", "first": first, "near": near})
        assert result.errors is None, result.errors
        assert counted.count == 1


async def test_highlight_is_computed_only_when_selected(session, execute, count_statements):
    await make_venue(session, name="Loft")
    query = '{ venues(search: "loft") { edges { rank node { name } } } }'
    with count_statements as counted:
        result = await execute(query)
    assert result.errors is None, result.errors
    assert counted.count == 1
    assert "ts_headline" not in counted.statements[0]

    fragment = """
    query { venues(search: "loft") { ...Hits } }
    fragment Hits on VenueListConnection { edges { ... on VenueListEdge { highlight } } }
    """
    with count_statements as counted:
        result = await execute(fragment)
    assert result.data["venues"]["edges"] == [{"highlight": "<mark>Loft</mark> · Paris"}]
    assert "ts_headline" in counted.statements[0]
