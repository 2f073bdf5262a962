"""Hostile request shapes: documents built to make parsing, validation, costing or SQL slow.

Each shape is a request body the API must refuse (or answer) fast, with a stable code.
`bench/attack.py` times them over HTTP; `tests/graph/schema/test_attack_shapes.py` asserts their
codes. Shapes that repeat a piece are sized to the largest count the token limit lets through
(`fitting`), so they stress validation as hard as a client can.
"""

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLSyntaxError, parse

from models.settings import Settings

DEFAULTS = Settings()
PARIS = (2.3522, 48.8566)  # longitude, latitude (GeoJSON order)
ALIASES = 30  # the default alias limit: as many copies as a client may send


@dataclass(frozen=True)
class Shape:
    """One attack: a request body and the codes a refusal may carry (None: answered)."""

    name: str
    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    # Every error's code is one of these (None: answered with data and no errors).
    codes: frozenset[str] | None = None
    why: str = ""

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body of the request."""
        return {"query": self.query, "variables": self.variables}


def within_tokens(document: str, max_tokens: int) -> bool:
    """Whether graphql-core's parser reads `document` within `max_tokens` (and its nesting)."""
    try:
        parse(document, max_tokens=max_tokens)
    except GraphQLSyntaxError:
        return False  # the shapes are valid when small: only a limit stops the parser
    return True


def fitting(make: Callable[[int], str], *, max_tokens: int = DEFAULTS.max_tokens) -> str:
    """`make(n)` for the largest `n` whose document is within `max_tokens` tokens."""
    low, high = 1, 1
    while within_tokens(make(high), max_tokens):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if within_tokens(make(middle), max_tokens):
            low = middle
        else:
            high = middle
    return make(low)


def fan_out(levels: int, leaf: str = "__typename") -> str:
    """`...F0`, each fragment spreading the next twice: 2**levels leaves once inlined."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    return " ".join(["query Q { ...F0 }", *fragments, f"fragment F{levels} on Query {{ {leaf} }}"])


def fan_out_wide(levels: int, width: int) -> str:
    """As `fan_out`, each fragment spreading the next `width` times."""
    spreads = " ".join(["...F{next}"] * width)
    fragments = [
        f"fragment F{i} on Query {{ {spreads.format(next=i + 1)} }}" for i in range(levels)
    ]
    return " ".join(
        ["query Q { ...F0 }", *fragments, f"fragment F{levels} on Query {{ id: __typename }}"]
    )


def deep_fragments(levels: int) -> str:
    """A chain of fragments, each nesting a venue's bookings one level deeper."""
    hop = "bookings(first: 1) {{ edges {{ node {{ venue {{ ...D{next} }} }} }} }}"
    fragments = [f"fragment D{i} on Venue {{ {hop.format(next=i + 1)} }}" for i in range(levels)]
    return " ".join(
        [
            'query Deep { venue(id: "VmVudWU6eA==") { ...D0 } }',
            *fragments,
            f"fragment D{levels} on Venue {{ id }}",
        ]
    )


