"""Root lists: `venues`, `bookings`, `media` and `users`, each filtered, sorted and paged."""

import strawberry

from graph.resolvers.booking_list import bookings
from graph.resolvers.media_list import media
from graph.resolvers.user_list import users
from graph.resolvers.venue_list import venues
from graph.types.booking import Booking
from graph.types.connection import Connection
from graph.types.search import MediaListConnection, VenueListConnection
from graph.types.user import User


@strawberry.type
class ListQueries:
    """Paged lists of every kind of object."""

    venues: VenueListConnection = strawberry.field(
        resolver=venues,
        description=(
            "Venues, filtered, searched, placed and sorted, one page at a time (oldest listing "
            "first, or best match first with `search`)."
        ),
    )
    bookings: Connection[Booking] = strawberry.field(
        resolver=bookings,
        description=(
            "Bookings the viewer may see, one page at a time: members their own, hosts also "
            "their venues', admins all. Requires signing in."
        ),
    )
    media: MediaListConnection = strawberry.field(
        resolver=media,
        description=(
            "Photos and videos the viewer may see, one page at a time: public venue media for "
            "everyone, plus their own (and, for hosts, their venues')."
        ),
    )
    users: Connection[User] = strawberry.field(
        resolver=users, description="User accounts, one page at a time. Admins only."
    )
