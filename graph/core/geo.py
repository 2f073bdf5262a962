"""Places on earth in the API: GeoJSON in and out, validated inputs, and their SQL conditions.

Coordinates are WGS 84 (SRID 4326) degrees; GeoJSON positions put longitude first. The SQL
builders work on `geography` columns, so distances and radii are metres on the spheroid
anywhere on earth, and every value reaches PostgreSQL as a bound parameter.

Geography edges are great-circle arcs, while a GeoJSON polygon's edges are straight lines in
longitude/latitude (RFC 7946, section 3.1.1). `within_condition` therefore splits edges longer
than `DENSIFY_DEGREES` before it sends the area, so what it selects is what a flat map draws,
to within about 8 m. Areas that cross the antimeridian are refused, not guessed at.
"""

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NewType, NoReturn

import shapely
import strawberry
from geoalchemy2 import Geography, Geometry, WKBElement, WKTElement
from geoalchemy2.shape import to_shape
from shapely.geometry import Point, Polygon
from shapely.validation import explain_validity
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    LargeBinary,
    Numeric,
    Select,
    SQLColumnExpression,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
)

from graph.core.errors import BadUserInputError
from graph.core.scalars import shown
from models.venue import geography_point

SRID = 4326
# The degrees a coordinate may take either side of zero.
MAX_LATITUDE = 90
MAX_LONGITUDE = 180
# The smallest magnitude of a stored coordinate read as a double: PostgreSQL refuses to turn a
# number below it into one (float underflow) where Python reads 0.0 or a subnormal.
MIN_STORED_DEGREES = "1e-300"
MAX_RADIUS_METERS = 100_000.0
MAX_POLYGON_POSITIONS = 1_000
# Longest edge sent to PostgreSQL, in degrees; a great-circle arc this long strays from the
# straight line between its ends by at most ~8 m (at 45 degrees latitude, the worst case).
DENSIFY_DEGREES = 0.25
# Added to a nearest-first horizon so float rounding never drops the row that defines it.
HORIZON_SLACK_METERS = 0.01
# Upper bound on the vertices of a densified area: longer edges are split more coarsely.
MAX_DENSIFIED_VERTICES = 20_000
# Names a GeoJSON `crs` member (GeoJSON 2008) may give for WGS 84 longitude/latitude.
WGS84_CRS_NAMES = frozenset(
    {
        "urn:ogc:def:crs:OGC:1.3:CRS84",
        "urn:ogc:def:crs:OGC::CRS84",
        "CRS84",
        "EPSG:4326",
        "urn:ogc:def:crs:EPSG::4326",
        "urn:ogc:def:crs:EPSG:6.6:4326",
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "http://www.opengis.net/def/crs/EPSG/0/4326",
    }
)

GeoJSON = NewType("GeoJSON", dict[str, Any])
"""A GeoJSON geometry object (RFC 7946), e.g. `{"type": "Point", "coordinates": [2.35, 48.85]}`."""


def _identity(value: object) -> object:
    return value


GEOJSON_SCALAR = strawberry.scalar(
    name="GeoJSON",
    description=(
        "A GeoJSON geometry object (RFC 7946) sent and received as a JSON object, e.g."
        ' `{"type": "Point", "coordinates": [2.3499, 48.853]}`. Positions are'
        " `[longitude, latitude]` in WGS 84 degrees (SRID 4326)."
    ),
    specified_by_url="https://datatracker.ietf.org/doc/html/rfc7946",
    serialize=_identity,
    parse_value=_identity,
)
"""The `GeoJSON` scalar's definition, for the schema's `scalar_map`."""


@strawberry.input(
    description=(
        "A circle on earth: what lies within `radiusMeters` of a point, measured on the"
        " WGS 84 spheroid."
    )
)
class NearInput:
    """A point and a radius."""

    latitude: float = strawberry.field(description="Latitude of the centre, -90 to 90 degrees.")
    longitude: float = strawberry.field(description="Longitude of the centre, -180 to 180 degrees.")
    radius_meters: float = strawberry.field(
        description=f"Radius in metres, above 0 and at most {MAX_RADIUS_METERS:,.0f} (100 km)."
    )


@strawberry.input(
    description=(
        "A rectangle in longitude/latitude, edges included, as a map viewport draws it."
        " It may not cross the antimeridian (`west` above `east`): query each side separately."
    )
)
class BoundingBoxInput:
    """South-west and north-east corners."""

    south: float = strawberry.field(description="Southern edge: latitude, -90 to 90 degrees.")
    west: float = strawberry.field(description="Western edge: longitude, -180 to 180 degrees.")
    north: float = strawberry.field(
        description="Northern edge: latitude, -90 to 90 degrees, above `south`."
    )
    east: float = strawberry.field(
        description="Eastern edge: longitude, -180 to 180 degrees, east of `west`."
    )


