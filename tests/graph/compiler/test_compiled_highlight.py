"""`highlight` on the compiled path: `ts_headline` marked up in SQL as `marked_html` does.

Both paths run the same `ts_headline`; the loader path escapes and marks its text in Python
(`marked_html`), the compiled path with the same replacements in SQL (`marked_html_sql`).
"""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Text, bindparam, select

from models import soft_delete
from models.search import marked_html, marked_html_sql
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.generated.strategies import bounded
from tests.graph.viewers import viewer_of

VIEWERS = ["anonymous", "guest", "host", "admin"]

VENUES = """
query Venues($search: String, $first: Int, $after: String, $orderBy: VenueOrder) {
  venues(search: $search, first: $first, after: $after, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor highlight rank matchedBy node { name } }
  }
}
"""

MEDIA = """
query Media($search: String, $first: Int, $after: String) {
  media(search: $search, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor highlight matchedBy node { title } }
  }
}
"""


@pytest.fixture
async def texts(session) -> dict[str, Any]:
    """Venues and media whose texts need escaping, media some viewers may not see."""
    host = await make_user(session, role="host")
    guest = await make_user(session)
    admin = await make_user(session, role="admin")
    descriptions = {
        "Loft & <b>Bar</b>": 'A "sunny" loft for 2 < 3 & 4 > 1, it\'s <script>x</script>.',
        "Café Lumière ☕": "Loft with ünïcode, emoji 😀 and a tab\there,\nthen a new line.",
        "Marker \ue000Loft\ue001": "Private-use markers \ue000 in the text \ue001 are dropped.",
        "Quiet Loft": "A \\ backslash, 2 < 3 > 1 & a / slash in a loft; DEL \x7f too.",
        "Sunny Attic": "Nothing but the attic.",
    }
    venues = {
        name: await make_venue(session, owner=host, name=name, description=description)
        for name, description in descriptions.items()
    }
    gone = await make_venue(session, owner=host, name="Deleted Loft")
    await soft_delete(session, gone)
    venue = venues["Loft & <b>Bar</b>"]
    booking = await make_booking(session, venue=venue, user=guest)
    await make_media(session, venue=venue, owner=host, title="Loft <front>", tags=["loft", "&"])
    await make_media(session, venue=venue, owner=guest, booking=booking, title="Loft receipt")
    await make_media(session, venue=venue, owner=host, title="Terrace", caption="A loft & more")
    return {
        "viewers": {
            "anonymous": None,
            "guest": viewer_of(guest),
            "host": viewer_of(host),
            "admin": viewer_of(admin),
        }
    }


@pytest.mark.parametrize("who", VIEWERS)
@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (VENUES, {"search": "loft"}),
        (VENUES, {"search": "sunny loft", "orderBy": "NAME_DESC"}),
        (VENUES, {"search": '"sunny loft" or attic'}),
        (VENUES, {"search": "lof"}),  # the last word as a prefix
        (VENUES, {"search": "atic"}),  # no full-text match: similar names, unmarked
        (VENUES, {"search": "nowhere-to-be-found"}),  # nothing at all
        (VENUES, {"search": "loft", "first": 0}),
        (MEDIA, {"search": "loft"}),
        (MEDIA, {"search": "terace"}),
    ],
)
async def test_highlights_are_compiled_to_the_loader_paths_bytes(
    both_paths, texts, who, query, variables
):
    fast, general, compiled = await both_paths(query, variables, viewer=texts["viewers"][who])

    assert b'"errors"' not in general
    assert fast == general
    assert compiled


async def test_the_marked_text_is_escaped_html(both_paths, texts):
    del texts
    fast, general, compiled = await both_paths(VENUES, {"search": "loft"})

    assert compiled
    assert fast == general
    highlights = {
        edge["node"]["name"]: edge["highlight"]
        for edge in json.loads(general)["data"]["venues"]["edges"]
    }
    assert highlights["Quiet Loft"] == (
        "Quiet <mark>Loft</mark> · Paris · A \\ backslash, 2 &lt; 3 &gt; 1 &amp; a / slash in a"
        " <mark>loft</mark>; DEL \x7f too"
    )
    assert highlights["Loft & <b>Bar</b>"].startswith("<mark>Loft</mark> &amp; ")
    assert "\ue000" not in highlights["Marker \ue000Loft\ue001"]
    assert "\t" in highlights["Café Lumière ☕"]
    assert "<b>" not in "".join(highlights.values())


@pytest.mark.parametrize("who", VIEWERS)
async def test_highlighted_pages_continue_on_either_path(both_paths, texts, who):
    viewer = texts["viewers"][who]
    after = None
    seen: list[str] = []
    for _ in range(10):
        variables = {"search": "loft", "first": 2, "after": after}
        fast, general, compiled = await both_paths(VENUES, variables, viewer=viewer)
        assert compiled
        assert fast == general
        venues = json.loads(general)["data"]["venues"]
        seen += [edge["node"]["name"] for edge in venues["edges"]]
        if not venues["pageInfo"]["hasNextPage"]:
            break
        after = venues["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == venues["totalCount"] == 4


@pytest.mark.parametrize("search", ["", "   ", "!!!", "x" * 501])
async def test_searches_the_loader_path_refuses_are_left_to_it(both_paths, texts, search):
    fast, general, compiled = await both_paths(VENUES, {"search": search})
    assert fast is None
    assert not compiled
    assert b'"BAD_USER_INPUT"' in general
    del texts


# Text PostgreSQL can hold (no NUL, no lone surrogate), rich in what the markup replaces.
_MARKUP_TEXT = st.lists(
    st.one_of(
        st.sampled_from(["&", "<", ">", "\ue000", "\ue001", "&amp;", "<mark>", '"', "'"]),
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
            max_size=5,
        ),
    ),
    max_size=12,
).map("".join)


@bounded(100)
@given(text=_MARKUP_TEXT)
async def test_marked_html_sql_writes_what_marked_html_writes(session, text: str):
    in_sql = (
        await session.execute(select(marked_html_sql(bindparam(None, text, type_=Text))))
    ).scalar_one()
    assert in_sql == marked_html(text)


async def test_marked_html_sql_keeps_null(session):
    null = bindparam(None, None, type_=Text)
    assert (await session.execute(select(marked_html_sql(null)))).scalar_one() is None
