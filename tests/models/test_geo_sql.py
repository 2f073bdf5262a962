"""The SQL of `graph.core.geo` against PostGIS: distances to the metre, conditions, index use."""

import json
import math
from typing import Any

import pytest
from sqlalchemy import Select, func, select, text
from sqlalchemy.dialects import postgresql

from graph.core.geo import (
    BoundingBoxInput,
    Near,
    WithinInput,
    distance_meters,
    near_condition,
    nearest_first,
    nearest_first_horizon,
    point_geography,
    polygon_from_geojson,
    validated_area,
    within_condition,
)
from models import Venue
from tests.factories import make_user, make_venue

NOTRE_DAME = (48.8530, 2.3499)
EIFFEL_TOWER = (48.8584, 2.2945)
LOUVRE = (48.8606, 2.3376)
BULK_VENUES = 50_000


def vincenty_meters(start: tuple[float, float], end: tuple[float, float]) -> float:
    """Distance on the WGS 84 ellipsoid by Vincenty's inverse formula (accurate to 0.5 mm)."""
    a, f = 6_378_137.0, 1 / 298.257223563
    b = a * (1 - f)
    (lat1, lon1), (lat2, lon2) = start, end
    u1 = math.atan((1 - f) * math.tan(math.radians(lat1)))
    u2 = math.atan((1 - f) * math.tan(math.radians(lat2)))
    big_l = math.radians(lon2 - lon1)
    lam = big_l
    for _ in range(200):
        sin_lam, cos_lam = math.sin(lam), math.cos(lam)
        sin_sigma = math.hypot(
            math.cos(u2) * sin_lam,
            math.cos(u1) * math.sin(u2) - math.sin(u1) * math.cos(u2) * cos_lam,
        )
        if sin_sigma == 0:
            return 0.0
        cos_sigma = math.sin(u1) * math.sin(u2) + math.cos(u1) * math.cos(u2) * cos_lam
        sigma = math.atan2(sin_sigma, cos_sigma)
        sin_alpha = math.cos(u1) * math.cos(u2) * sin_lam / sin_sigma
        cos2_alpha = 1 - sin_alpha**2
        cos_2sm = cos_sigma - 2 * math.sin(u1) * math.sin(u2) / cos2_alpha
        c = f / 16 * cos2_alpha * (4 + f * (4 - 3 * cos2_alpha))
        previous = lam
        lam = big_l + (1 - c) * f * sin_alpha * (
            sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm**2))
        )
        if abs(lam - previous) < 1e-12:
            break
    u_sq = cos2_alpha * (a**2 - b**2) / b**2
    big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    delta_sigma = (
        big_b
        * sin_sigma
        * (
            cos_2sm
            + big_b
            / 4
            * (
                cos_sigma * (-1 + 2 * cos_2sm**2)
                - big_b / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2)
            )
        )
    )
    return b * big_a * (sigma - delta_sigma)


def haversine_meters(start: tuple[float, float], end: tuple[float, float]) -> float:
    """Great-circle distance on PostGIS's sphere (the WGS 84 mean radius, 6,371,008.8 m)."""
    (lat1, lon1), (lat2, lon2) = start, end
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def test_vincenty_reference_matches_a_published_geodesic():
    # Flinders Peak to Buninyong (Vincenty 1975, on WGS 84 per Geoscience Australia): 54,972.271 m.
    flinders_peak = (-(37 + 57 / 60 + 3.72030 / 3600), 144 + 25 / 60 + 29.52440 / 3600)
    buninyong = (-(37 + 39 / 60 + 10.15610 / 3600), 143 + 55 / 60 + 35.38390 / 3600)
    assert vincenty_meters(flinders_peak, buninyong) == pytest.approx(54_972.271, abs=0.001)


async def _paris(session):
    owner = await make_user(session, role="host")
    return {
        name: await make_venue(session, owner=owner, name=name, latitude=lat, longitude=lon)
        for name, (lat, lon) in {
            "Notre-Dame": NOTRE_DAME,
            "Eiffel Tower": EIFFEL_TOWER,
            "Louvre": LOUVRE,
        }.items()
    }


async def _names(session, statement: Select[Any]) -> list[str]:
    return list((await session.execute(statement)).scalars())