@strawberry.input(description="An area on earth; give exactly one of `boundingBox` or `polygon`.")
class WithinInput:
    """A bounding box or a polygon."""

    bounding_box: BoundingBoxInput | None = strawberry.field(
        default=None, description="A longitude/latitude rectangle."
    )
    polygon: GeoJSON | None = strawberry.field(
        default=None,
        description=(
            'A GeoJSON geometry of type `"Polygon"`: closed rings of `[longitude, latitude]`'
            " positions (first equal to last, at least 4 each), the first ring the outline and"
            f" any others holes, at most {MAX_POLYGON_POSITIONS:,} positions in all, not"
            " self-intersecting, no edge crossing the antimeridian. Edges are straight lines in"
            " longitude/latitude. A `crs` member, if any, must name WGS 84 (EPSG:4326/CRS84)."
        ),
    )


@dataclass(frozen=True, slots=True)
class Near:
    """A validated `NearInput`."""

    latitude: float
    longitude: float
    radius_meters: float


def _refuse(field: str, problem: str) -> NoReturn:
    message = f"`{field}` {problem}"
    raise BadUserInputError(message, field=field)


def checked_latitude(value: float, *, field: str) -> float:
    """`value` if a latitude (-90 to 90); `BAD_USER_INPUT` naming `field` otherwise."""
    if not (math.isfinite(value) and -MAX_LATITUDE <= value <= MAX_LATITUDE):
        _refuse(
            field,
            f"must be a latitude between -{MAX_LATITUDE} and {MAX_LATITUDE} degrees; got {value}.",
        )
    return float(value)


def checked_longitude(value: float, *, field: str) -> float:
    """`value` if a longitude (-180 to 180); `BAD_USER_INPUT` naming `field` otherwise."""
    if not (math.isfinite(value) and -MAX_LONGITUDE <= value <= MAX_LONGITUDE):
        _refuse(
            field,
            f"must be a longitude between -{MAX_LONGITUDE} and {MAX_LONGITUDE} degrees;"
            f" got {value}.",
        )
    return float(value)


def stored_degrees_sql(value: ColumnElement[Any], *, limit: int) -> ColumnElement[float]:
    """A stored jsonb coordinate as the float8 `checked_latitude`/`checked_longitude` accept.

    `limit` is 90 (a latitude) or 180 (a longitude). A number within it becomes the double
    Python reads: PostgreSQL turns a numeric into float8 through its text, as `json.loads`
    reads jsonb's, both rounding correctly. Anything else is NULL, and the caller leaves the
    value to Python: not a number, out of range, or too small for a double (Python reads 0.0
    or a subnormal, PostgreSQL refuses). The CASE keeps the casts from ever seeing a value
    they refuse.
    """
    number = cast(value, Numeric)
    bound = literal_column(str(limit), Numeric)
    smallest = literal_column(MIN_STORED_DEGREES, Numeric)
    return case(
        (func.jsonb_typeof(value) != literal_column("'number'", Text), null()),
        (
            and_(
                number.between(-bound, bound),
                or_(number == literal_column("0", Numeric), func.abs(number) >= smallest),
            ),
            cast(number, Float),
        ),
        else_=null(),
    )


@strawberry.input(description="A point on earth in WGS 84 degrees.")
class LatLngInput:
    """Latitude and longitude, the order people say them in."""

    latitude: float = strawberry.field(description="Degrees north of the equator, -90 to 90.")
    longitude: float = strawberry.field(
        description="Degrees east of Greenwich, -180 to 180 (west is negative)."
    )


def checked_point(location: LatLngInput, field: str) -> WKTElement:
    """The geography point of `location` to store, if its coordinates are on earth."""
    latitude = checked_latitude(location.latitude, field=f"{field}.latitude")
    longitude = checked_longitude(location.longitude, field=f"{field}.longitude")
    return geography_point(latitude=latitude, longitude=longitude)


def checked_radius(value: float, *, field: str) -> float:
    """`value` if a radius we search (above 0, at most 100 km); `BAD_USER_INPUT` otherwise."""
    if not (math.isfinite(value) and 0 < value <= MAX_RADIUS_METERS):
        _refuse(field, f"must be above 0 and at most {MAX_RADIUS_METERS:.0f} metres; got {value}.")
    return float(value)


