"""Root lists: `venues`, `bookings`, `media` and `users`, each filtered, sorted and paged."""

import strawberry

from graph.core.connection import Connection
from graph.entities.booking.queries import bookings
from graph.entities.booking.type import Booking
from graph.entities.media.connection import MediaListConnection
from graph.entities.media.queries import media
from graph.entities.user.queries import users
from graph.entities.user.type import User
from graph.entities.venue.connection import VenueListConnection
from graph.entities.venue.queries import venues


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
