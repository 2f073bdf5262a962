from graph.core.global_id import encode_global_id
from models import soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

NODE = "query($id: ID!) { node(id: $id) { ... on Media { title } } }"


async def seen(execute, media, viewer):
    result = await execute(NODE, {"id": encode_global_id("Media", media.id)}, viewer=viewer)
    assert result.errors is None
    return result.data["node"] is not None


async def test_the_guest_sees_what_the_host_attached_to_their_booking(session, execute):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)
    guest = await make_user(session)
    booking = await make_booking(session, venue=venue, user=guest)
    photo = await make_media(session, owner=host, venue=venue, booking=booking)

    assert await seen(execute, photo, viewer_of(guest))
    assert await seen(execute, photo, viewer_of(host))
    assert not await seen(execute, photo, viewer_of(await make_user(session)))
    assert not await seen(execute, photo, None)


async def test_photos_of_a_deleted_venue_are_no_longer_public(session, execute):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)
    photo = await make_media(session, owner=host, venue=venue)
    assert await seen(execute, photo, None)

    await soft_delete(session, venue)

    assert not await seen(execute, photo, None)
    assert not await seen(execute, photo, viewer_of(await make_user(session)))
    assert await seen(execute, photo, viewer_of(host))