async def test_distances_are_spheroid_metres_to_the_centimetre(session):
    venues = await _paris(session)
    ids = [venue.id for venue in venues.values()]

    for origin in (NOTRE_DAME, EIFFEL_TOWER, LOUVRE):
        rows = await session.execute(
            select(Venue.name, distance_meters(Venue.location, *origin)).where(Venue.id.in_(ids))
        )
        places = {"Notre-Dame": NOTRE_DAME, "Eiffel Tower": EIFFEL_TOWER, "Louvre": LOUVRE}
        for name, meters in rows:
            assert meters == pytest.approx(vincenty_meters(origin, places[name]), abs=0.01)

    # The values, so a reader sees what "known distances" means here.
    assert vincenty_meters(NOTRE_DAME, EIFFEL_TOWER) == pytest.approx(4109.53, abs=0.01)
    assert vincenty_meters(NOTRE_DAME, LOUVRE) == pytest.approx(1236.52, abs=0.01)


async def test_near_condition_counts_metres_not_degrees(session):
    venues = await _paris(session)
    tromso = (69.6492, 18.9553)
    one_degree_east = (69.6492, 19.9553)
    far_north = await make_venue(
        session, name="Tromsø", latitude=one_degree_east[0], longitude=one_degree_east[1]
    )
    to_louvre = vincenty_meters(NOTRE_DAME, LOUVRE)
    to_eiffel = vincenty_meters(NOTRE_DAME, EIFFEL_TOWER)
    arctic = vincenty_meters(tromso, one_degree_east)
    paris_ids = [venue.id for venue in venues.values()]

    def around(centre: tuple[float, float], radius: float) -> Select[Any]:
        near = Near(latitude=centre[0], longitude=centre[1], radius_meters=radius)
        return (
            select(Venue.name)
            .where(near_condition(Venue.location, near), Venue.id.in_([*paris_ids, far_north.id]))
            .order_by(Venue.name)
        )

    assert await _names(session, around(NOTRE_DAME, to_louvre - 1)) == ["Notre-Dame"]
    assert await _names(session, around(NOTRE_DAME, to_louvre + 1)) == ["Louvre", "Notre-Dame"]
    assert await _names(session, around(NOTRE_DAME, to_eiffel + 1)) == [
        "Eiffel Tower",
        "Louvre",
        "Notre-Dame",
    ]
    # One degree of longitude is ~38.8 km at 69.6 degrees north, ~111 km at the equator.
    assert arctic == pytest.approx(38_800, abs=100)
    assert await _names(session, around(tromso, arctic - 1)) == []
    assert await _names(session, around(tromso, arctic + 1)) == ["Tromsø"]


async def test_nearest_first_orders_by_the_sphere_distance(session):
    venues = await _paris(session)
    ids = [venue.id for venue in venues.values()]
    ordered = (
        select(
            Venue.name,
            nearest_first(Venue.location, *LOUVRE),
            distance_meters(Venue.location, *LOUVRE),
        )
        .where(Venue.id.in_(ids))
        .order_by(nearest_first(Venue.location, *LOUVRE), Venue.id)
    )

    rows = (await session.execute(ordered)).all()

    assert [name for name, _, _ in rows] == ["Louvre", "Notre-Dame", "Eiffel Tower"]
    places = {"Notre-Dame": NOTRE_DAME, "Eiffel Tower": EIFFEL_TOWER, "Louvre": LOUVRE}
    for name, knn, spheroid in rows:
        assert knn == pytest.approx(haversine_meters(LOUVRE, places[name]), abs=0.01)
        assert spheroid == pytest.approx(vincenty_meters(LOUVRE, places[name]), abs=0.01)
        assert knn == pytest.approx(spheroid, rel=0.006)  # sphere vs spheroid: under 0.6 %


async def test_within_a_box_and_a_polygon(session):
    venues = await _paris(session)
    ids = [venue.id for venue in venues.values()]
    box = validated_area(
        WithinInput(bounding_box=BoundingBoxInput(south=48.85, west=2.33, north=48.87, east=2.36)),
        field="within",
    )
    # A quadrilateral around the Eiffel Tower and the Louvre, leaving Notre-Dame out.
    quadrilateral = polygon_from_geojson(
        {
            "type": "Polygon",
            "coordinates": [
                [[2.28, 48.85], [2.34, 48.855], [2.34, 48.87], [2.28, 48.87], [2.28, 48.85]]
            ],
        },
        field="within.polygon",
    )

    def inside(area) -> Select[Any]:
        return (
            select(Venue.name)
            .where(within_condition(Venue.location, area), Venue.id.in_(ids))
            .order_by(Venue.name)
        )

    assert await _names(session, inside(box)) == ["Louvre", "Notre-Dame"]
    assert await _names(session, inside(quadrilateral)) == ["Eiffel Tower", "Louvre"]


async def test_within_includes_a_venue_on_a_corner(session):
    corner = await make_venue(session, latitude=48.85, longitude=2.33)
    box = validated_area(
        WithinInput(bounding_box=BoundingBoxInput(south=48.85, west=2.33, north=48.87, east=2.36)),
        field="within",
    )

    statement = select(Venue.id).where(within_condition(Venue.location, box))

    assert await _names(session, statement.where(Venue.id == corner.id)) == [corner.id]


