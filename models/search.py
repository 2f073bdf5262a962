"""Full-text search SQL: parsing what a search box sends, matching, ranking and highlighting.

Every query uses the `sartiq` text-search configuration (English stemming behind `unaccent`,
see `models.search_config`) against the generated, weighted `search` vectors (venues: name A,
city and amenity names B, description C; media: title A, tags B, caption C), GIN-indexed
whole and by weight class.

- Parsing: the user's text goes to `websearch_to_tsquery` as a bound value, so quotes
  (phrases), `or` and `-word` work and no input is a syntax error. For type-ahead, the last
  word, reduced in Python to its letters and digits, is also matched as a prefix
  (`to_tsquery(:prefix || ':*')`), together with the words before it: `quiet phot` finds
  "quiet photography studio". A last word of one letter is not (it begins most words).
  User text never reaches `to_tsquery` syntax unreduced.
- Ranking: by the best class of fields that holds the whole query: the name (venues) or
  title (media), weight A, ranks 0.75; with the B fields (a venue's city and amenities, a
  medium's tags) 0.5; anywhere, the C fields too (description, caption), 0.25. Ties go to the
  older row (lower id). Each class is a GIN index on `ts_filter(search, ...)`, so a page is
  read class by class in id order and no match is scored to find it (`ranked_branches`): a
  common word walks the primary key for about a page of rows, a rare one reads its few
  matches. It orders the rows of one result list; it means nothing across two queries.
- Typo tolerance: when no row of the searched scope matches the full-text query, rows whose
  name (venues) or title (media) is spelt like the typed words match instead: `pg_trgm`'s
  `name % words` (trigram similarity >= 0.3) or `words <% name` (word similarity >= 0.6),
  the extension's default thresholds, both served by the `gin_trgm_ops` indexes. Their rank is
  the better of the two similarities, also in [0, 1]; `matched_by_text` tells them apart.
- Highlights: `ts_headline` over the searched text with private-use markers around matched
  words; `marked_html` escapes the text and turns the markers into `<mark>` tags (in Python,
  for the loader path; `marked_html_sql` writes the same in SQL, for the compiled path).
"""

import dataclasses
import functools
import re
from typing import Any

