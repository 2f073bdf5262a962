import httpx

from graph.core.global_id import encode_global_id
from graph.http.app import create_app
from models.settings import Settings
from tests.factories import make_booking, make_login_session, make_user, make_venue


async def test_graphql_over_http_as_the_signed_in_host(session, client):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host, name="Harbour Hall")
    await make_booking(session, venue=venue)
    await make_login_session(session, user=host, token="host-token")
    response = await client.post(
        "/graphql",
        headers={"Authorization": "Bearer host-token"},
        json={
            "query": "query($id: ID!) {"
            " venue(id: $id) { name bookings { edges { node { status } } } } }",
            "variables": {"id": encode_global_id("Venue", venue.id)},
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "venue": {
                "name": "Harbour Hall",
                "bookings": {"edges": [{"node": {"status": "PENDING"}}]},
            }
        }
    }


async def test_graphiql_is_served_to_browsers(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_migrated(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_is_503_when_the_database_is_unreachable():
    app = create_app(Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/sartiq"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "database unreachable"}