async def test_long_edges_follow_the_parallel_not_the_great_circle(session):
    # The great circle from (-20, 60) to (20, 60) bulges north to about 61.3 degrees at
    # longitude 0; the box's northern edge is the parallel, as on a map.
    north_of_edge = await make_venue(session, name="North", latitude=60.5, longitude=0)
    south_of_edge = await make_venue(session, name="South", latitude=59.9, longitude=0)
    box = validated_area(
        WithinInput(bounding_box=BoundingBoxInput(south=40, west=-20, north=60, east=20)),
        field="within",
    )
    ids = [north_of_edge.id, south_of_edge.id]

    densified = select(Venue.name).where(within_condition(Venue.location, box), Venue.id.in_(ids))
    great_circles = select(Venue.name).where(
        func.ST_Covers(func.ST_GeogFromText(f"SRID=4326;{box.wkt}"), Venue.location),
        Venue.id.in_(ids),
    )

    assert await _names(session, densified) == ["South"]
    assert sorted(await _names(session, great_circles)) == ["North", "South"]


def test_values_are_bound_parameters_never_sql_text():
    near = Near(latitude=48.8530123, longitude=2.3499456, radius_meters=1234.5678)
    area = polygon_from_geojson(
        {
            "type": "Polygon",
            "coordinates": [[[2.281, 48.851], [2.341, 48.861], [2.342, 48.852], [2.281, 48.851]]],
        },
        field="within.polygon",
    )
    statement = (
        select(Venue.id, distance_meters(Venue.location, 48.8530123, 2.3499456))
        .where(near_condition(Venue.location, near), within_condition(Venue.location, area))
        .order_by(nearest_first(Venue.location, 48.8530123, 2.3499456))
    )

    compiled = statement.compile(dialect=postgresql.asyncpg.dialect())
    sql = str(compiled)

    for value in ("48.853", "2.349", "1234.5", "2.281", "48.851"):
        assert value not in sql
    assert 1234.5678 in compiled.params.values()
    assert 48.8530123 in compiled.params.values()


async def test_point_geography_is_a_wgs84_point(session):
    row = (
        await session.execute(
            select(
                func.ST_AsText(point_geography(48.853, 2.3499)),
                func.ST_SRID(point_geography(48.853, 2.3499)),
            )
        )
    ).one()
    assert tuple(row) == ("POINT(2.3499 48.853)", 4326)


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += _plan_nodes(child)
    return nodes


async def _explain(session, statement: Select[Any]) -> list[dict[str, Any]]:
    """`EXPLAIN (FORMAT JSON)` of `statement`, run with its bound parameters, as plan nodes."""
    compiled = statement.compile(dialect=postgresql.asyncpg.dialect())
    parameters = [compiled.params[name] for name in compiled.positiontup or ()]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    document = await raw.driver_connection.fetchval(
        f"EXPLAIN (FORMAT JSON) {compiled}", *parameters
    )
    plan = (json.loads(document) if isinstance(document, str) else document)[0]
    return _plan_nodes(plan["Plan"])


@pytest.fixture
async def _vacuumed_afterwards(engine):
    """After the test's rollback, vacuum what the bulk insert left dead (for later tests)."""
    yield
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("VACUUM (ANALYZE) venues, audit_log")


@pytest.fixture
async def bulk_venues(_vacuumed_afterwards, session):
    """50,000 live venues spread over Europe (deterministically), plus the Paris three.

    The rolled-back rows would stay as dead tuples (and trip the health checks of later
    tests); `_vacuumed_afterwards` runs after the rollback and clears them.
    """
    owner = await make_user(session, role="host")
    await session.execute(
        text(
            """
            INSERT INTO venues (owner_id, name, address, city, country, location, hourly_rate,
                                currency)
            SELECT :owner_id, 'Bulk venue ' || g, g || ' Bulk Street', 'Bulkville', 'FR',
                   ST_SetSRID(ST_MakePoint(-10 + (g::bigint * 7919 % 40000) / 1000.0,
                                           35 + (g::bigint * 104729 % 25000) / 1000.0),
                              4326)::geography,
                   50, 'EUR'
            FROM generate_series(1, :count) AS g
            """
        ),
        {"owner_id": owner.id, "count": BULK_VENUES},
    )
    venues = await _paris(session)
    await session.execute(text("ANALYZE venues"))
    return venues


