import uuid

from graphql import GraphQLInterfaceType, build_schema

from graph.core.global_id import encode_global_id
from graph.core.node_lookup import registered_type_names
from graph.schema.root import schema
from models import soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Venue { name }
    ... on Booking { status }
    ... on User { displayName }
    ... on Media { title }
  }
}
"""

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) { __typename id ... on Venue { name } ... on User { displayName } }
}
"""


def test_every_node_type_is_registered_for_node_lookup():
    # An entity that forgot `register_node_type` would answer null to `node(id:)` for ever.
    # Assembling `schema` imports, and so registers, every entity.
    contract = build_schema(schema.as_str())
    node = contract.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    node_types = {t.name for t in contract.get_possible_types(node)}
    assert node_types == registered_type_names()


async def test_node_resolves_every_type(session, execute):
    user = await make_user(session, display_name="Ada")
    venue = await make_venue(session, name="Glasshouse")
    booking = await make_booking(session, venue=venue, user=user, status="confirmed")
    media = await make_media(session, venue=venue, title="Front door")
    expected = {
        encode_global_id("User", user.id): {"__typename": "User", "displayName": "Ada"},
        encode_global_id("Venue", venue.id): {"__typename": "Venue", "name": "Glasshouse"},
        encode_global_id("Booking", booking.id): {"__typename": "Booking", "status": "CONFIRMED"},
        encode_global_id("Media", media.id): {"__typename": "Media", "title": "Front door"},
    }
    admin = await make_user(session, role="admin")
    for global_id, fields in expected.items():
        result = await execute(NODE, {"id": global_id}, viewer=viewer_of(admin))
        assert result.errors is None
        assert result.data["node"] == {"id": global_id, **fields}


async def test_nodes_keeps_order_gives_null_for_missing_and_batches(
    session, execute, count_statements
):
    venues = [await make_venue(session, name=f"V{i}") for i in range(3)]
    user = await make_user(session, display_name="Bea")
    gone = await make_venue(session)
    await soft_delete(session, gone)
    ids = [encode_global_id("Venue", v.id) for v in venues]
    ids.insert(1, encode_global_id("User", user.id))
    ids.append(encode_global_id("Venue", gone.id))
    ids.append(encode_global_id("Venue", uuid.uuid4()))

    with count_statements as counted:
        result = await execute(NODES, {"ids": ids}, paths="loaders")

    assert result.errors is None
    names = [
        node and (node.get("name") or node.get("displayName")) for node in result.data["nodes"]
    ]
    assert names == ["V0", "Bea", "V1", "V2", None, None]
    assert counted.count == 2  # one statement for the venues, one for the user
    with count_statements as counted:
        again = await execute(NODES, {"ids": ids})
    assert again.data == result.data
    assert counted.count == 1  # the compiled path: one for all


async def test_nodes_refuses_more_than_100_ids(execute):
    ids = [encode_global_id("Venue", uuid.uuid4()) for _ in range(101)]
    result = await execute(NODES, {"ids": ids})
    (error,) = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "ids"}


async def test_node_with_a_malformed_id_is_bad_user_input(execute):
    result = await execute(NODE, {"id": "%%%"})
    (error,) = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "id"}


async def test_node_of_an_unknown_type_is_null(execute):
    result = await execute(NODE, {"id": encode_global_id("Spaceship", uuid.uuid4())})
    assert result.errors is None
    assert result.data == {"node": None}
