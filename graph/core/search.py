"""Search and place in the root lists (`search`, `near`, `within`), written once for every list.

A list's search is part of its one statement: the full-text (or typo-fallback) condition and
the place conditions join its filters, and the rank, `ts_headline` (only when an edge's
`highlight` is selected) and distance come back as extra columns of the same rows. The
`RELEVANCE` and `DISTANCE` orders are keyset orderings on those expressions, ending with the
primary key, so cursors neither repeat nor skip rows however many ranks or distances tie.
"""

import dataclasses
import enum
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from shapely.geometry import Polygon
from sqlalchemy import ColumnElement, and_, any_, func, or_, select, union_all
from sqlalchemy.orm import InstrumentedAttribute
from strawberry.types.nodes import SelectedField, Selection

from graph.core.connection import PageInfo, page_info_over
from graph.core.context import Context
from graph.core.cursors import KeyKind
from graph.core.errors import BadUserInputError
from graph.core.geo import (
    Near,
    NearInput,
    WithinInput,
    distance_meters,
    near_condition,
    nearest_first,
    nearest_first_horizon,
    validated_area,
    validated_near,
    within_condition,
)
from graph.core.list_page import PageQuery, deleted_rows_options
from graph.core.paging import (
    Ordering,
    Page,
    SortKey,
    Window,
    counter,
    fetch_page,
    outside_window,
    page_window,
    rows_exist,
    window_conditions,
)
from graph.core.ranked_page import Branch, BranchedPage
from models import live_rows
from models.base import SoftDelete
from models.search import (
    MAX_SEARCH_WORDS,
    Searchable,
    SearchText,
    UnsearchableTextError,
    headline,
    marked_html,
    parse_search,
    rank_value,
    search_match,
    similarity,
)
from models.search import SearchMatch as MatchSql

RowT = TypeVar("RowT")
OrderT = TypeVar("OrderT", bound=Enum)
ConnectionT = TypeVar("ConnectionT")

RELEVANCE = "RELEVANCE"
DISTANCE = "DISTANCE"

SearchArgument = Annotated[
    str | None,
    strawberry.argument(
        description=(
            "Only items whose text matches these words: accents and word endings ignored, "
            '`"quoted phrases"`, `or` and `-excluded` words understood, the last word also '
            "matched as a prefix from two letters on (type-ahead). When nothing matches, items "
            "whose name or title is spelt like the words (and that hold no `-excluded` word) "
            "come back instead, marked `SIMILAR_NAME`. Empty text, and text of more than "
            f"{MAX_SEARCH_WORDS} words (a repeated word counts once), are refused."
        )
    ),
]
NearArgument = Annotated[
    NearInput | None,
    strawberry.argument(
        description="Only items within `radiusMeters` of a point; edges then carry the distance."
    ),
]
WithinArgument = Annotated[
    WithinInput | None,
    strawberry.argument(description="Only items inside a bounding box or a polygon."),
]


@dataclasses.dataclass(frozen=True, slots=True)
class Criteria:
    """Validated `search`, `near` and `within` arguments (each None when not given)."""

    search: SearchText | None = None
    near: Near | None = None
    area: Polygon | None = None


def parsed_search(text: str, *, field: str) -> SearchText:
    """The search text, or `BAD_USER_INPUT` naming `field` when it holds nothing to search."""
    try:
        return parse_search(text)
    except UnsearchableTextError as error:
        message = f"`{field}` cannot be searched: {error}."
        raise BadUserInputError(message, field=field) from None


