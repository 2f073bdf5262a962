"""GeoJSON in and out, and the validation of `NearInput` and `WithinInput`."""

import math
from dataclasses import dataclass
from typing import Any

import pytest
import strawberry
from shapely.geometry import Polygon
from strawberry.schema.config import StrawberryConfig

from graph.core.errors import BadUserInputError, ErrorCode
from graph.core.geo import (
    GEOJSON_SCALAR,
    MAX_POLYGON_POSITIONS,
    BoundingBoxInput,
    GeoJSON,
    NearInput,
    WithinInput,
    geojson_of,
    polygon_from_geojson,
    validated_area,
    validated_near,
)
from graph.core.global_id import encode_global_id
from tests.factories import make_media, make_user, make_venue, point
from tests.graph.viewers import viewer_of

SQUARE = [[2.30, 48.85], [2.36, 48.85], [2.36, 48.87], [2.30, 48.87], [2.30, 48.85]]


def _polygon(*rings: list[list[Any]], **members: Any) -> GeoJSON:
    return GeoJSON({"type": "Polygon", "coordinates": list(rings), **members})


@dataclass
class Refusal:
    message: str
    extensions: dict[str, Any]


def _refusal(call) -> Refusal:
    with pytest.raises(BadUserInputError) as raised:
        call()
    error = raised.value
    assert error.extensions is not None
    assert error.extensions["code"] == ErrorCode.BAD_USER_INPUT.value
    return Refusal(error.message, error.extensions)


def test_a_valid_near_input_is_kept():
    near = validated_near(
        NearInput(latitude=48.853, longitude=2.3499, radius_meters=1500), field="near"
    )
    assert (near.latitude, near.longitude, near.radius_meters) == (48.853, 2.3499, 1500.0)


@pytest.mark.parametrize(
    ("latitude", "longitude", "radius", "field", "says"),
    [
        (90.5, 2.35, 1000, "near.latitude", "between -90 and 90"),
        (-91, 2.35, 1000, "near.latitude", "between -90 and 90"),
        (48.85, 180.01, 1000, "near.longitude", "between -180 and 180"),
        (48.85, -200, 1000, "near.longitude", "between -180 and 180"),
        (48.85, 2.35, 0, "near.radiusMeters", "above 0 and at most 100000"),
        (48.85, 2.35, -5, "near.radiusMeters", "above 0 and at most 100000"),
        (48.85, 2.35, 100_001, "near.radiusMeters", "above 0 and at most 100000"),
        (math.nan, 2.35, 1000, "near.latitude", "between -90 and 90"),
        (48.85, 2.35, math.inf, "near.radiusMeters", "above 0"),
    ],
)
def test_near_input_out_of_range_names_the_field(latitude, longitude, radius, field, says):
    near = NearInput(latitude=latitude, longitude=longitude, radius_meters=radius)

    error = _refusal(lambda: validated_near(near, field="near"))

    assert error.extensions["field"] == field
    assert f"`{field}`" in error.message
    assert says in error.message


def test_the_limits_themselves_are_accepted():
    near = validated_near(NearInput(latitude=-90, longitude=180, radius_meters=100_000), field="n")
    assert near.radius_meters == 100_000


def test_a_bounding_box_becomes_its_polygon():
    box = BoundingBoxInput(south=48.85, west=2.30, north=48.87, east=2.36)

    area = validated_area(WithinInput(bounding_box=box), field="within")

    assert area.equals(Polygon(SQUARE))


@pytest.mark.parametrize(
    ("box", "field", "says"),
    [
        ((48.9, 2.3, 48.8, 2.4), "within.boundingBox.north", "must not be below `south`"),
        ((48.8, 179, 48.9, -179), "within.boundingBox.east", "crossing the antimeridian"),
        ((-95, 2.3, 48.9, 2.4), "within.boundingBox.south", "between -90 and 90"),
        ((48.8, 2.3, 48.9, 181), "within.boundingBox.east", "between -180 and 180"),
        ((48.8, 2.3, 48.8, 2.4), "within.boundingBox", "has no area"),
        ((48.8, 2.3, 48.9, 2.3), "within.boundingBox", "has no area"),
        ((0, 0, 0, 0), "within.boundingBox", "has no area"),
    ],
)
def test_a_bad_bounding_box_names_the_edge(box, field, says):
    south, west, north, east = box
    within = WithinInput(
        bounding_box=BoundingBoxInput(south=south, west=west, north=north, east=east)
    )

    error = _refusal(lambda: validated_area(within, field="within"))

    assert error.extensions["field"] == field
    assert says in error.message