def validated_near(near: NearInput, *, field: str) -> Near:
    """Check a `NearInput`; `BAD_USER_INPUT` naming e.g. `near.latitude` when out of range."""
    latitude = checked_latitude(near.latitude, field=f"{field}.latitude")
    longitude = checked_longitude(near.longitude, field=f"{field}.longitude")
    radius = checked_radius(near.radius_meters, field=f"{field}.radiusMeters")
    return Near(latitude=latitude, longitude=longitude, radius_meters=radius)


def validated_area(within: WithinInput, *, field: str) -> Polygon:
    """Check a `WithinInput` and return its area (a box becomes a polygon).

    `BAD_USER_INPUT` naming the exact input (e.g. `within.polygon`, `within.boundingBox.north`)
    and saying what is wrong.
    """
    if (within.bounding_box is None) == (within.polygon is None):
        _refuse(field, "needs exactly one of `boundingBox` and `polygon`.")
    if within.bounding_box is not None:
        return _box_polygon(within.bounding_box, field=f"{field}.boundingBox")
    return polygon_from_geojson(within.polygon, field=f"{field}.polygon")


def _box_polygon(box: BoundingBoxInput, *, field: str) -> Polygon:
    south = checked_latitude(box.south, field=f"{field}.south")
    north = checked_latitude(box.north, field=f"{field}.north")
    west = checked_longitude(box.west, field=f"{field}.west")
    east = checked_longitude(box.east, field=f"{field}.east")
    if south > north:
        _refuse(f"{field}.north", f"must not be below `south` ({north} < {south}).")
    if west > east:
        _refuse(
            f"{field}.east",
            f"is west of `west` ({east} < {west}): boxes crossing the antimeridian are not"
            " supported; query each side of it separately.",
        )
    if south == north or west == east:
        # A line or a point: no polygon to search in (and GEOS cannot densify it).
        _refuse(field, "has no area: `north` must be above `south` and `east` east of `west`.")
    return Polygon([(west, south), (east, south), (east, north), (west, north), (west, south)])


def polygon_from_geojson(value: object, *, field: str) -> Polygon:
    """Parse and check a GeoJSON `Polygon` (see `WithinInput.polygon` for the rules)."""
    if not isinstance(value, Mapping):
        _refuse(field, 'must be a GeoJSON object such as `{"type": "Polygon", ...}`.')
    if value.get("type") != "Polygon":
        _refuse(field, f'must have `"type": "Polygon"`; got {value.get("type")!r}.')
    _check_crs(value.get("crs"), field=field)
    rings = value.get("coordinates")
    if not isinstance(rings, list) or not rings:
        _refuse(field, "must have `coordinates`: a non-empty list of linear rings.")
    total = sum(len(ring) for ring in rings if isinstance(ring, list))
    if total > MAX_POLYGON_POSITIONS:
        _refuse(field, f"has {total} positions; at most {MAX_POLYGON_POSITIONS} are allowed.")
    checked = [_checked_ring(ring, field=field, index=index) for index, ring in enumerate(rings)]
    polygon = Polygon(checked[0], checked[1:])
    if not shapely.is_valid(polygon):
        _refuse(field, f"is not a valid polygon: {explain_validity(polygon)}.")
    return polygon


def _check_crs(crs: object, *, field: str) -> None:
    if crs is None:
        return
    name = None
    if isinstance(crs, Mapping) and isinstance(crs.get("properties"), Mapping):
        name = crs["properties"].get("name")
    # A name given as a list or object is refused like an unknown one (it is not hashable).
    if not (isinstance(name, str) and name in WGS84_CRS_NAMES):
        _refuse(
            f"{field}.crs",
            f"names {shown(name)}; only WGS 84 longitude/latitude (SRID 4326) is supported:"
            " leave `crs` out.",
        )


def _checked_ring(ring: object, *, field: str, index: int) -> list[tuple[float, float]]:
    where = f"ring {index}"
    if not isinstance(ring, list):
        _refuse(field, f"{where} must be a list of positions.")
    if len(ring) < 4:  # noqa: PLR2004 - RFC 7946: a linear ring has at least 4 positions
        _refuse(field, f"{where} has {len(ring)} positions; a ring needs at least 4.")
    positions = [
        _checked_position(position, field=field, where=f"{where}, position {number}")
        for number, position in enumerate(ring)
    ]
    if positions[0] != positions[-1]:
        _refuse(field, f"{where} is not closed: its first and last positions must be equal.")
    for number, (start, end) in enumerate(itertools.pairwise(positions)):
        if abs(end[0] - start[0]) >= 180:  # noqa: PLR2004 - half the globe
            _refuse(
                field,
                f"{where} crosses the antimeridian (the edge from position {number} spans"
                f" {abs(end[0] - start[0])} degrees of longitude); split it into polygons on"
                " either side of longitude 180.",
            )
    return positions


