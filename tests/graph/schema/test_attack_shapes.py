"""Hostile document shapes (bench/attack_shapes.py) through HTTP: each refused with its code,
before any SQL, in work linear in the document (counted, not timed: bench/attack.py times).
"""

import logging

import pytest
from graphql import parse

from bench.attack_shapes import Shape, fan_out, fan_out_wide, shapes
from graph.core.errors import ErrorCode
from graph.schema import query_depth
from graph.schema.query_cost import operation_walk
from graph.schema.query_depth import ShapeLimits, document_shape
from graph.schema.root import schema
from models.settings import Settings

GRAPHQL_SCHEMA = schema._schema  # noqa: SLF001 - graphql-core's schema, which the cost walks
DEFAULTS = Settings()
SHAPES = {shape.name: shape for shape in shapes()}


@pytest.mark.parametrize("name", list(SHAPES))
async def test_each_shape_is_answered_with_its_codes(client, caplog, count_statements, name):
    shape: Shape = SHAPES[name]
    with caplog.at_level(logging.WARNING), count_statements as counted:
        response = await client.post("/graphql", json=shape.body)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    if shape.codes is None:
        assert "errors" not in body
        assert body["data"]
        return
    codes = {error["extensions"]["code"] for error in body["errors"]}
    assert codes
    assert codes <= shape.codes, (name, codes)
    assert body.get("data") is None
    # Refused before the operation ran (a bad input value may have been read by a resolver,
    # but no statement ran either way).
    assert counted.count == 0
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_an_unknown_fragment_is_a_validation_error_with_a_code(client):
    response = await client.post("/graphql", json={"query": "query { ...Nope }"})

    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert error["message"] == "Unknown fragment 'Nope'."


async def test_the_issue_fan_out_is_refused_as_too_costly(client):
    response = await client.post("/graphql", json={"query": fan_out(22)})

    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == ErrorCode.QUERY_TOO_COSTLY.value
    # 2**22 fields and 2**23 - 1 spreads once inlined, counted without inlining.
    assert error["extensions"]["cost"] == 3 * 2**22 - 1
    assert error["extensions"]["maxCost"] == DEFAULTS.max_query_cost


async def test_depth_counts_through_fragments_and_carries_its_figures(client):
    hop = "bookings(first: 1) { edges { node { venue { ...D } } } }"
    query = (
        'query Deep { venue(id: "VmVudWU6eA==") { ...A } } '
        f"fragment A on Venue {{ {hop.replace('...D', '...B')} }} "
        f"fragment B on Venue {{ {hop.replace('...D', '...C')} }} "
        f"fragment C on Venue {{ {hop.replace('...D', '...E')} }} "
        "fragment E on Venue { bookings(first: 1) { totalCount } }"
    )
    response = await client.post("/graphql", json={"query": query})

    (error,) = response.json()["errors"]
    assert error["extensions"] == {
        "code": ErrorCode.QUERY_TOO_DEEP.value,
        "depth": 14,
        "maxDepth": DEFAULTS.max_query_depth,
    }
    assert error["message"] == "'Deep' exceeds maximum operation depth of 12"


async def test_a_selection_set_over_the_width_limit_is_refused(client):
    fragment = " fragment F on Query { __typename }"
    over = "{ " + " ".join(["...F"] * (DEFAULTS.max_selections + 1)) + " }" + fragment
    at_limit = "{ " + " ".join(["...F"] * DEFAULTS.max_selections) + " }" + fragment
    refused = await client.post("/graphql", json={"query": over})
    served = await client.post("/graphql", json={"query": at_limit})

    (error,) = refused.json()["errors"]
    assert error["extensions"] == {
        "code": ErrorCode.QUERY_TOO_COSTLY.value,
        "selections": DEFAULTS.max_selections + 1,
        "maxSelections": DEFAULTS.max_selections,
    }
    assert served.json() == {"data": {"__typename": "Query"}}


async def test_fields_repeated_under_one_name_are_refused_for_their_pairs(client):
    def repeated(k: int) -> str:
        return "{ " + " ".join(['venue(id: "x") { ' + " id" * k + " }"] * k) + " }"

    refused = await client.post("/graphql", json={"query": repeated(8)})
    checked = await client.post("/graphql", json={"query": repeated(7)})

    (error,) = refused.json()["errors"]
    assert error["extensions"] == {
        "code": ErrorCode.QUERY_TOO_COSTLY.value,
        "sameNamePairs": 8 * 7 // 2 + 64 * 63 // 2,
        "maxSameNamePairs": DEFAULTS.max_same_name_pairs,
    }
    # Under the limit, validation runs and the resolver reads the (bad) ID.
    assert checked.json()["errors"][0]["extensions"]["code"] == ErrorCode.BAD_USER_INPUT.value


def test_the_document_walk_is_linear_in_the_document():
    # Each level doubles what the fragments inline to; the work stays that of the text.
    for levels in (10, 20, 40, 80):
        document = parse(fan_out(levels))
        shape = document_shape(document)
        (operation,) = shape.operations
        assert operation.fields == 2**levels + 2 ** (levels + 1) - 1  # fields and spreads
        cost, visited = operation_walk(GRAPHQL_SCHEMA, document, operation_name=None, variables={})
        assert cost == 2**levels
        # One visit per selection written in the document: 2 per fragment, 1 at the root.
        assert visited == 2 * levels + 2


def test_the_walk_visits_each_written_selection_once_however_wide_the_fan_out():
    for width in (2, 10, 50):
        document = parse(fan_out_wide(6, width))
        _, visited = operation_walk(GRAPHQL_SCHEMA, document, operation_name=None, variables={})
        assert visited == 1 + 6 * width + 1


def test_a_document_within_limits_is_measured_once(monkeypatch):
    limits = ShapeLimits(
        max_depth=12, max_aliases=30, max_fields=10_000, max_width=64, max_same_name_pairs=2_000
    )
    document = parse("{ venues { totalCount } }")
    measured: list[object] = []
    real = query_depth.refusals

    def counting(document, limits):
        measured.append(document)
        return real(document, limits)

    monkeypatch.setattr(query_depth, "refusals", counting)

    assert query_depth.within_limits(document, limits)
    assert query_depth.within_limits(document, limits)
    # The same text parsed again is another document: measured for itself.
    assert query_depth.within_limits(parse("{ venues { totalCount } }"), limits)
    assert len(measured) == 2
    wide = parse("{ " + " ".join(f"a{n}: __typename" for n in range(100)) + " }")
    assert not query_depth.within_limits(wide, limits)
    assert not query_depth.within_limits(wide, limits)
    assert len(measured) == 4