@pytest.mark.parametrize(
    "within",
    [
        WithinInput(),
        WithinInput(
            bounding_box=BoundingBoxInput(south=0, west=0, north=1, east=1),
            polygon=_polygon(SQUARE),
        ),
    ],
)
def test_within_needs_exactly_one_shape(within):
    error = _refusal(lambda: validated_area(within, field="within"))

    assert error.extensions["field"] == "within"
    assert "exactly one of `boundingBox` and `polygon`" in error.message


def test_a_valid_polygon_with_a_hole_is_kept():
    hole = [[2.32, 48.855], [2.32, 48.86], [2.34, 48.86], [2.34, 48.855], [2.32, 48.855]]

    area = validated_area(WithinInput(polygon=_polygon(SQUARE, hole)), field="within")

    assert area.equals(Polygon(SQUARE, [hole]))


def test_a_wgs84_crs_member_is_accepted():
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}

    area = polygon_from_geojson(_polygon(SQUARE, crs=crs), field="within.polygon")

    assert area.equals(Polygon(SQUARE))


ANTIMERIDIAN = [[179, -1], [-179, -1], [-179, 1], [179, 1], [179, -1]]
BOWTIE = [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]
MERCATOR = {"type": "name", "properties": {"name": "EPSG:3857"}}


@pytest.mark.parametrize(
    ("value", "field", "says"),
    [
        ([1, 2], "within.polygon", "must be a GeoJSON object"),
        ({"type": "Point", "coordinates": [2.35, 48.85]}, "within.polygon", '"Polygon"'),
        ({"type": "Polygon"}, "within.polygon", "non-empty list of linear rings"),
        (_polygon(SQUARE, crs=MERCATOR), "within.polygon.crs", "'EPSG:3857'"),
        (_polygon(SQUARE, crs="EPSG:4326"), "within.polygon.crs", "only WGS 84"),
        (_polygon(SQUARE[:-1]), "within.polygon", "ring 0 is not closed"),
        (_polygon([[0, 0], [1, 1], [0, 0]]), "within.polygon", "ring 0 has 3 positions"),
        (_polygon(SQUARE, [[0, 0], [1, 0], [0, 0]]), "within.polygon", "ring 1 has 3 positions"),
        (_polygon([[0, 0], [0, 91], [1, 1], [0, 0]]), "within.polygon", "latitude 91.0"),
        (_polygon([[0, 0], [181, 1], [1, 1], [0, 0]]), "within.polygon", "longitude 181.0"),
        (_polygon([[0, 0, 5], [1, 1], [1, 0], [0, 0]]), "within.polygon", "two numbers"),
        (_polygon([[0, "1"], [1, 1], [1, 0], [0, 1]]), "within.polygon", "two numbers"),
        (_polygon([[0, True], [1, 1], [1, 0], [0, 1]]), "within.polygon", "two numbers"),
        (_polygon(ANTIMERIDIAN), "within.polygon", "crosses the antimeridian"),
        (_polygon(BOWTIE), "within.polygon", "Self-intersection"),
        (
            _polygon(SQUARE, [[3, 3], [3, 4], [4, 4], [3, 3]]),
            "within.polygon",
            "Hole lies outside shell",
        ),
    ],
)
def test_a_bad_polygon_says_what_is_wrong(value, field, says):
    error = _refusal(lambda: validated_area(WithinInput(polygon=value), field="within"))

    assert error.extensions["field"] == field
    assert says in error.message


