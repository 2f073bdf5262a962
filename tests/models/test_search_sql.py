"""`models.search`: how search-box text is parsed and what the SQL it builds matches."""

import pytest
from sqlalchemy import Text, cast, func, literal, literal_column, select, true

from models import Venue
from models.search import (
    MAX_SEARCH_LENGTH,
    MAX_SEARCH_WORDS,
    VENUES,
    SearchText,
    UnsearchableTextError,
    headline,
    marked_html,
    parse_search,
    search_match,
    similar_name,
    text_match,
)
from tests.factories import make_venue


@pytest.mark.parametrize(
    ("text", "head", "head_or", "prefix", "plain"),
    [
        ("phot", "", False, "phot", "phot"),
        ("  quiet   phot ", "quiet", False, "phot", "quiet phot"),
        ("loft or phot", "loft", True, "phot", "loft phot"),
        ("loft -noisy", "loft", False, None, "loft"),
        ('"reading room"', '"reading', False, None, "reading room"),
        ('big "reading ro', 'big "reading', False, None, "big reading ro"),
        ("loft or", "loft", False, None, "loft"),
        ("café:*&!", "", False, "café", "café"),
        ("l'oft) (xy", "l'oft)", False, "xy", "loft xy"),
        # One letter begins most words: matched as a word only.
        ("loft x", "loft", False, None, "loft x"),
        ("lo\x00ft", "lo", False, "ft", "lo ft"),
    ],
)
def test_the_last_typed_word_becomes_a_reduced_prefix(text, head, head_or, prefix, plain):
    parsed = parse_search(text)
    assert parsed.words == text.replace("\x00", " ").strip()
    assert (parsed.head, parsed.head_or, parsed.prefix, parsed.plain) == (
        head,
        head_or,
        prefix,
        plain,
    )


@pytest.mark.parametrize(
    "text", ["", "  ", "\n\t", "!!!", '"" -- :*', "x" * (MAX_SEARCH_LENGTH + 1)]
)
def test_nothing_to_search_is_refused(text):
    with pytest.raises(UnsearchableTextError):
        parse_search(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Café", "'cafe' | 'cafe':*"),
        ("quiet phot", "'quiet' & 'phot' | 'quiet' & 'phot':*"),
        ("loft or phot", "'loft' | 'phot' | 'loft' | 'phot':*"),
        ('"reading room" -noisy', "'read' <-> 'room' & !'noisi'"),
        # Operators of `to_tsquery` syntax typed by a user are plain text to the search.
        ("a & b | !cd:*", "'b' & 'cd' | 'b' & 'cd':*"),
    ],
)
async def test_the_tsquery_combines_web_search_and_prefix(session, text, expected):
    query = parse_search(text).query
    rendered = (await session.execute(select(cast(query, Text)))).scalar()
    assert rendered == expected


@pytest.fixture
async def venues(session):
    names = {}
    for name, description in [
        ("Photography Studio", "Daylight."),
        ("Café Noir", "Espresso and a quiet room."),
        ("Loft", "Bright."),
    ]:
        names[name] = await make_venue(session, name=name, description=description)
    return names


async def matching(session, text):
    statement = select(Venue.name).where(text_match(VENUES, parse_search(text)))
    return set((await session.execute(statement)).scalars())


@pytest.mark.usefixtures("venues")
async def test_text_match_folds_accents_stems_and_prefixes(session):
    assert await matching(session, "cafe") == {"Café Noir"}
    assert await matching(session, "studios") == {"Photography Studio"}
    assert await matching(session, "phot") == {"Photography Studio"}
    assert await matching(session, "quiet -espresso") == set()


@pytest.mark.usefixtures("venues")
async def test_similar_names_use_trigrams(session):
    statement = select(Venue.name).where(similar_name(VENUES, parse_search("lofy")))
    assert set((await session.execute(statement)).scalars()) == {"Loft"}
    statement = select(Venue.name).where(similar_name(VENUES, parse_search("photografy studoi")))
    assert set((await session.execute(statement)).scalars()) == {"Photography Studio"}


@pytest.mark.parametrize(
    ("text", "rank"),
    [
        ("loft", 0.75),  # in the name
        ("paris loft", 0.5),  # in the name and the city
        ("bright loft", 0.25),  # the name and the description
        ("paris bright", 0.25),
    ],
)
@pytest.mark.usefixtures("venues")
async def test_a_match_ranks_by_the_best_class_of_fields_holding_the_whole_query(
    session, text, rank
):
    match = search_match(VENUES, parse_search(text))
    statement = select(Venue.name, match.rank, match.matched_by_text).where(match.condition)
    assert (await session.execute(statement)).all() == [("Loft", rank, True)]
    # The classes hold each match once, at its rank.
    for class_rank, condition in match.classes:
        names = (await session.execute(select(Venue.name).where(condition))).scalars()
        assert list(names) == (["Loft"] if class_rank == rank else [])