def _checked_position(position: object, *, field: str, where: str) -> tuple[float, float]:
    if (
        not isinstance(position, list)
        or len(position) != 2  # noqa: PLR2004 - [longitude, latitude]
        or not all(_is_number(coordinate) for coordinate in position)
    ):
        _refuse(field, f"{where} must be `[longitude, latitude]`: two numbers.")
    try:
        longitude, latitude = float(position[0]), float(position[1])
    except OverflowError:  # an integer beyond a double
        _refuse(field, f"{where} must be `[longitude, latitude]`: two numbers in range.")
    if not (math.isfinite(longitude) and -MAX_LONGITUDE <= longitude <= MAX_LONGITUDE):
        _refuse(field, f"{where}: longitude {longitude} is outside -180 to 180.")
    if not (math.isfinite(latitude) and -MAX_LATITUDE <= latitude <= MAX_LATITUDE):
        _refuse(field, f"{where}: latitude {latitude} is outside -90 to 90.")
    return longitude, latitude


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


Degrees = float | ColumnElement[float]
"""A coordinate in degrees: a number (bound as a parameter), or SQL reading it from a row."""


def _degrees(value: Degrees) -> ColumnElement[float]:
    if isinstance(value, ColumnElement):
        return value
    return bindparam(None, value, type_=Float)


def point_geography(latitude: Degrees, longitude: Degrees) -> ColumnElement[Any]:
    """A WGS 84 point as a `geography`, its coordinates bound parameters (or SQL values)."""
    point = func.ST_MakePoint(_degrees(longitude), _degrees(latitude))
    return cast(func.ST_SetSRID(point, SRID), Geography(geometry_type="POINT", srid=SRID))


def near_condition(column: SQLColumnExpression[Any], near: Near) -> ColumnElement[bool]:
    """`column` lies within `near.radius_meters` of its centre (spheroid metres; GiST-indexed)."""
    return within_radius(column, near.latitude, near.longitude, near.radius_meters)


def within_radius(
    column: SQLColumnExpression[Any], latitude: Degrees, longitude: Degrees, radius_meters: float
) -> ColumnElement[bool]:
    """`column` lies within `radius_meters` of the point (spheroid metres; GiST-indexed)."""
    return func.ST_DWithin(
        column,
        point_geography(latitude, longitude),
        bindparam(None, radius_meters, type_=Float),
        type_=Boolean(),
    )


def distance_meters(
    column: SQLColumnExpression[Any], latitude: Degrees, longitude: Degrees
) -> ColumnElement[float]:
    """Metres from `column` to the point, on the WGS 84 spheroid (`ST_Distance` on geography)."""
    return func.ST_Distance(column, point_geography(latitude, longitude), type_=Float)


def nearest_first(
    column: SQLColumnExpression[Any], latitude: Degrees, longitude: Degrees
) -> ColumnElement[float]:
    """`column <-> point`: sort by it (ascending) to get nearest first from the GiST index.

    Its value is the distance in metres on a sphere (radius 6,371,008.8 m), not the spheroid:
    it differs from `distance_meters` by up to about 0.5 %, so two rows a few metres apart in
    `distance_meters` may come out in the other order. Show `distance_meters`; sort by this,
    and break ties with a unique key, bounded by `nearest_first_horizon`.

    PostgreSQL serves an ORDER BY from the index only when the index provides every key, so
    `ORDER BY column <-> point` alone walks the GiST index but `ORDER BY column <-> point, id`
    (the total order keyset paging needs) scans and sorts the table: add the horizon.
    """
    return column.op("<->", return_type=Float)(point_geography(latitude, longitude))


def nearest_first_horizon(
    column: SQLColumnExpression[Any],
    latitude: Degrees,
    longitude: Degrees,
    *,
    rows: Select[Any],
    size: int,
) -> ColumnElement[bool]:
    """An indexed condition keeping the `size` rows of `rows` nearest the point, ties included.

    `rows` is the filtered select a page reads from (with its cursor condition), `size` the
    rows the page fetches (page size + 1). The condition keeps every row no farther than the
    `size`-th nearest (found by a KNN walk of the GiST index, `ORDER BY column <-> point
    LIMIT size`), as an `ST_DWithin` on the sphere, which the index also serves. Add it to the
    page's WHERE next to `ORDER BY nearest_first(...), id LIMIT size`: the sort then handles a
    few rows instead of the table, and rows tied at the horizon are all there for the
    tie-break, so pages neither repeat nor skip rows. No rows left: the horizon is NULL and
    the condition keeps nothing.

    A point read from a row of an enclosing query (the compiled path reads the home from the
    viewer's row) is correlated to it: only the rows' own tables are the KNN walk's FROM.
    """
    knn = nearest_first(column, latitude, longitude)
    nearest = (
        rows.with_only_columns(knn.label("knn"))
        .correlate_except(*rows.columns_clause_froms)
        .order_by(knn)
        .limit(size)
        .subquery()
    )
    horizon = select(func.max(nearest.c.knn)).scalar_subquery()
    return func.ST_DWithin(
        column,
        point_geography(latitude, longitude),
        horizon + HORIZON_SLACK_METERS,
        False,  # noqa: FBT003 - use_spheroid: the sphere of `<->`
        type_=Boolean(),
    )