def test_a_polygon_has_at_most_a_thousand_positions():
    def circle(positions: int) -> list[list[float]]:
        ring = [
            [
                math.cos(2 * math.pi * i / (positions - 1)),
                math.sin(2 * math.pi * i / (positions - 1)),
            ]
            for i in range(positions - 1)
        ]
        return [*ring, ring[0]]

    assert polygon_from_geojson(_polygon(circle(MAX_POLYGON_POSITIONS)), field="p").is_valid

    error = _refusal(
        lambda: polygon_from_geojson(_polygon(circle(MAX_POLYGON_POSITIONS + 1)), field="p")
    )

    assert error.extensions["field"] == "p"
    assert "has 1001 positions; at most 1000" in error.message


def test_geojson_of_a_polygon_round_trips():
    polygon = polygon_from_geojson(_polygon(SQUARE), field="p")

    assert geojson_of(polygon) == _polygon(SQUARE)


VENUE_PLACE = """
query Place($id: ID!) {
  node(id: $id) { ... on Venue { latitude longitude location } }
}
"""

MEDIA_PLACE = """
query Place($ids: [ID!]!) {
  nodes(ids: $ids) { ... on Media { latitude longitude location } }
}
"""


async def test_a_venue_exposes_its_location_as_geojson(session, execute):
    venue = await make_venue(session, latitude=48.853, longitude=2.3499)

    result = await execute(VENUE_PLACE, {"id": encode_global_id("Venue", venue.id)})

    assert result.errors is None
    assert result.data["node"] == {
        "latitude": pytest.approx(48.853),
        "longitude": pytest.approx(2.3499),
        "location": {
            "type": "Point",
            "coordinates": [pytest.approx(2.3499), pytest.approx(48.853)],
        },
    }


async def test_media_expose_their_location_or_null(session, execute):
    owner = await make_user(session)
    shot = await make_media(
        session, owner=owner, location=point(latitude=-33.8568, longitude=151.2153)
    )
    unknown = await make_media(session, owner=owner)
    ids = [encode_global_id("Media", shot.id), encode_global_id("Media", unknown.id)]

    result = await execute(MEDIA_PLACE, {"ids": ids}, viewer=viewer_of(owner))

    assert result.errors is None
    located, unlocated = result.data["nodes"]
    assert located == {
        "latitude": pytest.approx(-33.8568),
        "longitude": pytest.approx(151.2153),
        "location": {
            "type": "Point",
            "coordinates": [pytest.approx(151.2153), pytest.approx(-33.8568)],
        },
    }
    assert unlocated == {"latitude": None, "longitude": None, "location": None}


def _echo_area(within: WithinInput) -> GeoJSON:
    return geojson_of(validated_area(within, field="within"))


@strawberry.type(description="A query root that echoes an area, to test the inputs alone.")
class _AreaEcho:
    area: GeoJSON = strawberry.field(resolver=_echo_area, description="The area, as GeoJSON.")


ECHO = strawberry.Schema(
    query=_AreaEcho, config=StrawberryConfig(scalar_map={GeoJSON: GEOJSON_SCALAR})
)


async def test_geojson_is_read_from_literals_and_variables():
    literal = await ECHO.execute(
        '{ area(within: {polygon: {type: "Polygon", coordinates:'
        " [[[2.3, 48.85], [2.36, 48.85], [2.36, 48.87], [2.3, 48.87], [2.3, 48.85]]]}}) }"
    )
    variable = await ECHO.execute(
        "query Area($within: WithinInput!) { area(within: $within) }",
        variable_values={"within": {"polygon": _polygon(SQUARE)}},
    )
    box = await ECHO.execute(
        "{ area(within: {boundingBox: {south: 48.85, west: 2.3, north: 48.87, east: 2.36}}) }"
    )

    assert literal.errors is None
    assert variable.errors is None
    assert box.errors is None
    assert box.data is not None
    assert literal.data == variable.data == {"area": _polygon(SQUARE)}
    assert Polygon(box.data["area"]["coordinates"][0]).equals(Polygon(SQUARE))


@pytest.mark.parametrize("root", ["venues", "media"])
async def test_a_box_without_area_is_bad_input_over_http(client, caplog, root):
    query = (
        f"{{ {root}(within: {{boundingBox: {{south: 0, west: 0, north: 0, east: 0}}}}) "
        "{ totalCount } }"
    )
    response = await client.post("/graphql", json={"query": query})

    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "within.boundingBox"}
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