@pytest.mark.usefixtures("venues")
async def test_an_excluded_word_anywhere_excludes_the_row_from_every_class(session):
    match = search_match(VENUES, parse_search("loft -bright"))
    for _, condition in match.classes:
        assert list(await session.execute(select(Venue.name).where(condition))) == []


@pytest.mark.usefixtures("venues")
async def test_fallback_rank_is_the_name_similarity(session):
    match = search_match(VENUES, parse_search("lofy"))
    statement = select(Venue.name, match.rank, match.matched_by_text).where(match.condition)
    ((name, rank, by_text),) = (await session.execute(statement)).all()
    assert (name, by_text) == ("Loft", False)
    expected = select(func.word_similarity(literal("lofy"), literal("Loft")))
    assert rank == pytest.approx((await session.execute(expected)).scalar())
    similar = select(Venue.name).where(match.similar)
    assert list((await session.execute(similar)).scalars()) == ["Loft"]


async def test_headline_marks_matches_and_marked_html_escapes(session, venues):
    statement = select(headline(VENUES, parse_search("quiet cafe"), true())).where(
        Venue.id == venues["Café Noir"].id
    )
    raw = (await session.execute(statement)).scalar_one()
    assert marked_html(raw) == (
        "<mark>Café</mark> Noir · Paris · Espresso and a <mark>quiet</mark> room"
    )
    assert marked_html("a < b & \ue000c\ue001") == "a &lt; b &amp; <mark>c</mark>"
    assert marked_html(None) is None


def as_typed(text: str) -> SearchText:
    """`text` parsed as before repeats were dropped (the words, head and prefix as typed)."""
    split = text.split()
    last, head = split[-1], split[:-1]
    prefix = "".join(c for c in last if c.isalnum())
    typed = not last.startswith("-") and last.lower() != "or" and len(prefix) >= 2
    head_or = bool(head) and head[-1].lower() == "or"
    return SearchText(
        words=text,
        head=" ".join(head[:-1] if head_or else head),
        head_or=head_or,
        prefix=prefix if typed else None,
        plain="",
    )


@pytest.mark.parametrize(
    ("text", "words", "prefix"),
    [
        ("room " * 100, "room", None),
        ("Room ROOM room", "Room", None),
        ("kitchen room kitchen", "kitchen room", None),
        ("kitchen kitchen room", "kitchen room", "room"),
        ("a b a or b a b", "a b or b a", None),
        ("loft -noisy loft -noisy", "loft -noisy", None),
        ("loft or loft", "loft or loft", "loft"),
        ('"open kitchen" "open kitchen" kit', '"open kitchen" "open kitchen" kit', "kit"),
        ("x - kitchen kitchen", "x - kitchen kitchen", "kitchen"),
        ("room. room room", "room. room", None),
    ],
)
async def test_a_word_repeated_in_its_group_is_dropped_and_the_query_means_the_same(
    session, text, words, prefix
):
    parsed = parse_search(text)
    assert (parsed.words, parsed.prefix) == (words, prefix)
    documents = [
        "room", "kitchen room", "kitchenette room", "roomy kitchen", "b a", "b", "loft",
        "loft noisy", "open kitchen", "kitchen open", "x", "x kitchen", "kitchens rooms", "roomy",
    ]  # fmt: skip
    for document in documents:
        vector = func.to_tsvector(literal_column("'sartiq'::regconfig"), literal(document))
        typed_query = as_typed(text.strip()).query
        statement = select(vector.bool_op("@@")(parsed.query), vector.bool_op("@@")(typed_query))
        deduplicated, typed = (await session.execute(statement)).one()
        assert deduplicated == typed, (text, document)


@pytest.mark.parametrize(
    ("text", "plain", "excluded"),
    [
        ("kitchen -kitchen", "kitchen", "-kitchen"),
        ('kitchn -"open kitchen" loft', "kitchn loft", '-"open kitchen"'),
        ("x - kitchen", "x", "-kitchen"),
        ("x --kitchen", "x kitchen", ""),
        ('x "a -b" c', "x a b c", ""),
        ("x -!", "x", ""),
    ],
)
def test_excluded_words_are_kept_apart_from_the_fallback_words(text, plain, excluded):
    parsed = parse_search(text)
    assert (parsed.plain, parsed.excluded) == (plain, excluded)


def test_a_search_takes_at_most_so_many_words():
    words = [f"w{index}" for index in range(MAX_SEARCH_WORDS)]
    assert parse_search(" ".join(words)).word_count == MAX_SEARCH_WORDS
    assert parse_search(" or ".join(words)).word_count == MAX_SEARCH_WORDS
    with pytest.raises(UnsearchableTextError, match="more than 32 words"):
        parse_search(" ".join([*words, "one-more"]))
    assert parse_search(" ".join(["room"] * 100)).word_count == 1