def search_criteria(
    search: str | None, near: NearInput | None, within: WithinInput | None
) -> Criteria:
    """Check a list's `search`, `near` and `within`; `BAD_USER_INPUT` naming the bad one."""
    return Criteria(
        search=parsed_search(search, field="search") if search is not None else None,
        near=validated_near(near, field="near") if near is not None else None,
        area=validated_area(within, field="within") if within is not None else None,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class SearchableList:
    """A root list that takes `search`, `near` and `within`: its table's pieces."""

    entity: str
    target: Searchable
    location: InstrumentedAttribute[Any]
    id: InstrumentedAttribute[uuid.UUID]


def unsearched_order(order: str) -> BadUserInputError:
    """The error for `RELEVANCE` without `search`, or `DISTANCE` without `near`, on `orderBy`."""
    needs = "search" if order == RELEVANCE else "near"
    return BadUserInputError(f"`orderBy: {order}` needs `{needs}`.", field="orderBy")


@dataclasses.dataclass(frozen=True, slots=True)
class ListQuery:
    """The SQL a list's search and place arguments add: conditions, orderings, edge values.

    `conditions` are the filters and place; `matched` the search's condition; `branched`
    the search's rows by rank, from which a `RELEVANCE` page is read; `match` the search's
    parts, from which a page in another order is read (`searched_among`).
    """

    listed: SearchableList
    conditions: list[ColumnElement[bool]]
    extras: dict[str, ColumnElement[Any]]
    rank: ColumnElement[float] | None
    nearness: ColumnElement[float] | None
    matched: list[ColumnElement[bool]] = dataclasses.field(default_factory=list)
    branched: BranchedPage | None = None
    # `near`'s radius among `conditions` (None without `near`).
    radius: ColumnElement[bool] | None = None
    match: MatchSql | None = None

    def ordering(self, order: str) -> Ordering:
        """The `RELEVANCE` or `DISTANCE` ordering; `BAD_USER_INPUT` on `orderBy` if not given."""
        tie_break = SortKey.column(self.listed.id, KeyKind.UUID)
        if order == RELEVANCE:
            if self.rank is None:
                raise unsearched_order(order)
            key = SortKey(self.rank, KeyKind.FLOAT, descending=True)
        else:
            if self.nearness is None:
                raise unsearched_order(order)
            key = SortKey(self.nearness, KeyKind.FLOAT)
        return Ordering(f"{self.listed.entity}.{order}", (key, tie_break))


def list_query(
    listed: SearchableList,
    criteria: Criteria,
    conditions: Sequence[ColumnElement[bool]],
    *,
    highlight: bool,
) -> ListQuery:
    """Combine a list's filter `conditions` with its search and place criteria.

    The typo fallback applies when the full-text query finds nothing among the rows the
    filters and place conditions leave; `highlight` adds `ts_headline` (only if selected).
    """
    scope = list(conditions)
    extras: dict[str, ColumnElement[Any]] = {}
    nearness = None
    radius = None
    if criteria.near is not None:
        near = criteria.near
        radius = near_condition(listed.location, near)
        scope.append(radius)
        extras["distance"] = distance_meters(listed.location, near.latitude, near.longitude)
        nearness = nearest_first(listed.location, near.latitude, near.longitude)
    if criteria.area is not None:
        scope.append(within_condition(listed.location, criteria.area))
    if criteria.search is None:
        return ListQuery(listed, scope, extras, None, nearness, radius=radius)
    search = criteria.search
    match = search_match(listed.target, search, *scope)
    extras["rank"] = match.rank
    extras["by_text"] = match.matched_by_text
    if highlight:
        extras["highlight"] = headline(listed.target, search, match.matched_by_text)
    branches = [
        Branch(
            (rank_value(rank),),
            (rank,),
            select(listed.id).where(*scope, condition),
            gate=match.found,
        )
        for rank, condition in match.classes
    ]
    typed_like = similarity(listed.target, search)
    branches.append(Branch((typed_like,), None, select(listed.id).where(*scope, match.similar)))
    branched = BranchedPage(tuple(branches), listed.id.expression)
    return ListQuery(
        listed,
        scope,
        extras,
        match.rank,
        nearness,
        [match.condition],
        branched=branched,
        radius=radius,
        match=match,
    )


def found_values(extras: Mapping[str, Any]) -> dict[str, Any]:
    """An edge's `rank`, `highlight`, `matchedBy` and `distanceMeters` from a row's extras."""
    by_text = extras.get("by_text")
    return {
        "rank": extras.get("rank"),
        "highlight": marked_html(extras.get("highlight")),
        "matched_by": None
        if by_text is None
        else SearchMatch.FULL_TEXT
        if by_text
        else SearchMatch.SIMILAR_NAME,
        "distance_meters": extras.get("distance"),
    }


def page_info(page: Page[Any]) -> PageInfo:
    """The `pageInfo` of a fetched page."""
    return page_info_over(
        page.rows, has_next_page=page.has_next_page, has_previous_page=page.has_previous_page
    )


def wants_highlight(info: strawberry.Info[Context]) -> bool:
    """Whether the list's selection reads `edges { highlight }`."""
    return selects_edge_field(info.selected_fields[0].selections, "highlight")


@strawberry.enum(description="How a search result matched the words searched for.")
class SearchMatch(enum.Enum):
    """The two ways a search finds items."""

    FULL_TEXT = strawberry.enum_value(
        "FULL_TEXT",
        description="Its text contains the words (stemmed, accents ignored, prefix of the last).",
    )
    SIMILAR_NAME = strawberry.enum_value(
        "SIMILAR_NAME",
        description=(
            "Nothing contained the words, and its name or title is spelt like them (a typo "
            "fallback; it holds none of the `-excluded` words): show it as a suggestion."
        ),
    )


RANK_DESCRIPTION = (
    "How well the item matches `search`, from 0 to 1 (higher is better): 0.75 when its name "
    "(a medium's title) holds every searched word, 0.5 when its name with its city, "
    "amenities or tags does, 0.25 when its whole text does; for a `SIMILAR_NAME` match, how "
    "alike its name is. Items of one rank come oldest first. Comparable only within one "
    "result list. Null without `search`."
)
HIGHLIGHT_DESCRIPTION = (
    "An excerpt of the item's text with the matched words in `<mark>...</mark>`, as HTML "
    "(the text itself is escaped, so it is safe to render); unmarked for `SIMILAR_NAME` "
    "matches. Null without `search`. Computed only when selected."
)
MATCHED_BY_DESCRIPTION = "How the item matched `search`; null without `search`."
DISTANCE_DESCRIPTION = "Metres from the `near` point (on the WGS 84 spheroid); null without `near`."


@strawberry.type(description="How an item of a list matched a search, and how far it is.")
class Found:
    """Fields every search or place result shares."""

    rank: float | None = strawberry.field(description=RANK_DESCRIPTION)
    highlight: str | None = strawberry.field(description=HIGHLIGHT_DESCRIPTION)
    matched_by: SearchMatch | None = strawberry.field(description=MATCHED_BY_DESCRIPTION)
    distance_meters: float | None = strawberry.field(description=DISTANCE_DESCRIPTION)


def selects_edge_field(selections: Iterable[Selection], name: str) -> bool:
    """Whether a connection's selection asks for `edges { <name> }` (through fragments too)."""
    return any(_selects(edge.selections, name) for edge in _fields(selections, "edges"))


def _selects(selections: Iterable[Selection], name: str) -> bool:
    return any(True for _ in _fields(selections, name))


def _fields(selections: Iterable[Selection], name: str) -> Iterator[SelectedField]:
    for selection in selections:
        if not isinstance(selection, SelectedField):  # a fragment: look inside it
            yield from _fields(selection.selections, name)
        elif selection.name == name:
            yield selection


def plan_searched_page(  # noqa: PLR0913 - a list's Relay, search and order arguments
    context: Context,
    listed: SearchableList,
    model: type[RowT],
    *,
    search: str | None,
    near: NearInput | None,
    within: WithinInput | None,
    conditions: Callable[[], Sequence[ColumnElement[bool]]],
    order: OrderT | None,
    default_order: OrderT,
    orderings: Mapping[OrderT, Ordering],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    include_deleted: bool | None,
    highlight: bool,
) -> PageQuery[RowT]:
    """Plan one page of a list that takes `search`, `near` and `within`.

    `conditions` (the list's filter and access rule) is called once the other arguments are
    checked, so a request with several bad arguments hears of them in the same order as before.

    With `search` and no `order`, the best match comes first; otherwise `default_order`.
    `RELEVANCE` and `DISTANCE` orderings come from the search, the others from `orderings`.
    `highlight`: the edges read `highlight` (computed only then).
    """
    deleted_rows = deleted_rows_options(context, include_deleted)
    criteria = search_criteria(search, near, within)
    filters = list(conditions())
    table = listed.id.class_
    if not deleted_rows and isinstance(table, type) and issubclass(table, SoftDelete):
        # Deleted rows are no full-text hits either (the hits decide whether the typo fallback
        # applies). The ORM adds this to every read of the table on the loader path; the
        # compiled path's Core SQL gets no such criteria, so it is written out for both.
        filters.append(live_rows(table))
    query = list_query(listed, criteria, filters, highlight=highlight)
    if order is None:
        order = type(default_order)(RELEVANCE) if criteria.search is not None else default_order
    ordering = (
        query.ordering(order.value) if order.value in {RELEVANCE, DISTANCE} else orderings[order]
    )
    window = page_window(ordering, first=first, after=after, last=last, before=before)
    searched: tuple[ColumnElement[bool], Mapping[str, ColumnElement[bool]]] | None = None
    if order.value == RELEVANCE and query.branched is not None:  # by rank, branch by branch
        searched = query.branched.page(ordering, window), query.branched.outside(ordering, window)
    elif query.match is not None and order.value != DISTANCE:  # in a column's order
        searched = searched_page(query.listed, query.conditions, query.match, ordering, window)
    if searched is not None:
        # The page reads only the rows `among` holds; `matched` is what totalCount counts.
        return PageQuery(
            model,
            query.conditions,
            ordering,
            window,
            bool(deleted_rows),
            extras=query.extras,
            matched=query.matched,
            among=searched[0],
            outside=searched[1],
            plan_as_search=True,
        )
    listed_rows = [*query.conditions, *query.matched]
    among = None
    if order.value == DISTANCE and criteria.near is not None and not window.backward:
        # The page's nearest rows by a walk of the GiST index, not every row in the radius.
        # The walk leaves the radius out (PostgreSQL takes it for a handful of rows, and
        # sorts them instead of walking): a horizon past it still keeps only rows inside it.
        unbounded = [condition for condition in listed_rows if condition is not query.radius]
        rows = select(listed.id).where(*unbounded, *window_conditions(ordering, window))
        point = criteria.near
        among = nearest_first_horizon(
            listed.location, point.latitude, point.longitude, rows=rows, size=window.size + 1
        )
    return PageQuery(
        model,
        listed_rows,
        ordering,
        window,
        bool(deleted_rows),
        extras=query.extras,
        among=among,
        plan_as_search=criteria.search is not None,
    )


def searched_page(
    listed: SearchableList,
    scope: Sequence[ColumnElement[bool]],
    match: MatchSql,
    ordering: Ordering,
    window: Window,
) -> tuple[ColumnElement[bool], dict[str, ColumnElement[bool]]]:
    """A searched page in a column's order: the rows it can hold, whether rows lie outside.

    The full-text matches and the similar names (the typo fallback, read only when nothing
    matches) are each read on their own, in the page's order, gated by whether anything
    matches. As one condition (`matched`), they were a set of every match that PostgreSQL
    built first, then looked each up again: 1.5 s for a word 80,000 of 500,000 captions
    hold. On its own, a common word's page walks the ordering's index and a rare word's
    few matches are read from the GIN index and sorted. Returns `among` and `outside` for
    the page (`fetch_page`).
    """
    kinds = (and_(match.found, match.matched_by_text), match.similar)
    keyset = window_conditions(ordering, window)
    order = ordering.order_by(reverse=window.backward)
    pages = [
        select(listed.id)
        .where(*scope, kind, *keyset)
        .order_by(*order)
        .limit(window.size + 1)
        .correlate(None)  # apart from the page's read of the same table
        for kind in kinds
    ]
    among = listed.id == any_(func.array(union_all(*pages).scalar_subquery()))
    outside = {
        name: or_(
            *(
                rows_exist(
                    select(listed.id).where(*scope, kind, condition).correlate(None),
                    ordering,
                    name=name,
                )
                for kind in kinds
            )
        )
        for name, condition in outside_window(ordering, window).items()
    }
    return among, outside


async def searched_list_page(
    info: strawberry.Info[Context],
    query: PageQuery[RowT],
    *,
    node: Callable[[RowT], Any],
    edge: Callable[..., Any],
    connection: Callable[..., ConnectionT],
) -> ConnectionT:
    """The page `query` plans, as `connection` of `edge`s with their search values."""
    statement = query.statement()
    page = await fetch_page(
        info.context.db,
        query.scope(),
        ordering=query.ordering,
        window=query.window,
        extras=query.extras,
        among=query.among,
        outside=query.outside,
        plan_as_search=query.plan_as_search,
    )
    edges = [
        edge(cursor=row.cursor, node=node(row.row), **found_values(row.extras)) for row in page.rows
    ]
    return connection(
        edges=edges, page_info=page_info(page), count_total=counter(info.context.db, statement)
    )