def within_condition(column: SQLColumnExpression[Any], polygon: Polygon) -> ColumnElement[bool]:
    """`column` lies inside `polygon` or on its edge (`ST_Covers` on geography; GiST-indexed).

    Geography edges are great-circle arcs: the polygon's edges are first split into pieces of
    at most `DENSIFY_DEGREES` so they follow the straight longitude/latitude lines the client
    drew. The polygon is sent as bound WKB.
    """
    densified = _densified(polygon)
    area = func.ST_GeogFromWKB(
        bindparam(None, shapely.to_wkb(densified, output_dimension=2), type_=LargeBinary()),
        type_=Geography(srid=SRID),
    )
    return func.ST_Covers(area, column, type_=Boolean())


def _densified(polygon: Polygon) -> Polygon:
    perimeter = float(polygon.length)
    step = max(DENSIFY_DEGREES, perimeter / MAX_DENSIFIED_VERTICES)
    densified = shapely.segmentize(polygon, max_segment_length=step)
    assert isinstance(densified, Polygon)  # noqa: S101 - segmentize keeps the geometry type
    return densified


def point_coordinates(element: WKBElement) -> tuple[float, float]:
    """`(longitude, latitude)` of a `geography(POINT)` value.

    A venue shows its location three ways (`latitude`, `longitude`, `location`); parsing the
    WKB once per distinct value, not once per field, keeps mapping a page of rows cheap.
    """
    data = element.data
    key = bytes(data) if isinstance(data, memoryview) else data
    found = _COORDINATES.get(key)
    if found is None:
        point = to_shape(element)
        found = _COORDINATES[key] = (float(point.x), float(point.y))
        if len(_COORDINATES) > MAX_COORDINATES_CACHED:
            _COORDINATES.pop(next(iter(_COORDINATES)))
    return found


# Recently parsed points by their WKB (a few pages' worth; oldest dropped first).
MAX_COORDINATES_CACHED = 4096
_COORDINATES: dict[bytes | str, tuple[float, float]] = {}


def geojson_point(element: WKBElement) -> GeoJSON:
    """A `geography(POINT)` value as a GeoJSON Point, `[longitude, latitude]`."""
    return GeoJSON({"type": "Point", "coordinates": list(point_coordinates(element))})


def point_latitude(location: ColumnElement[Any]) -> ColumnElement[Any]:
    """The latitude (Y) of a geography point in SQL, as `geojson_point` reads it."""
    return func.ST_Y(cast(location, Geometry))


def point_longitude(location: ColumnElement[Any]) -> ColumnElement[Any]:
    """The longitude (X) of a geography point in SQL."""
    return func.ST_X(cast(location, Geometry))


def geojson_of(geometry: Point | Polygon) -> GeoJSON:
    """A Shapely geometry as a GeoJSON geometry object."""
    mapping = shapely.geometry.mapping(geometry)
    return GeoJSON(_lists(mapping))


def _lists(value: Any) -> Any:  # noqa: ANN401 - JSON-like values of any shape
    if isinstance(value, Mapping):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_lists(item) for item in value]
    return value


__all__ = [
    "GEOJSON_SCALAR",
    "MAX_LATITUDE",
    "MAX_LONGITUDE",
    "MAX_POLYGON_POSITIONS",
    "MAX_RADIUS_METERS",
    "BoundingBoxInput",
    "Degrees",
    "GeoJSON",
    "LatLngInput",
    "Near",
    "NearInput",
    "WithinInput",
    "checked_latitude",
    "checked_longitude",
    "checked_point",
    "checked_radius",
    "distance_meters",
    "geojson_of",
    "geojson_point",
    "near_condition",
    "nearest_first",
    "nearest_first_horizon",
    "point_geography",
    "point_latitude",
    "point_longitude",
    "polygon_from_geojson",
    "stored_degrees_sql",
    "validated_area",
    "validated_near",
    "within_condition",
    "within_radius",
]