from sqlalchemy import (
    REAL,
    BindParameter,
    ColumnElement,
    Text,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.orm import InstrumentedAttribute

from models.media import Media
from models.search_config import TEXT_SEARCH_CONFIG
from models.venue import Venue

MAX_SEARCH_LENGTH = 500
# The shortest last word matched as a prefix: one letter begins most words in a table, and
# reading all of their matches took 1.4 s over 500,000 media.
MIN_PREFIX_LENGTH = 2
# The most words a search takes (after repeats are dropped): `ts_headline`'s work grows with
# the query's terms, and faster when they repeat a lexeme (`rooms room. Room,` do, and are not
# dropped): 32 such took 150 ms for 100 highlights on the scale-100 venues, 16 took 20 ms.
MAX_SEARCH_WORDS = 32
# The classes a full-text match is ranked by, best first: the weights of the fields that hold
# the whole query (None: every field), the weight the class adds to the better ones (indexed:
# a match of the class has a searched word there), and the rank of such a match.
RANK_CLASSES: tuple[tuple[str | None, str, float], ...] = (
    ("{a}", "{a}", 0.75),
    ("{a,b}", "{b}", 0.5),
    (None, "{c}", 0.25),
)
_WORD = re.compile(r"[^\W_]+")
_MARK_START, _MARK_END = "\ue000", "\ue001"
# A headline as HTML, replaced in this order by `marked_html` and `marked_html_sql`: the text
# escaped as `html.escape(text, quote=False)` escapes it (the ampersand first), then each
# marker made a tag (the searched text holds none of its own: `headline` drops them).
_MARKUP = (
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    (_MARK_START, "<mark>"),
    (_MARK_END, "</mark>"),
)
HEADLINE_OPTIONS = (
    f"StartSel={_MARK_START}, StopSel={_MARK_END}, MaxWords=30, MinWords=12, ShortWord=2, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
_CONFIG: ColumnElement[Any] = literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig")


class UnsearchableTextError(ValueError):
    """The text holds nothing to search for (empty, only punctuation) or is too long."""


@dataclasses.dataclass(frozen=True)
class SearchText:
    """What a search box sent, split into the parts the SQL binds.

    `words` is the whole text (for `websearch_to_tsquery`); `prefix` the last word reduced to
    letters and digits, None when that word is negated, quoted or `or`; `head` the words
    before it, `head_or` whether they end with `or`; `plain` the words reduced to letters and
    digits (negated words and `or` left out), for trigram similarity; `excluded` the negated
    words and phrases, each with its `-` (for `excluding`); `word_count` how many words
    `words` holds (runs of letters and digits, `or`s aside).
    """

    words: str
    head: str
    head_or: bool
    prefix: str | None
    plain: str
    excluded: str = ""
    word_count: int = 0

    @functools.cached_property
    def query(self) -> ColumnElement[Any]:
        """The `tsquery` expression; one object, so each statement binds the text once."""
        return _tsquery(self)

    @property
    def negated(self) -> bool:
        """Whether the text excludes words (`-word`): a match in part of a row is then no match."""
        return bool(self.excluded) or any(token.startswith("-") for token in self.words.split())

    @functools.cached_property
    def excluding(self) -> ColumnElement[Any] | None:
        """A `tsquery` that a text holding none of the `-excluded` words matches, or None."""
        if not self.excluded:
            return None
        excluded: BindParameter[str] = bindparam(None, self.excluded)
        return func.websearch_to_tsquery(_CONFIG, excluded, type_=TSQUERY)

    @functools.cached_property
    def any_word(self) -> ColumnElement[Any]:
        """A `tsquery` of any one of the searched words (`-excluded` ones aside), or None."""
        return _any_word(self)

    @functools.cached_property
    def plain_words(self) -> BindParameter[str]:
        """`plain` as one bound value."""
        return bindparam(None, self.plain)


def _reduced(word: str) -> str:
    return "".join(character for character in word if character.isalnum())


@dataclasses.dataclass(frozen=True, slots=True)
class _Token:
    """One whitespace-separated token of a search text (a quoted phrase is one token)."""

    start: int
    end: int
    text: str
    # An odd number of dashes before it (`-word`, `- word`): `websearch_to_tsquery` negates it.
    negated: bool
    # Dashes of an alnum-free token before it carry over (`- word`): its meaning is not its own.
    after_dash: bool

    @property
    def is_or(self) -> bool:
        return self.text.lower() == "or"

    @property
    def excluded(self) -> str:
        """The part a leading `-` negates: a quoted phrase, or the text up to the first quote."""
        body = self.text.lstrip("-")
        if body.startswith('"'):
            closing = body.find('"', 1)
            return body if closing < 0 else body[: closing + 1]
        return body.split('"', 1)[0]


def _tokens(words: str) -> list[_Token]:
    """`words` split at whitespace outside quotes, with the negation each token carries."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    quoted = False
    for index, character in enumerate(words):
        if character == '"':
            quoted = not quoted
        if character.isspace() and not quoted:
            if start is not None:
                spans.append((start, index))
                start = None
        elif start is None:
            start = index
    if start is not None:
        spans.append((start, len(words)))
    tokens = []
    dashes = 0
    for start, end in spans:
        text = words[start:end]
        leading = len(text) - len(text.lstrip("-"))
        tokens.append(_Token(start, end, text, (dashes + leading) % 2 == 1, dashes > 0))
        dashes = dashes + leading if not _reduced(text) else 0
    return tokens


def _deduplicated(words: str, tokens: list[_Token]) -> tuple[str, list[_Token], bool]:
    """`words` without a plain word repeated within one `or`-separated group, and the tokens left.

    `websearch_to_tsquery` ANDs the tokens between `or`s (`&` binds tighter than `|`), and
    `x & x` is `x`: the query keeps its meaning, while `ts_headline`'s work grows with the
    square of a lexeme's repeats (100 `room`s: 3.5 s for a page of 20). Only words of letters
    and digits (with at most one leading `-`) are compared, case-insensitively in ASCII as the
    parser folds them; anything else, whose parse depends on its neighbours, stays. Also
    returns whether the last token repeated a word of its group.
    """
    seen: set[str] = set()
    kept: list[_Token] = []
    last_repeated = False
    for index, token in enumerate(tokens):
        if token.is_or:
            seen = set()
            kept.append(token)
            continue
        body = token.text.removeprefix("-")
        if token.after_dash or not body or _reduced(body) != body:
            kept.append(token)
            continue
        key = token.text.lower() if token.text.isascii() else token.text
        if key in seen:
            last_repeated = index == len(tokens) - 1
            continue
        seen.add(key)
        kept.append(token)
    if len(kept) == len(tokens):
        return words, tokens, False
    # Removed tokens are whitespace-bounded: what is left reads exactly as it did.
    text = " ".join(words[token.start : token.end] for token in kept)
    return text, _tokens(text), last_repeated


def search_words(text: str) -> int:
    """How many words a search text holds once parsed (runs of letters and digits, `or`s aside).

    What the search's SQL work grows with; 0 when the text is refused (no SQL runs then).
    """
    try:
        return parse_search(text).word_count
    except UnsearchableTextError:
        return 0


def parse_search(text: str) -> SearchText:
    """Split a search box's text; `UnsearchableTextError` when there is nothing to search."""
    words = text.replace("\x00", " ").strip()  # PostgreSQL text cannot hold NUL
    if not words:
        message = "search text is empty"
        raise UnsearchableTextError(message)
    if len(words) > MAX_SEARCH_LENGTH:
        message = f"search text is longer than {MAX_SEARCH_LENGTH} characters"
        raise UnsearchableTextError(message)
    if not _reduced(words):
        message = "search text has no letters or digits"
        raise UnsearchableTextError(message)
    words, tokens, last_repeated = _deduplicated(words, _tokens(words))
    word_count = len(_WORD.findall(words)) - sum(token.is_or for token in tokens)
    if word_count > MAX_SEARCH_WORDS:
        message = f"search text has more than {MAX_SEARCH_WORDS} words"
        raise UnsearchableTextError(message)

    split = words.split()
    last = split[-1]
    head_tokens = split[:-1]
    open_phrase = words.count('"') % 2 == 1 or last.endswith('"')
    typed = not open_phrase and not last.startswith("-") and last.lower() != "or"
    # A last word repeated in its group adds nothing as a prefix: the group holds it whole.
    prefix = _reduced(last) if typed and not last_repeated else ""
    if len(prefix) < MIN_PREFIX_LENGTH:
        prefix = ""
    head_or = bool(head_tokens) and head_tokens[-1].lower() == "or"
    if head_or:
        head_tokens = head_tokens[:-1]
    plain = " ".join(
        reduced
        for token in tokens
        if not token.negated and not token.is_or
        for part in token.text.split()
        if (reduced := _reduced(part))
    )
    excluded = " ".join(
        f"-{token.excluded}" for token in tokens if token.negated and _reduced(token.excluded)
    )
    return SearchText(
        words=words,
        head=" ".join(head_tokens),
        head_or=head_or,
        prefix=prefix or None,
        plain=plain,
        excluded=excluded,
        word_count=word_count,
    )


def _tsquery(search: SearchText) -> ColumnElement[Any]:
    """The `tsquery` of `search`: the web-search parse, or the words typed with a prefix."""
    parsed = func.websearch_to_tsquery(_CONFIG, bindparam(None, search.words), type_=TSQUERY)
    if search.prefix is None:
        return parsed
    prefix = func.to_tsquery(_CONFIG, bindparam(None, f"{search.prefix}:*"), type_=TSQUERY)
    head = func.websearch_to_tsquery(_CONFIG, bindparam(None, search.head), type_=TSQUERY)
    # An empty `head` parses to an empty tsquery, which `&&` and `||` drop.
    typed = head.op("||" if search.head_or else "&&", return_type=TSQUERY)(prefix)
    return parsed.op("||", return_type=TSQUERY)(typed)


def _any_word(search: SearchText) -> ColumnElement[Any]:
    """`w1 | w2 | ... | prefix:*` of `search`'s words (an empty query when it has none)."""
    words = " or ".join(search.plain.split())
    parsed = func.websearch_to_tsquery(_CONFIG, bindparam(None, words), type_=TSQUERY)
    if search.prefix is None:
        return parsed
    prefix = func.to_tsquery(_CONFIG, bindparam(None, f"{search.prefix}:*"), type_=TSQUERY)
    return parsed.op("||", return_type=TSQUERY)(prefix)


@dataclasses.dataclass(frozen=True, slots=True)
class Searchable:
    """A searchable table: its vector, the name its trigram fallback compares, its text."""

    vector: InstrumentedAttribute[Any]
    name: InstrumentedAttribute[str]
    document: ColumnElement[str]


VENUES = Searchable(
    vector=Venue.search,
    name=Venue.name,
    document=func.concat_ws(" · ", Venue.name, Venue.city, Venue.description),
)
MEDIA = Searchable(
    vector=Media.search,
    name=Media.title,
    document=func.concat_ws(
        " · ", Media.title, func.array_to_string(Media.tags, " "), Media.caption
    ),
)


def text_match(target: Searchable, search: SearchText) -> ColumnElement[bool]:
    """Rows whose `search` vector matches the full-text query (GIN index)."""
    matched: ColumnElement[bool] = target.vector.bool_op("@@")(search.query)
    return matched


def weighted(target: Searchable, weights: str) -> ColumnElement[Any]:
    """The part of the `search` vector in fields of these weights (`'{a,b}'`), as indexed."""
    return func.ts_filter(target.vector, literal_column(f"'{weights}'::\"char\"[]"), type_=TSVECTOR)


def _class_match(
    target: Searchable, search: SearchText, weights: str | None
) -> ColumnElement[bool]:
    """Rows whose fields of `weights` (all fields: None) hold the whole query."""
    if weights is None:
        return text_match(target, search)
    matched: ColumnElement[bool] = weighted(target, weights).bool_op("@@")(search.query)
    # An excluded word elsewhere in the row still excludes it.
    return and_(text_match(target, search), matched) if search.negated else matched


def rank_classes(target: Searchable, search: SearchText) -> list[tuple[float, ColumnElement[bool]]]:
    """Each rank of a full-text match and the rows that have it, best first (disjoint).

    A class after the first also says, redundantly, that one of the searched words is in the
    fields it adds: that condition is what its GIN index serves, and what lets PostgreSQL
    estimate how many rows the class has (a word never found there: none), which the
    negation of the better classes alone does not.
    """
    classes: list[tuple[float, ColumnElement[bool]]] = []
    better: ColumnElement[bool] | None = None
    for holding, added, rank in RANK_CLASSES:
        matched = _class_match(target, search, holding)
        if better is None:
            classes.append((rank, matched))
        else:
            has_word = weighted(target, added).bool_op("@@")(search.any_word)
            classes.append((rank, and_(has_word, matched, not_(better))))
        better = matched
    return classes


def text_rank(target: Searchable, search: SearchText) -> ColumnElement[float]:
    """The rank of a row the full-text query matches (see `RANK_CLASSES`)."""
    *better, (_, _, worst) = RANK_CLASSES
    return case(
        *(
            (_class_match(target, search, holding), rank_value(rank))
            for holding, _, rank in better
            if holding is not None
        ),
        else_=rank_value(worst),
    )


def rank_value(rank: float) -> ColumnElement[float]:
    """A rank as an SQL `real` (each of `RANK_CLASSES` is exact in binary, as in Python)."""
    return literal_column(f"{rank!r}::real", REAL)


def similarity(target: Searchable, search: SearchText) -> ColumnElement[float]:
    """How alike a row's name and the typed words are: the better trigram similarity, [0, 1]."""
    if not search.plain:
        return rank_value(0.0)
    words = search.plain_words
    return func.greatest(
        func.similarity(target.name, words), func.word_similarity(words, target.name), type_=REAL
    )


def similar_names(target: Searchable, search: SearchText) -> list[ColumnElement[bool]]:
    """Conditions for rows whose name is spelt like the typed words (trigram index).

    `name % words` compares whole strings, `words <% name` the words with the most similar
    part of the name; each is served by the trigram index. None when no words are left.
    Rows holding a word the search excludes (`-word`) are left out.
    """
    if not search.plain:
        return []
    words = search.plain_words
    similar: list[ColumnElement[bool]] = [
        target.name.bool_op("%")(words),
        words.bool_op("<%")(target.name),
    ]
    if search.excluding is None:
        return similar
    # A row holding an `-excluded` word is no guess for a search that excludes it.
    allowed = target.vector.bool_op("@@")(search.excluding)
    return [and_(condition, allowed) for condition in similar]


def similar_name(target: Searchable, search: SearchText) -> ColumnElement[bool]:
    """Rows whose name is spelt like the typed words (any of `similar_names`)."""
    return or_(false(), *similar_names(target, search))


def text_found(
    target: Searchable,
    search: SearchText,
    *scope: Any,  # noqa: ANN401 - SQL conditions
) -> ColumnElement[bool]:
    """Whether a row meeting `scope` matches the full-text query: an EXISTS, stopped at one.

    The matches come from a materialized CTE of the index condition alone, which PostgreSQL
    plans as a read of the GIN index (a bitmap): a word no row holds is answered at once,
    and a common one by its first rows. Asked as one EXISTS with the scope, PostgreSQL walked
    the table expecting a match soon, and for a word no row holds read all of it (500,000
    media: 0.9 s), since it takes an unknown word for one of its rarer common ones.
    """
    table = target.vector.class_
    hits = (
        select(table.id.label("id"))
        .where(text_match(target, search))
        .cte()
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    found: ColumnElement[bool] = (
        select(hits.c.id).join(table, table.id == hits.c.id).where(*scope).correlate(None).exists()
    )
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class SearchMatch:
    """The SQL of one search over one table: which rows, how they matched, their rank.

    `condition` is every row found (for counts), `classes` the full-text matches by rank,
    best first, and `similar` the fallback's rows (when no row matches the full text), ranked
    by `similarity`. `found`: whether any row matches the full text (no row's condition).
    """

    found: ColumnElement[bool]
    condition: ColumnElement[bool]
    classes: list[tuple[float, ColumnElement[bool]]]
    similar: ColumnElement[bool]
    matched_by_text: ColumnElement[bool]
    rank: ColumnElement[float]


def search_match(
    target: Searchable,
    search: SearchText,
    *scope: Any,  # noqa: ANN401 - SQL conditions
    found: ColumnElement[bool] | None = None,
) -> SearchMatch:
    """Rows meeting `scope` that match the full-text query, or, if none does, of similar name.

    `found` defaults to whether a row of `scope` matches (`text_found`); the root search
    passes whether any of its tables does. `condition` is `id IN (matches UNION ALL names
    like it UNION ALL ...)`: each branch reads its own index, and the similar-name branches
    are skipped outright (a one-time filter) when `found` holds. An `OR` of these conditions
    is planned as one scan, and PostgreSQL then prefers reading the whole table.
    """
    table = target.vector.class_
    if found is None:
        found = text_found(target, search, *scope)
    by_text = text_match(target, search)
    guesses = [
        select(table.id).where(~found, similar).correlate_except(table)
        for similar in similar_names(target, search)
    ]
    matches = select(table.id).where(found, by_text).correlate_except(table)
    similar = [select(table.id).where(condition) for condition in similar_names(target, search)]
    return SearchMatch(
        found=found,
        condition=table.id.in_(union_all(matches, *guesses)),
        # The first class is read first and may walk the table for its page: only when
        # something matches (a typo walked all of it). The others are empty without a match.
        classes=[
            (rank, and_(found, matched) if index == 0 else matched)
            for index, (rank, matched) in enumerate(rank_classes(target, search))
        ],
        # Each condition from its own index, as in `condition`.
        similar=and_(~found, table.id.in_(union_all(*similar)) if similar else false()),
        matched_by_text=by_text,
        rank=type_coerce(
            case((by_text, text_rank(target, search)), else_=similarity(target, search)), REAL
        ),
    )


def headline(
    target: Searchable, search: SearchText, by_text: ColumnElement[bool]
) -> ColumnElement[str]:
    """The searched text's best fragments with matched words between markers (`marked_html`).

    Unmarked for a row `by_text` says the full text did not find (a similar name): `-excluded`
    words, or words of a query the row holds only in part, are no match to mark.
    """
    markers = _MARK_START + _MARK_END
    document = func.translate(target.document, bindparam(None, markers), "")
    marked = func.ts_headline(_CONFIG, document, search.query, bindparam(None, HEADLINE_OPTIONS))
    dropped = case((by_text, ""), else_=bindparam(None, markers))
    return func.translate(marked, dropped, "", type_=Text)


def marked_html(raw: str | None) -> str | None:
    """A `headline` as HTML: the text escaped, each matched word inside `<mark>...</mark>`."""
    if raw is None:
        return None
    for text, markup in _MARKUP:
        raw = raw.replace(text, markup)
    return raw


def marked_html_sql(raw: ColumnElement[str]) -> ColumnElement[str]:
    """`marked_html` in SQL: the same replacements, in the same order (NULL stays NULL)."""
    marked = raw
    for text, markup in _MARKUP:
        marked = func.replace(marked, bindparam(None, text), bindparam(None, markup), type_=Text)
    return marked
