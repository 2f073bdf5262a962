"""The access rules select the same rows as Core SQL as through the ORM.

The loader path runs the rules inside ORM statements, which get the soft-delete criteria of
models/soft_delete.py for every table they read; the compiled path runs the same rules as Core
SQL, which no criteria reach. A rule that left a table's live-row condition to the ORM showed a
host the bookings of a venue they had deleted on the compiled path only.
"""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from graph.core.permissions import visible_bookings, visible_media
from graph.core.viewer import Viewer
from models import Booking, Media, soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

RULES: dict[str, tuple[Any, Callable[[Viewer | None], ColumnElement[bool]]]] = {
    "bookings": (Booking, visible_bookings),
    "media": (Media, visible_media),
}


@pytest.mark.parametrize("rule", list(RULES))
async def test_a_rule_reads_only_live_rows_without_the_orm(
    session: AsyncSession, connection: AsyncConnection, rule: str
) -> None:
    host = await make_user(session, role="host")
    guest = await make_user(session)
    kept = await make_venue(session, owner=host)
    deleted = await make_venue(session, owner=host)
    stranger_venue = await make_venue(session)
    for venue in (kept, deleted):
        await make_booking(session, venue=venue, user=guest)
        await make_media(session, venue=venue, owner=guest)
    # Media on the guest's booking at a venue of someone else, the booking then deleted.
    gone = await make_booking(session, venue=stranger_venue, user=host)
    await make_media(session, venue=stranger_venue, owner=guest, booking=gone)
    await soft_delete(session, deleted)
    await soft_delete(session, gone)
    model, visible = RULES[rule]
    statement = select(model.id).where(visible(viewer_of(host)), model.deleted_at.is_(None))

    through_orm = set((await session.execute(statement)).scalars())
    as_core = set((await connection.execute(statement)).scalars())

    assert through_orm  # the kept venue's rows
    assert as_core == through_orm