def _uses_location_index_without_seq_scan(nodes: list[dict[str, Any]]) -> None:
    assert any(node.get("Index Name") == "ix_venues_location" for node in nodes), nodes
    assert not [
        node
        for node in nodes
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "venues"
    ], nodes


@pytest.mark.usefixtures("bulk_venues")
async def test_radius_search_uses_the_gist_index(session):
    near = Near(latitude=NOTRE_DAME[0], longitude=NOTRE_DAME[1], radius_meters=5_000)
    statement = select(Venue).where(
        near_condition(Venue.location, near), Venue.deleted_at.is_(None)
    )

    _uses_location_index_without_seq_scan(await _explain(session, statement))
    names = {venue.name for venue in (await session.execute(statement)).scalars()}
    assert {"Notre-Dame", "Eiffel Tower", "Louvre"} <= names


@pytest.mark.usefixtures("bulk_venues")
async def test_nearest_first_uses_the_gist_index(session):
    knn = nearest_first(Venue.location, *LOUVRE)
    statement = select(Venue).where(Venue.deleted_at.is_(None)).order_by(knn).limit(21)

    nodes = await _explain(session, statement)

    _uses_location_index_without_seq_scan(nodes)
    assert not any(node["Node Type"] == "Sort" for node in nodes), nodes  # the index orders
    rows = (await session.execute(statement)).scalars().all()
    assert [venue.name for venue in rows[:3]] == ["Louvre", "Notre-Dame", "Eiffel Tower"]


def _nearest_page(rows: Select[Any], size: int) -> Select[Any]:
    """A nearest-first page as keyset paging reads it: `ORDER BY distance, id`, bounded."""
    knn = nearest_first(Venue.location, *LOUVRE)
    horizon = nearest_first_horizon(Venue.location, *LOUVRE, rows=rows, size=size)
    return rows.add_columns(knn.label("_sort_0")).where(horizon).order_by(knn, Venue.id).limit(size)


@pytest.mark.usefixtures("bulk_venues")
async def test_a_tie_broken_nearest_first_page_uses_the_gist_index(session):
    live = select(Venue).where(Venue.deleted_at.is_(None))
    knn = nearest_first(Venue.location, *LOUVRE)
    unbounded = live.order_by(knn, Venue.id).limit(21)

    nodes = await _explain(session, _nearest_page(live, 21))

    _uses_location_index_without_seq_scan(nodes)
    # Without the horizon PostgreSQL cannot use the index for a two-key order.
    assert any(node["Node Type"] == "Seq Scan" for node in await _explain(session, unbounded))
    bounded = (await session.execute(_nearest_page(live, 21))).scalars().all()
    assert [venue.id for venue in bounded] == [
        venue.id for venue in (await session.execute(unbounded)).scalars()
    ]


async def test_the_horizon_keeps_every_row_tied_with_the_last(session):
    owner = await make_user(session, role="host")
    same_spot = [
        await make_venue(session, owner=owner, name=f"Twin {n}", latitude=48.87, longitude=2.34)
        for n in range(5)
    ]
    nearer = await make_venue(
        session, owner=owner, name="Nearer", latitude=48.8607, longitude=2.3376
    )
    ids = [nearer.id, *(venue.id for venue in same_spot)]
    rows = select(Venue).where(Venue.id.in_(ids))

    page = (await session.execute(_nearest_page(rows, 3))).scalars().all()
    candidates = (
        await session.execute(
            select(Venue.id).where(
                Venue.id.in_(ids),
                nearest_first_horizon(Venue.location, *LOUVRE, rows=rows, size=3),
            )
        )
    ).scalars()

    assert set(candidates) == set(ids)  # all five twins, though only two fit the page
    assert page[0].name == "Nearer"
    assert [venue.id for venue in page[1:]] == sorted(venue.id for venue in same_spot)[:2]


@pytest.mark.usefixtures("bulk_venues")
async def test_radius_search_nearest_first_uses_the_gist_index(session):
    near = Near(latitude=LOUVRE[0], longitude=LOUVRE[1], radius_meters=50_000)
    rows = select(Venue).where(near_condition(Venue.location, near), Venue.deleted_at.is_(None))

    _uses_location_index_without_seq_scan(await _explain(session, _nearest_page(rows, 21)))


@pytest.mark.usefixtures("bulk_venues")
async def test_within_a_box_uses_the_gist_index(session):
    box = validated_area(
        WithinInput(bounding_box=BoundingBoxInput(south=48.8, west=2.2, north=48.9, east=2.4)),
        field="within",
    )
    statement = select(Venue).where(
        within_condition(Venue.location, box), Venue.deleted_at.is_(None)
    )

    _uses_location_index_without_seq_scan(await _explain(session, statement))