def star_polygon(positions: int) -> dict[str, Any]:
    """A closed, star-shaped GeoJSON polygon of `positions` positions around Paris."""
    points = positions - 1
    ring = []
    for index in range(points):
        angle = 2 * math.pi * index / points
        radius = 0.2 if index % 2 == 0 else 0.02
        ring.append([PARIS[0] + radius * math.cos(angle), PARIS[1] + radius * math.sin(angle)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def aliased(count: int, field_text: str) -> str:
    """`count` aliased copies of a root field."""
    return "{ " + " ".join(f"a{i}: {field_text}" for i in range(count)) + " }"


def nested_list(depth: int) -> Any:  # noqa: ANN401 - JSON
    """A list nested `depth` deep: `[[[...]]]`."""
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


# 72 words, 360 characters: within the search box's length limit.
SEARCH_WORDS = " ".join(
    ["loft", "cafe", "bar", "view", "park", "yard", "hall", "room", "deck", "pool", "lake", "barn"]
    * 6
)
TOO_COSTLY = frozenset({"QUERY_TOO_COSTLY"})
TOO_DEEP = frozenset({"QUERY_TOO_DEEP"})
INVALID = frozenset({"GRAPHQL_VALIDATION_FAILED"})
BAD_INPUT = frozenset({"BAD_USER_INPUT"})
COSTLY_ALIASED = frozenset({"QUERY_TOO_COSTLY", "TOO_MANY_ALIASES"})
# graphql-core's reports of unused variables name the variable: BAD_USER_INPUT.
INVALID_VARIABLES = frozenset({"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"})


@functools.cache
def shapes(*, fan_out_levels: tuple[int, ...] = (10, 16, 20, 22, 24, 30)) -> list[Shape]:
    """Every attack shape; `fan_out_levels` sets the depths of the fragment fan-outs."""
    polygon = star_polygon(1_000)
    near = {"latitude": PARIS[1], "longitude": PARIS[0], "radiusMeters": 100_000}
    return [
        *(
            Shape(
                f"fan-out {levels}",
                fan_out(levels),
                codes=TOO_COSTLY if 2**levels > DEFAULTS.max_query_cost else None,
                why="each fragment spreads the next twice: 2**levels fields once inlined",
            )
            for levels in fan_out_levels
        ),
        Shape(
            "fan-out aliased 22",
            fan_out(22, "a: __typename"),
            codes=COSTLY_ALIASED,
            why="the alias count multiplies like the fields",
        ),
        Shape(
            "fan-out wide",
            fitting(lambda width: fan_out_wide(6, width)),
            codes=COSTLY_ALIASED,
            why="six fragments, each spreading the next as often as the tokens allow",
        ),
        Shape(
            "unknown fragment",
            "query { ...Nope }",
            codes=INVALID,
            why="was a bare KeyError message without a code",
        ),
        Shape(
            "fragment cycle",
            "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
            codes=INVALID,
        ),
        Shape(
            "deep fragments",
            fitting(deep_fragments),
            codes=frozenset({"QUERY_TOO_DEEP", "GRAPHQL_VALIDATION_FAILED"}),
            why="a chain of fragments each nesting one level deeper",
        ),
        Shape(
            "deep fields",
            fitting(
                lambda depth: (
                    '{ venue(id: "VmVudWU6eA==") { '
                    + "bookings(first: 1) { edges { node { venue { " * depth
                    + "id"
                    + " } } } }" * depth
                    + " } }"
                )
            ),
            codes=TOO_DEEP,
            why="nesting as deep as the tokens (or the parser's nesting limit) allow",
        ),
        Shape(
            "spreads of one fragment",
            fitting(
                lambda n: "{ " + " ".join(["...F"] * n) + " } fragment F on Query { __typename }"
            ),
            why="one fragment spread in one selection as often as the tokens allow",
            codes=TOO_COSTLY,
        ),
        Shape(
            "same field repeated",
            fitting(lambda n: "{ " + " ".join(["__typename"] * n) + " }"),
            codes=TOO_COSTLY,
            why="fields that must be merged pairwise (OverlappingFieldsCanBeMerged)",
        ),
        Shape(
            "same field with arguments",
            fitting(lambda n: "{ " + " ".join(['venue(id: "x") { id }'] * n) + " }"),
            codes=TOO_COSTLY,
            why="pairs of fields whose arguments must be compared",
        ),
        Shape(
            "conflicting aliases",
            fitting(
                lambda n: "{ " + " ".join(f'a: venue(id: "{i}") {{ id }}' for i in range(n)) + " }"
            ),
            codes=COSTLY_ALIASED,
            why="every pair of fields conflicts",
        ),
        Shape(
            "repeated nested fields",
            fitting(
                lambda k: (
                    "{ " + " ".join(['venue(id: "x") { ' + " ".join(["id"] * k) + " }"] * k) + " }"
                )
            ),
            codes=TOO_COSTLY,
            why="k copies of k fields: about k**4 / 2 pairs for validation to compare",
        ),
        Shape(
            "distinct fragments, one field each",
            "{ venues(first: 1) { edges { node { "
            + " ".join(f"...V{i}" for i in range(64))
            + " } } } } "
            + " ".join(f"fragment V{i} on Venue {{ id }}" for i in range(64)),
            codes=TOO_COSTLY,
            why="64 fragments compared pairwise, at the width limit",
        ),
        Shape(
            "alias flood",
            fitting(lambda n: aliased(n, "__typename")),
            codes=COSTLY_ALIASED,
        ),
        Shape(
            "many fragments",
            fitting(
                lambda n: (
                    "{ "
                    + " ".join(f"...F{i}" for i in range(n))
                    + " } "
                    + " ".join(f"fragment F{i} on Query {{ __typename }}" for i in range(n))
                )
            ),
            codes=TOO_COSTLY,
            why="every pair of fragments is compared for overlapping fields",
        ),
        Shape(
            "many fragments with lists",
            fitting(
                lambda n: (
                    "{ "
                    + " ".join(f"...F{i}" for i in range(n))
                    + " } "
                    + " ".join(
                        f"fragment F{i} on Query {{ venues {{ totalCount }} }}" for i in range(n)
                    )
                )
            ),
            codes=TOO_COSTLY,
        ),
        Shape(
            "many inline fragments",
            fitting(lambda n: "{ " + " ".join(["... on Query { __typename }"] * n) + " }"),
            codes=TOO_COSTLY,
        ),
        Shape(
            "directive flood",
            fitting(lambda n: "{ __typename " + " ".join(["@include(if: true)"] * n) + " }"),
            codes=INVALID,
        ),
        Shape(
            "variable flood",
            fitting(
                lambda n: "query(" + " ".join(f"$v{i}: Int" for i in range(n)) + ") { __typename }"
            ),
            codes=INVALID_VARIABLES,
        ),
        Shape(
            "deep list literal",
            fitting(
                lambda depth: (
                    '{ venues(within: {polygon: {type: "Polygon", coordinates: '
                    + "[" * depth
                    + "]" * depth
                    + "}}) { totalCount } }"
                )
            ),
            codes=BAD_INPUT,
        ),
        Shape(
            "deep JSON variable",
            "query($w: WithinInput) { venues(within: $w) { totalCount } }",
            {"w": {"polygon": {"type": "Polygon", "coordinates": nested_list(900)}}},
            codes=BAD_INPUT,
            why="a variable nested 900 deep",
        ),
        Shape(
            "long string",
            '{ venues(search: "' + "a" * 99_000 + '") { totalCount } }',
            codes=BAD_INPUT,
            why="one 99 KB token",
        ),
        Shape(
            "long comment",
            "#" + "a" * 99_000 + "\n{ __typename }",
            why="99 KB the lexer skips",
        ),
        Shape(
            "token flood 100 KB",
            "{ " + "a " * 49_900 + "}",
            codes=frozenset({"TOO_MANY_TOKENS"}),
            why="50,000 tokens: the parser stops at the limit",
        ),
        Shape(
            "token flood",
            "{ " + "__typename " * DEFAULTS.max_tokens + "}",
            codes=frozenset({"TOO_MANY_TOKENS"}),
        ),
        Shape(
            "polygon x 30",
            "query($w: WithinInput) { "
            + " ".join(
                f"a{i}: venues(first: 20, within: $w) {{ edges {{ node {{ id }} }} }}"
                for i in range(ALIASES)
            )
            + " }",
            {"w": {"polygon": polygon}},
            codes=TOO_COSTLY,
            why="a 1,000-position star polygon, 30 times",
        ),
        Shape(
            "polygon x 3",
            "query($w: WithinInput) { "
            + " ".join(
                f"a{i}: venues(first: 20, within: $w) {{ edges {{ node {{ id }} }} }}"
                for i in range(3)
            )
            + " }",
            {"w": {"polygon": polygon}},
            codes=TOO_COSTLY,
        ),
        Shape(
            "search highlight x 30",
            "query($q: String) { "
            + " ".join(
                f"a{i}: venues(first: 20, search: $q) {{ edges {{ highlight node {{ id }} }} }}"
                for i in range(ALIASES)
            )
            + " }",
            {"q": SEARCH_WORDS},
            codes=TOO_COSTLY,
            why="a 72-word search with highlight, 30 times",
        ),
        Shape(
            "root search x 30",
            "query($q: String!) { "
            + " ".join(
                f"a{i}: search(query: $q) {{ edges {{ highlight node {{ __typename }} }} }}"
                for i in range(ALIASES)
            )
            + " }",
            {"q": SEARCH_WORDS},
            codes=TOO_COSTLY,
        ),
        Shape(
            "nearest first x 30",
            "query($near: NearInput) { "
            + " ".join(
                f"a{i}: venues(first: 100, near: $near, orderBy: DISTANCE) "
                "{ edges { distanceMeters node { id } } }"
                for i in range(ALIASES)
            )
            + " }",
            {"near": near},
            codes=TOO_COSTLY,
        ),
        Shape(
            "default page, nested",
            "{ venues { edges { node { bookings(first: 100) { edges { node { id status "
            "user { id displayName } } } } } } } }",
            codes=TOO_COSTLY,
            why="an omitted `first` is the default page of 20, not 1",
        ),
        Shape(
            "null page, nested",
            "query($n: Int) { venues(first: $n) { edges { node { bookings(first: 100) "
            "{ edges { node { id status user { id displayName } } } } } } } }",
            {"n": None},
            codes=TOO_COSTLY,
        ),
    ]
